"""`shipyard monitor settings set|show` as a user types them, locally and through a real server,
and `monitor drift` taking the settings on real log segments."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.core.settings import Settings
from shipyard.core.types import Role
from shipyard.serving.logsink import PredictionLogSink, PredictionRecord
from tests.e2e.cli_runner import assert_clean_error, cli
from tests.e2e.server_process import ServerProcess, served_env
from tests.fixtures.models import FEATURES_SMALL
from tests.fixtures.serving import Served, served_registry

pytestmark = pytest.mark.e2e

GOOD = """\
# cancer: PSI on the radius, a looser dataset verdict
drift:
  drift_share: 0.25
  columns:
    mean radius: {method: psi, threshold: 0.5}
performance:
  min_rows: 50
"""
BAD = "drift:\n  columns:\n    mean radius: {method: psi, threshold: -0.2}\n"
TYPO = "drift:\n  columns:\n    mean radus: {method: psi}\n"
SHOW_KEYS = {"model", "revision", "text", "settings", "history"}
RECORD_KEYS = {"model", "revision", "text", "actor", "at"}


@pytest.fixture
def served(tmp_path: Path, model_dir: Path) -> Iterator[Served]:
    s = served_registry(Settings.for_home(tmp_path / "home"), model_dir)
    yield s
    s.registry.close()


def settings_files(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in {"good.yaml": GOOD, "bad.yaml": BAD, "typo.yaml": TYPO}.items():
        paths[name] = directory / name
        paths[name].write_text(text)
    return paths


def log_drifted(home: Path, model_dir: Path) -> None:
    """300 logged predictions of cancer v1, ``mean radius`` 10% larger than the reference."""
    frame = pd.read_csv(model_dir / "sample.csv").sample(300, random_state=2)
    sink = PredictionLogSink(home / "logs", worker_id="w1")
    sink.start()
    for i, row in enumerate(frame.to_dict(orient="records")):
        inputs = {name: np.array([float(row[name])]) for name in FEATURES_SMALL}
        inputs["mean radius"] = inputs["mean radius"] * 1.1
        sink.log(
            PredictionRecord(
                request_id=f"r{i}",
                time=time.time() - 60,
                endpoint="cancer",
                model="cancer",
                version=1,
                inputs=inputs,
                predictions=np.array([int(row["target"])]),
                probabilities=None,
                latency_ms=1.0,
                metadata=None,
            )
        )
    sink.flush(timeout=10)
    sink.close(timeout=10)


def one_line(done: object) -> str:
    return " ".join(done.stdout.split())  # type: ignore[attr-defined]


def radius(drift: dict[str, object]) -> dict[str, object]:
    return next(c for c in drift["columns"] if c["column"] == "mean radius")  # type: ignore[index, attr-defined]


def test_settings_locally_then_through_a_server(
    served: Served, model_dir: Path, tmp_path: Path
) -> None:
    home = served.settings.home
    log_drifted(home, model_dir)
    files = settings_files(tmp_path / "settings")
    env = {**served_env(home), "COLUMNS": "200", "LOGNAME": "alice"}

    shown = json.loads(cli(env, "monitor", "settings", "show", "cancer", "--json").stdout)
    assert set(shown) == SHOW_KEYS and (shown["revision"], shown["text"]) == (0, None)
    text = one_line(cli(env, "monitor", "settings", "show", "cancer"))
    assert "cancer has no monitoring settings of its own: the defaults apply." in text
    assert "drift.drift_share │ 0.5" in text
    before = json.loads(cli(env, "monitor", "drift", "cancer", "--json").stdout)
    assert (radius(before)["method"], before["dataset_drift"]) == ("ks", False)

    assert_clean_error(
        cli(
            env, "monitor", "settings", "set", "cancer", "--file", str(files["bad.yaml"]), ok=False
        ),
        "bad.yaml line 3: drift.columns.mean radius.threshold: psi gives a distance (drift when "
        ">= the threshold): expected a number above 0, e.g. 0.1, got -0.2",
    )
    assert_clean_error(
        cli(
            env, "monitor", "settings", "set", "cancer", "--file", str(files["typo.yaml"]), ok=False
        ),
        "typo.yaml line 3: drift.columns.mean radus: unknown column 'mean radus' (did you mean "
        "'mean radius'?)",
    )
    assert_clean_error(
        cli(
            env,
            "monitor",
            "settings",
            "set",
            "cancer",
            "--file",
            str(tmp_path / "no.yaml"),
            ok=False,
        ),
        f"--file: {tmp_path / 'no.yaml'} does not exist.",
    )
    assert_clean_error(
        cli(env, "monitor", "settings", "show", "nope", ok=False), "No model named 'nope'"
    )
    done = cli(env, "monitor", "settings", "set", "cancer", "--file", str(files["good.yaml"]))
    assert one_line(done) == "cancer monitoring settings are now revision 1."

    text = one_line(cli(env, "monitor", "settings", "show", "cancer"))
    assert "cancer monitoring settings, revision 1 by os:alice" in text
    assert "drift.columns.mean radius │ psi, threshold 0.5" in text
    assert "performance.min_rows │ 50" in text
    after = json.loads(cli(env, "monitor", "drift", "cancer", "--json").stdout)
    assert (radius(after)["method"], radius(after)["threshold"]) == ("psi", 0.5)
    assert radius(after)["drifted"] is False and after["drift_share_threshold"] == 0.25

    # Through a server, as API keys, from an empty local home.
    with ServerProcess(served_env(home), "--rollout-interval", "0") as server:
        remote = {
            **served_env(tmp_path / "empty"),
            "SHIPYARD_URL": server.url,
            "COLUMNS": "200",
        }
        viewer = {**remote, "SHIPYARD_API_KEY": served.keys[Role.VIEWER]}
        deployer = {**remote, "SHIPYARD_API_KEY": served.keys[Role.DEPLOYER]}
        good = str(files["good.yaml"])
        assert_clean_error(
            cli(viewer, "monitor", "settings", "set", "cancer", "--file", good, ok=False),
            "A viewer key may not deploy",
        )
        assert_clean_error(
            cli(
                deployer,
                "monitor",
                "settings",
                "set",
                "cancer",
                "--file",
                str(files["bad.yaml"]),
                ok=False,
            ),
            "bad.yaml line 3: drift.columns.mean radius.threshold",
        )
        assert_clean_error(  # the server knows the model's columns
            cli(
                deployer,
                "monitor",
                "settings",
                "set",
                "cancer",
                "--file",
                str(files["typo.yaml"]),
                ok=False,
            ),
            "monitoring settings line 3: drift.columns.mean radus: unknown column 'mean radus'",
        )
        record = json.loads(
            cli(deployer, "monitor", "settings", "set", "cancer", "--file", good, "--json").stdout
        )
        assert set(record) == RECORD_KEYS and record["revision"] == 2
        assert record["actor"] == f"key:{served.keys[Role.DEPLOYER].split('_')[1]}"
        shown = json.loads(cli(viewer, "monitor", "settings", "show", "cancer", "--json").stdout)
        assert set(shown) == SHOW_KEYS and (shown["revision"], shown["text"]) == (2, GOOD)
        assert [(r["revision"], r["actor"]) for r in shown["history"]] == [
            (2, record["actor"]),
            (1, "os:alice"),
        ]
        assert shown["settings"]["performance"] == {"min_rows": 50}
        text = one_line(cli(viewer, "monitor", "settings", "show", "cancer"))
        assert f"revision 2 by {record['actor']}" in text and "history" in text
        drift = json.loads(cli(viewer, "monitor", "drift", "cancer", "--json").stdout)
        assert radius(drift)["method"] == "psi"
    assert not (tmp_path / "empty").exists()
