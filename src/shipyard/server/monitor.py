"""The monitoring pass inside the server: alert rules on a schedule, and Prometheus gauges.

Every ``--monitor-interval`` seconds one worker — whichever holds the store's ``monitoring``
lease — checks every alert rule (``registry.alerts``: fire once, resolve once, deliver) and
publishes each endpoint's drift, performance and fairness over ``--monitor-window`` as gauges
on ``/metrics``. One holder at a time keeps N workers from scanning the same logs N times and
from racing to deliver; a holder that dies loses the lease after three intervals.

The pass runs on a worker thread off the event loop: a slow webhook or a large log scan
never holds up a prediction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Gauge

from shipyard.core.alerts import AlertRule
from shipyard.core.errors import MissingExtraError, ShipyardError
from shipyard.registry import Registry
from shipyard.registry.alert_checks import Reports
from shipyard.registry.alerts import CheckResult
from shipyard.serving.metrics import ServingMetrics

log = logging.getLogger("shipyard.monitor")

LEASE = "monitoring"
MIN_LEASE = 30.0
"""Seconds a lease lasts at the least, whatever the interval."""
MONITOR_ACTOR = "monitor"
"""The actor the audit log names for alerts the server raises."""


@dataclass(frozen=True, slots=True)
class PassResult:
    """What one pass did: None when another worker holds the lease."""

    alerts: CheckResult
    endpoints: tuple[str, ...]


class MonitorLoop:
    """One monitoring pass per ``tick``.

    Args:
        registry: The store (the pass acts as ``monitor``).
        metrics: The server's metrics, where the gauges are set.
        log_root: The prediction log directory.
        holder: This worker's id, for the lease.
        interval: Seconds between passes (the lease lasts three).
        window: Seconds of log the gauges summarise.
        clock: Seconds since the epoch (tests pass their own).
    """

    def __init__(
        self,
        registry: Registry,
        metrics: ServingMetrics,
        log_root: Path,
        *,
        holder: str,
        interval: float,
        window: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry.as_actor(MONITOR_ACTOR)
        self._metrics = metrics
        self._log_root = log_root
        self._holder = holder
        self._interval = interval
        self._window = window
        self._clock = clock
        self._published: dict[Gauge, set[tuple[str, ...]]] = {}
        self._fresh: dict[Gauge, set[tuple[str, ...]]] = {}
        self._rules: list[AlertRule] = []
        self.stopping = threading.Event()

    @property
    def lease_seconds(self) -> float:
        """How long the lease lasts without renewal: three intervals, at least half a minute.

        A pass renews it after every delivery and every endpoint, so only a holder that has
        stopped loses it; the floor keeps a short interval from handing a busy pass over.
        """
        return max(3 * self._interval, MIN_LEASE)

    def tick(self) -> PassResult | None:
        """Check alerts and refresh gauges, if this worker holds the lease."""
        registry = self._registry
        now = registry.now()
        if not self._renew():
            # Another worker (or replica) has the pass: what this one published is stale.
            self._fresh = {}
            self._retire_stale()
            return None
        reports = Reports(registry, now, self._log_root)
        result = registry.alerts.check(
            now=now,
            log_root=self._log_root,
            on_delivery=self._count_delivery,
            stop=self.stopping,
            reports=reports,
        )
        self._fresh = {}
        firing = {(a.endpoint, a.rule) for a in result.firing}
        for evaluation in result.evaluations:
            rule = evaluation.rule
            self._set(
                self._metrics.alerts_firing,
                (rule.endpoint, rule.name, rule.metric),
                1.0 if (rule.endpoint, rule.name) in firing else 0.0,
            )
        self._rules = [e.rule for e in result.evaluations]
        endpoints = self._endpoints()
        for endpoint in endpoints:
            if self.stopping.is_set() or not self._renew():
                break
            try:
                self._publish(reports, endpoint)
            except MissingExtraError:
                raise
            except ShipyardError as exc:
                log.debug("No monitoring gauges for %s: %s", endpoint, exc.message)
            self._metrics.monitoring_last_run.labels(endpoint).set(self._clock())
        self._retire_stale()
        return PassResult(result, tuple(endpoints))

    def release(self) -> None:
        """Stop a pass under way and give the lease up, so another worker takes over at once."""
        self.stopping.set()
        with self._registry.store.session(write=True) as s:
            s.leases.release(LEASE, self._holder)

    def _renew(self) -> bool:
        """Take or renew the lease; False while another holder has it."""
        with self._registry.store.session(write=True) as s:
            return s.leases.acquire(
                LEASE, self._holder, ttl=self.lease_seconds, now=self._registry.now()
            )

    def _set(self, gauge: Gauge, labels: tuple[str, ...], value: float) -> None:
        gauge.labels(*labels).set(value)
        self._fresh.setdefault(gauge, set()).add(labels)

    def _retire_stale(self) -> None:
        """Drop series this pass did not set: a version replaced, a rule or column gone."""
        for gauge, before in self._published.items():
            for labels in before - self._fresh.get(gauge, set()):
                self._metrics.retire(gauge, labels)
        self._published = self._fresh

    def _count_delivery(self, kind: str, delivered: bool) -> None:
        outcome = "delivered" if delivered else "failed"
        self._metrics.alert_notifications.labels(kind, outcome).inc()
        self._renew()  # deliveries can be slow (retries): keep the pass ours meanwhile

    def _endpoints(self) -> list[str]:
        """Endpoints with a prediction log that still exist (named ones or models)."""
        if not self._log_root.is_dir():
            return []
        known = {e.name for e in self._registry.endpoints.list()}
        known |= {m.name for m in self._registry.list_models()}
        return sorted(p.name for p in self._log_root.iterdir() if p.is_dir() and p.name in known)

    def _publish(self, reports: Reports, endpoint: str) -> None:
        m = self._metrics
        try:
            result = reports.drift(endpoint, None, self._window)
        except ShipyardError as exc:
            log.debug("No drift gauges for %s: %s", endpoint, exc.message)
        else:
            version = str(result.version)
            report = result.report
            rows = max((c.current_rows for c in report.columns), default=0)
            self._set(m.monitoring_rows, (endpoint, version), rows)
            for column in report.columns:
                if column.statistic is not None and column.method is not None:
                    scored = (endpoint, version, column.column, str(column.method))
                    self._set(m.drift_score, scored, column.statistic)
                if column.drifted is not None:
                    labels = (endpoint, version, column.column)
                    self._set(m.drift_detected, labels, float(column.drifted))
            if report.drifted_share is not None:
                self._set(m.drift_share, (endpoint, version), report.drifted_share)
            if report.dataset_drift is not None:
                self._set(m.dataset_drift, (endpoint, version), float(report.dataset_drift))
        try:
            performance = reports.performance(endpoint, None, self._window)
        except ShipyardError as exc:
            log.debug("No performance gauges for %s: %s", endpoint, exc.message)
        else:
            for entry in performance.versions:
                version = str(entry.version)
                if entry.label_coverage is not None:
                    self._set(m.label_coverage, (endpoint, version), entry.label_coverage)
                for value in entry.metrics:
                    if value.value is not None and entry.n > 0:
                        labels = (endpoint, version, value.name)
                        self._set(m.model_performance, labels, value.value)
        watched = {r.sensitive for r in self._rules if r.endpoint == endpoint and r.sensitive}
        for sensitive in sorted(set(self._sensitive(endpoint)) | watched):
            try:
                fairness = reports.fairness(endpoint, sensitive, None, self._window)
            except ShipyardError as exc:
                log.debug("No fairness gauges for %s/%s: %s", endpoint, sensitive, exc.message)
                continue
            for disparity in fairness.disparities:
                if disparity.value is not None:
                    gap = (endpoint, "all", sensitive, disparity.name)
                    self._set(m.fairness_gap, gap, disparity.value)

    def _sensitive(self, endpoint: str) -> list[str]:
        """The sensitive attributes registered with the production version's sample data.

        Attributes that fairness alert rules of the endpoint name are published as well.
        """
        from shipyard.registry.analysis import model_of

        try:
            model = self._registry.get_model(model_of(self._registry, endpoint))
            if model.production_version is None:
                return []
            version = self._registry.get_version(model.name, model.production_version)
        except ShipyardError:
            return []
        columns = (version.reference_profile or {}).get("columns", {})
        return sorted(name for name, c in columns.items() if c.get("role") == "sensitive")
