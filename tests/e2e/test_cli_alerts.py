"""`shipyard alerts …` and `shipyard monitor check` on a local home, and bulk feedback through
a real server reporting the request ids its log does not hold."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from shipyard.core.settings import Settings
from shipyard.core.types import Role
from shipyard.serving.logsink import PredictionLogSink, PredictionRecord
from tests.e2e.cli_runner import assert_clean_error, cli
from tests.e2e.server_process import ServerProcess, served_env
from tests.fixtures.serving import Served, served_registry

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(tmp_path: Path, model_dir: Path) -> Iterator[Served]:
    s = served_registry(Settings.for_home(tmp_path / "home"), model_dir)
    yield s
    s.registry.close()


def log_predictions(served: Served, count: int) -> None:
    sink = PredictionLogSink(served.settings.home / "logs", worker_id="w1")
    sink.start()
    for i in range(count):
        sink.log(
            PredictionRecord(
                request_id=f"r{i}",
                time=time.time(),
                endpoint="cancer",
                model="cancer",
                version=1,
                inputs={"mean radius": np.array([14.0])},
                predictions=np.array([i % 2]),
                probabilities=None,
                latency_ms=1.0,
                metadata=None,
            )
        )
    sink.flush(timeout=10)
    sink.close(timeout=10)


def test_alert_commands_on_a_local_home(served: Served, tmp_path: Path) -> None:
    env = {**served_env(served.settings.home), "COLUMNS": "200"}
    added = cli(env, "alerts", "add", "cancer", "traffic", "--metric", "predictions",
                "--below", "10", "--window", "1h")  # fmt: skip
    assert "Alert rule 'traffic' on cancer: predictions below 10 over 1h." in added.stdout
    assert "predictions below 10 over 1h" in cli(env, "alerts", "rules").stdout

    out = tmp_path / "alert.json"
    script = tmp_path / "hook.py"
    script.write_text(
        "import sys, pathlib\npathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())\n"
    )
    command = f"{sys.executable} {script} {out}"
    check = cli(env, "monitor", "check", "--command", command, ok=False)
    assert check.returncode == 1, check.stderr  # firing: nothing was predicted
    assert "BREACHED" in check.stdout and "[firing] cancer: predictions = 0" in check.stdout
    assert json.loads(out.read_text())["event"] == "firing"

    log_predictions(served, 20)
    again = cli(env, "monitor", "check", "--json")
    result = json.loads(again.stdout)
    assert result["firing"] == [] and result["transitions"][0]["state"] == "resolved"
    listed = json.loads(cli(env, "alerts", "list", "--json").stdout)
    assert [a["state"] for a in listed] == ["resolved"]
    assert [d["kind"] for d in listed[0]["deliveries"]] == ["command"]  # resolution: no command
    assert "resolved" in cli(env, "alerts", "list", "--state", "resolved").stdout

    assert_clean_error(
        cli(env, "alerts", "add", "cancer", "x", "--metric", "accuracy", ok=False),
        "Give exactly one of --above or --below",
    )
    assert_clean_error(
        cli(env, "alerts", "add", "cancer", "x", "--metric", "acuracy", "--below", "1", ok=False),
        "Unknown alert metric 'acuracy'",
        "Did you mean accuracy",
    )
    assert_clean_error(
        cli(env, "alerts", "add", "nope", "x", "--metric", "accuracy", "--below", "1", ok=False),
        "No endpoint named 'nope'",
    )
    assert_clean_error(cli(env, "alerts", "delete", "cancer", "x", ok=False), "no alert rule")
    assert_clean_error(cli(env, "alerts", "list", "--state", "open", ok=False), "--state must")
    done = cli(env, "alerts", "add", "cancer", "x", "--metric", "accuracy", "--below", "1",
               "--window", "soon", ok=False)  # fmt: skip
    assert done.returncode == 2 and "positive duration" in done.stderr
    assert (
        "Deleted alert rule 'traffic'" in cli(env, "alerts", "delete", "cancer", "traffic").stdout
    )
    assert "No alert rule" in cli(env, "monitor", "check").stdout


def test_bulk_feedback_through_the_server_names_unlogged_ids(
    served: Served, tmp_path: Path
) -> None:
    env = served_env(served.settings.home)
    labels = tmp_path / "labels.csv"
    with ServerProcess(env, "--monitor-interval", "0") as server:
        with httpx.Client(base_url=server.url, headers=served.headers(), timeout=30) as http:
            ids = []
            for _ in range(5):
                r = http.post("/v1/endpoints/sum/predict", json={"instances": [[1.0, 2.0]]})
                assert r.status_code == 200, r.text
                ids.append(r.json()["request_id"])
        time.sleep(1.5)  # the log is flushed every second
        labels.write_text(
            "request_id,label\n" + "".join(f"{i},3\n" for i in ids) + "typo-1,3\ntypo-2,3\n"
        )
        remote = {**env, "SHIPYARD_URL": server.url,
                  "SHIPYARD_API_KEY": served.keys[Role.DEPLOYER], "COLUMNS": "200"}  # fmt: skip
        done = cli(remote, "feedback", "sum", "--input", str(labels), "--json")
        text = cli(remote, "feedback", "sum", "--input", str(labels))
    assert json.loads(done.stdout) == {
        "endpoint": "sum",
        "accepted": 7,
        "unknown": ["typo-1", "typo-2"],
    }
    assert "2 request ids are not in sum's prediction log (yet): typo-1, typo-2" in " ".join(
        text.stderr.split()
    )
