"""Alert rules per endpoint, and the check that fires, resolves and delivers alerts.

``check`` evaluates every rule over its trailing window (``registry.alert_checks``), records
state changes in one transaction with their audit entries — a rule fires once while it stays
breached and resolves once when it recovers, even with several server workers checking —
then delivers each change as JSON to the rule's webhooks and to the operator's command, and
records how each delivery went. The server runs it on a schedule; ``shipyard monitor check``
runs it from cron.

A command target comes only from the environment of the process that checks
(``SHIPYARD_ALERT_COMMAND``) or from the ``monitor check --command`` option, never from a
rule: rules are written through the API, and a rule that named a program would let anyone
allowed to write rules run programs on the server.
"""

from __future__ import annotations

import difflib
import logging
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.alerts import (
    COVERAGE,
    DRIFT_METRICS,
    TRAFFIC_METRICS,
    Alert,
    AlertRule,
    AlertState,
    Comparison,
    Evaluation,
    MetricFamily,
    Transition,
    validate_rule_name,
    validate_webhook,
)
from shipyard.core.errors import InvalidInputError
from shipyard.registry.alert_delivery import DeliveryHook, Dispatcher
from shipyard.registry.analysis import model_of

if TYPE_CHECKING:
    from shipyard.monitoring.notify import RetryPolicy
    from shipyard.registry.alert_checks import Reports
    from shipyard.registry.service import Registry

log = logging.getLogger("shipyard.alerts")

MAX_INT = 2**31 - 1
"""The largest integer the store's columns hold (PostgreSQL INTEGER)."""
MAX_WINDOW = 90 * 86400.0
"""The longest window a rule may look back over (90 days)."""


