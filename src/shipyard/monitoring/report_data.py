"""What the HTML monitoring report shows: plain data, gathered from the log and the reports.

Per-feature reference vs current distributions (shares per bin or category), traffic and
latency per time bucket and version (one DuckDB query over the log), and ``ReportData``, which
holds those with the drift, performance and fairness reports. No plotting and no HTML here
(``report_plots``, ``report_html``), and no registry: ``shipyard.registry.reporting`` gathers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from shipyard.core.errors import DataFileError, InvalidInputError
from shipyard.monitoring.outcomes import (
    LIVE,
    UNREADABLE,
    as_utc,
    column_types,
    import_duckdb,
    log_segments,
)

if TYPE_CHECKING:
    from shipyard.monitoring.drift import DriftReport
    from shipyard.monitoring.fairness import FairnessReport
    from shipyard.monitoring.performance_report import PerformanceReport

__all__ = [
    "Distribution",
    "FairnessSection",
    "ReportData",
    "Traffic",
    "distribution",
    "load_traffic",
    "traffic",
]

HISTOGRAM_BINS = 30
TOP_CATEGORIES = 10
OTHER = "(other)"
MAX_TRAFFIC_BUCKETS = 48
# Bucket widths people read at a glance; the smallest giving at most MAX_TRAFFIC_BUCKETS wins.
BUCKET_WIDTHS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=7),
    timedelta(days=30),
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Distribution:
    """One column's values in the reference sample and in the window, as shares.

    Attributes:
        column: The column (an input feature, or ``prediction``).
        kind: ``"numeric"`` (histogram over ``edges``) or ``"categorical"`` (``labels``).
        edges: Bin edges of a numeric column (one more than the shares); empty otherwise.
        labels: Categories, most frequent first, then ``"(other)"``; empty for numeric.
        reference: Share of the reference's values in each bin or category (sums to 1).
        current: Share of the window's values in each bin or category.
        reference_count: Reference values that are not missing.
        current_count: Window values that are not missing.
        drifted: The drift verdict of the column, or None when it was not tested.
        test: The drift test and its statistic in words (``"K-S p-value 1.5e-11"``), or "".
    """

    column: str
    kind: Literal["numeric", "categorical"]
    edges: tuple[float, ...]
    labels: tuple[str, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]
    reference_count: int
    current_count: int
    drifted: bool | None = None
    test: str = ""


@dataclass(frozen=True, slots=True)
class Traffic:
    """Requests and latency per time bucket and version (live answers only).

    Attributes:
        start: First instant of the first bucket (UTC).
        width: Width of every bucket.
        buckets: Number of buckets.
        versions: Versions that answered, ascending.
        requests: Per version, requests answered in each bucket.
        p50_ms: Per version, median latency in each bucket (None: no request).
        p99_ms: Per version, 99th percentile latency in each bucket (None: no request).
        total_requests: Requests in the window.
        total_rows: Logged rows (instances) in the window.
        latency_p50_ms: Per version, the median latency over the whole window.
        latency_p99_ms: Per version, the 99th percentile over the whole window.
    """

    start: datetime
    width: timedelta
    buckets: int
    versions: tuple[int, ...]
    requests: Mapping[int, tuple[int, ...]]
    p50_ms: Mapping[int, tuple[float | None, ...]]
    p99_ms: Mapping[int, tuple[float | None, ...]]
    total_requests: int
    total_rows: int
    latency_p50_ms: Mapping[int, float | None] = field(default_factory=dict)
    latency_p99_ms: Mapping[int, float | None] = field(default_factory=dict)

    @property
    def edges(self) -> list[datetime]:
        """The ``buckets + 1`` bucket boundaries."""
        return [self.start + i * self.width for i in range(self.buckets + 1)]


@dataclass(frozen=True, slots=True)
class FairnessSection:
    """Outcomes by one sensitive attribute, or why they could not be computed."""

    attribute: str
    report: FairnessReport | None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the HTML report draws, for one endpoint and window.

    Attributes:
        endpoint: The endpoint.
        model: The model it serves.
        generated_at: When the data was gathered (UTC).
        since: Start of the window, or None for the whole log.
        until: End of the window, or None for "now".
        version: The version asked for, or None for every version.
        traffic: Requests and latency over time.
        drift: The drift report of ``drift_version``, or None (then ``drift_note`` says why).
        drift_version: The version whose inputs were compared with its reference data.
        drift_note: Why there is no drift report.
        distributions: Reference vs current values per column, drifted columns first.
        performance: The performance report, or None (then ``performance_note`` says why).
        performance_note: Why there is no performance to show (no feedback yet, ...).
        fairness: One entry per sensitive attribute looked at.
        fairness_note: Why no attribute was looked at.
    """

    endpoint: str
    model: str
    generated_at: datetime
    since: datetime | None
    until: datetime | None
    version: int | None
    traffic: Traffic
    drift: DriftReport | None = None
    drift_version: int | None = None
    drift_note: str | None = None
    distributions: tuple[Distribution, ...] = ()
    performance: PerformanceReport | None = None
    performance_note: str | None = None
    fairness: tuple[FairnessSection, ...] = ()
    fairness_note: str | None = None


