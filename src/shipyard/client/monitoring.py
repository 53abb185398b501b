"""``Client`` methods of monitoring: performance on feedback, fairness by group, drift."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote


class MonitoringMixin:
    """Reports computed by the server from its prediction logs (``to_dict()`` shapes)."""

    if TYPE_CHECKING:

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
        query = {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in params.items()
            if value is not None
        }
        path = f"/api/v1/monitoring/{quote(endpoint, safe='')}/{quote(report, safe='')}"
        return self._object("GET", path, params=query)
