"""The drift-engine benchmark: ``dataset_drift`` over 1,000,000 current rows x 20 columns.

14 numeric and 6 categorical (string) columns, a 100,000-row reference, a few columns drifted;
prints the wall time of ``dataset_drift`` (best and median of ``--repeat`` runs), the peak of
memory it allocates (tracemalloc, one separate run) and the process's peak RSS.

    .venv/bin/python bench/drift_engine.py                      # NumPy arrays (object strings)
    .venv/bin/python bench/drift_engine.py --arrow              # a PyArrow Table (as from Parquet)
    .venv/bin/python bench/drift_engine.py --rows 100000 --json bench/results/drift.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.monitoring.drift import DriftReport, dataset_drift


def make_data(
    rows: int, ref_rows: int, numeric: int, categorical: int, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reference and current windows; every fourth column drifts in the current one."""
    rng = np.random.default_rng(seed)
    reference: dict[str, Any] = {}
    current: dict[str, Any] = {}
    for i in range(numeric):
        shift = 0.3 if i % 4 == 0 else 0.0
        shape = i % 3
        for window, n, delta in ((reference, ref_rows, 0.0), (current, rows, shift)):
            if shape == 0:
                values = rng.normal(delta, 1.0, n)
            elif shape == 1:
                values = rng.lognormal(delta, 1.0, n)
            else:
                values = rng.integers(0, 1000, n).astype(np.float64) + delta * 300
            values[rng.random(n) < 0.01] = np.nan  # 1% missing
            window[f"num_{i}"] = values
    levels = (3, 10, 50, 200, 1000, 5)
    for i in range(categorical):
        k = levels[i % len(levels)]
        labels = np.array([f"level_{j}" for j in range(k)] + [None], dtype=object)
        base = rng.dirichlet(np.full(k, 2.0))
        for window, n, drifted in ((reference, ref_rows, False), (current, rows, i % 4 == 1)):
            p = np.roll(base, 1) if drifted else base
            p = np.append(p * 0.99, 0.01)  # 1% missing
            window[f"cat_{i}"] = labels[rng.choice(k + 1, size=n, p=p)]
    return reference, current


def to_arrow(columns: dict[str, Any]) -> Any:
    """The window as a PyArrow Table (strings as Arrow strings, NaN as null)."""
    import pyarrow as pa

    return pa.table({name: pa.array(values, from_pandas=True) for name, values in columns.items()})


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate the data, time ``dataset_drift`` and measure its memory."""
    reference, current = make_data(
        args.rows, args.ref_rows, args.numeric, args.categorical, args.seed
    )
    ref_in: Any = to_arrow(reference) if args.arrow else reference
    cur_in: Any = to_arrow(current) if args.arrow else current
    dataset_drift(ref_in, cur_in)  # warm up: imports of SciPy and PyArrow compute
    seconds: list[float] = []
    report: DriftReport | None = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        report = dataset_drift(ref_in, cur_in)
        seconds.append(time.perf_counter() - started)
    tracemalloc.start()
    dataset_drift(ref_in, cur_in)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report is not None
    return {
        "rows": args.rows,
        "reference_rows": args.ref_rows,
        "numeric_columns": args.numeric,
        "categorical_columns": args.categorical,
        "input": "pyarrow" if args.arrow else "numpy",
        "host_cpus": os.cpu_count(),
        "seconds_best": min(seconds),
        "seconds_median": statistics.median(seconds),
        "peak_traced_mb": peak / 2**20,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "drifted_columns": report.drifted_columns,
        "methods": sorted({str(c.method) for c in report.columns}),
        "summary": report.summary,
    }


def main() -> None:
    """Parse the options, run, print (and optionally write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ref-rows", type=int, default=100_000)
    parser.add_argument("--numeric", type=int, default=14)
    parser.add_argument("--categorical", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--arrow", action="store_true", help="pass PyArrow Tables")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    results = run(args)
    print(
        f"dataset_drift, {args.rows:,} current x {args.numeric + args.categorical} columns vs "
        f"{args.ref_rows:,} reference rows ({results['input']} input): "
        f"{results['seconds_best']:.2f} s best, {results['seconds_median']:.2f} s median; "
        f"peak allocated {results['peak_traced_mb']:.0f} MB; "
        f"process max RSS {results['max_rss_mb']:.0f} MB"
    )
    print(results["summary"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
