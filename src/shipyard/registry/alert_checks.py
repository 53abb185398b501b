"""Evaluate alert rules: the rule's number over its window, and whether it breaches.

Rules of one endpoint often share a window; ``Reports`` computes each report once per check
(the drift report of a 1h window serves a ``drift_share`` and a ``prediction_drift`` rule).
A report that cannot be made — no predictions in the window, no feedback yet, the sensitive
attribute absent — gives an evaluation without a verdict and says why; the rule's state then
stays as it was, so an outage of labels neither fires nor resolves anything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from shipyard.core.alerts import COVERAGE, AlertRule, Comparison, Evaluation, MetricFamily
from shipyard.core.errors import MissingExtraError, ShipyardError
from shipyard.registry.analysis import drift_report, fairness_report, performance_report

if TYPE_CHECKING:
    from shipyard.monitoring.fairness import FairnessReport
    from shipyard.monitoring.performance import PerformanceReport
    from shipyard.registry.analysis import EndpointDrift
    from shipyard.registry.service import Registry

T = TypeVar("T")


class Reports:
    """The reports one check needs, each computed once (failures are remembered too).

    Args:
        registry: Where endpoints and reference data are.
        now: The end of every window of this check.
        log_root: The prediction log directory (default ``$SHIPYARD_HOME/logs``).
    """

    def __init__(self, registry: Registry, now: datetime, log_root: Path | None = None) -> None:
        self.registry = registry
        self.now = now
        self.log_root = log_root or registry.settings.home / "logs"
        self._cache: dict[tuple[Any, ...], Any] = {}

    def drift(self, endpoint: str, version: int | None, window: float) -> EndpointDrift:
        """The drift report of ``endpoint`` over the trailing ``window`` seconds."""
        return self._get(
            ("drift", endpoint, version, window),
            lambda: drift_report(
                self.registry,
                endpoint,
                version=version,
                since=self._since(window),
                until=self.now,
                log_root=self.log_root,
            ),
        )

    def performance(self, endpoint: str, version: int | None, window: float) -> PerformanceReport:
        """The performance report (every metric of the task) over the trailing window."""
        return self._get(
            ("performance", endpoint, version, window),
            lambda: performance_report(
                self.registry,
                endpoint,
                version=version,
                since=self._since(window),
                until=self.now,
                min_rows=1,
                log_root=self.log_root,
            ),
        )

    def fairness(
        self, endpoint: str, sensitive: str, version: int | None, window: float
    ) -> FairnessReport:
        """The fairness report for ``sensitive`` over the trailing window."""
        return self._get(
            ("fairness", endpoint, sensitive, version, window),
            lambda: fairness_report(
                self.registry,
                endpoint,
                sensitive,
                version=version,
                since=self._since(window),
                until=self.now,
                log_root=self.log_root,
            ),
        )

    def predictions(self, endpoint: str, version: int | None, window: float) -> int:
        """Predictions answered by ``endpoint`` in the trailing window."""
        from shipyard.monitoring.window import load_window

        return self._get(
            ("predictions", endpoint, version, window),
            lambda: len(
                load_window(
                    self.log_root,
                    endpoint,
                    version=version,
                    since=self._since(window),
                    until=self.now,
                )
            ),
        )

    def _since(self, window: float) -> datetime:
        return self.now - timedelta(seconds=window)

    def _get(self, key: tuple[Any, ...], build: Callable[[], T]) -> T:
        if key not in self._cache:
            try:
                self._cache[key] = build()
            except MissingExtraError:
                raise  # a broken installation is not "no data": say so loudly
            except ShipyardError as exc:
                self._cache[key] = exc
        value = self._cache[key]
        if isinstance(value, ShipyardError):
            raise value
        return value  # type: ignore[no-any-return]


def evaluate(rule: AlertRule, reports: Reports) -> Evaluation:
    """What ``rule``'s metric is over its window now, and whether that breaches."""
    try:
        if rule.family is MetricFamily.DRIFT:
            return _drift(rule, reports)
        if rule.family is MetricFamily.PERFORMANCE:
            return _performance(rule, reports)
        if rule.family is MetricFamily.FAIRNESS:
            return _fairness(rule, reports)
        return _traffic(rule, reports)
    except MissingExtraError:
        raise
    except ShipyardError as exc:
        return Evaluation(rule, None, 0, None, reason=exc.message)


