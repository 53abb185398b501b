"""The `shipyard` CLI as a user types it: real subprocesses, real files, one home per test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.cli_runner import SHIPYARD, assert_clean_error, cli
from tests.fixtures.git import make_git_repo

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    environment["SHIPYARD_HOME"] = str(tmp_path / "home")
    environment["COLUMNS"] = "200"
    return environment


def test_init_register_show_promote_predict_audit(
    env: dict[str, str], model_dir: Path, tmp_path: Path
) -> None:
    init = json.loads(cli(env, "init", "--json").stdout)
    assert init["created_schema"] and init["admin_secret"].startswith("sy_")
    assert init["admin_key"]["role"] == "admin"
    again = json.loads(cli(env, "init", "--json").stdout)
    assert again["admin_secret"] is None  # the key is shown once, never re-created

    registered = json.loads(
        cli(
            env,
            "register",
            "cancer",
            str(model_dir / "model.skops"),
            "--sample-data",
            str(model_dir / "sample.csv"),
            "--target",
            "target",
            "--metric",
            "accuracy=0.9",
            "--param",
            "C=1",
            "--data-version",
            "v1",
            "--code-commit",
            "abc123",
            "--owner",
            "team",
            "--description",
            "d",
            "--json",
        ).stdout
    )
    assert registered["version"] == 1 and registered["lineage"]["code_commit"] == "abc123"
    assert registered["lineage"]["metrics"] == {"accuracy": 0.9}

    cli(env, "promote", "cancer:1", "--to", "production", "--reason", "ok")
    shown = json.loads(cli(env, "models", "show", "cancer:production", "--json").stdout)
    assert shown["status"] == "production" and shown["history"][-1]["reason"] == "ok"
    assert set(shown) >= {
        "model",
        "version",
        "flavor",
        "status",
        "production_since",
        "previous_version",
        "owner",
        "created_by",
        "created_at",
        "artifact",
        "signature",
        "lineage",
        "card",
        "reference_profile",
        "reference_sample",
        "trust_pickle",
        "history",
    }
    model = json.loads(cli(env, "models", "show", "cancer", "--json").stdout)
    assert model["model"]["production_version"] == 1 and len(model["versions"]) == 1
    listed = json.loads(cli(env, "models", "list", "--json").stdout)
    assert [m["name"] for m in listed] == ["cancer"]
    human = cli(env, "models", "show", "cancer:1").stdout
    assert "reference profile" in human and "mean radius" in human

    out = tmp_path / "scored.csv"
    cli(
        env,
        "predict",
        "cancer:production",
        "--input",
        str(model_dir / "to_score.csv"),
        "--output",
        str(out),
    )
    scored = pd.read_csv(out)
    assert len(scored) == 569 and {"prediction", "proba_0", "proba_1"} <= set(scored.columns)
    stdout_csv = cli(env, "predict", "cancer:1", "--input", str(model_dir / "to_score.csv")).stdout
    assert stdout_csv.splitlines()[0].endswith('"prediction","proba_0","proba_1"')
    assert len(stdout_csv.splitlines()) == 570

    entries = json.loads(cli(env, "audit", "list", "--json").stdout)
    assert [e["action"] for e in entries][:3] == [
        "version.promote",
        "version.gate",
        "version.register",
    ]
    assert all(e["actor"].startswith("os:") for e in entries)
    verified = json.loads(cli(env, "audit", "verify", "--json").stdout)
    assert verified["ok"] and verified["entries_checked"] == len(entries)


def test_keys_are_shown_once_and_stored_hashed(env: dict[str, str], tmp_path: Path) -> None:
    secret = json.loads(cli(env, "init", "--json").stdout)["admin_secret"]
    created = json.loads(cli(env, "keys", "create", "--role", "predictor", "--json").stdout)
    keys = json.loads(cli(env, "keys", "list", "--json").stdout)
    assert {k["role"] for k in keys} == {"admin", "predictor"}
    assert all("secret" not in k for k in keys)
    database = (tmp_path / "home" / "shipyard.db").read_bytes()
    assert secret.encode() not in database and created["secret"].encode() not in database
    cli(env, "keys", "revoke", created["id"])
    revoked = {k["id"]: k for k in json.loads(cli(env, "keys", "list", "--json").stdout)}
    assert revoked[created["id"]]["revoked_at"] is not None
    assert_clean_error(
        cli(env, "keys", "create", "--role", "boss", ok=False), "Unknown role 'boss'"
    )
    assert_clean_error(cli(env, "keys", "revoke", "nope", ok=False), "No API key with id 'nope'")


def test_bad_inputs_give_one_clear_line(
    env: dict[str, str], model_dir: Path, tmp_path: Path
) -> None:
    assert_clean_error(
        cli(env, "models", "list", ok=False), "no Shipyard schema yet", "shipyard init"
    )
    cli(env, "init")
    artifact = str(model_dir / "model.skops")
    assert_clean_error(
        cli(env, "register", "m", str(tmp_path / "missing.skops"), ok=False), "does not exist"
    )
    assert_clean_error(cli(env, "register", "Bad Name", artifact, ok=False), "Invalid model name")
    blob = tmp_path / "weights.bin"
    blob.write_bytes(b"\x00\x01binary")
    assert_clean_error(cli(env, "register", "m", str(blob), ok=False), "--flavor")
    assert_clean_error(
        cli(env, "register", "m", artifact, "--flavor", "keras", ok=False), "Unknown flavor 'keras'"
    )
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(b"\x80\x04K\x01.")
    assert_clean_error(cli(env, "register", "m", str(pickled), ok=False), "--trust-pickle")
    broken = tmp_path / "broken.skops"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert_clean_error(
        cli(env, "register", "m", str(broken), "--flavor", "sklearn", ok=False), "Could not load"
    )
    assert_clean_error(
        cli(env, "register", "m", artifact, "--sample-data", str(model_dir / "ab.csv"), ok=False),
        "does not match the model",
    )
    done = cli(env, "register", "m", artifact, "--metric", "auc=high", ok=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "metric 'auc' must be a number" in done.stderr
    assert_clean_error(cli(env, "models", "show", "ghost", ok=False), "No model named 'ghost'")
    assert_clean_error(cli(env, "models", "show", "ghost:x", ok=False), "Invalid model reference")
    assert_clean_error(cli(env, "promote", "ghost:1", "--to", "production", ok=False), "ghost")
    # None of the failures above left a model or a version behind.
    assert json.loads(cli(env, "models", "list", "--json").stdout) == []


def test_tampered_artifact_and_broken_audit_exit_nonzero(
    env: dict[str, str], model_dir: Path, tmp_path: Path
) -> None:
    cli(env, "init")
    version = json.loads(cli(env, "register", "m", str(model_dir / "model.skops"), "--json").stdout)
    sha = version["artifact"]["sha256"]
    blob = tmp_path / "home" / "artifacts" / "sha256" / sha[:2] / sha
    blob.chmod(0o644)
    blob.write_bytes(b"evil")
    done = cli(env, "predict", "m:1", "--input", str(model_dir / "to_score.csv"), ok=False)
    assert_clean_error(done, f"expected SHA-256 {sha}", "model was not loaded")

    import sqlite3

    with sqlite3.connect(tmp_path / "home" / "shipyard.db") as db:
        db.execute("UPDATE audit_log SET target = 'x' WHERE seq = 2")
    done = cli(env, "audit", "verify", ok=False)
    assert done.returncode == 1 and "Audit entry 2 was edited" in " ".join(done.stderr.split())


def test_offline_scoring_validates_like_the_server(
    env: dict[str, str], model_dir: Path, tmp_path: Path
) -> None:
    """`shipyard predict` checks each chunk with the data plane's compiled schema."""
    cli(env, "init")
    sample = str(model_dir / "sample.csv")
    cli(
        env,
        "register",
        "m",
        str(model_dir / "model.skops"),
        "--sample-data",
        sample,
        "--target",
        "target",
    )
    rows = (model_dir / "to_score.csv").read_text().splitlines()
    header, first = rows[0], rows[1].split(",")
    first[2] = ""  # a missing 'mean perimeter', which the sample never had
    holed = tmp_path / "holed.csv"
    holed.write_text("\n".join([header, ",".join(first), *rows[2:5]]) + "\n")
    done = cli(env, "predict", "m:1", "--input", str(holed), ok=False)
    assert_clean_error(done, "Rows 1-4 of holed.csv", "'mean perimeter'", "NaN")