def distribution(
    column: str,
    reference: Any,
    current: Any,
    *,
    kind: Literal["numeric", "categorical"],
    drifted: bool | None = None,
    test: str = "",
) -> Distribution:
    """Shares of ``reference`` and ``current`` values per shared bin (numeric) or category.

    Numeric bins span the 0.5th to 99.5th percentile of both windows together, so one outlier
    does not squeeze the rest into a single bar; values beyond fall into the end bins.
    Missing values (None, NaN, ±inf) are left out of the shares and of the counts.

    Args:
        column: Column name.
        reference: Reference values: a NumPy array, a sequence, or a PyArrow (Chunked)Array.
        current: Window values, likewise.
        kind: How to draw it (the drift report's kind of the column).
        drifted: The column's drift verdict.
        test: The column's drift test and statistic in words.
    """
    ref, cur = _values(reference), _values(current)
    if kind == "numeric":
        ref_numbers, cur_numbers = _finite(ref), _finite(cur)
        if ref_numbers is not None and cur_numbers is not None:
            edges = _edges(ref_numbers, cur_numbers)
            return Distribution(
                column,
                "numeric",
                tuple(float(e) for e in edges),
                (),
                _shares(ref_numbers, edges),
                _shares(cur_numbers, edges),
                len(ref_numbers),
                len(cur_numbers),
                drifted,
                test,
            )
    ref_labels, cur_labels = _labels(ref), _labels(cur)
    counts: dict[str, list[int]] = {}
    for side, labels in enumerate((ref_labels, cur_labels)):
        found, numbers = np.unique(np.asarray(labels, dtype=object).astype(str), return_counts=True)
        for name, number in zip(found.tolist(), numbers.tolist(), strict=True):
            counts.setdefault(name, [0, 0])[side] += number
    totals = (max(len(ref_labels), 1), max(len(cur_labels), 1))
    ranked = sorted(
        counts, key=lambda n: (-(counts[n][0] / totals[0] + counts[n][1] / totals[1]), n)
    )
    shown = ranked[:TOP_CATEGORIES]
    rest = ranked[TOP_CATEGORIES:]
    names = [*shown, OTHER] if rest else shown

    def shares(side: int) -> tuple[float, ...]:
        values = [counts[n][side] for n in shown]
        if rest:
            values.append(sum(counts[n][side] for n in rest))
        return tuple(v / totals[side] if (ref_labels, cur_labels)[side] else 0.0 for v in values)

    return Distribution(
        column,
        "categorical",
        (),
        tuple(names),
        shares(0),
        shares(1),
        len(ref_labels),
        len(cur_labels),
        drifted,
        test,
    )


