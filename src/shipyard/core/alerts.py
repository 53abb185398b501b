"""Alert rules, the alerts they raise, and the deliveries that tell people about them.

A rule watches one number of one endpoint — a drift share, a performance metric from late
labels, a fairness gap, the traffic itself — over a trailing window. When a check finds the
number past the rule's threshold on enough rows, the rule *fires* once: one alert is stored
and delivered; later checks that still breach change nothing. When a check finds the number
back on the right side, the alert *resolves* and that is delivered too. A check without
enough rows leaves the state as it is. Plain data, no I/O.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from shipyard.core.durations import format_seconds
from shipyard.core.errors import InvalidInputError


class Comparison(StrEnum):
    """Which side of the threshold is a breach."""

    ABOVE = "above"
    BELOW = "below"

    def breached(self, value: float, threshold: float) -> bool:
        """True when ``value`` is on the breaching side (the threshold itself breaches)."""
        return value >= threshold if self is Comparison.ABOVE else value <= threshold


class AlertState(StrEnum):
    """Where an alert stands."""

    FIRING = "firing"
    RESOLVED = "resolved"


class MetricFamily(StrEnum):
    """Which report a rule's metric comes from."""

    DRIFT = "drift"
    PERFORMANCE = "performance"
    FAIRNESS = "fairness"
    TRAFFIC = "traffic"


DRIFT_METRICS = ("drift_share", "drifted_columns", "dataset_drift", "prediction_drift")
"""From the drift report: share and count of drifted columns, and 0/1 verdicts."""
TRAFFIC_METRICS = ("predictions",)
"""From the prediction log: predictions answered in the window (alert on traffic stopping)."""
COVERAGE = "label_coverage"
"""Share of the window's predictions that received a label (a performance-family metric)."""

_RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def validate_rule_name(name: str) -> str:
    """``name`` if it is a valid rule name.

    Raises:
        InvalidInputError: not 1-64 lowercase letters, digits, ``_``, ``.`` or ``-``.
    """
    if not _RULE_NAME.match(name):
        raise InvalidInputError(
            f"Alert rule name {name!r} is not valid: use 1-64 lowercase letters, digits, '_', "
            "'.' or '-', starting with a letter or digit (e.g. 'drift-high')."
        )
    return name


