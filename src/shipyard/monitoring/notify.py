"""Deliver an alert as JSON: POST it to a webhook, or pipe it to a command.

Webhooks are retried with exponential backoff on what may pass (connection errors, time-outs,
408, 429 and 5xx answers) and not on what will not (other 4xx). Commands get the JSON on
stdin, run without a shell, and must finish within a time limit. Neither ever raises: the
result says how it went, so one bad target cannot stop the others or the server.
"""

from __future__ import annotations

import shlex
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from shipyard._version import __version__

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = f"shipyard/{__version__} (alerts)"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one webhook.

    Attributes:
        attempts: Tries in all (the first one included).
        timeout: Seconds one try may take (connect and answer).
        backoff: Seconds before the second try; each later wait doubles, up to ``max_backoff``.
        max_backoff: Longest wait between two tries.
    """

    attempts: int = 4
    timeout: float = 5.0
    backoff: float = 1.0
    max_backoff: float = 30.0

    def wait_before(self, attempt: int) -> float:
        """Seconds to wait before try number ``attempt`` (2 or more)."""
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 2)))


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a delivery went.

    Attributes:
        delivered: True once a try succeeded.
        attempts: Tries made.
        status: The last HTTP status or exit code; None when no answer came.
        error: Why the last try failed; None when delivered.
    """

    delivered: bool
    attempts: int
    status: int | None
    error: str | None


def post_webhook(
    url: str,
    body: bytes,
    *,
    policy: RetryPolicy = RetryPolicy(),
    stop: threading.Event | None = None,
) -> Outcome:
    """POST ``body`` (JSON) to ``url``, retrying as ``policy`` says.

    ``stop`` (set when the server shuts down) ends the retries at once, so a dead webhook
    never keeps a stopping process alive for its whole back-off.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        return Outcome(False, 0, None, f"not an http(s) URL: {url!r}")
    status: int | None = None
    error: str | None = None
    stop = stop or threading.Event()
    for attempt in range(1, policy.attempts + 1):
        if attempt > 1 and stop.wait(policy.wait_before(attempt)):
            return Outcome(False, attempt - 1, status, f"{error}; then stopped: shutting down")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        try:
            with urllib.request.urlopen(request, timeout=policy.timeout) as answer:  # noqa: S310
                status = int(answer.status)
            return Outcome(True, attempt, status, None)
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
            if exc.code not in RETRYABLE:
                return Outcome(False, attempt, status, error + " (not retried)")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            status = None
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            error = f"no answer: {reason or type(exc).__name__}"
    return Outcome(False, policy.attempts, status, error)


def run_command(command: str, body: bytes, *, timeout: float = 60.0) -> Outcome:
    """Run ``command`` (split like a shell would, but run without one) with ``body`` on stdin."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return Outcome(False, 1, None, f"the command does not parse: {exc}")
    if not argv:
        return Outcome(False, 1, None, "the command is empty")
    try:
        done = subprocess.run(  # noqa: S603 - the operator's own configured command
            argv, input=body, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        return Outcome(False, 1, None, f"no such program: {argv[0]}")
    except subprocess.TimeoutExpired:
        return Outcome(False, 1, None, f"the command ran longer than {timeout:g} s and was stopped")
    except OSError as exc:
        return Outcome(False, 1, None, f"the command could not start: {exc}")
    if done.returncode == 0:
        return Outcome(True, 1, 0, None)
    stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
    tail = f": {stderr[-1][:300]}" if stderr else ""
    return Outcome(False, 1, done.returncode, f"exit code {done.returncode}{tail}")
