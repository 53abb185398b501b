"""Evidently's side of the drift benchmark: read both Parquet files with pandas, run
``Report([DataDriftPreset()])``, write each column's method, statistic and verdict as JSON.

Runs with the Evidently virtualenv's python (``python -m drift.evidently_runner`` from bench/),
never in the project's: the module imports only the standard library at the top, so the
snapshot parsing below is testable without Evidently.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402  (the clock starts before any import)
import importlib.metadata  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from drift import probe  # noqa: E402

VALUE_DRIFT = "evidently:metric_v2:ValueDrift"
DRIFTED_COUNT = "evidently:metric_v2:DriftedColumnsCount"
# A ValueDrift test FAILs when the column drifted (Evidently's own verdict, drift_detected).
VERDICTS = {"FAIL": True, "SUCCESS": False}
REPORTED_PACKAGES = ("evidently", "pandas", "numpy", "scipy", "pyarrow", "plotly")


def method_names() -> dict[str, str]:
    """Display name -> registry name of every stat test Evidently registers.

    A ValueDrift's config names its method by display name ("Wasserstein distance (normed)");
    the registry name ("wasserstein") is what Shipyard's methods are named after.
    """
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests

    names: dict[str, str] = {}
    for by_type in _registered_stat_tests.values():
        for test in by_type.values():
            names[test.display_name] = test.name
    return names


def parse_snapshot(snapshot: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """Per-column results and the dataset verdict from ``Snapshot.dict()``.

    Args:
        snapshot: ``Report([DataDriftPreset()], include_tests=True).run(...).dict()``.
        names: :func:`method_names`.

    Returns:
        ``{"columns": [{column, method, method_label, statistic, threshold, drifted}],
        "drifted_columns", "drifted_share"}``; columns in the report's order. ``drifted`` is
        None when Evidently reported no test for the column.
    """
    verdicts: dict[str, bool | None] = {}
    for test in snapshot.get("tests", []):
        params = test.get("metric_config", {}).get("params", {})
        if params.get("type") == VALUE_DRIFT:
            verdicts[params["column"]] = VERDICTS.get(test.get("status", ""))
    columns: list[dict[str, Any]] = []
    drifted_count: float | None = None
    drifted_share: float | None = None
    for metric in snapshot.get("metrics", []):
        config = metric.get("config", {})
        if config.get("type") == DRIFTED_COUNT:
            drifted_count = probe.number(metric["value"]["count"])
            drifted_share = probe.number(metric["value"]["share"])
        elif config.get("type") == VALUE_DRIFT:
            label = config.get("method")
            columns.append(
                {
                    "column": config["column"],
                    "method": names.get(label, label),
                    "method_label": label,
                    "statistic": probe.number(metric.get("value")),
                    "threshold": probe.number(config.get("threshold")),
                    "drifted": verdicts.get(config["column"]),
                }
            )
    return {
        "columns": columns,
        "drifted_columns": None if drifted_count is None else int(drifted_count),
        "drifted_share": drifted_share,
    }


def versions() -> dict[str, str]:
    """Installed versions of the packages that matter here."""
    found = {}
    for name in REPORTED_PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def main(argv: list[str] | None = None) -> None:
    """Run the report on the two files and write the result JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--current", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)

    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    imported = time.perf_counter()
    reference = pd.read_parquet(args.reference)
    current = pd.read_parquet(args.current)
    read = time.perf_counter()
    rss_after_read = probe.status_mb("VmRSS")
    # include_tests=True only adds each column's verdict (its test reads the drift already
    # computed); the statistics and the work are those of the default report.
    snapshot = Report([DataDriftPreset()], include_tests=True).run(current, reference)
    computed = time.perf_counter()
    parsed = parse_snapshot(snapshot.dict(), method_names())
    done = time.perf_counter()
    probe.write_result(
        args.output,
        {
            "tool": "evidently",
            "call": "Report([DataDriftPreset()], include_tests=True).run(current, reference)",
            "versions": versions(),
            "rows": {"reference": len(reference), "current": len(current)},
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
