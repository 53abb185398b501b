"""Summaries and target ratios from made-up measurements."""

from serving import report
from serving.servers.base import same_class


def _m(server: str, concurrency: int, rps: float, round_: int = 1, errors: int = 0) -> dict:
    return {
        "round": round_,
        "server": server,
        "concurrency": concurrency,
        "rps": rps,
        "p50_us": 1000.0,
        "p99_us": 2000.0,
        "errors": errors,
        "requests": 100,
        "cpu_ms_per_request": 1.0,
    }


def _start(server: str, cold: float, rss_mb: float) -> dict:
    return {"server": server, "cold_start_s": cold, "rss_bytes": rss_mb * report.MB}


def test_summary_takes_medians_and_ranges_over_rounds():
    rows = report.summarise(
        [_m("bare-1w", 64, r, i) for i, r in enumerate([100.0, 300.0, 200.0])],
        [_start("bare-1w", 1.0, 100), _start("bare-1w", 3.0, 120)],
        {"bare-1w": 1},
    )
    (row,) = rows
    assert (row["rps_median"], row["rps_min"], row["rps_max"]) == (200.0, 100.0, 300.0)
    assert row["rounds"] == 3
    assert row["cold_start_s"] == 2.0
    assert row["rss_mb"] == 110


def test_targets_compare_shipyard_with_the_baselines():
    workers = {"shipyard-2w": 2, "bare-2w": 2, "bentoml-2w": 2, "mlflow-1w": 1, "echo-1w": 1}
    rows = report.summarise(
        [
            _m("shipyard-2w", 64, 4000.0),
            _m("bare-2w", 64, 1000.0),
            _m("bentoml-2w", 64, 400.0),
            _m("mlflow-1w", 64, 100.0),
            _m("echo-1w", 64, 9000.0),
        ],
        [_start(k, 1.0, 100) for k in workers],
        workers,
    )
    found = {t["target"]: t for t in report.targets(rows)}
    assert found["throughput >= 4x bare 2-worker @ 64"]["value"] == 4.0
    assert found["throughput >= 4x bare 2-worker @ 64"]["met"] is True
    assert found["throughput >= 12x bentoml's best @ 64"]["met"] is False
    assert found["throughput >= 50x mlflow's best @ 64"]["value"] == 40.0
    assert found["zero errors (all Shipyard runs)"]["met"] is True
    # No 1-connection rows: that target cannot be judged.
    assert found["p50 <= 1.25x bare 1-worker @ 1"]["met"] is None


def test_no_shipyard_means_no_targets():
    rows = report.summarise([_m("bare-1w", 64, 1.0)], [], {"bare-1w": 1})
    assert report.targets(rows) == []


def test_markdown_table_marks_rows_with_errors():
    rows = report.summarise([_m("bare-1w", 1, 10.0, errors=3)], [], {"bare-1w": 1})
    assert "⚠" in report.table(rows, {})


def test_same_class_accepts_json_spellings():
    assert same_class(0, 0)
    assert same_class([0.0], 0)
    assert same_class("1", 1)
    assert not same_class("malignant", 0)
    assert not same_class(1, 0)
