"""The performance report: each version's metric values, overall and per time bucket.

Plain frozen dataclasses with their ``--json`` / API shape, built by
:func:`shipyard.monitoring.performance.performance` and re-exported there: import them from
there. No computation here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shipyard.gates.metrics import Task

__all__ = ["MetricValue", "PerformanceReport", "TimeBucket", "VersionPerformance"]


@dataclass(frozen=True, slots=True)
class MetricValue:
    """One metric on one slice of rows, with the registry's validation value for comparison.

    Attributes:
        name: A key of ``shipyard.gates.metrics.KNOWN_METRICS``.
        value: The metric as scikit-learn computes it, or None when it cannot be computed.
        reason: Why ``value`` is None (None when there is a value).
        higher_is_better: Direction of improvement (for colouring a difference).
        validation: The version's value of the metric at registration, or None.
        difference: ``value - validation`` when both exist, else None.
    """

    name: str
    value: float | None
    reason: str | None
    higher_is_better: bool
    validation: float | None = None
    difference: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (no NaN: missing numbers are None)."""
        return {
            "name": self.name,
            "value": _finite(self.value),
            "reason": self.reason,
            "higher_is_better": self.higher_is_better,
            "validation": _finite(self.validation),
            "difference": _finite(self.difference),
        }


@dataclass(frozen=True, slots=True)
class VersionPerformance:
    """One version's performance on the labelled predictions of a window or time bucket.

    Attributes:
        version: Model version.
        n: Predictions with a label: the sample every metric is computed on.
        predictions_total: Predictions logged, with or without a label, or None if unknown
            (always None inside a time bucket).
        label_coverage: ``n / predictions_total``, or None when the total is unknown or 0.
        metrics: One value per requested metric, in the requested order.
        validation: The registry's validation metrics of the version (finite numbers only).
        is_reliable: False when ``n`` is below the report's ``min_rows``.
        note: Why the numbers are not reliable (``"not enough labelled predictions (12 <
            30)"``), or None.
    """

    version: int
    n: int
    predictions_total: int | None
    label_coverage: float | None
    metrics: tuple[MetricValue, ...]
    validation: Mapping[str, float]
    is_reliable: bool
    note: str | None

    def metric(self, name: str) -> MetricValue:
        """The value of metric ``name``.

        Raises:
            KeyError: the metric was not computed.
        """
        for value in self.metrics:
            if value.name == name:
                return value
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (no NaN: missing numbers are None)."""
        return {
            "version": self.version,
            "n": self.n,
            "predictions_total": self.predictions_total,
            "label_coverage": _finite(self.label_coverage),
            "is_reliable": self.is_reliable,
            "note": self.note,
            "metrics": [m.to_dict() for m in self.metrics],
            "validation": {k: _finite(v) for k, v in self.validation.items()},
        }


@dataclass(frozen=True, slots=True)
class TimeBucket:
    """Performance over one equal-width time interval, for every version.

    Attributes:
        start: First instant of the bucket (UTC).
        end: End of the bucket (UTC), exclusive except for the last bucket.
        versions: One entry per version of the report, in the same order (empty ones too).
    """

    start: datetime
    end: datetime
    versions: tuple[VersionPerformance, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "versions": [v.to_dict() for v in self.versions],
        }


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    """Performance of an endpoint's versions from the feedback that arrived.

    Attributes:
        endpoint: The endpoint analysed ("" when unknown).
        task: Classification or regression.
        is_task_inferred: True when ``task`` was guessed from the data, not passed.
        metrics: Names of the metrics computed, in order.
        min_rows: Labelled predictions a slice needs before its numbers count as reliable.
        first_time: Time of the earliest labelled prediction, or None.
        last_time: Time of the latest labelled prediction, or None.
        versions: One entry per version (labelled or only logged), ascending.
        buckets: Performance over time, oldest first; empty unless buckets were asked for.
    """

    endpoint: str
    task: Task
    is_task_inferred: bool
    metrics: tuple[str, ...]
    min_rows: int
    first_time: datetime | None
    last_time: datetime | None
    versions: tuple[VersionPerformance, ...]
    buckets: tuple[TimeBucket, ...]

    def version(self, version: int) -> VersionPerformance:
        """The entry of ``version``.

        Raises:
            KeyError: the version is not in the report.
        """
        for entry in self.versions:
            if entry.version == version:
                return entry
        raise KeyError(version)

    def to_dict(self) -> dict[str, Any]:
        """The report as the ``--json`` / API shape (NaN-free)."""
        return {
            "endpoint": self.endpoint,
            "task": str(self.task),
            "is_task_inferred": self.is_task_inferred,
            "metrics": list(self.metrics),
            "min_rows": self.min_rows,
            "first_time": self.first_time.isoformat() if self.first_time else None,
            "last_time": self.last_time.isoformat() if self.last_time else None,
            "versions": [v.to_dict() for v in self.versions],
            "buckets": [b.to_dict() for b in self.buckets],
        }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
