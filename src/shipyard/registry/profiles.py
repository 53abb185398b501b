"""Reference profiles: per-column statistics of a version's sample data.

They are kept for drift and fairness checks later (monitoring compares live traffic to them).

Shape (``profile_version`` 1)::

    {"profile_version": 1, "rows": N, "columns": {name: {
        "role": "feature" | "target" | "sensitive" | "prediction",
        "type": "double" | "long" | "boolean" | "string" | "datetime",
        "kind": "numeric" | "categorical",
        "count": non-missing values, "missing": missing values, "unique": distinct values,
        numeric:     "mean", "std", "min", "max", "quantiles": {"0.01": …, …, "0.99": …},
                     "histogram": {"edges": [21 floats], "counts": [20 ints]},
        categorical: "frequencies": {value: count, …top 100}, "other": count of the rest}}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.registry.signatures import dtype_of_arrow

PROFILE_VERSION = 1
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20
TOP_CATEGORIES = 100


def profile_table(table: pa.Table, roles: Mapping[str, str]) -> dict[str, Any]:
    """Profile the columns named in ``roles`` (column name → role)."""
    return {
        "profile_version": PROFILE_VERSION,
        "rows": table.num_rows,
        "columns": {name: profile_column(table.column(name), role) for name, role in roles.items()},
    }


def profile_column(column: pa.ChunkedArray, role: str) -> dict[str, Any]:
    """Statistics of one column."""
    dtype = dtype_of_arrow(column.type)
    numeric = pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
    missing = column.null_count
    base: dict[str, Any] = {"role": role, "type": dtype.value}
    if numeric:
        values = column.cast(pa.float64()).drop_null().to_numpy()
        finite = values[np.isfinite(values)]
        missing += int(len(values) - len(finite))
        base.update(kind="numeric", count=len(finite), missing=int(missing))
        base.update(_numeric_stats(finite))
        return base
    values = column.drop_null()
    if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
        values = values.cast(pa.string())
    counts = pc.value_counts(
        values.cast(pa.string()) if not pa.types.is_string(values.type) else values
    )
    pairs = sorted(
        ((str(v["values"]), int(v["counts"])) for v in counts.to_pylist()),
        key=lambda item: (-item[1], item[0]),
    )
    top = pairs[:TOP_CATEGORIES]
    base.update(
        kind="categorical",
        count=len(values),
        missing=int(missing),
        unique=len(pairs),
        frequencies=dict(top),
        other=int(sum(c for _, c in pairs[TOP_CATEGORIES:])),
    )
    return base


def _numeric_stats(values: np.ndarray) -> dict[str, Any]:
    if len(values) == 0:
        return {
            "unique": 0,
            "mean": None,
            "std": None,
            "min": None,
            "max": None,
            "quantiles": {},
            "histogram": {"edges": [], "counts": []},
        }
    low, high = float(values.min()), float(values.max())
    if low == high:
        edges = np.array([low, high])
        counts = np.array([len(values)])
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            span_is_finite = np.isfinite(high - low)
        if span_is_finite:
            counts, edges = np.histogram(values, bins=HISTOGRAM_BINS, range=(low, high))
        else:  # values spanning more than float64 can hold: bins would be meaningless
            edges, counts = np.array([low, high]), np.array([len(values)])
    quantiles = np.quantile(values, QUANTILES)
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(values.mean()), float(values.std())
    return {
        "unique": len(np.unique(values)),
        # Huge values can overflow the mean or std: report None rather than inf.
        "mean": _finite(mean),
        "std": _finite(std),
        "min": low,
        "max": high,
        "quantiles": {str(q): float(v) for q, v in zip(QUANTILES, quantiles, strict=True)},
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
    }


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None
