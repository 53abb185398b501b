"""A real moto S3 server on 127.0.0.1 for integration tests (HTTP, not an in-process mock).

``ThreadedMotoServer`` runs moto's WSGI app in a thread of this process on a free port. Its
IAM authentication is off by default (any access key works); ``iam_auth`` switches it on
through the server's own ``/moto-api/reset-auth`` endpoint, after which the server rejects
access keys it does not know, exactly as S3 would.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


@contextmanager
def running_moto_server() -> Iterator[str]:
    """Start moto on 127.0.0.1 on a free port; yields its endpoint URL."""
    # Werkzeug logs every request at INFO to stderr; keep the test output readable.
    werkzeug_logger = logging.getLogger("werkzeug")
    previous_level = werkzeug_logger.level
    werkzeug_logger.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug_logger.setLevel(previous_level)


def _reset_auth(endpoint: str, initial_no_auth_action_count: str) -> str:
    """Set how many requests the server lets through unauthenticated; returns the old value."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=initial_no_auth_action_count.encode(),
        # Not urllib's default form encoding: moto reads the raw body as the number.
        headers={"Content-Type": "text/plain"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])


@contextmanager
def iam_auth(endpoint: str) -> Iterator[None]:
    """Make the server authenticate every request against its IAM users, then switch back."""
    previous = _reset_auth(endpoint, "0")
    try:
        yield
    finally:
        _reset_auth(endpoint, previous)
