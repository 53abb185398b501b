"""Data drift: a test per column (features or predictions) and the dataset-level verdict.

Options, results and test selection; the statistics are in ``drift_methods``, column handling in
``drift_columns``, verdicts in ``drift_verdict``. No I/O, no pandas; SciPy (``monitoring`` extra)
and PyArrow load on use. Evidently's tests and thresholds, so numbers cross-check, except where
they raise false alarms: see :func:`column_drift`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any

import numpy as np

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.drift_columns import HISTOGRAM_ABOVE as HISTOGRAM_ABOVE
from shipyard.monitoring.drift_columns import (
    KINDS,
    MAX_BINARY,
    Column,
    Kind,
    as_column,
    prepare,
    unseen_values,
)
from shipyard.monitoring.drift_columns import MAX_UNSEEN_SHOWN as MAX_UNSEEN_SHOWN
from shipyard.monitoring.drift_columns import NOT_NUMERIC as NOT_NUMERIC
from shipyard.monitoring.drift_columns import UNSUPPORTED as UNSUPPORTED
from shipyard.monitoring.drift_methods import DRIFT_TESTS, DriftTest, Method, wasserstein_1d
from shipyard.monitoring.drift_methods import STD_FLOOR as STD_FLOOR
from shipyard.monitoring.drift_verdict import DRIFTED as DRIFTED
from shipyard.monitoring.drift_verdict import NOT_DRIFTED as NOT_DRIFTED
from shipyard.monitoring.drift_verdict import judge

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

SMALL_REFERENCE = 1000  # Evidently: at most this many reference values -> statistical tests
MAX_DISCRETE = 5  # numeric columns with at most this many distinct values are tested per value
# ... and with at most MAX_BINARY (2), by the z-test (and counted categorical)
MIN_ROWS = 30

# Wording that reports carry and tests check (and DRIFTED, NOT_DRIFTED of drift_verdict).
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
        evidently_compatible: Evidently's rules exactly: its goodness-of-fit chi-square
            (``CHISQUARE_GOF``) where Shipyard's default is the two-sample ``CHISQUARE``, the
            test chosen by the reference size alone, distances without the noise check.
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

    * ``n_ref <= 1000``, or (unless ``evidently_compatible``) a current window of at most
      1,000 values: ``Z`` if ``n <= 2``; else ``CHISQUARE`` (``CHISQUARE_GOF`` when
      ``evidently_compatible``) for categorical columns and numeric ones with ``n <= 5``;
      else ``KS``. Evidently looks at the reference size only; with a large reference and a
      small window its distances raise false alarms (see ``_auto_method``).
    * otherwise: ``WASSERSTEIN`` for numeric columns with ``n > 5``, else ``JENSENSHANNON``.

    Unless ``evidently_compatible``, a Jensen-Shannon or PSI distance past its threshold is
    drift only if the two-sample chi-square on the same counts agrees (p < 0.05): with many
    values and few rows, sampling noise alone moves these distances past 0.1.

    Args:
        reference: The reference window's values: a NumPy array, a sequence, or a PyArrow
            Array / ChunkedArray (nulls are missing values).
        current: The current window's values, likewise.
        kind: ``"numeric"`` or ``"categorical"``, or None to infer.
        options: Method and threshold; default: chosen as above, Evidently's threshold.
        name: Column name, for the report.
        min_rows: Values (not missing) each window needs for a verdict.
        evidently_compatible: Evidently's rules exactly (see :class:`DriftOptions`).

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
    data = prepare(as_column(reference, label), as_column(current, label), kind, label)
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
        statistic, drifted, sentence = judge(
            test, data, threshold, label, check_noise=not evidently_compatible
        )
    unseen, unseen_count, unseen_rows = unseen_values(data.counts)
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


def _auto_method(data: Column, evidently_compatible: bool) -> Method:
    distinct = data.distinct(MAX_DISCRETE)
    # Evidently chooses by the reference size alone. A distance with a fixed threshold then
    # flags a third of undrifted numeric columns when a large reference meets a small window
    # (200 rows): sampling noise alone moves a small sample's distribution that far. Shipyard
    # uses the statistical tests whenever either window is small; they hold their level.
    small = data.n_reference <= SMALL_REFERENCE or (
        not evidently_compatible and data.n_current <= SMALL_REFERENCE
    )
    if small:
        if distinct <= MAX_BINARY:
            return Method.Z
        if data.kind == "categorical" or distinct <= MAX_DISCRETE:
            return Method.CHISQUARE_GOF if evidently_compatible else Method.CHISQUARE
        return Method.KS
    if data.kind == "numeric" and distinct > MAX_DISCRETE:
        return Method.WASSERSTEIN
    return Method.JENSENSHANNON


def _notes(data: Column, unseen: tuple[Any, ...], count: int, rows: int) -> str:
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
    values = as_column(reference if is_reference else current, label)
    data = prepare(values, values[:0], kind, label)  # kind and missing values as usual
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


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