def test_db_upgrade_and_current(env: dict[str, str]) -> None:
    first = json.loads(cli(env, "db", "upgrade", "--json").stdout)
    assert first["before"] is None
    current = json.loads(cli(env, "db", "current", "--json").stdout)
    assert current["up_to_date"] and current["current"] == first["after"]


def test_help_and_version_work_without_a_home(env: dict[str, str]) -> None:
    env["SHIPYARD_HOME"] = "/nonexistent/never/created"
    assert "register" in cli(env, "--help").stdout
    assert cli(env, "--version").stdout.startswith("shipyard ")
    assert not Path("/nonexistent/never/created").exists()


def test_unreachable_database(env: dict[str, str]) -> None:
    env["SHIPYARD_DATABASE_URL"] = "postgresql+psycopg://u:pw@127.0.0.1:1/x"
    done = cli(env, "models", "list", ok=False)
    assert_clean_error(done, "Cannot connect to the database", "SHIPYARD_DATABASE_URL")
    assert ":pw@" not in done.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="git is installed on every CI machine")
def test_cli_reads_code_commit_from_the_working_directory(
    env: dict[str, str], model_dir: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    head = make_git_repo(repo)
    cli(env, "init")
    done = subprocess.run(
        [*SHIPYARD, "register", "m", str(model_dir / "model.skops"), "--json"],
        env=env,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout)["lineage"]["code_commit"] == head


def test_quickstart_runs_the_whole_flow_on_bundled_data(env: dict[str, str]) -> None:
    done = cli(env, "quickstart", "--no-serve")
    assert "Registered and promoted breast-cancer:1" in " ".join(done.stdout.split())
    shown = json.loads(cli(env, "models", "show", "breast-cancer:production", "--json").stdout)
    assert shown["lineage"]["metrics"]["accuracy"] > 0.9
    assert shown["reference_profile"]["columns"]["target"]["role"] == "target"
    scored = pd.read_csv(Path(env["SHIPYARD_HOME"]) / "quickstart" / "scored.csv")
    assert len(scored) == 171


def test_arguments_that_are_not_utf8_and_absurd_expiries_are_usage_errors(
    env: dict[str, str],
) -> None:
    cli(env, "init")
    done = subprocess.run(
        [*SHIPYARD, "keys", "create", "--role", "viewer", "--name", "bad\udcff"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and b"is not valid UTF-8" in done.stderr
    assert b"Traceback" not in done.stderr
    done2 = cli(
        env, "keys", "create", "--role", "viewer", "--expires-in-days", "99999999", ok=False
    )
    assert done2.returncode == 2 and "Traceback" not in done2.stderr
