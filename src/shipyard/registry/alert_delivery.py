"""Delivering alerts: now for each firing or resolution, later again for webhooks that failed.

A change is committed before it is delivered, so a crash or a receiver that is down for the
whole retry series would leave people uninformed. Each check therefore first goes back over
the last day's alerts: a webhook that has not acknowledged an event gets another series of
tries, after waits that double (1, 2, 4, 8, 16 minutes), at most ``MAX_SERIES`` series in all.
Delivery is at least once: a receiver can get an event twice if two checkers overlap, and
should use the alert's ``id`` and ``event`` to drop repeats. Commands run once per change, at
the change: the command is the checking process's own setting, not part of the alert.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from shipyard.core.alerts import Alert, AlertState, Delivery, Transition

if TYPE_CHECKING:
    from shipyard.monitoring.notify import Outcome, RetryPolicy
    from shipyard.registry.service import Registry

log = logging.getLogger("shipyard.alerts")

DeliveryHook = Callable[[str, bool], None]
"""Called after each delivery with its kind (``webhook`` or ``command``) and success."""

MAX_SERIES = 6
"""Retry series per webhook and event (the first one, made at the change, included)."""
REDELIVER_WITHIN = timedelta(days=1)
"""Events older than this are not delivered again."""
IN_FLIGHT = timedelta(minutes=5)
"""An event without any delivery record younger than this may still be under way elsewhere."""


class Dispatcher:
    """Sends alerts as JSON and records how each delivery went.

    Args:
        registry: Where deliveries are recorded.
        command: Run for each change with the JSON on stdin, or None.
        retry: How hard to try one webhook.
        stop: Set at shutdown: retries end at once.
        on_delivery: Told about each delivery (the server counts them in Prometheus).
    """

    def __init__(
        self,
        registry: Registry,
        *,
        command: str | None,
        retry: RetryPolicy,
        stop: threading.Event | None = None,
        on_delivery: DeliveryHook | None = None,
    ) -> None:
        self._registry = registry
        self._command = command
        self._retry = retry
        self._stop = stop or threading.Event()
        self._on_delivery = on_delivery

    def deliver(self, change: Transition) -> Alert:
        """Send one firing or resolution to the rule's webhooks and the command."""
        targets = [("webhook", url) for url in change.rule.webhooks]
        if self._command:
            targets.append(("command", self._command))
        return self._send(change, targets)

    def redeliver(self, now: datetime) -> int:
        """Give webhooks that missed a recent event another series of tries; how many."""
        due = self._due(now)
        for change, url in due:
            if self._stop.is_set():
                break
            self._send(change, [("webhook", url)])
        return len(due)

    def _due(self, now: datetime) -> list[tuple[Transition, str]]:
        due: list[tuple[Transition, str]] = []
        with self._registry.store.session() as s:
            live = {rule.id: rule for rule in s.alerts.rules()}
            for alert in s.alerts.find(limit=1000):
                if now - alert.fired_at > REDELIVER_WITHIN:
                    break  # newest first: the rest are older still
                rule = live.get(alert.rule_id)
                if rule is None:
                    continue  # a deleted rule's alerts are not delivered any more
                for event, at in _events(alert):
                    for url in rule.webhooks:
                        series = [
                            d
                            for d in alert.deliveries
                            if d.event is event and d.kind == "webhook" and d.target == url
                        ]
                        if _is_due(series, at, now):
                            due.append((Transition(event, alert, rule), url))
        return due

    def _send(self, change: Transition, targets: list[tuple[str, str]]) -> Alert:
        from shipyard.monitoring.notify import post_webhook, run_command

        if not targets:
            return change.alert
        body = orjson.dumps(payload(change))
        results: list[tuple[str, str, Outcome]] = []
        for kind, target in targets:
            if kind == "webhook":
                outcome = post_webhook(target, body, policy=self._retry, stop=self._stop)
            else:
                outcome = run_command(target, body)
            results.append((kind, target, outcome))
        now = self._registry.now()
        with self._registry.store.session(write=True) as s:
            for kind, target, outcome in results:
                s.alerts.add_delivery(
                    Delivery(
                        alert_id=change.alert.id,
                        event=change.event,
                        kind=kind,
                        target=target,
                        attempts=outcome.attempts,
                        delivered=outcome.delivered,
                        status=outcome.status,
                        error=outcome.error,
                        at=now,
                    )
                )
            stored = s.alerts.get(change.alert.id)
        for kind, target, outcome in results:
            if self._on_delivery is not None:
                self._on_delivery(kind, outcome.delivered)
            if not outcome.delivered:
                log.error(
                    "Could not deliver alert %d (%s) to %s %s after %d attempt(s): %s",
                    change.alert.id,
                    change.event.value,
                    kind,
                    target,
                    outcome.attempts,
                    outcome.error,
                )
        return stored


def payload(change: Transition) -> dict[str, Any]:
    """The JSON a webhook or command receives for one firing or resolution."""
    alert = {k: v for k, v in change.alert.to_dict().items() if k != "deliveries"}
    return {
        "event": change.event.value,
        "summary": change.alert.summary(),
        "alert": alert,
        "rule": change.rule.to_dict(),
    }


def _events(alert: Alert) -> list[tuple[AlertState, datetime]]:
    events = [(AlertState.FIRING, alert.fired_at)]
    if alert.resolved_at is not None:
        events.append((AlertState.RESOLVED, alert.resolved_at))
    return events


def _is_due(series: list[Delivery], happened: datetime, now: datetime) -> bool:
    """Whether a webhook should get another series of tries for one event now."""
    if any(d.delivered for d in series) or len(series) >= MAX_SERIES:
        return False
    if not series:  # the process that made the change may still be delivering it
        return now - happened >= IN_FLIGHT
    wait = timedelta(minutes=2 ** (len(series) - 1))
    return now - max(d.at for d in series) >= wait