def _verdict(
    rule: AlertRule, value: float | None, samples: int, why_none: str, **detail: Any
) -> Evaluation:
    if samples < rule.min_samples:
        return Evaluation(
            rule,
            value,
            samples,
            None,
            reason=f"not enough data: {samples} rows in the window, the rule needs "
            f"{rule.min_samples}",
            detail=detail,
        )
    if value is None:
        return Evaluation(rule, None, samples, None, reason=why_none, detail=detail)
    return Evaluation(
        rule, value, samples, rule.comparison.breached(value, rule.threshold), detail=detail
    )


def _drift(rule: AlertRule, reports: Reports) -> Evaluation:
    result = reports.drift(rule.endpoint, rule.version, rule.window_seconds)
    report = result.report
    rows = max((c.current_rows for c in report.columns), default=0)
    drifted = [c.column for c in report.columns if c.drifted]
    detail = {"version": result.version, "drifted_columns": drifted}
    value: float | None
    if rule.metric == "drift_share":
        value = report.drifted_share
    elif rule.metric == "drifted_columns":
        value = float(report.drifted_columns) if report.evaluated_columns else None
    elif rule.metric == "dataset_drift":
        value = None if report.dataset_drift is None else float(report.dataset_drift)
    else:  # prediction_drift
        try:
            column = report.column("prediction")
        except KeyError:
            return Evaluation(rule, None, rows, None, "the log has no prediction column", detail)
        value = None if column.drifted is None else float(column.drifted)
        detail["statistic"] = column.statistic
        detail["method"] = str(column.method) if column.method else None
    return _verdict(rule, value, rows, "no column could be tested in this window", **detail)


def _performance(rule: AlertRule, reports: Reports) -> Evaluation:
    report = reports.performance(rule.endpoint, rule.version, rule.window_seconds)
    candidates: list[tuple[float, int, int]] = []  # (value, rows, version)
    reasons: list[str] = []
    for entry in report.versions:
        if rule.metric == COVERAGE:
            total = entry.predictions_total or 0
            if total >= rule.min_samples and entry.label_coverage is not None:
                candidates.append((entry.label_coverage, total, entry.version))
            continue
        try:
            metric = entry.metric(rule.metric)
        except KeyError:
            return Evaluation(
                rule,
                None,
                entry.n,
                None,
                reason=f"{rule.metric} is not computed for a {report.task} task; choose "
                f"one of: {', '.join(report.metrics)}",
            )
        if entry.n < rule.min_samples:
            reasons.append(f"v{entry.version}: {entry.n} labelled rows < {rule.min_samples}")
        elif metric.value is None:
            reasons.append(f"v{entry.version}: {metric.reason}")
        else:
            candidates.append((metric.value, entry.n, entry.version))
    if not candidates:
        reason = "; ".join(reasons) or "no labelled prediction in this window"
        samples = max((e.n for e in report.versions), default=0)
        return Evaluation(rule, None, samples, None, reason=f"not enough data: {reason}")
    # The version that is worst for this rule decides: a regression of one version alerts.
    pick = max if rule.comparison is Comparison.ABOVE else min
    value, rows, version = pick(candidates, key=lambda c: c[0])
    detail = {"version": version, "by_version": {str(v): x for x, _, v in candidates}}
    return _verdict(rule, value, rows, "", **detail)


def _fairness(rule: AlertRule, reports: Reports) -> Evaluation:
    assert rule.sensitive is not None  # validated when the rule was made
    report = reports.fairness(rule.endpoint, rule.sensitive, rule.version, rule.window_seconds)
    disparity = report.disparity(rule.metric)
    detail = {
        "sensitive": rule.sensitive,
        "lowest_group": disparity.lowest_group,
        "highest_group": disparity.highest_group,
        "groups": {g.group: g.count for g in report.groups},
    }
    if not report.is_reliable and report.n >= rule.min_samples:
        # A gap between a group of 3 and one of 300 is noise: no verdict, and say why.
        reason = "; ".join(report.notes) or "the groups are too small to compare"
        return Evaluation(rule, disparity.value, report.n, None, reason=reason, detail=detail)
    return _verdict(rule, disparity.value, report.n, disparity.reason or "not computable", **detail)


def _traffic(rule: AlertRule, reports: Reports) -> Evaluation:
    count = reports.predictions(rule.endpoint, rule.version, rule.window_seconds)
    # The count is its own evidence: zero predictions is the strongest signal of all.
    return Evaluation(
        rule, float(count), count, rule.comparison.breached(float(count), rule.threshold)
    )