def metric_family(metric: str) -> MetricFamily:
    """The report ``metric`` comes from.

    Raises:
        InvalidInputError: an unknown metric (naming the closest known ones).
    """
    from shipyard.gates.metrics import KNOWN_METRICS
    from shipyard.monitoring.fairness import DISPARITIES

    families = {
        **dict.fromkeys(DRIFT_METRICS, MetricFamily.DRIFT),
        **dict.fromkeys([*KNOWN_METRICS, COVERAGE], MetricFamily.PERFORMANCE),
        **dict.fromkeys(DISPARITIES, MetricFamily.FAIRNESS),
        **dict.fromkeys(TRAFFIC_METRICS, MetricFamily.TRAFFIC),
    }
    if metric in families:
        return families[metric]
    close = difflib.get_close_matches(metric, families, n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise InvalidInputError(
        f"Unknown alert metric {metric!r}.{hint} Drift: {', '.join(DRIFT_METRICS)}; "
        f"performance: {', '.join(sorted([*KNOWN_METRICS, COVERAGE]))}; fairness: "
        f"{', '.join(DISPARITIES)}; traffic: {', '.join(TRAFFIC_METRICS)}."
    )


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check did.

    Attributes:
        checked_at: The end of every window.
        evaluations: One per rule checked.
        transitions: Alerts that fired or resolved in this check, as stored after delivery.
        firing: Every alert firing after the check (of the endpoints checked).
    """

    checked_at: datetime
    evaluations: tuple[Evaluation, ...]
    transitions: tuple[Alert, ...]
    firing: tuple[Alert, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "checked_at": self.checked_at.isoformat(),
            "evaluations": [e.to_dict() for e in self.evaluations],
            "transitions": [a.to_dict() for a in self.transitions],
            "firing": [a.to_dict() for a in self.firing],
        }


class Alerts:
    """Alert rules and alerts of one registry, changed as its actor."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def add_rule(
        self,
        endpoint: str,
        name: str,
        *,
        metric: str,
        threshold: float,
        comparison: Comparison | str = Comparison.ABOVE,
        window_seconds: float = 3600.0,
        min_samples: int = 100,
        version: int | None = None,
        sensitive: str | None = None,
        webhooks: Sequence[str] = (),
    ) -> AlertRule:
        """Add a rule to ``endpoint`` (audited).

        Raises:
            EndpointNotFoundError: no such endpoint (or model served under its own name).
            InvalidInputError: a bad name, metric, threshold, window, sample size, version,
                sensitive attribute or webhook URL.
            ConflictError: the endpoint has a rule of that name.
        """
        registry = self._registry
        validate_rule_name(name)
        family = metric_family(metric)
        try:
            side = Comparison(comparison)
        except ValueError:
            raise InvalidInputError(
                f"comparison must be 'above' or 'below', not {comparison!r}."
            ) from None
        if not math.isfinite(threshold):
            raise InvalidInputError(f"The threshold must be a finite number, not {threshold}.")
        if not 0 < window_seconds <= MAX_WINDOW:
            raise InvalidInputError(
                f"The window must be above 0 and at most 90 days, not {window_seconds:g} s."
            )
        if not 1 <= min_samples <= MAX_INT:
            raise InvalidInputError(
                f"min_samples must be between 1 and {MAX_INT:,}, not {min_samples}."
            )
        if version is not None and not 1 <= version <= MAX_INT:
            raise InvalidInputError(f"version must be between 1 and {MAX_INT:,}, not {version}.")
        if sensitive is not None and len(sensitive) > 200:
            raise InvalidInputError("The sensitive attribute's name is longer than 200 characters.")
        if family is MetricFamily.FAIRNESS and not sensitive:
            raise InvalidInputError(
                f"{metric} compares groups: name the sensitive attribute (--sensitive COL, a "
                "feature or a request metadata field)."
            )
        if family is not MetricFamily.FAIRNESS and sensitive:
            raise InvalidInputError(
                f"--sensitive applies to fairness metrics only, not to {metric}."
            )
        hooks = tuple(validate_webhook(url) for url in webhooks)
        model_of(registry, endpoint)
        now = registry.now()
        rule = AlertRule(
            id=0,
            endpoint=endpoint,
            name=name,
            metric=metric,
            family=family,
            comparison=side,
            threshold=float(threshold),
            window_seconds=float(window_seconds),
            min_samples=min_samples,
            version=version,
            sensitive=sensitive or None,
            webhooks=hooks,
            created_by=registry.actor,
            created_at=now,
        )
        with registry.store.session(write=True) as s:
            stored = s.alerts.add_rule(rule)
            s.audit.append(
                actor=registry.actor,
                action="alert_rule.create",
                target=endpoint,
                details={k: v for k, v in stored.to_dict().items() if k != "created_at"},
                at=now,
            )
        return stored

    def rules(self, endpoint: str | None = None) -> list[AlertRule]:
        """Live rules, of one endpoint or all."""
        if endpoint is not None:
            model_of(self._registry, endpoint)
        with self._registry.store.session() as s:
            return s.alerts.rules(endpoint)

    def delete_rule(self, endpoint: str, name: str) -> AlertRule:
        """Delete a rule (audited); a firing alert of it is resolved, without a delivery.

        Raises:
            AlertRuleNotFoundError: no live rule of that name there.
        """
        registry = self._registry
        now = registry.now()
        with registry.store.session(write=True) as s:
            rule = s.alerts.rule(endpoint, name)
            firing = s.alerts.firing(rule.id)
            if firing is not None:
                s.alerts.resolve(firing.id, value=None, at=now)
            s.alerts.delete_rule(rule.id, now)
            s.audit.append(
                actor=registry.actor,
                action="alert_rule.delete",
                target=endpoint,
                details={"rule": name, "resolved_alert": firing.id if firing else None},
                at=now,
            )
        return rule

    def history(
        self, *, endpoint: str | None = None, state: AlertState | None = None, limit: int = 50
    ) -> list[Alert]:
        """Alerts, newest first, with their deliveries."""
        if not 1 <= limit <= 1000:
            raise InvalidInputError(f"limit must be between 1 and 1000, not {limit}.")
        with self._registry.store.session() as s:
            return s.alerts.find(endpoint=endpoint, state=state, limit=limit)

    def get(self, alert_id: int) -> Alert:
        """One alert (AlertNotFoundError if there is none)."""
        with self._registry.store.session() as s:
            return s.alerts.get(alert_id)

    def check(
        self,
        *,
        endpoint: str | None = None,
        now: datetime | None = None,
        log_root: Path | None = None,
        command: str | None = None,
        retry: RetryPolicy | None = None,
        on_delivery: DeliveryHook | None = None,
        stop: threading.Event | None = None,
        reports: Reports | None = None,
    ) -> CheckResult:
        """Evaluate the rules (of one endpoint, or all), record changes, deliver them.

        Args:
            endpoint: Check only this endpoint's rules.
            now: The end of every window (default: the registry's clock).
            log_root: The prediction log directory (default ``$SHIPYARD_HOME/logs``).
            command: Run this for each change, JSON on stdin (default:
                ``settings.alert_command``).
            retry: How hard to try webhooks.
            on_delivery: Told about each delivery (the server counts them in Prometheus).
            stop: Set at shutdown: webhook retries end at once.
            reports: Reports ending at ``now`` to reuse (the server's pass shares them with
                its gauges, so a window both need is read once).

        Webhooks that missed a recent event are tried again first (``alert_delivery``).

        Raises:
            EndpointNotFoundError: ``endpoint`` does not exist.
            MissingExtraError: the ``monitoring`` extra is not installed.
        """
        from shipyard.monitoring.notify import RetryPolicy
        from shipyard.registry.alert_checks import Reports, evaluate

        registry = self._registry
        checked_at = now or registry.now()
        rules = self.rules(endpoint)
        dispatcher = Dispatcher(
            registry,
            command=command if command is not None else registry.settings.alert_command,
            retry=retry or RetryPolicy(),
            stop=stop,
            on_delivery=on_delivery,
        )
        dispatcher.redeliver(registry.now())
        reports = reports or Reports(registry, checked_at, log_root)
        evaluations = tuple(evaluate(rule, reports) for rule in rules)
        changes = self._record(evaluations, checked_at)
        delivered = tuple(dispatcher.deliver(change) for change in changes)
        with registry.store.session() as s:
            firing = [
                alert
                for alert in s.alerts.find(state=AlertState.FIRING, limit=1000)
                if endpoint is None or alert.endpoint == endpoint
            ]
        return CheckResult(checked_at, evaluations, delivered, tuple(firing))

    def _record(self, evaluations: Iterable[Evaluation], at: datetime) -> list[Transition]:
        registry = self._registry
        changes: list[Transition] = []
        with registry.store.session(write=True) as s:
            for e in evaluations:
                if e.breached is None:
                    continue
                if not s.alerts.lock_live_rule(e.rule.id):
                    continue  # deleted while its report was computed: nothing would resolve it
                open_alert = s.alerts.firing(e.rule.id)
                if e.breached and open_alert is None:
                    fired = s.alerts.fire(
                        e.rule, value=e.value, samples=e.samples, detail=e.detail, at=at
                    )
                    if fired is not None:
                        changes.append(Transition(AlertState.FIRING, fired, e.rule))
                        self._audit(s, "alert.fire", fired, at)
                elif not e.breached and open_alert is not None:
                    resolved = s.alerts.resolve(open_alert.id, value=e.value, at=at)
                    if resolved is not None:
                        changes.append(Transition(AlertState.RESOLVED, resolved, e.rule))
                        self._audit(s, "alert.resolve", resolved, at)
        for change in changes:
            level = logging.WARNING if change.event is AlertState.FIRING else logging.INFO
            log.log(level, "%s", change.alert.summary())
        return changes

    def _audit(self, s: Any, action: str, alert: Alert, at: datetime) -> None:
        s.audit.append(
            actor=self._registry.actor,
            action=action,
            target=alert.endpoint,
            details={
                "alert": alert.id,
                "rule": alert.rule,
                "metric": alert.metric,
                "value": alert.resolved_value if action == "alert.resolve" else alert.value,
                "threshold": alert.threshold,
            },
            at=at,
        )
