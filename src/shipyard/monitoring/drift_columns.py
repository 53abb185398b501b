"""One column's two windows for drift: kind, missing values, counts per value or bin.

Internal to :mod:`shipyard.monitoring.drift`: import from there. Turns NumPy arrays,
sequences and PyArrow arrays into what the statistics need (finite values, aligned counts,
Sturges bins) without pandas; PyArrow is imported only for PyArrow input.
"""

from __future__ import annotations

import importlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from shipyard.core.errors import InvalidInputError

Kind = Literal["numeric", "categorical"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical")
MAX_BINARY = 2  # numeric columns with this many distinct values or fewer count as categorical
HISTOGRAM_ABOVE = 20  # JS/PSI bin a numeric column when its reference has more distinct values
MAX_UNSEEN_SHOWN = 20
_PROBE = 1024  # values looked at first when counting distinct values
_NONE = np.array(None, dtype=object)

# Wording that errors carry and tests check.
NOT_NUMERIC = "{column} was given kind 'numeric' but holds values that are not numbers."
UNSUPPORTED = (
    "{column} has the type {dtype}, which drift is not computed for: convert it to numbers or "
    "strings first."
)


@dataclass(frozen=True, slots=True)
class Counts:
    """Counts per value (``labels`` the values) or per bin (``labels`` None), aligned."""

    labels: Any  # np.ndarray, pyarrow Array, list, or None for histogram bins
    reference: NDArray[np.int64]
    current: NDArray[np.int64]


@dataclass(slots=True)
class Column:
    """One column's two windows, missing values removed, with what the tests need."""

    kind: Kind
    reference_rows: int
    current_rows: int
    reference_missing: int
    current_missing: int
    reference: NDArray[Any] | None = None  # the finite values, for NumPy number/bool columns
    current: NDArray[Any] | None = None
    counts: Counts | None = None  # per value; computed on first use for number columns

    @property
    def n_reference(self) -> int:
        """Reference values that are not missing."""
        return self.reference_rows - self.reference_missing

    @property
    def n_current(self) -> int:
        """Current values that are not missing."""
        return self.current_rows - self.current_missing

    def value_counts(self) -> Counts:
        """Counts per distinct value of both windows, aligned (computed once)."""
        if self.counts is None:
            assert self.reference is not None and self.current is not None
            self.counts = _number_counts(self.reference, self.current)
        return self.counts

    def distinct(self, limit: int) -> int:
        """Distinct values of both windows: exact up to ``limit``, else some number above it."""
        if self.counts is not None or self.reference is None or self.current is None:
            return len(self.value_counts().reference)
        return _distinct([self.reference, self.current], limit)

    def bins(self) -> Counts:
        """Counts per value, or per Sturges bin for a numeric column with many values."""
        ref, cur = self.reference, self.current
        if self.kind == "numeric" and ref is not None and cur is not None:
            is_binned = _distinct([ref], HISTOGRAM_ABOVE) > HISTOGRAM_ABOVE
            return _histogram(ref, cur) if is_binned else self.value_counts()
        return self.value_counts()


def prepare(reference: Any, current: Any, kind: Kind | None, label: str) -> Column:
    """Both windows of a column (from :func:`as_column`), its kind given or inferred.

    Raises:
        InvalidInputError: ``kind`` is ``"numeric"`` but a window holds non-numbers, or
            category values are not hashable.
    """
    numbers = _is_number(reference) and _is_number(current)
    if kind == "numeric" or (kind is None and numbers):
        ref, cur = _numbers(reference, label), _numbers(current, label)
        inferred: Kind = "numeric"
        if kind is None and _distinct([ref, cur], MAX_BINARY) <= MAX_BINARY:
            inferred = "categorical"
        return Column(
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
        return Column(
            "categorical",
            len(reference),
            len(current),
            len(reference) - len(ref),
            len(current) - len(cur),
            ref,
            cur,
        )
    counts, ref_missing, cur_missing = _category_counts(reference, current)
    return Column(
        "categorical", len(reference), len(current), ref_missing, cur_missing, counts=counts
    )


def as_column(values: Any, label: str) -> Any:
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


def unseen_values(counts: Counts | None) -> tuple[tuple[Any, ...], int, int]:
    """Current values absent from the reference: the most frequent few, how many, their rows."""
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


def _number_counts(reference: NDArray[Any], current: NDArray[Any]) -> Counts:
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
            return Counts((present + low).astype(dtype), ref[present], cur[present])
    ref_values, ref_counts = np.unique(reference, return_counts=True)
    cur_values, cur_counts = np.unique(current, return_counts=True)
    labels = np.union1d(ref_values, cur_values)
    ref = np.zeros(labels.size, dtype=np.int64)
    cur = np.zeros(labels.size, dtype=np.int64)
    ref[np.searchsorted(labels, ref_values)] = ref_counts
    cur[np.searchsorted(labels, cur_values)] = cur_counts
    return Counts(labels, ref, cur)


def _histogram(reference: NDArray[Any], current: NDArray[Any]) -> Counts:
    """Counts per equal-width Sturges bin over both samples' range (Evidently's binning)."""
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
    # Same edges as ``np.histogram(x, edges)`` but NumPy's fast path for equal-width bins.
    span = (float(edges[0]), float(edges[-1]))
    ref = np.histogram(reference, bins=edges.size - 1, range=span)[0]
    cur = np.histogram(current, bins=edges.size - 1, range=span)[0]
    return Counts(None, ref.astype(np.int64), cur.astype(np.int64))


def _category_counts(reference: Any, current: Any) -> tuple[Counts, int, int]:
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
    counts = Counts(encoded.dictionary, ref_counts[:size], cur_counts[:size])
    return counts, int(ref_counts[size]), int(cur_counts[size])


def _is_text(kind: Any) -> bool:
    types = _arrow().types
    return bool(types.is_string(kind) or types.is_large_string(kind) or types.is_string_view(kind))


def _python_counts(reference: Any, current: Any) -> tuple[Counts, int, int]:
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
    return Counts(labels, ref, cur), missing[0], missing[1]


def _is_missing(value: Any) -> bool:
    """None, NaN and ±inf, and pandas' NA and NaT markers (recognised without pandas)."""
    if value is None or type(value).__name__ in {"NAType", "NaTType"}:
        return True
    return isinstance(value, float | np.floating) and not math.isfinite(value)


def _arrow(module: str = "") -> Any:
    return importlib.import_module(f"pyarrow.{module}" if module else "pyarrow")
