"""Data drift: a test per column (features or predictions) and the dataset-level verdict.

Pure computation over arrays (NumPy, or PyArrow arrays as input): no I/O and no pandas here;
SciPy (the ``monitoring`` extra) and PyArrow are imported only by the functions that need them.
Test selection, statistics and default thresholds follow Evidently's so numbers cross-check,
except for one deliberate difference explained on :class:`Method` (``CHISQUARE``).
"""

from __future__ import annotations

import importlib
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from shipyard.core.errors import InvalidInputError, MissingExtraError

__all__ = [
    "DRIFT_TESTS",
    "ColumnDrift",
    "ColumnDriftOptions",
    "DriftOptions",
    "DriftReport",
    "DriftTest",
    "Kind",
    "Method",
    "column_drift",
    "dataset_drift",
    "wasserstein_1d",
]

Kind = Literal["numeric", "categorical"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical")
SMALL_REFERENCE = 1000  # Evidently: at most this many reference values -> statistical tests
MAX_DISCRETE = 5  # numeric columns with at most this many distinct values are tested per value
MAX_BINARY = 2  # ... and with at most this many, by the z-test (and counted categorical)
HISTOGRAM_ABOVE = 20  # JS/PSI bin a numeric column when its reference has more distinct values
MIN_ROWS = 30
MAX_UNSEEN_SHOWN = 20
STD_FLOOR = 0.001  # Evidently's floor of the reference std (absolute, in the column's units)
_PROBE = 1024  # values looked at first when counting distinct values
_NONE = np.array(None, dtype=object)

# Wording that reports carry and tests check.
DRIFTED = "Drift detected in {column}: {title} {value} ({rule})."
NOT_DRIFTED = "No drift in {column}: {title} {value} ({rule})."
NOT_ENOUGH = (
    "Not enough data in {column}: {reference} reference and {current} current values that are "
    "not missing; at least {needed} of each are needed."
)
ABSENT = "{column} is in the {present} data but not in the {absent} data."
NOT_BINARY = "The z-test needs at most two distinct values, and {column} has {n}; use chisquare."
MISSING_NOTE = " Missing values: {reference} of reference rows, {current} of current rows."
UNSEEN_NOTE = " {n} {noun} not in the reference ({rows} current rows): {shown}."
DATASET_DRIFT = "Dataset drift: {drifted} of {evaluated} columns drifted ({share}, threshold {t})."
NO_DATASET_DRIFT = (
    "No dataset drift: {drifted} of {evaluated} columns drifted ({share}, threshold {t})."
)
NO_COLUMN_TESTED = "Not enough data: no column could be tested."
NOT_TESTED_NOTE = " Not tested: {names}."
WRONG_KIND = (
    "{method} applies to {allowed} columns, but {column} is {kind}: choose another method or "
    "pass its kind."
)
NOT_NUMERIC = "{column} was given kind 'numeric' but holds values that are not numbers."
UNSUPPORTED = (
    "{column} has the type {dtype}, which drift is not computed for: convert it to numbers or "
    "strings first."
)


class Method(StrEnum):
    """A drift test or distance; the value is its stable name in options and ``--json``.

    Statistics are computed on the values that are not missing (NaN, None and, as in
    Evidently, ±inf); ``n_ref`` and ``n_cur`` count those values.

    * ``KS``: two-sample Kolmogorov-Smirnov p-value, ``scipy.stats.ks_2samp`` (two-sided,
      ``method="auto"``); drift when p <= 0.05. Numeric columns. Evidently's ``ks``.
    * ``WASSERSTEIN``: first Wasserstein distance divided by ``max(std(reference), 0.001)``
      (population std); drift when >= 0.1 ("a tenth of a reference standard deviation").
      Numeric columns. Evidently's ``wasserstein``.
    * ``CHISQUARE``: Pearson's chi-square test of homogeneity on the 2 x k table of reference
      and current counts per value (``scipy.stats.chi2_contingency(table,
      correction=False)``, k - 1 degrees of freedom); drift when p < 0.05. Shipyard's default
      where Evidently uses ``CHISQUARE_GOF``: a two-sample test, whose false-alarm rate stays
      near 5% on undrifted data.
    * ``CHISQUARE_GOF``: what Evidently names ``chisquare``: ``scipy.stats.chisquare(current counts,
      reference counts * n_cur / n_ref)``; drift when p < 0.05. It treats the reference
      sample as the exact truth, so with 1,000 vs 1,000 undrifted rows it flags about 22% of
      columns with 3 values and nearly all with 50. Use it (or
      ``DriftOptions.evidently_compatible``) to reproduce Evidently's numbers.
    * ``Z``: two-proportion z-test with the pooled proportion, for at most two values;
      p = erfc(abs(z) / sqrt(2)) (Evidently writes 2(1 - Phi(abs(z))), equal but for rounding
      below 1e-16), 1 when both samples hold the same single value; drift when p < 0.05.
      Equals ``CHISQUARE`` on two values. Evidently's ``z``.
    * ``JENSENSHANNON``: ``scipy.spatial.distance.jensenshannon`` (natural log, so 0 to
      sqrt(ln 2) ~ 0.833) of the two samples' shares per value, or, for a numeric column whose
      reference has more than 20 distinct values, per equal-width Sturges bin over the
      combined range (``np.histogram_bin_edges(both, "sturges")``); no smoothing; drift when
      >= 0.1. Evidently's ``jensenshannon``. Its sampling noise grows with the number of
      values: with 50 values and 1,001 rows per window it reaches 0.1 on most undrifted
      columns (81% measured), so give many-valued columns ``CHISQUARE`` or more rows.
    * ``PSI``: population stability index ``sum((r - c) * ln(r / c))`` over the same bins as
      ``JENSENSHANNON``, a zero share replaced by min(nonzero share) / 1e6 when that minimum is
      <= 1e-4, else by 1e-4 (each sample apart); drift when >= 0.1. Only on request.
      Evidently's ``psi``.
    """

    KS = "ks"
    WASSERSTEIN = "wasserstein"
    CHISQUARE = "chisquare"
    CHISQUARE_GOF = "chisquare_gof"
    Z = "z"
    JENSENSHANNON = "jensenshannon"
    PSI = "psi"


@dataclass(frozen=True, slots=True)
class DriftTest:
    """What a method needs and how its statistic is read.

    Attributes:
        method: The method described.
        title: Name of the statistic in sentences.
        rule: ``"<="``, ``"<"`` or ``">="``: drift when ``statistic <rule> threshold``.
        default_threshold: Evidently's default.
        kinds: Column kinds the method applies to.
        needs: ``"values"`` (the finite values), ``"counts"`` (counts per distinct value,
            aligned) or ``"bins"`` (counts per value, or per Sturges bin for a numeric column
            whose reference has more than 20 distinct values).
        statistic: ``(reference, current) -> statistic`` on what ``needs`` says.
    """

    method: Method
    title: str
    rule: Literal["<=", "<", ">="]
    default_threshold: float
    kinds: frozenset[str]
    needs: Literal["values", "counts", "bins"]
    statistic: Callable[[NDArray[Any], NDArray[Any]], float]

    @property
    def is_p_value(self) -> bool:
        """True for tests (drift when the p-value is small), False for distances."""
        return self.rule != ">="

    def is_drift(self, statistic: float, threshold: float) -> bool:
        """Whether ``statistic`` means drift at ``threshold``."""
        if self.rule == "<=":
            return statistic <= threshold
        if self.rule == "<":
            return statistic < threshold
        return statistic >= threshold


@dataclass(frozen=True, slots=True)
class ColumnDriftOptions:
    """How to test one column.

    Attributes:
        method: The method, or None to choose as Evidently does (see :func:`column_drift`).
        threshold: The drift threshold, or None for the method's default. Given without a
            method, it applies to whichever method is chosen.
    """

    method: Method | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.method is not None:
            object.__setattr__(self, "method", _method(self.method))
        if self.threshold is not None and not (
            math.isfinite(self.threshold) and self.threshold > 0
        ):
            raise InvalidInputError(
                f"A drift threshold must be a positive number, not {self.threshold}."
            )


@dataclass(frozen=True, slots=True)
class DriftOptions:
    """How to test a dataset: per-model settings, every one with Evidently's default.

    Attributes:
        drift_share: Dataset drift when at least this share of the tested columns drifted.
        per_column: Options for named columns; they replace the kind's default entirely.
        default_numeric: Options for the other numeric columns.
        default_categorical: Options for the other categorical columns.
        evidently_compatible: Choose Evidently's goodness-of-fit chi-square
            (``CHISQUARE_GOF``) where Shipyard's default is the two-sample ``CHISQUARE``.
        min_rows: Values (not missing) each window needs for a verdict; below it a column is
            "not enough data" (``drifted`` None), not drifted or stable.
    """

    drift_share: float = 0.5
    per_column: Mapping[str, ColumnDriftOptions] = field(default_factory=dict, hash=False)
    default_numeric: ColumnDriftOptions = ColumnDriftOptions()
    default_categorical: ColumnDriftOptions = ColumnDriftOptions()
    evidently_compatible: bool = False
    min_rows: int = MIN_ROWS

    def __post_init__(self) -> None:
        if not 0 < self.drift_share <= 1:
            raise InvalidInputError(
                f"drift_share must be above 0 and at most 1 (e.g. 0.5), not {self.drift_share}."
            )
        if self.min_rows < 1:
            raise InvalidInputError(f"min_rows must be at least 1, not {self.min_rows}.")
        for name, column in self.per_column.items():
            if not isinstance(column, ColumnDriftOptions):
                raise InvalidInputError(
                    f"per_column[{name!r}] must be ColumnDriftOptions, not {type(column).__name__}."
                )
        object.__setattr__(self, "per_column", MappingProxyType(dict(self.per_column)))

    def for_column(self, name: str, kind: Kind) -> ColumnDriftOptions:
        """The options that apply to column ``name`` of kind ``kind``."""
        if name in self.per_column:
            return self.per_column[name]
        return self.default_numeric if kind == "numeric" else self.default_categorical


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """The drift result of one column.

    Attributes:
        column: Column name.
        kind: ``"numeric"`` or ``"categorical"``.
        method: The method used (or that would be, when there is not enough data); None for a
            column absent from one side.
        statistic: The p-value of a test or the distance; None when not computed.
        threshold: The threshold applied; None for an absent column.
        drifted: True or False, or None when no verdict is possible (not enough data, absent
            column, method not applicable).
        reference_rows: Reference rows, missing values included.
        current_rows: Current rows, missing values included.
        reference_missing: Reference rows without a value (NaN, None, ±inf).
        current_missing: Current rows without a value.
        unseen_categories: Up to 20 current values absent from the reference, most frequent
            first (only for columns compared value by value).
        unseen_count: How many distinct current values are absent from the reference.
        unseen_rows: Current rows holding one of them.
        detail: Plain sentences for people.
    """

    column: str
    kind: Kind
    method: Method | None
    statistic: float | None
    threshold: float | None
    drifted: bool | None
    reference_rows: int
    current_rows: int
    reference_missing: int
    current_missing: int
    unseen_categories: tuple[Any, ...]
    unseen_count: int
    unseen_rows: int
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """The result as the ``--json`` / API shape (NaN-free)."""
        test = DRIFT_TESTS[self.method] if self.method else None
        read_as = None if test is None else "p_value" if test.is_p_value else "distance"
        return {
            "column": self.column,
            "kind": self.kind,
            "method": str(self.method) if self.method else None,
            "statistic_kind": read_as,
            "statistic": _finite(self.statistic),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "reference_missing": self.reference_missing,
            "current_missing": self.current_missing,
            "unseen_categories": [_plain(value) for value in self.unseen_categories],
            "unseen_count": self.unseen_count,
            "unseen_rows": self.unseen_rows,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Drift of a dataset: every column's result and the share-of-drifted-columns verdict.

    Attributes:
        columns: One result per column: the reference's order, then current-only columns.
        evaluated_columns: Columns with a verdict (``drifted`` not None).
        drifted_columns: Columns that drifted.
        drifted_share: ``drifted_columns / evaluated_columns``; None when none was tested.
        dataset_drift: ``drifted_share >= drift_share_threshold``; None when none was tested.
        drift_share_threshold: ``DriftOptions.drift_share``.
        summary: One sentence for people (plus the columns not tested).
    """

    columns: tuple[ColumnDrift, ...]
    evaluated_columns: int
    drifted_columns: int
    drifted_share: float | None
    dataset_drift: bool | None
    drift_share_threshold: float
    summary: str

    def column(self, name: str) -> ColumnDrift:
        """The result of column ``name`` (KeyError if it is not in the report)."""
        for result in self.columns:
            if result.column == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The report as the ``--json`` / API shape (NaN-free)."""
        return {
            "dataset_drift": self.dataset_drift,
            "drifted_share": self.drifted_share,
            "drift_share_threshold": self.drift_share_threshold,
            "drifted_columns": self.drifted_columns,
            "evaluated_columns": self.evaluated_columns,
            "summary": self.summary,
            "columns": [column.to_dict() for column in self.columns],
        }


def column_drift(
    reference: Any,
    current: Any,
    *,
    kind: Kind | None = None,
    options: ColumnDriftOptions | None = None,
    name: str = "",
    min_rows: int = MIN_ROWS,
    evidently_compatible: bool = False,
) -> ColumnDrift:
    """Test one column (a feature, or the predictions) for drift between two windows.

    Kind, unless given: NumPy integer and float columns are numeric, except those with at
    most two distinct values (which Evidently's test choice treats as categories); bool,
    string, object (even holding numbers: pass ``kind="numeric"``) and Arrow non-number
    columns are categorical. Method, unless given, by Evidently's rules on the ``n_ref``
    reference values that are not missing and the ``n`` distinct values of both windows:

    * ``n_ref <= 1000``: ``Z`` if ``n <= 2``; else ``CHISQUARE`` (``CHISQUARE_GOF`` when
      ``evidently_compatible``) for categorical columns and numeric ones with ``n <= 5``;
      else ``KS``.
    * ``n_ref > 1000``: ``WASSERSTEIN`` for numeric columns with ``n > 5``, else
      ``JENSENSHANNON``.

    Args:
        reference: The reference window's values: a NumPy array, a sequence, or a PyArrow
            Array / ChunkedArray (nulls are missing values).
        current: The current window's values, likewise.
        kind: ``"numeric"`` or ``"categorical"``, or None to infer.
        options: Method and threshold; default: chosen as above, Evidently's threshold.
        name: Column name, for the report.
        min_rows: Values (not missing) each window needs for a verdict.
        evidently_compatible: Use ``CHISQUARE_GOF`` where Shipyard's default is ``CHISQUARE``.

    Returns:
        The result; ``drifted`` is None with a plain ``detail`` when there is not enough data.

    Raises:
        InvalidInputError: A kind the method does not apply to, a threshold out of range, a
            column that is not one-dimensional or has an unsupported type (dates, complex).
        MissingExtraError: SciPy (the ``monitoring`` extra) is not installed.
    """
    chosen = options or ColumnDriftOptions()
    if min_rows < 1:
        raise InvalidInputError(f"min_rows must be at least 1, not {min_rows}.")
    return _evaluate(
        reference,
        current,
        name=name,
        kind=_kind(kind),
        pick=lambda _kind: chosen,
        min_rows=min_rows,
        evidently_compatible=evidently_compatible,
    )


def dataset_drift(
    reference: Any,
    current: Any,
    *,
    kinds: Mapping[str, Kind] | None = None,
    options: DriftOptions | None = None,
) -> DriftReport:
    """Test every column of two windows for drift, and the dataset by the share that drifted.

    Each column is tested as :func:`column_drift` does; columns present in only one window
    are reported (``drifted`` None), not tested. Dataset drift when at least
    ``options.drift_share`` of the tested columns drifted (Evidently's rule). Include the
    predictions as a column to test them with the features.

    Args:
        reference: Column name -> values (see :func:`column_drift`), or a PyArrow Table.
        current: The current window, likewise.
        kinds: Column kinds that override the inference.
        options: Per-model settings; default Evidently's.

    Returns:
        The report.

    Raises:
        InvalidInputError: Options or kinds naming a column that is in neither window, and
            the cases of :func:`column_drift`.
        MissingExtraError: SciPy (the ``monitoring`` extra) is not installed.
    """
    opts = options or DriftOptions()
    given = {name: _kind(kind) for name, kind in (kinds or {}).items()}
    ref_columns, cur_columns = _columns(reference), _columns(current)
    names = list(ref_columns) + [n for n in cur_columns if n not in ref_columns]
    unknown = sorted((set(given) | set(opts.per_column)) - set(names))
    if unknown:
        raise InvalidInputError(
            f"Drift options name columns that are in neither window: {', '.join(unknown)}."
        )
    results: list[ColumnDrift] = []
    for name in names:
        if name not in cur_columns or name not in ref_columns:
            results.append(
                _absent(name, ref_columns.get(name), cur_columns.get(name), given.get(name))
            )
            continue
        results.append(
            _evaluate(
                ref_columns[name],
                cur_columns[name],
                name=name,
                kind=given.get(name),
                pick=partial(opts.for_column, name),
                min_rows=opts.min_rows,
                evidently_compatible=opts.evidently_compatible,
            )
        )
    return _report(tuple(results), opts.drift_share)


def wasserstein_1d(u: NDArray[Any], v: NDArray[Any]) -> float:
    """First Wasserstein distance of two samples: ``scipy.stats.wasserstein_distance(u, v)``.

    Computed as the area between the two quantile functions, ``integral_0^1 |Q_u(t) -
    Q_v(t)| dt``, whose breakpoints ``i/n`` and ``j/m`` are merged arithmetically: two sorts
    and O(n + m) vector work, about 5x faster than SciPy's value-axis sum (a sort of both
    samples together and two binary searches). Equal to SciPy's to within rounding (~1e-15).
    Both samples must be non-empty.
    """
    a, b = np.sort(np.asarray(u, dtype=np.float64)), np.sort(np.asarray(v, dtype=np.float64))
    n, m = a.size, b.size
    if n * m >= 1 << 62:  # the exact integer breakpoints would overflow: SciPy's way
        return float(_scipy("stats").wasserstein_distance(a, b))
    i = np.arange(1, n + 1, dtype=np.int64)
    j = np.arange(1, m + 1, dtype=np.int64)
    # On (t_prev, i/n] Q_u is a[i-1] and Q_v is b[ceil(i*m/n) - 1]; symmetrically for j/m.
    b_at = (i * m + n - 1) // n - 1
    a_at = (j * n + m - 1) // m - 1
    # Ranks of the right ends i/n and j/m among all n + m of them (i/n first on a tie).
    rank_a = i + b_at - 1
    rank_b = j + (j * n) // m - 1
    ends = np.empty(n + m, dtype=np.int64)  # in units of 1 / (n * m): exact
    gaps = np.empty(n + m, dtype=np.float64)
    ends[rank_a], ends[rank_b] = i * m, j * n
    gaps[rank_a], gaps[rank_b] = np.abs(a - b[b_at]), np.abs(a[a_at] - b)
    lengths = np.diff(ends, prepend=0).astype(np.float64)
    return float(np.dot(lengths, gaps)) / (n * m)


_TESTS: dict[Method, DriftTest] = {}
DRIFT_TESTS: Mapping[Method, DriftTest] = MappingProxyType(_TESTS)
"""The methods Shipyard knows, by name: what each needs and how its statistic is read."""
_Statistic = Callable[[NDArray[Any], NDArray[Any]], float]


def _registered(
    method: Method,
    title: str,
    rule: Literal["<=", "<", ">="],
    threshold: float,
    needs: Literal["values", "counts", "bins"],
    kinds: tuple[Kind, ...] = KINDS,
) -> Callable[[_Statistic], _Statistic]:
    def register(statistic: _Statistic) -> _Statistic:
        _TESTS[method] = DriftTest(
            method, title, rule, threshold, frozenset(kinds), needs, statistic
        )
        return statistic

    return register


@_registered(Method.KS, "K-S p-value", "<=", 0.05, "values", kinds=("numeric",))
def _ks(reference: NDArray[Any], current: NDArray[Any]) -> float:
    return float(_scipy("stats").ks_2samp(reference, current).pvalue)


@_registered(
    Method.WASSERSTEIN, "normed Wasserstein distance", ">=", 0.1, "values", kinds=("numeric",)
)
def _wasserstein(reference: NDArray[Any], current: NDArray[Any]) -> float:
    return wasserstein_1d(reference, current) / max(float(np.std(reference)), STD_FLOOR)


@_registered(Method.CHISQUARE, "two-sample chi-square p-value", "<", 0.05, "counts")
def _chisquare(reference: NDArray[Any], current: NDArray[Any]) -> float:
    table = np.vstack([reference, current]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return float(_scipy("stats").chi2.sf(statistic, table.shape[1] - 1))


@_registered(Method.CHISQUARE_GOF, "goodness-of-fit chi-square p-value", "<", 0.05, "counts")
def _chisquare_gof(reference: NDArray[Any], current: NDArray[Any]) -> float:
    expected = reference * (current.sum() / reference.sum())
    observed = current.astype(np.float64)
    if np.any((expected == 0) & (observed > 0)):
        return 0.0  # a value the reference never had: SciPy's statistic is inf, p is 0
    if expected.size < 2:
        return 1.0
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return float(_scipy("stats").chi2.sf(statistic, expected.size - 1))


@_registered(Method.Z, "z-test p-value", "<", 0.05, "counts")
def _z(reference: NDArray[Any], current: NDArray[Any]) -> float:
    if reference.size < 2:  # one value in both windows (three or more are refused earlier)
        return 1.0
    n1, n2 = int(reference.sum()), int(current.sum())
    p1, p2 = reference[0] / n1, current[0] / n2
    pooled = (reference[0] + current[0]) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))


@_registered(Method.JENSENSHANNON, "Jensen-Shannon distance", ">=", 0.1, "bins")
def _jensenshannon(reference: NDArray[Any], current: NDArray[Any]) -> float:
    jensenshannon = _scipy("spatial.distance").jensenshannon
    return float(jensenshannon(reference / reference.sum(), current / current.sum()))


@_registered(Method.PSI, "PSI", ">=", 0.1, "bins")
def _psi(reference: NDArray[Any], current: NDArray[Any]) -> float:
    r, c = _fill_zeros(reference / reference.sum()), _fill_zeros(current / current.sum())
    return float(np.sum((r - c) * np.log(r / c)))


def _fill_zeros(shares: NDArray[np.float64]) -> NDArray[np.float64]:
    smallest = float(shares[shares > 0].min())
    return np.where(shares == 0, smallest / 1e6 if smallest <= 1e-4 else 1e-4, shares)


@dataclass(frozen=True, slots=True)
class _Counts:
    """Counts per value (``labels`` the values) or per bin (``labels`` None), aligned."""

    labels: Any  # np.ndarray, pyarrow Array, list, or None for histogram bins
    reference: NDArray[np.int64]
    current: NDArray[np.int64]


@dataclass(slots=True)
class _Column:
    """One column's two windows, missing values removed, with what the tests need."""

    kind: Kind
    reference_rows: int
    current_rows: int
    reference_missing: int
    current_missing: int
    reference: NDArray[Any] | None = None  # the finite values, for NumPy number/bool columns
    current: NDArray[Any] | None = None
    counts: _Counts | None = None  # per value; computed on first use for number columns

    @property
    def n_reference(self) -> int:
        return self.reference_rows - self.reference_missing

    @property
    def n_current(self) -> int:
        return self.current_rows - self.current_missing

    def value_counts(self) -> _Counts:
        if self.counts is None:
            assert self.reference is not None and self.current is not None
            self.counts = _number_counts(self.reference, self.current)
        return self.counts

    def distinct(self, limit: int) -> int:
        if self.counts is not None or self.reference is None or self.current is None:
            return len(self.value_counts().reference)
        return _distinct([self.reference, self.current], limit)

    def bins(self) -> _Counts:
        ref, cur = self.reference, self.current
        if self.kind == "numeric" and ref is not None and cur is not None:
            is_binned = _distinct([ref], HISTOGRAM_ABOVE) > HISTOGRAM_ABOVE
            return _histogram(ref, cur) if is_binned else self.value_counts()
        return self.value_counts()


def _evaluate(
    reference: Any,
    current: Any,
    *,
    name: str,
    kind: Kind | None,
    pick: Callable[[Kind], ColumnDriftOptions],
    min_rows: int,
    evidently_compatible: bool,
) -> ColumnDrift:
    label = repr(name) if name else "the column"
    data = _prepare(_as_column(reference, label), _as_column(current, label), kind, label)
    options = pick(data.kind)
    method = options.method or _auto_method(data, evidently_compatible)
    test = DRIFT_TESTS[method]
    if data.kind not in test.kinds:
        raise InvalidInputError(
            WRONG_KIND.format(
                method=method, allowed=" or ".join(sorted(test.kinds)), column=label, kind=data.kind
            )
        )
    threshold = options.threshold if options.threshold is not None else test.default_threshold
    if test.is_p_value and threshold >= 1:
        raise InvalidInputError(f"A p-value threshold must be below 1, not {threshold}.")
    statistic: float | None = None
    drifted: bool | None = None
    if data.n_reference < min_rows or data.n_current < min_rows:
        sentence = NOT_ENOUGH.format(
            column=label, reference=data.n_reference, current=data.n_current, needed=min_rows
        )
    elif method is Method.Z and data.distinct(MAX_BINARY) > MAX_BINARY:
        sentence = NOT_BINARY.format(column=label, n=len(data.value_counts().reference))
    else:
        if test.needs == "values":
            assert data.reference is not None and data.current is not None
            statistic = test.statistic(data.reference, data.current)
        else:
            counts = data.value_counts() if test.needs == "counts" else data.bins()
            statistic = test.statistic(counts.reference, counts.current)
        drifted = test.is_drift(statistic, threshold)
        sentence = (DRIFTED if drifted else NOT_DRIFTED).format(
            column=label,
            title=test.title,
            value=_number(statistic),
            rule=f"drift when {test.rule} {threshold:g}",
        )
    unseen, unseen_count, unseen_rows = _unseen(data.counts)
    return ColumnDrift(
        column=name,
        kind=data.kind,
        method=method,
        statistic=statistic,
        threshold=threshold,
        drifted=drifted,
        reference_rows=data.reference_rows,
        current_rows=data.current_rows,
        reference_missing=data.reference_missing,
        current_missing=data.current_missing,
        unseen_categories=unseen,
        unseen_count=unseen_count,
        unseen_rows=unseen_rows,
        detail=sentence + _notes(data, unseen, unseen_count, unseen_rows),
    )


def _auto_method(data: _Column, evidently_compatible: bool) -> Method:
    distinct = data.distinct(MAX_DISCRETE)
    if data.n_reference <= SMALL_REFERENCE:
        if distinct <= MAX_BINARY:
            return Method.Z
        if data.kind == "categorical" or distinct <= MAX_DISCRETE:
            return Method.CHISQUARE_GOF if evidently_compatible else Method.CHISQUARE
        return Method.KS
    if data.kind == "numeric" and distinct > MAX_DISCRETE:
        return Method.WASSERSTEIN
    return Method.JENSENSHANNON


def _prepare(reference: Any, current: Any, kind: Kind | None, label: str) -> _Column:
    numbers = _is_number(reference) and _is_number(current)
    if kind == "numeric" or (kind is None and numbers):
        ref, cur = _numbers(reference, label), _numbers(current, label)
        inferred: Kind = "numeric"
        if kind is None and _distinct([ref, cur], MAX_BINARY) <= MAX_BINARY:
            inferred = "categorical"
        return _Column(
            inferred,
            len(reference),
            len(current),
            len(reference) - len(ref),
            len(current) - len(cur),
            ref,
            cur,
        )
    if _is_number(reference, bool_too=True) and _is_number(current, bool_too=True):
        ref, cur = _finite_values(reference), _finite_values(current)
        return _Column(
            "categorical",
            len(reference),
            len(current),
            len(reference) - len(ref),
            len(current) - len(cur),
            ref,
            cur,
        )
    counts, ref_missing, cur_missing = _category_counts(reference, current)
    return _Column(
        "categorical", len(reference), len(current), ref_missing, cur_missing, counts=counts
    )


def _as_column(values: Any, label: str) -> Any:
    """A 1-D NumPy array, or a PyArrow Array for Arrow strings, booleans and the like."""
    if type(values).__module__.startswith("pyarrow"):
        pa = _arrow()
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        kind = values.type
        if pa.types.is_integer(kind) and values.null_count == 0:
            return values.to_numpy()
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            return values.cast(pa.float64()).to_numpy(zero_copy_only=False)
        if pa.types.is_temporal(kind):
            raise InvalidInputError(UNSUPPORTED.format(column=label, dtype=kind))
        return values
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInputError(f"{label} must be one-dimensional, not of shape {array.shape}.")
    if array.dtype.kind in "mMcV":
        raise InvalidInputError(UNSUPPORTED.format(column=label, dtype=array.dtype))
    return array


def _is_number(values: Any, *, bool_too: bool = False) -> bool:
    kinds = "iufb" if bool_too else "iuf"
    return isinstance(values, np.ndarray) and values.dtype.kind in kinds


def _finite_values(values: NDArray[Any]) -> NDArray[Any]:
    if values.dtype.kind != "f":
        return values
    finite: NDArray[Any] = values[np.isfinite(values)]
    return finite


def _numbers(values: Any, label: str) -> NDArray[Any]:
    """The finite values of a column that must be numeric (bools count as 0 and 1)."""
    if _is_number(values):
        return _finite_values(values)
    if _is_number(values, bool_too=True):
        return np.asarray(values, dtype=np.int64)
    if isinstance(values, np.ndarray):
        if values.dtype.kind != "O":
            raise InvalidInputError(NOT_NUMERIC.format(column=label))
        try:  # numbers and None in an object array
            floats = np.where(np.equal(values, _NONE), np.nan, values).astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(NOT_NUMERIC.format(column=label)) from exc
        return _finite_values(floats)
    pa = _arrow()
    if not pa.types.is_boolean(values.type):
        raise InvalidInputError(NOT_NUMERIC.format(column=label))
    return _finite_values(values.cast(pa.float64()).to_numpy(zero_copy_only=False))


def _distinct(arrays: Sequence[NDArray[Any]], limit: int) -> int:
    """Distinct values across ``arrays``: exact up to ``limit``, else ``limit + 1``.

    Continuous data answer from a first probe; discrete data by a few ``isin`` passes
    against the (at most ``limit``) values seen, never by sorting the whole column.
    """
    seen = np.empty(0, dtype=np.result_type(*arrays))
    for values in arrays:
        rest = values
        while rest.size:
            seen = np.union1d(seen, rest[:_PROBE])
            if seen.size > limit:
                return limit + 1
            rest = rest[~np.isin(rest, seen)]
    return int(seen.size)


def _number_counts(reference: NDArray[Any], current: NDArray[Any]) -> _Counts:
    """Counts per distinct value of two NumPy number/bool arrays without missing values."""
    dtype = np.result_type(reference, current)
    if dtype.kind in "biu" and reference.size and current.size:
        low = min(int(reference.min()), int(current.min()))
        high = max(int(reference.max()), int(current.max()))
        if high - low <= 1 << 20:  # a small range: count by offset, no sort
            size = high - low + 1
            ref = np.bincount(reference.astype(np.int64) - low, minlength=size)
            cur = np.bincount(current.astype(np.int64) - low, minlength=size)
            present = np.flatnonzero(ref + cur)
            return _Counts((present + low).astype(dtype), ref[present], cur[present])
    ref_values, ref_counts = np.unique(reference, return_counts=True)
    cur_values, cur_counts = np.unique(current, return_counts=True)
    labels = np.union1d(ref_values, cur_values)
    ref = np.zeros(labels.size, dtype=np.int64)
    cur = np.zeros(labels.size, dtype=np.int64)
    ref[np.searchsorted(labels, ref_values)] = ref_counts
    cur[np.searchsorted(labels, cur_values)] = cur_counts
    return _Counts(labels, ref, cur)


def _histogram(reference: NDArray[Any], current: NDArray[Any]) -> _Counts:
    """Counts per equal-width Sturges bin over both samples' range (Evidently's binning)."""
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
    # Same edges as ``np.histogram(x, edges)`` but NumPy's fast path for equal-width bins.
    span = (float(edges[0]), float(edges[-1]))
    ref = np.histogram(reference, bins=edges.size - 1, range=span)[0]
    cur = np.histogram(current, bins=edges.size - 1, range=span)[0]
    return _Counts(None, ref.astype(np.int64), cur.astype(np.int64))


def _category_counts(reference: Any, current: Any) -> tuple[_Counts, int, int]:
    """Aligned counts per category and the missing counts of two columns.

    Arrow arrays of one type: one dictionary-encoding pass (Arrow's hash table). Anything
    else (NumPy object/string arrays, mixed types): ``collections.Counter``, whose counting
    loop runs in C, about as fast as converting to Arrow, and without Arrow's side import of
    pandas.
    """
    if isinstance(reference, np.ndarray) or isinstance(current, np.ndarray):
        return _python_counts(reference, current)
    pa, pc = _arrow(), _arrow("compute")
    ref, cur = reference, current
    if pa.types.is_null(ref.type):
        ref = pa.nulls(len(ref), cur.type)
    if pa.types.is_null(cur.type):
        cur = pa.nulls(len(cur), ref.type)
    if ref.type != cur.type and _is_text(ref.type) and _is_text(cur.type):
        cur = cur.cast(ref.type)  # string vs large_string and the like
    if ref.type != cur.type:
        return _python_counts(reference, current)
    encoded = pc.dictionary_encode(pa.concat_arrays([ref, cur]))
    size = len(encoded.dictionary)
    codes = pc.fill_null(encoded.indices, size).to_numpy(zero_copy_only=False)
    ref_counts = np.bincount(codes[: len(ref)], minlength=size + 1).astype(np.int64)
    cur_counts = np.bincount(codes[len(ref) :], minlength=size + 1).astype(np.int64)
    counts = _Counts(encoded.dictionary, ref_counts[:size], cur_counts[:size])
    return counts, int(ref_counts[size]), int(cur_counts[size])


def _is_text(kind: Any) -> bool:
    types = _arrow().types
    return bool(types.is_string(kind) or types.is_large_string(kind) or types.is_string_view(kind))


def _python_counts(reference: Any, current: Any) -> tuple[_Counts, int, int]:
    counters: list[Counter[Any]] = []
    missing: list[int] = []
    for values in (reference, current):
        items = values.tolist() if isinstance(values, np.ndarray) else values.to_pylist()
        try:
            counter = Counter(items)
        except TypeError as exc:
            raise InvalidInputError(f"Category values must be hashable: {exc}") from exc
        gone = [key for key in counter if _is_missing(key)]
        missing.append(sum(counter.pop(key) for key in gone))
        counters.append(counter)
    labels = list(dict.fromkeys([*counters[0], *counters[1]]))
    ref = np.array([counters[0][label] for label in labels], dtype=np.int64)
    cur = np.array([counters[1][label] for label in labels], dtype=np.int64)
    return _Counts(labels, ref, cur), missing[0], missing[1]


def _is_missing(value: Any) -> bool:
    """None, NaN and ±inf, and pandas' NA and NaT markers (recognised without pandas)."""
    if value is None or type(value).__name__ in {"NAType", "NaTType"}:
        return True
    return isinstance(value, float | np.floating) and not math.isfinite(value)


def _unseen(counts: _Counts | None) -> tuple[tuple[Any, ...], int, int]:
    if counts is None or counts.labels is None:
        return (), 0, 0
    positions = np.flatnonzero((counts.reference == 0) & (counts.current > 0))
    if not positions.size:
        return (), 0, 0
    rows = counts.current[positions]
    shown = positions[np.argsort(-rows, kind="stable")[:MAX_UNSEEN_SHOWN]]
    labels = counts.labels
    if isinstance(labels, np.ndarray):
        values = labels[shown].tolist()
    elif isinstance(labels, list):
        values = [labels[int(i)] for i in shown]
    else:
        values = labels.take(_arrow().array(shown)).to_pylist()
    return tuple(values), int(positions.size), int(rows.sum())


def _notes(data: _Column, unseen: tuple[Any, ...], count: int, rows: int) -> str:
    notes = ""
    if data.reference_missing or data.current_missing:
        notes += MISSING_NOTE.format(
            reference=_share(data.reference_missing, data.reference_rows),
            current=_share(data.current_missing, data.current_rows),
        )
    if count:
        shown = ", ".join(repr(_plain(value)) for value in unseen[:5])
        if count > 5:
            shown += f" and {count - 5} more"
        noun = "value is" if count == 1 else "values are"
        notes += UNSEEN_NOTE.format(n=count, noun=noun, rows=rows, shown=shown)
    return notes


def _absent(name: str, reference: Any, current: Any, kind: Kind | None) -> ColumnDrift:
    label, is_reference = repr(name), reference is not None
    values = _as_column(reference if is_reference else current, label)
    data = _prepare(values, values[:0], kind, label)  # kind and missing values as usual
    rows, missing = data.reference_rows, data.reference_missing
    return ColumnDrift(
        column=name,
        kind=data.kind,
        method=None,
        statistic=None,
        threshold=None,
        drifted=None,
        reference_rows=rows if is_reference else 0,
        current_rows=0 if is_reference else rows,
        reference_missing=missing if is_reference else 0,
        current_missing=0 if is_reference else missing,
        unseen_categories=(),
        unseen_count=0,
        unseen_rows=0,
        detail=ABSENT.format(
            column=f"Column {label}",
            present="reference" if is_reference else "current",
            absent="current" if is_reference else "reference",
        ),
    )


def _report(columns: tuple[ColumnDrift, ...], drift_share: float) -> DriftReport:
    tested = [c for c in columns if c.drifted is not None]
    drifted = sum(1 for c in tested if c.drifted)
    untested = [c.column for c in columns if c.drifted is None]
    share: float | None = None
    verdict: bool | None = None
    if tested:
        share = drifted / len(tested)
        verdict = share >= drift_share
        summary = (DATASET_DRIFT if verdict else NO_DATASET_DRIFT).format(
            drifted=drifted, evaluated=len(tested), share=f"{share:.0%}", t=f"{drift_share:.0%}"
        )
    else:
        summary = NO_COLUMN_TESTED
    if untested:
        listed = ", ".join(repr(n) for n in untested[:5])
        if len(untested) > 5:
            listed += f" and {len(untested) - 5} more"
        summary += NOT_TESTED_NOTE.format(names=listed)
    return DriftReport(columns, len(tested), drifted, share, verdict, drift_share, summary)


def _columns(data: Any) -> dict[str, Any]:
    if isinstance(data, Mapping):
        return {str(name): values for name, values in data.items()}
    if hasattr(data, "column_names") and hasattr(data, "column"):  # a PyArrow Table/RecordBatch
        return {name: data.column(name) for name in data.column_names}
    raise InvalidInputError(
        f"Drift needs a mapping of column name to values, or a PyArrow Table, not "
        f"{type(data).__name__}."
    )


def _kind(kind: str | None) -> Kind | None:
    if kind is None or kind in KINDS:
        return kind
    raise InvalidInputError(f"Unknown column kind {kind!r}: use 'numeric' or 'categorical'.")


def _method(method: str) -> Method:
    try:
        return Method(method)
    except ValueError:
        names = ", ".join(m.value for m in Method)
        raise InvalidInputError(f"Unknown drift method {method!r}: use one of {names}.") from None


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "0%"


def _number(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.1e}" if abs(value) < 1e-4 else f"{value:.3g}"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _arrow(module: str = "") -> Any:
    return importlib.import_module(f"pyarrow.{module}" if module else "pyarrow")


def _scipy(module: str) -> Any:
    try:
        return importlib.import_module(f"scipy.{module}")
    except ImportError as exc:
        raise MissingExtraError("Drift statistics", "monitoring", "scipy") from exc
