"""Deterministic reference and current windows for the drift benchmark, written as Parquet.

The generator of bench/drift_engine.py, column for column (same seed, same draws, so its figures
and these describe the same data), plus a description of every column and its injected drift.
NumPy and PyArrow only: it runs in the project venv, never in the Evidently one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Distinct labels of categorical column i (cycled); every one is below Evidently's "text" rule
# (more distinct values than half the rows), so both tools treat them as categories.
CATEGORY_LEVELS = (3, 10, 50, 200, 1000, 5)
NUMERIC_SHAPES = ("normal", "lognormal", "integer")
MISSING_SHARE = 0.01
GENERATOR_VERSION = 1  # bump when the data change, so cached files are not reused


@dataclass(frozen=True)
class Spec:
    """What to generate.

    Attributes:
        rows: Current-window rows (the "logged predictions").
        reference_rows: Reference-window rows.
        numeric: Numeric (float64) columns ``num_0`` ...
        categorical: Categorical (string) columns ``cat_0`` ...
        seed: NumPy seed; the same spec always gives the same data.
    """

    rows: int = 1_000_000
    reference_rows: int = 100_000
    numeric: int = 14
    categorical: int = 6
    seed: int = 0


@dataclass(frozen=True)
class ColumnPlan:
    """One generated column.

    Attributes:
        name: Column name.
        kind: ``"numeric"`` or ``"categorical"``.
        shape: ``normal``, ``lognormal`` or ``integer`` (whole numbers 0-999 stored as
            float64) for numeric columns; ``"N levels"`` for categorical ones.
        levels: Distinct labels (categorical), else None.
        drifted: Whether drift was injected into the current window.
        injected: How, in words.
    """

    name: str
    kind: str
    shape: str
    levels: int | None
    drifted: bool
    injected: str


@dataclass(frozen=True)
class DataFiles:
    """The two Parquet files of one spec."""

    reference: Path
    current: Path
    spec: Spec
    columns: tuple[ColumnPlan, ...]
    generate_seconds: float
    size_bytes: int  # both files on disk


def plan(spec: Spec) -> tuple[ColumnPlan, ...]:
    """Every column of ``spec``: every fourth numeric column (from 0) and every fourth
    categorical column (from 1) drifts."""
    columns = []
    for i in range(spec.numeric):
        shape = NUMERIC_SHAPES[i % 3]
        drifted = i % 4 == 0
        how = {
            "normal": "mean +0.3 (0.3 sd)",
            "lognormal": "log-mean +0.3",
            "integer": "values +90",
        }[shape]
        columns.append(
            ColumnPlan(f"num_{i}", "numeric", shape, None, drifted, how if drifted else "")
        )
    for i in range(spec.categorical):
        levels = CATEGORY_LEVELS[i % len(CATEGORY_LEVELS)]
        drifted = i % 4 == 1
        columns.append(
            ColumnPlan(
                f"cat_{i}",
                "categorical",
                f"{levels} levels",
                levels,
                drifted,
                "level shares rotated by one" if drifted else "",
            )
        )
    return tuple(columns)


def make_data(spec: Spec) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reference and current windows as column name -> NumPy array.

    Numeric columns are float64 with 1% NaN; categorical ones object arrays of ``level_j``
    strings with 1% None, level shares drawn from a Dirichlet(2) per column.
    """
    rng = np.random.default_rng(spec.seed)
    reference: dict[str, Any] = {}
    current: dict[str, Any] = {}
    for column in plan(spec):
        if column.kind == "numeric":
            shift = 0.3 if column.drifted else 0.0
            for window, n, delta in (
                (reference, spec.reference_rows, 0.0),
                (current, spec.rows, shift),
            ):
                if column.shape == "normal":
                    values = rng.normal(delta, 1.0, n)
                elif column.shape == "lognormal":
                    values = rng.lognormal(delta, 1.0, n)
                else:
                    values = rng.integers(0, 1000, n).astype(np.float64) + delta * 300
                values[rng.random(n) < MISSING_SHARE] = np.nan
                window[column.name] = values
            continue
        k = column.levels or 0
        labels = np.array([f"level_{j}" for j in range(k)] + [None], dtype=object)
        base = rng.dirichlet(np.full(k, 2.0))
        for window, n, drifted in (
            (reference, spec.reference_rows, False),
            (current, spec.rows, column.drifted),
        ):
            p = np.roll(base, 1) if drifted else base
            p = np.append(p * (1 - MISSING_SHARE), MISSING_SHARE)
            window[column.name] = labels[rng.choice(k + 1, size=n, p=p)]
    return reference, current


def to_table(columns: dict[str, Any]) -> Any:
    """A window as a PyArrow Table: NaN and None become nulls, strings Arrow strings."""
    import pyarrow as pa

    return pa.table({name: pa.array(values, from_pandas=True) for name, values in columns.items()})


def write(spec: Spec, directory: Path) -> DataFiles:
    """Generate ``spec`` into ``directory`` (reference.parquet, current.parquet).

    Files already there for the same spec and generator version are reused.
    """
    import time

    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    reference_path, current_path = directory / "reference.parquet", directory / "current.parquet"
    stamp_path = directory / "spec.json"
    stamp = {"spec": asdict(spec), "generator": GENERATOR_VERSION}
    started = time.perf_counter()
    is_cached = (
        stamp_path.is_file()
        and reference_path.is_file()
        and current_path.is_file()
        and json.loads(stamp_path.read_text()) == stamp
    )
    if not is_cached:
        stamp_path.unlink(missing_ok=True)
        reference, current = make_data(spec)
        pq.write_table(to_table(reference), reference_path)
        del reference
        pq.write_table(to_table(current), current_path)
        stamp_path.write_text(json.dumps(stamp) + "\n")
    seconds = time.perf_counter() - started
    size = reference_path.stat().st_size + current_path.stat().st_size
    return DataFiles(reference_path, current_path, spec, plan(spec), seconds, size)