def load_traffic(
    log_root: Path,
    endpoint: str,
    *,
    version: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Traffic:
    """Requests and latency of ``endpoint``'s live answers, per time bucket and version.

    One row per request (a request of n instances is logged as n rows with one latency).

    Raises:
        InvalidInputError: an empty time range.
        DataFileError: a segment cannot be read.
        MissingExtraError: DuckDB is not installed.
    """
    since_utc, until_utc = as_utc(since), as_utc(until)
    if since_utc is not None and until_utc is not None and since_utc >= until_utc:
        raise InvalidInputError("The window is empty: its start must be before its end.")
    logs = log_segments(Path(log_root) / endpoint, "part-*.parquet", since_utc, until_utc)
    empty = np.empty(0, dtype=np.int64)
    if not logs:
        return traffic(empty, empty, np.empty(0), empty, since=since_utc, until=until_utc)
    duckdb = import_duckdb()
    with duckdb.connect() as connection:
        try:
            source = "read_parquet($logs, union_by_name = true, hive_partitioning = false)"
            types = column_types(connection, source, {"logs": logs})
            params: dict[str, Any] = {"logs": logs, "role": LIVE}
            role = "coalesce(role, 'live')" if "role" in types else "'live'"
            where = ["version IS NOT NULL", f"{role} = $role"]
            if version is not None:
                where.append("version = $version")
                params["version"] = version
            if since_utc is not None:
                where.append('"time" >= $since')
                params["since"] = since_utc
            if until_utc is not None:
                where.append('"time" < $until')
                params["until"] = until_utc
            latency = "max(latency_ms)" if "latency_ms" in types else "CAST(NULL AS DOUBLE)"
            # SQL text from fixed fragments; values are parameters.
            sql = (
                f'SELECT epoch_us(min("time")) AS t, version, {latency} AS latency, '  # noqa: S608
                f"count(*) AS n FROM {source} WHERE {' AND '.join(where)} "
                "GROUP BY request_id, version"
            )
            found = connection.execute(sql, params).fetchnumpy()
        except duckdb.Error as exc:
            raise DataFileError(
                UNREADABLE.format(endpoint=endpoint, root=log_root, error=exc)
            ) from exc
    latencies = np.asarray(found["latency"], dtype=np.float64)
    return traffic(
        np.asarray(found["t"], dtype=np.int64),
        np.asarray(found["version"], dtype=np.int64),
        latencies,
        np.asarray(found["n"], dtype=np.int64),
        since=since_utc,
        until=until_utc,
    )


def traffic(
    time_us: np.ndarray,
    version: np.ndarray,
    latency_ms: np.ndarray,
    rows: np.ndarray,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Traffic:
    """Bucket requests (one entry each: epoch microseconds, version, latency, rows) in time.

    The buckets cover ``[since, until)`` when given, else the requests' own time range, with
    the smallest width of ``BUCKET_WIDTHS`` that needs at most ``MAX_TRAFFIC_BUCKETS``,
    aligned on multiples of the width since the epoch (hours start on the hour).
    """
    first = _instant(int(time_us.min())) if len(time_us) else None
    last = _instant(int(time_us.max())) if len(time_us) else None
    start = as_utc(since) or first or datetime.now(UTC)
    end = as_utc(until) or (last if since is None else None) or datetime.now(UTC)
    end = max(end, start)
    width = next(
        (w for w in BUCKET_WIDTHS if (end - start) / w <= MAX_TRAFFIC_BUCKETS), BUCKET_WIDTHS[-1]
    )
    start = _EPOCH + ((start - _EPOCH) // width) * width
    count = max(1, math.ceil((end - start) / width))
    if until is None and start + count * width <= end:
        count += 1  # the last request sits on a boundary: it needs a bucket of its own
    width_us = width // timedelta(microseconds=1)
    start_us = (start - _EPOCH) // timedelta(microseconds=1)
    index = np.clip((time_us - start_us) // width_us, 0, count - 1).astype(np.int64)
    versions = tuple(sorted({int(v) for v in version}))
    requests: dict[int, tuple[int, ...]] = {}
    p50: dict[int, tuple[float | None, ...]] = {}
    p99: dict[int, tuple[float | None, ...]] = {}
    overall_p50: dict[int, float | None] = {}
    overall_p99: dict[int, float | None] = {}
    for number in versions:
        mine = version == number
        requests[number] = tuple(np.bincount(index[mine], minlength=count).tolist())
        p50[number], p99[number] = _percentiles(index[mine], latency_ms[mine], count)
        overall_p50[number] = _percentile(latency_ms[mine], 50)
        overall_p99[number] = _percentile(latency_ms[mine], 99)
    return Traffic(
        start=start,
        width=width,
        buckets=count,
        versions=versions,
        requests=requests,
        p50_ms=p50,
        p99_ms=p99,
        total_requests=len(time_us),
        total_rows=int(rows.sum()) if len(rows) else 0,
        latency_p50_ms=overall_p50,
        latency_p99_ms=overall_p99,
    )


def _percentiles(
    index: np.ndarray, latency: np.ndarray, count: int
) -> tuple[tuple[float | None, ...], tuple[float | None, ...]]:
    p50: list[float | None] = [None] * count
    p99: list[float | None] = [None] * count
    order = np.argsort(index, kind="stable")
    sorted_index, sorted_latency = index[order], latency[order]
    bounds = np.searchsorted(sorted_index, np.arange(count + 1))
    for bucket in range(count):
        values = sorted_latency[bounds[bucket] : bounds[bucket + 1]]
        p50[bucket] = _percentile(values, 50)
        p99[bucket] = _percentile(values, 99)
    return tuple(p50), tuple(p99)


def _percentile(values: np.ndarray, q: float) -> float | None:
    values = values[np.isfinite(values)]
    return float(np.percentile(values, q)) if len(values) else None


def _instant(microseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=microseconds)


def _values(values: Any) -> np.ndarray:
    """A 1-D NumPy array of any column (PyArrow nulls become None or NaN)."""
    if hasattr(values, "to_numpy") and type(values).__module__.startswith("pyarrow"):
        return np.asarray(values.to_numpy(zero_copy_only=False))
    return np.asarray(values)


def _finite(values: np.ndarray) -> np.ndarray | None:
    """The finite numbers of ``values``, or None when they are not numbers."""
    if values.dtype.kind in "iufb":
        numbers = values.astype(np.float64)
    elif values.dtype.kind == "O":
        try:
            numbers = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        except (TypeError, ValueError):
            return None
    else:
        return None
    return numbers[np.isfinite(numbers)]


def _edges(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    both = np.concatenate([reference, current])
    if len(both) == 0:
        return np.array([0.0, 1.0])
    low, high = np.percentile(both, [0.5, 99.5])
    if not high > low:
        low, high = float(both.min()), float(both.max())
    if not high > low:
        low, high = low - 0.5, high + 0.5  # one value: a bin around it
    return np.linspace(low, high, HISTOGRAM_BINS + 1)


def _shares(values: np.ndarray, edges: np.ndarray) -> tuple[float, ...]:
    if len(values) == 0:
        return tuple(0.0 for _ in range(len(edges) - 1))
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    return tuple((counts / len(values)).tolist())


def _labels(values: np.ndarray) -> Sequence[Any]:
    """The values that are not missing, as Python objects."""
    kept = []
    for value in values.tolist():
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        kept.append(value)
    return kept
