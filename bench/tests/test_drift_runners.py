"""The runners' parsing, the process probe and the harness, without Evidently."""

import json
import sys

import pytest
from drift import data, evidently_runner, measure, probe, shipyard_runner

from shipyard.monitoring.drift import DriftOptions, dataset_drift

# The shape of Report([DataDriftPreset()], include_tests=True).run(...).dict() in Evidently
# 0.7.23, trimmed to the fields the runner reads (taken from a real run).
SNAPSHOT = {
    "metrics": [
        {
            "id": "15e8",
            "metric_name": "DriftedColumnsCount(drift_share=0.5)",
            "config": {"type": "evidently:metric_v2:DriftedColumnsCount", "drift_share": 0.5},
            "value": {"count": 1.0, "share": 0.5},
        },
        {
            "id": "1d60",
            "metric_name": "ValueDrift(column=a,method=Wasserstein distance (normed),"
            "threshold=0.1)",
            "config": {
                "type": "evidently:metric_v2:ValueDrift",
                "column": "a",
                "method": "Wasserstein distance (normed)",
                "threshold": 0.1,
            },
            "value": 0.20831412762777174,
        },
        {
            "id": "4c2b",
            "metric_name": "ValueDrift(column=b,method=Jensen-Shannon distance,threshold=0.1)",
            "config": {
                "type": "evidently:metric_v2:ValueDrift",
                "column": "b",
                "method": "Jensen-Shannon distance",
                "threshold": 0.1,
            },
            "value": 0.007684645240999259,
        },
    ],
    "tests": [
        {
            "id": "lt",
            "metric_config": {
                "metric_id": "15e8",
                "params": {"type": "evidently:metric_v2:DriftedColumnsCount", "drift_share": 0.5},
            },
            "status": "SUCCESS",
        },
        {
            "id": "drift",
            "metric_config": {
                "metric_id": "1d60",
                "params": {"type": "evidently:metric_v2:ValueDrift", "column": "a"},
            },
            "status": "FAIL",
        },
        {
            "id": "drift",
            "metric_config": {
                "metric_id": "4c2b",
                "params": {"type": "evidently:metric_v2:ValueDrift", "column": "b"},
            },
            "status": "SUCCESS",
        },
    ],
}
NAMES = {"Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon"}


def test_evidently_snapshot_parses_into_methods_statistics_and_verdicts():
    parsed = evidently_runner.parse_snapshot(SNAPSHOT, NAMES)
    assert parsed["drifted_columns"] == 1 and parsed["drifted_share"] == 0.5
    assert parsed["columns"] == [
        {
            "column": "a",
            "method": "wasserstein",
            "method_label": "Wasserstein distance (normed)",
            "statistic": 0.20831412762777174,
            "threshold": 0.1,
            "drifted": True,
        },
        {
            "column": "b",
            "method": "jensenshannon",
            "method_label": "Jensen-Shannon distance",
            "statistic": 0.007684645240999259,
            "threshold": 0.1,
            "drifted": False,
        },
    ]


def test_evidently_snapshot_without_tests_leaves_verdicts_unknown():
    parsed = evidently_runner.parse_snapshot({**SNAPSHOT, "tests": []}, {})
    assert [c["drifted"] for c in parsed["columns"]] == [None, None]
    assert parsed["columns"][0]["method"] == "Wasserstein distance (normed)"  # unmapped label


def test_evidently_runner_imports_without_evidently():
    assert "evidently" not in sys.modules


def test_shipyard_report_parses_into_the_same_shape():
    reference, current = data.make_data(data.Spec(rows=3000, reference_rows=2000, seed=2))
    report = dataset_drift(reference, current, options=DriftOptions(evidently_compatible=True))
    parsed = shipyard_runner.parse_report(report.to_dict())
    assert [c["column"] for c in parsed["columns"]] == list(reference)
    num_0 = parsed["columns"][0]
    assert num_0["method"] == "wasserstein" and num_0["drifted"] is True
    assert num_0["statistic"] == report.column("num_0").statistic
    assert parsed["drifted_columns"] == report.drifted_columns


def test_probe_reads_proc_status_fields_and_cleans_numbers():
    text = "Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
    assert probe.status_mb("VmHWM", text) == 200.0
    assert probe.status_mb("VmRSS", text) == 100.0
    assert probe.status_mb("VmSwap", text) is None
    assert probe.status_mb("VmHWM") > 0  # this process
    assert [probe.number(v) for v in (None, float("nan"), float("inf"), 2)] == [
        None, None, None, 2.0,
    ]  # fmt: skip


def test_run_child_measures_that_childs_own_peak_rss(tmp_path):
    grow = "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096])"
    big = measure.run_child([sys.executable, "-c", grow], tmp_path / "big.log")
    assert big["exit_code"] == 0 and big["peak_rss_mb"] >= 300
    # This (pytest) process holds more than 100 MB: forked straight from it, a child would
    # report at least that. Through the launcher it reports its own size.
    ballast = bytearray(200 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])
    small = measure.run_child([sys.executable, "-c", "pass"], tmp_path / "small.log")
    assert small["exit_code"] == 0 and small["peak_rss_mb"] < 60
    assert small["launcher_rss_mb"] < 60 and 0 < small["wall_s"] < big["wall_s"] + 5
    assert 0 < small["cpu_s"] < big["cpu_s"] + 5
    failed = measure.run_child([sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "f.log")
    assert failed["exit_code"] == 3 and not failed["timed_out"]


def test_run_child_kills_a_child_past_its_timeout(tmp_path):
    slow = measure.run_child(
        [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "s.log", timeout=0.5
    )
    assert slow["timed_out"] and slow["exit_code"] is None and slow["peak_rss_mb"] is None


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    return data.write(
        data.Spec(rows=3000, reference_rows=1500, seed=4), tmp_path_factory.mktemp("d")
    )


def test_shipyard_runner_end_to_end_in_its_own_process(tmp_path, small_files):
    record = measure.run_tool("shipyard", sys.executable, small_files, tmp_path, 1)
    assert record["ok"], record["error"]
    assert record["rows"] == {"reference": 1500, "current": 3000}
    assert len(record["columns"]) == 20
    assert record["seconds"]["read_compute"] > 0 and record["peak_rss_mb"] > 0
    saved = json.loads((tmp_path / "shipyard-1.json").read_text())
    assert saved["columns"] == record["columns"]


def test_a_runner_that_fails_is_reported_with_its_log(tmp_path, small_files):
    record = measure.run_tool("nosuch", sys.executable, small_files, tmp_path, 1)
    assert not record["ok"]
    assert record["error"].startswith("exit code 1:") and "drift.nosuch_runner" in record["error"]