def validate_webhook(url: str) -> str:
    """``url`` if it is an absolute http(s) URL.

    Raises:
        InvalidInputError: another scheme, or no host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(
            f"Webhook {url!r} is not an http(s) URL with a host, e.g. "
            "https://hooks.example.com/shipyard."
        )
    return url


@dataclass(frozen=True, slots=True)
class AlertRule:
    """A threshold on one monitored number of one endpoint.

    Attributes:
        id: Store id.
        endpoint: The endpoint (or a model served under its own name) it watches.
        name: Unique per endpoint.
        metric: A drift, performance, fairness or traffic metric name.
        family: The report ``metric`` comes from.
        comparison: Which side of ``threshold`` breaches.
        threshold: The limit (a breach includes equality).
        window_seconds: The trailing window each check looks at.
        min_samples: Rows the window needs (labelled rows for performance and fairness)
            before a check may fire or resolve.
        version: Only this version's predictions (None: drift follows the serving version,
            performance and fairness take all versions together, the worst one decides).
        sensitive: The sensitive attribute of a fairness metric (a feature or
            ``metadata.<field>``), else None.
        webhooks: URLs that receive each firing and resolution as JSON.
        created_by, created_at: Who made it, when.
    """

    id: int
    endpoint: str
    name: str
    metric: str
    family: MetricFamily
    comparison: Comparison
    threshold: float
    window_seconds: float
    min_samples: int
    version: int | None
    sensitive: str | None
    webhooks: tuple[str, ...]
    created_by: str
    created_at: datetime

    def describe(self) -> str:
        """``drift_share above 0.5 over 1h`` — the rule in words."""
        return (
            f"{self.metric} {self.comparison.value} {self.threshold:g} over "
            f"{format_seconds(self.window_seconds)}"
        )

    def to_dict(self, *, redact: bool = False) -> dict[str, Any]:
        """JSON-ready form; ``redact`` shows webhooks as scheme and host only (see ``redact``)."""
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "name": self.name,
            "metric": self.metric,
            "family": self.family.value,
            "comparison": self.comparison.value,
            "threshold": self.threshold,
            "window_seconds": self.window_seconds,
            "min_samples": self.min_samples,
            "version": self.version,
            "sensitive": self.sensitive,
            "webhooks": [redact_target("webhook", u) if redact else u for u in self.webhooks],
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "description": self.describe(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertRule:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=int(data["id"]),
            endpoint=data["endpoint"],
            name=data["name"],
            metric=data["metric"],
            family=MetricFamily(data["family"]),
            comparison=Comparison(data["comparison"]),
            threshold=float(data["threshold"]),
            window_seconds=float(data["window_seconds"]),
            min_samples=int(data["min_samples"]),
            version=data.get("version"),
            sensitive=data.get("sensitive"),
            webhooks=tuple(data.get("webhooks") or ()),
            created_by=data["created_by"],
            created_at=datetime.fromisoformat(data["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one check of one rule found.

    Attributes:
        rule: The rule checked.
        value: The metric over the window, or None when it could not be computed.
        samples: Rows the value rests on (labelled rows for performance and fairness).
        breached: True past the threshold, False within it, None when there is not enough
            data to say (then the rule's state does not change).
        reason: Why ``breached`` is None, else None.
        detail: What decided the value (e.g. the worst version, the drifted columns).
    """

    rule: AlertRule
    value: float | None
    samples: int
    breached: bool | None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rule": self.rule.name,
            "endpoint": self.rule.endpoint,
            "metric": self.rule.metric,
            "comparison": self.rule.comparison.value,
            "threshold": self.rule.threshold,
            "value": _finite(self.value),
            "samples": self.samples,
            "breached": self.breached,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt series to tell a target about an alert's firing or resolution.

    Attributes:
        alert_id: The alert delivered.
        event: ``firing`` or ``resolved``.
        kind: ``webhook`` or ``command``.
        target: The URL, or the command line.
        attempts: Tries made (retries included).
        delivered: True once a try succeeded.
        status: The last HTTP status or exit code, None when no answer came.
        error: Why the last try failed, None when delivered.
        at: When the series ended.
    """

    alert_id: int
    event: AlertState
    kind: str
    target: str
    attempts: int
    delivered: bool
    status: int | None
    error: str | None
    at: datetime

    def to_dict(self, *, redact: bool = False) -> dict[str, Any]:
        """JSON-ready form; ``redact`` hides the target's path, query and credentials."""
        return {
            "alert_id": self.alert_id,
            "event": self.event.value,
            "kind": self.kind,
            "target": redact_target(self.kind, self.target) if redact else self.target,
            "attempts": self.attempts,
            "delivered": self.delivered,
            "status": self.status,
            "error": self.error,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """One firing of a rule, from the check that breached to the check that recovered.

    Attributes:
        id: Store id.
        rule: The rule's name; ``endpoint`` and ``metric`` are the rule's.
        state: Firing, or resolved.
        value: The metric when it fired.
        threshold, comparison: The rule's, when it fired.
        samples: Rows the firing value rested on.
        fired_at: When it fired.
        resolved_at: When it resolved, else None.
        resolved_value: The metric when it resolved, else None.
        detail: The firing check's detail.
        deliveries: Delivery results, oldest first.
        rule_id: The rule's store id.
    """

    id: int
    rule: str
    endpoint: str
    metric: str
    state: AlertState
    value: float | None
    threshold: float
    comparison: Comparison
    samples: int
    fired_at: datetime
    resolved_at: datetime | None = None
    resolved_value: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    deliveries: tuple[Delivery, ...] = ()
    rule_id: int = 0

    def summary(self) -> str:
        """One line for people: what crossed what, where."""
        value = "n/a" if self.value is None else f"{self.value:.4g}"
        if self.state is AlertState.RESOLVED:
            back = "n/a" if self.resolved_value is None else f"{self.resolved_value:.4g}"
            return (
                f"[resolved] {self.endpoint}: {self.metric} is back at {back} "
                f"(rule {self.rule!r}: {self.comparison.value} {self.threshold:g})"
            )
        return (
            f"[firing] {self.endpoint}: {self.metric} = {value}, {self.comparison.value} "
            f"the threshold {self.threshold:g} (rule {self.rule!r}, {self.samples} rows)"
        )

    def to_dict(self, *, redact: bool = False) -> dict[str, Any]:
        """JSON-ready form (also the body webhooks and commands receive, as ``alert``)."""
        return {
            "id": self.id,
            "rule": self.rule,
            "rule_id": self.rule_id,
            "endpoint": self.endpoint,
            "metric": self.metric,
            "state": self.state.value,
            "value": _finite(self.value),
            "threshold": self.threshold,
            "comparison": self.comparison.value,
            "samples": self.samples,
            "fired_at": self.fired_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "resolved_value": _finite(self.resolved_value),
            "detail": self.detail,
            "summary": self.summary(),
            "deliveries": [d.to_dict(redact=redact) for d in self.deliveries],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """Inverse of :meth:`to_dict`."""
        resolved = data.get("resolved_at")
        return cls(
            id=int(data["id"]),
            rule=data["rule"],
            endpoint=data["endpoint"],
            metric=data["metric"],
            state=AlertState(data["state"]),
            value=data.get("value"),
            threshold=float(data["threshold"]),
            comparison=Comparison(data["comparison"]),
            samples=int(data["samples"]),
            fired_at=datetime.fromisoformat(data["fired_at"]),
            resolved_at=datetime.fromisoformat(resolved) if resolved else None,
            resolved_value=data.get("resolved_value"),
            detail=data.get("detail") or {},
            rule_id=int(data.get("rule_id") or 0),
            deliveries=tuple(
                Delivery(
                    alert_id=int(d["alert_id"]),
                    event=AlertState(d["event"]),
                    kind=d["kind"],
                    target=d["target"],
                    attempts=int(d["attempts"]),
                    delivered=bool(d["delivered"]),
                    status=d.get("status"),
                    error=d.get("error"),
                    at=datetime.fromisoformat(d["at"]),
                )
                for d in data.get("deliveries") or ()
            ),
        )


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of an alert's state made by one check: what gets delivered."""

    event: AlertState
    alert: Alert
    rule: AlertRule


def redact_target(kind: str, target: str) -> str:
    """A delivery target as people without deploy rights may see it.

    Webhook URLs often carry their secret (a chat hook's token path, ``user:pass@``, a query
    key), and the command line is the server's own configuration: readers see the scheme and
    host of a webhook, and only that a command ran.
    """
    if kind != "webhook":
        return "(command)"
    parts = urlsplit(target)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
