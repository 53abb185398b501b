"""`shipyard monitor performance|fairness` as a user types them, on real log segments."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shipyard.core.settings import Settings
from shipyard.serving.feedback import FeedbackBatch, FeedbackStore
from shipyard.serving.logsink import PredictionLogSink, PredictionRecord
from tests.e2e.cli_runner import assert_clean_error, cli
from tests.e2e.server_process import served_env
from tests.fixtures.serving import Served, served_registry

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(tmp_path: Path, model_dir: Path) -> Iterator[Served]:
    s = served_registry(Settings.for_home(tmp_path / "home"), model_dir)
    yield s
    s.registry.close()


def test_monitor_performance_and_fairness(served: Served) -> None:
    logs = served.settings.home / "logs"
    sink = PredictionLogSink(logs, worker_id="w1")
    sink.start()
    rng = np.random.default_rng(3)
    ids, labels = [], []
    for i in range(120):
        prediction = int(rng.integers(0, 2))
        group = "north" if i % 2 else "south"
        wrong = group == "south" and i % 3 == 0
        ids.append(f"r{i}")
        labels.append(1 - prediction if wrong else prediction)
        sink.log(
            PredictionRecord(
                request_id=f"r{i}",
                time=time.time(),
                endpoint="cancer",
                model="cancer",
                version=1,
                inputs={"mean radius": np.array([10.0 + i])},
                predictions=np.array([prediction]),
                probabilities=None,
                latency_ms=1.0,
                metadata={"group": group},
            )
        )
    sink.flush(timeout=10)
    sink.close(timeout=10)
    FeedbackStore(logs, "w1").write(
        FeedbackBatch("cancer", ids[:100], labels[:100], [0] * 100), actor="test"
    )
    env = {**served_env(served.settings.home), "COLUMNS": "200"}

    perf = json.loads(cli(env, "monitor", "performance", "cancer", "--json").stdout)
    [version] = perf["versions"]
    assert (version["version"], version["n"], version["label_coverage"]) == (1, 100, 100 / 120)
    text = cli(env, "monitor", "performance", "cancer", "--window", "1h").stdout
    assert "accuracy" in text and "83%" in text  # 100 of 120 predictions have labels
    text = cli(env, "monitor", "performance", "cancer", "--buckets", "2").stdout
    assert "accuracy over time" in text
    empty = cli(env, "monitor", "performance", "sum").stdout
    assert "No prediction of sum has feedback in this window yet" in " ".join(empty.split())

    fair = json.loads(
        cli(env, "monitor", "fairness", "cancer", "--sensitive", "group", "--json").stdout
    )
    groups = {g["group"]: g for g in fair["groups"]}
    assert groups["north"]["accuracy"] == 1.0 and groups["south"]["accuracy"] < 1.0
    text = cli(env, "monitor", "fairness", "cancer", "--sensitive", "group").stdout
    assert "demographic_parity_difference" in text and "south" in text

    drift = json.loads(cli(env, "monitor", "drift", "cancer", "--json").stdout)
    columns = {c["column"]: c for c in drift["columns"]}
    assert columns["mean radius"]["drifted"] is True  # logged 10..129 against ~6..28
    assert columns["mean texture"]["drifted"] is None  # not logged here: reported, not tested
    text = cli(env, "monitor", "drift", "cancer").stdout
    assert "DRIFT" in text and "mean radius" in text

    assert_clean_error(
        cli(env, "monitor", "fairness", "cancer", "--sensitive", "colour", ok=False), "colour"
    )
    assert_clean_error(
        cli(env, "monitor", "performance", "nope", ok=False), "No endpoint named 'nope'"
    )
    done = cli(env, "monitor", "performance", "cancer", "--window", "5x", ok=False)
    assert done.returncode == 2 and "positive duration" in done.stderr


def test_bulk_feedback_reports_unknown_request_ids(served: Served, tmp_path: Path) -> None:
    logs = served.settings.home / "logs"
    sink = PredictionLogSink(logs, worker_id="w1")
    sink.start()
    for i in range(40):
        sink.log(
            PredictionRecord(
                request_id=f"r{i}",
                time=time.time(),
                endpoint="cancer",
                model="cancer",
                version=1,
                inputs={"mean radius": np.array([10.0])},
                predictions=np.array([i % 2]),
                probabilities=None,
                latency_ms=1.0,
                metadata=None,
            )
        )
    sink.flush(timeout=10)
    sink.close(timeout=10)
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "id,truth\n" + "".join(f"r{i},{i % 2}\n" for i in range(36)) + "zz1,1\nzz2,0\n"
    )
    env = {**served_env(served.settings.home), "COLUMNS": "200"}
    done = cli(env, "feedback", "cancer", "--input", str(labels), "--id-column", "id",
               "--label-column", "truth", "--json")  # fmt: skip
    assert json.loads(done.stdout) == {
        "endpoint": "cancer",
        "accepted": 38,
        "unknown": ["zz1", "zz2"],
    }
    perf = json.loads(cli(env, "monitor", "performance", "cancer", "--json").stdout)
    assert perf["versions"][0]["n"] == 36 and perf["versions"][0]["label_coverage"] == 36 / 40
    text = cli(env, "feedback", "cancer", "--input", str(labels), "--id-column", "id",
               "--label-column", "truth")  # fmt: skip
    assert "2 request ids are not in cancer's prediction log (yet): zz1, zz2" in text.stderr

    assert_clean_error(
        cli(env, "feedback", "cancer", "--input", str(labels), ok=False),
        "labels.csv has no column 'request_id', 'label'",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("request_id,label\nr1,1\n,0\n")
    assert_clean_error(
        cli(env, "feedback", "cancer", "--input", str(bad), ok=False),
        "bad.csv, rows 1-2: items[1].request_id must be a non-empty string",
    )
    assert_clean_error(
        cli(
            env,
            "feedback",
            "nope",
            "--input",
            str(labels),
            "--id-column",
            "id",
            "--label-column",
            "truth",
            ok=False,
        ),
        "No endpoint named 'nope'",
    )
