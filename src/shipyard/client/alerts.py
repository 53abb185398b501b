"""``Client`` methods of alerts: rules per endpoint, the alerts raised, a check on demand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shipyard.core.alerts import Alert, AlertRule


class AlertsMixin:
    """Alert rules and alerts of the server's registry."""

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

    def add_alert_rule(
        self,
        endpoint: str,
        name: str,
        *,
        metric: str,
        threshold: float,
        comparison: str = "above",
        window: str = "1h",
        min_samples: int = 100,
        version: int | None = None,
        sensitive: str | None = None,
        webhooks: Sequence[str] = (),
    ) -> AlertRule:
        """Add a rule to ``endpoint`` (deployer role); see ``Registry.alerts.add_rule``.

        Raises:
            EndpointNotFoundError, InvalidInputError, ConflictError, PermissionDeniedError.
        """
        body = {
            "name": name,
            "metric": metric,
            "threshold": threshold,
            "comparison": comparison,
            "window": window,
            "min_samples": min_samples,
            "version": version,
            "sensitive": sensitive,
            "webhooks": list(webhooks),
        }
        return AlertRule.from_dict(self._object("POST", _rules(endpoint), body))

    def alert_rules(self, endpoint: str | None = None) -> list[AlertRule]:
        """The endpoint's alert rules (every endpoint's when None)."""
        path = "/api/v1/alert-rules" if endpoint is None else _rules(endpoint)
        data = self._object("GET", path)
        return [AlertRule.from_dict(r) for r in data["rules"]]

    def delete_alert_rule(self, endpoint: str, name: str) -> AlertRule:
        """Delete a rule (deployer role); AlertRuleNotFoundError if there is none."""
        data = self._object("DELETE", f"{_rules(endpoint)}/{quote(name, safe='')}")
        return AlertRule.from_dict(data["deleted"])

    def alerts(
        self, *, endpoint: str | None = None, state: str = "all", limit: int = 50
    ) -> list[Alert]:
        """Alerts, newest first: ``state`` is ``firing``, ``resolved`` or ``all``."""
        params: dict[str, Any] = {"state": state, "limit": limit}
        if endpoint is not None:
            params["endpoint"] = endpoint
        data = self._object("GET", "/api/v1/alerts", params=params)
        return [Alert.from_dict(a) for a in data["alerts"]]

    def check_alerts(self, endpoint: str | None = None) -> dict[str, Any]:
        """Evaluate the rules on the server now (deployer role): evaluations, changes, firing."""
        params = {"endpoint": endpoint} if endpoint is not None else None
        return self._object("POST", "/api/v1/alerts/check", params=params, timeout=600.0)


def _rules(endpoint: str) -> str:
    return f"/api/v1/endpoints/{quote(endpoint, safe='')}/alert-rules"
