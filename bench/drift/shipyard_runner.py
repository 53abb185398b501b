"""Shipyard's side of the drift benchmark: read both Parquet files with PyArrow, run
``dataset_drift`` with Evidently's methods, write each column's method, statistic and verdict.

Runs with the project venv's python (``python -m drift.shipyard_runner`` from bench/).
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402  (the clock starts before any import)
import importlib.metadata  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from drift import probe  # noqa: E402

REPORTED_PACKAGES = ("shipyard-ml", "numpy", "scipy", "pyarrow")


def parse_report(report: dict[str, Any]) -> dict[str, Any]:
    """Per-column results and the dataset verdict from ``DriftReport.to_dict()``, in the
    shape the Evidently runner writes."""
    return {
        "columns": [
            {
                "column": c["column"],
                "method": c["method"],
                "method_label": c["method"],
                "statistic": probe.number(c["statistic"]),
                "threshold": probe.number(c["threshold"]),
                "drifted": c["drifted"],
            }
            for c in report["columns"]
        ],
        "drifted_columns": report["drifted_columns"],
        "drifted_share": report["drifted_share"],
    }


def versions() -> dict[str, str]:
    """Installed versions of the packages that matter here."""
    return {name: importlib.metadata.version(name) for name in REPORTED_PACKAGES}


def main(argv: list[str] | None = None) -> None:
    """Run ``dataset_drift`` on the two files and write the result JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--current", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)

    import pyarrow.parquet as pq

    from shipyard.monitoring.drift import DriftOptions, dataset_drift

    imported = time.perf_counter()
    reference = pq.read_table(args.reference)
    current = pq.read_table(args.current)
    read = time.perf_counter()
    rss_after_read = probe.status_mb("VmRSS")
    # SciPy is imported on the first statistic, so its import is part of "compute" here.
    report = dataset_drift(reference, current, options=DriftOptions(evidently_compatible=True))
    computed = time.perf_counter()
    parsed = parse_report(report.to_dict())
    done = time.perf_counter()
    probe.write_result(
        args.output,
        {
            "tool": "shipyard",
            "call": "dataset_drift(reference, current, "
            "options=DriftOptions(evidently_compatible=True))",
            "versions": versions(),
            "rows": {"reference": reference.num_rows, "current": current.num_rows},
            "seconds": {
                "import": imported - STARTED,
                "read": read - imported,
                "compute": computed - read,
                "read_compute": computed - imported,
                "extract": done - computed,
            },
            "rss_after_read_mb": rss_after_read,
            "peak_rss_self_mb": probe.status_mb("VmHWM"),
            **parsed,
        },
    )


if __name__ == "__main__":
    main()
