"""``Client`` methods of monitoring: performance, fairness by group, drift, the HTML report."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shipyard.client.errors import unexpected_body

if TYPE_CHECKING:
    import httpx

REPORT_TIMEOUT_FLOOR = 120.0
"""Seconds a report may take at least: the server reads the window several times and draws."""


class MonitoringMixin:
    """Reports computed by the server from its prediction logs (``to_dict()`` shapes)."""

    if TYPE_CHECKING:
        # Provided by ``Client`` (``client/http.py``).
        timeout: float

        def _send(
            self,
            method: str,
            path: str,
            body: Any = None,
            *,
            params: dict[str, Any] | None = None,
            accept: tuple[int, ...] = (),
            timeout: float | None = None,
        ) -> httpx.Response: ...

        def _object(
            self,
            method: str,
            path: str,
            body: Any = None,
            *,
            params: dict[str, Any] | None = None,
            timeout: float | None = None,
        ) -> dict[str, Any]: ...

    def monitoring(self, endpoint: str, report: str, **params: Any) -> dict[str, Any]:
        """One monitoring report of an endpoint: ``performance``, ``fairness`` or ``drift``.

        Args:
            endpoint: The endpoint (or a model served under its own name).
            report: Which report.
            **params: The route's query parameters, e.g. ``window="1h"``, ``version=2``,
                ``sensitive="group"``, ``buckets=24``; None values are left out.

        Raises:
            EndpointNotFoundError, InvalidInputError, PermissionDeniedError.
        """
        path = f"/api/v1/monitoring/{quote(endpoint, safe='')}/{quote(report, safe='')}"
        return self._object("GET", path, params=_query(params))

    def monitoring_report(self, endpoint: str, **params: Any) -> str:
        """The endpoint's HTML monitoring report: one self-contained page, as text.

        Drift from the reference data (table and reference vs current plots per column),
        performance per version over time, outcomes by group, traffic and latency. Write it
        to a ``.html`` file and open it in a browser; it loads nothing from the network.

        Args:
            endpoint: The endpoint (or a model served under its own name).
            **params: The route's query parameters: ``window="24h"``, ``since``/``until``
                (datetimes or ISO text), ``version=2``, ``sensitive="group"``; None values are
                left out. Without a window, the whole log is read.

        Raises:
            EndpointNotFoundError, InvalidInputError (no prediction in the window, bad window),
            MissingExtraError (the server lacks the ``report`` extra), PermissionDeniedError.
        """
        path = f"/api/v1/monitoring/{quote(endpoint, safe='')}/report"
        timeout = max(self.timeout, REPORT_TIMEOUT_FLOOR)
        response = self._send("GET", path, params=_query(params), timeout=timeout)
        if not response.headers.get("content-type", "").startswith("text/html"):
            raise unexpected_body(response)
        return response.text


def _query(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters: datetimes as ISO 8601, None values left out."""
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in params.items()
        if value is not None
    }
