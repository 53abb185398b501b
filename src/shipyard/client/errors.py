"""Turning a server's answer or a transport failure back into the ``ShipyardError`` it stands for.

The server sends ``{"error": {"code", "message"}}``; the code names one class of the tree in
``shipyard.core.errors``, so the caller can catch exactly what the server raised. Pure functions
over status, bytes and exceptions: no sockets here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import httpx
import orjson

from shipyard.core import errors as core_errors
from shipyard.core.errors import (
    AuthenticationError,
    ModelError,
    RemoteError,
    ServerUnavailableError,
    ShipyardError,
)

NO_KEY_HINT = "No API key was sent: set SHIPYARD_API_KEY (or Client's api_key)."
START_HINT = "Start one with `shipyard serve`, or check SHIPYARD_URL."
_SNIPPET = 200


@cache
def error_classes() -> dict[str, type[ShipyardError]]:
    """Every error class of ``shipyard.core.errors`` by its ``code``, built once.

    The tree is walked from ``ShipyardError`` breadth first, so were two classes to share a
    code the more general one would win (a test keeps codes unique). Only classes defined in
    ``shipyard.core.errors`` count: the contract is that tree, not whatever else is imported.
    """
    table: dict[str, type[ShipyardError]] = {}
    queue: list[type[ShipyardError]] = [ShipyardError]
    while queue:
        cls = queue.pop(0)
        if cls.__module__ == core_errors.__name__:
            table.setdefault(cls.code, cls)
        queue.extend(cls.__subclasses__())
    return table


def error_for(code: str, message: str, status_code: int) -> ShipyardError:
    """The ``ShipyardError`` subclass named by ``code``, carrying the server's ``message``.

    An unknown code (a newer server, another service) becomes a :class:`RemoteError` with the
    code and status the server sent.
    """
    cls = error_classes().get(code)
    if cls is None or cls is RemoteError:
        return RemoteError(message, code=code, status_code=status_code)
    # Built without the subclass's own __init__ (MissingExtraError composes its message from
    # parts); the server already composed it.
    error = cls.__new__(cls)
    ShipyardError.__init__(error, message)
    return error


def error_from_response(response: httpx.Response, *, has_key: bool) -> ShipyardError:
    """The error a non-2xx (or unreadable) answer stands for.

    Args:
        response: The server's answer, body read.
        has_key: Whether an API key was sent; without one a 401 says how to set it.
    """
    status = response.status_code
    payload = _error_payload(response.content)
    if payload is None:
        return RemoteError(_unexpected(response), code=f"http_{status}", status_code=status)
    error = error_for(str(payload["code"]), str(payload["message"]), status)
    if isinstance(error, ModelError) and isinstance(payload.get("request_id"), str):
        error.request_id = payload["request_id"]
    if isinstance(error, AuthenticationError) and not has_key:
        error.message = f"{error.message} {NO_KEY_HINT}"
        error.args = (error.message,)
    return error


def unexpected_body(response: httpx.Response) -> RemoteError:
    """A 2xx answer that is not the JSON this client expects (SHIPYARD_URL points elsewhere?)."""
    return RemoteError(
        _unexpected(response), code="unexpected_response", status_code=response.status_code
    )


def unavailable(url: str, exc: httpx.TransportError, timeout: float) -> ServerUnavailableError:
    """A clear error for a server that cannot be reached or did not answer in time."""
    if isinstance(exc, httpx.TimeoutException):
        reason = f"did not answer within {timeout:g} s"
        advice = "Is it overloaded? Retry, or give Client a larger timeout."
    else:
        reason = f"cannot be reached ({_transport_reason(exc)})"
        advice = START_HINT
    return ServerUnavailableError(f"The Shipyard server at {url} {reason}. {advice}")


def _error_payload(body: bytes) -> dict[str, Any] | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and "code" in error and "message" in error:
        return error
    return None


def _unexpected(response: httpx.Response) -> str:
    request = response.request
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "untyped"
    text = response.content[:_SNIPPET].decode("utf-8", "replace").strip()
    body = f"a {kind} body {text!r}" if text else "an empty body"
    where = f" (a redirect to {response.headers['location']})" if response.is_redirect else ""
    return (
        f"{request.method} {request.url} answered HTTP {response.status_code}{where} with "
        f"{body}, not a Shipyard answer. Is SHIPYARD_URL the address of a Shipyard server?"
    )


def _transport_reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "refused" in text.lower():
            return "connection refused"
        return text or "connection failed"
    return str(exc) or type(exc).__name__
