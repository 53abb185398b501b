"""`shipyard gate|pilot|approve|approvals|rollout|ab` and `deploy --auto` as a user types them:
locally (acting as the OS user named by LOGNAME), then through a server as API keys.

Models are registered in process; every command under test runs the real CLI in a subprocess,
many per test since each costs a start.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shipyard.client import Client
from shipyard.core.errors import InvalidInputError
from shipyard.core.settings import Settings
from shipyard.core.types import Role
from shipyard.registry import Registry
from shipyard.registry.setup import initialise
from tests.e2e.cli_runner import assert_clean_error, cli
from tests.e2e.server_process import ServerProcess, served_env

pytestmark = pytest.mark.e2e

# The accuracy of model.skops on sample.csv is about 0.90.
POLICY = "approvals: 1\nmetrics:\n  accuracy: {min: 0.8}\nlatency:\n  p99_ms: 5000\n"
REMOTE_POLICY = "approvals: 1\nmetrics:\n  accuracy: {min: 0.8}\n"
BAD_POLICY = "approvals: 1\nmetrics:\n  accuracy:\n    min: high\n"
REQUEST_KEYS = {
    "id",
    "model",
    "version",
    "from_status",
    "required_approvals",
    "approvals",
    "state",
    "requested_by",
    "requested_at",
    "reason",
    "closed_at",
    "decisions",
}
ROLLOUT_KEYS = {
    "id",
    "endpoint",
    "canary",
    "stable",
    "plan",
    "step",
    "weight",
    "step_started_at",
    "state",
    "reason",
    "last_decision",
    "started_by",
    "started_at",
    "updated_at",
}
NO_PREDICTIONS = "Not enough data: no logged predictions of endpoint 'web' were found."


def governed_home(home: Path, model_dir: Path) -> Registry:
    """``cancer`` v1 production, v2 and v3 registered (with data); ``credit`` v1 production,
    v2 staging, served by endpoint ``web`` (all traffic to v1)."""
    settings = Settings.for_home(home)
    initialise(settings, actor="test:setup")
    registry = Registry.open(settings, actor="test:setup")
    for _ in range(3):
        registry.register(
            "cancer",
            model_dir / "model.skops",
            sample_data=model_dir / "sample.csv",
            target="target",
        )
    registry.promote("cancer:1", "production")
    for _ in range(2):
        registry.register("credit", model_dir / "sum_model.py")
    registry.promote("credit:1", "production")
    registry.promote("credit:2", "staging")
    registry.endpoints.deploy("web", "credit:1")
    return registry


def files(directory: Path) -> dict[str, Path]:
    """The policy files the commands read."""
    directory.mkdir(parents=True, exist_ok=True)
    texts = {"policy.yaml": POLICY, "remote.yaml": REMOTE_POLICY, "bad.yaml": BAD_POLICY}
    texts["approvals.yaml"] = "approvals: 1\n"
    paths = {}
    for name, text in texts.items():
        paths[name] = directory / name
        paths[name].write_text(text)
    return paths


@pytest.fixture
def env(tmp_path: Path, model_dir: Path) -> dict[str, str]:
    governed_home(tmp_path / "home", model_dir).close()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    environment.update(SHIPYARD_HOME=str(tmp_path / "home"), COLUMNS="200", LOGNAME="alice")
    return environment


def as_json(done: Any) -> Any:
    return json.loads(done.stdout)


def one_line(done: Any) -> str:
    return " ".join(done.stdout.split())


def test_policy_gate_check_pilot_and_four_eyes_locally(
    env: dict[str, str], model_dir: Path, tmp_path: Path
) -> None:
    policy = files(tmp_path / "policies")
    data = str(model_dir / "sample.csv")
    assert_clean_error(
        cli(env, "gate", "policy", "set", "cancer", str(policy["bad.yaml"]), ok=False),
        "bad.yaml line 4: metrics.accuracy.min: expected a number, got 'high'",
    )
    done = cli(env, "gate", "policy", "set", "cancer", str(policy["policy.yaml"]))
    assert one_line(done) == "cancer gate policy is now revision 1."
    shown = as_json(cli(env, "gate", "policy", "show", "cancer", "--json"))
    assert (shown["revision"], shown["text"]) == (1, POLICY)
    assert shown["policy"]["approvals"] == 1 and shown["policy"]["latency"]["p99_ms"] == 5000
    assert [(r["revision"], r["actor"]) for r in shown["history"]] == [(1, "os:alice")]

    # No pilot yet: the latency budget fails, and only it.
    done = cli(env, "gate", "check", "cancer:2", "--data", data, "--json", ok=False)
    assert done.returncode == 1
    report = as_json(done)
    assert set(report) == {"ref", "passed", "checks"} and report["ref"] == "cancer:2"
    assert not report["passed"]
    assert set(report["checks"][0]) == {
        "name",
        "passed",
        "skipped",
        "observed",
        "limit",
        "message",
    }
    assert [c["name"] for c in report["checks"] if not c["passed"]] == ["latency:p99"]
    assert "no pilot load test on record for cancer:2" in json.dumps(report)

    pilot = as_json(
        cli(env, "pilot", "cancer:2", "--requests", "50", "--concurrency", "2", "--json")
    )
    assert (pilot["ref"], pilot["requests"], pilot["errors"]) == ("cancer:2", 50, 0)
    report = as_json(cli(env, "gate", "check", "cancer:2", "--data", data, "--json"))
    assert report["passed"]
    latency = next(c for c in report["checks"] if c["name"] == "latency:p99")
    assert latency["observed"] == pytest.approx(pilot["p99_ms"])
    accuracy = next(c for c in report["checks"] if c["name"] == "metric:accuracy")
    assert 0.8 < accuracy["observed"] < 0.99

    strict = cli(
        env,
        "gate",
        "check",
        "cancer:2",
        "--data",
        data,
        "--min-metric",
        "accuracy=0.99999",
        "--no-store",
        ok=False,
    )
    assert_clean_error(strict, "cancer:2 fails its gates: metric:accuracy.")
    assert strict.returncode == 1
    assert ">= 0.99999" in strict.stdout and "FAIL" in strict.stdout

    done = cli(env, "promote", "cancer:2", "--to", "production")
    assert "cancer:2 passed its gates and is waiting for approval" in one_line(done)
    assert_clean_error(
        cli(env, "approve", "cancer:2", ok=False),
        "os:alice requested the promotion of cancer:2, so os:alice cannot approve it",
    )
    pending = as_json(cli(env, "approvals", "--json"))
    assert [(r["version"], r["state"], r["requested_by"]) for r in pending] == [
        (2, "pending", "os:alice")
    ]
    bob = {**env, "LOGNAME": "bob"}
    done = cli(bob, "approve", "cancer:2", "--comment", "metrics look right")
    assert one_line(done) == "Approved cancer:2: it is now production."

    # Rejection: a policy without data checks, so cancer:3 needs no gate check first.
    cli(env, "gate", "policy", "set", "cancer", str(policy["approvals.yaml"]))
    cli(env, "promote", "cancer:3", "--to", "production")
    done = cli(bob, "approve", "cancer:3", "--reject", "--comment", "not this one")
    assert one_line(done) == "Rejected cancer:3: it is now rejected."
    every = as_json(cli(env, "approvals", "--all", "--json"))
    assert all(set(r) == REQUEST_KEYS for r in every)
    assert [(r["version"], r["state"], r["approvals"]) for r in every] == [
        (3, "rejected", 0),
        (2, "approved", 1),
    ]
    assert [(d["actor"], d["decision"], d["comment"]) for d in every[1]["decisions"]] == [
        ("os:bob", "approve", "metrics look right")
    ]
    assert every[0]["decisions"][0]["decision"] == "reject"
    with Registry.open(Settings.from_env(env)) as registry:
        assert registry.get_model("cancer").production_version == 2
        assert registry.get_version("cancer:3").status.value == "rejected"


def test_auto_deploy_rollout_status_abort_and_ab_locally(env: dict[str, str]) -> None:
    auto = ["deploy", "web", "credit:2", "--auto"]
    assert_clean_error(
        cli(env, *auto, "--canary", "10", "--steps", "10,50,25", ok=False),
        "Canary steps must increase and end at 100; got 10, 50, 25.",
    )
    usage = cli(env, *auto, "--interval", "5x", ok=False)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    assert "expected a positive duration like 30s, 5m or 1h, got '5x'" in usage.stderr
    done = cli(env, *auto, "--canary", "20", "--interval", "10m")
    assert one_line(done).startswith(
        "Rollout #1 on web: credit:2 takes 20% now and ramps 20% → 25% → 50% → 100% while "
        "healthy (each step at least 10m and 100 canary requests)."
    )
    status = as_json(cli(env, "rollout", "status", "web", "--json"))
    assert len(status) == 1 and set(status[0]) == ROLLOUT_KEYS
    rollout = status[0]
    assert (rollout["canary"], rollout["stable"], rollout["state"]) == (2, 1, "running")
    assert rollout["weight"] == 20 and rollout["plan"]["steps"] == [20, 25, 50, 100]
    assert rollout["plan"]["interval_seconds"] == 600 and rollout["started_by"] == "os:alice"
    done = cli(env, "rollout", "abort", "web", "--reason", "enough")
    assert one_line(done) == "Rollout #1 on web aborted; version 1 takes all traffic again."
    assert_clean_error(
        cli(env, "rollout", "abort", "web", ok=False),
        "No rollout is running on 'web'; nothing to abort.",
    )
    done = cli(env, "ab", "web")
    assert one_line(done) == NO_PREDICTIONS
    with Registry.open(Settings.from_env(env)) as registry:
        policy = registry.endpoints.get("web").policy
        assert policy is not None and policy.weights() == {1: 100.0}
        assert registry.rollouts.history("web")[0].state.value == "aborted"


# -- through a server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def remote_home(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("governance") / "home"
    governed_home(home, model_dir).close()
    yield home


@pytest.fixture(scope="module")
def keys(remote_home: Path) -> dict[Role, str]:
    roles = (Role.ADMIN, Role.APPROVER, Role.DEPLOYER, Role.VIEWER)
    with Registry.open(Settings.for_home(remote_home), actor="test:setup") as registry:
        return {role: registry.create_key(role)[1] for role in roles}


@pytest.fixture(scope="module")
def server(remote_home: Path, keys: dict[Role, str]) -> Iterator[ServerProcess]:
    # The controller is off (it would record a "hold" every few seconds): these tests compare
    # what the CLI shows through the server with what it shows locally.
    with ServerProcess(served_env(remote_home), "--rollout-interval", "0") as process:
        yield process


def remote_env(server: ServerProcess, secret: str, home: Path) -> dict[str, str]:
    env = served_env(home)
    env.update({"SHIPYARD_URL": server.url, "SHIPYARD_API_KEY": secret, "COLUMNS": "200"})
    return env


def key_id(secret: str) -> str:
    return f"key:{secret.split('_')[1]}"


def test_remote_policy_gate_check_and_four_eyes_as_keys(
    server: ServerProcess,
    keys: dict[Role, str],
    remote_home: Path,
    model_dir: Path,
    tmp_path: Path,
) -> None:
    # An empty local home: remote commands must not need (or create) a local store.
    empty = tmp_path / "empty"
    admin, approver, deployer, viewer = (
        remote_env(server, keys[role], empty)
        for role in (Role.ADMIN, Role.APPROVER, Role.DEPLOYER, Role.VIEWER)
    )
    local = served_env(remote_home)
    policy = files(tmp_path / "policies")
    big = tmp_path / "big.csv"
    big.write_text("a,b\n" + "1,2\n" * 100_001)

    assert_clean_error(
        cli(viewer, "gate", "policy", "set", "cancer", str(policy["remote.yaml"]), ok=False),
        "A viewer key may not approve; this needs one of: approver, admin.",
    )
    assert_clean_error(  # parsed before sending: the message names the file
        cli(approver, "gate", "policy", "set", "cancer", str(policy["bad.yaml"]), ok=False),
        "bad.yaml line 4: metrics.accuracy.min",
    )
    record = as_json(
        cli(approver, "gate", "policy", "set", "cancer", str(policy["remote.yaml"]), "--json")
    )
    assert (record["revision"], record["actor"]) == (1, key_id(keys[Role.APPROVER]))
    shown = ["gate", "policy", "show", "cancer", "--json"]
    assert as_json(cli(viewer, *shown)) == as_json(cli(local, *shown))

    assert_clean_error(
        cli(deployer, "gate", "check", "cancer:2", "--data", str(big), ok=False),
        "big.csv has 100,001 rows; a gate check through the server sends at most 100,000",
    )
    done = cli(deployer, "gate", "check", "cancer:2", "--data", str(model_dir / "sample.csv"))
    assert "cancer:2 passes its gates." in one_line(done)
    assert "metric:accuracy" in done.stdout and ">= 0.8" in done.stdout
    with Client(server.url, keys[Role.VIEWER]) as client:
        stored = client.checks("cancer", 2, "gate")[0]
    assert stored["passed"] and stored["actor"] == key_id(keys[Role.DEPLOYER])
    assert stored["result"]["data"]["rows"] == 569  # every row of sample.csv was sent
    assert stored["result"]["data"]["file"] == "sample.csv"  # named after the caller's file

    # A pilot through the server: it runs there and is kept on the version.
    ran = as_json(cli(deployer, "pilot", "cancer:2", "--requests", "30", "--json"))
    assert ran["requests"] == 30 and ran["errors"] == 0
    with Client(server.url, keys[Role.VIEWER]) as client:
        assert client.checks("cancer", 2, "pilot")[0]["actor"] == key_id(keys[Role.DEPLOYER])

    done = cli(deployer, "promote", "cancer:2", "--to", "production")
    assert "cancer:2 passed its gates and is waiting for approval" in one_line(done)
    decided = as_json(cli(approver, "approve", "cancer:2", "--comment", "ok", "--json"))
    assert decided["version"]["status"] == "production"
    assert decided["request"]["requested_by"] == key_id(keys[Role.DEPLOYER])
    assert decided["request"]["decisions"][0]["actor"] == key_id(keys[Role.APPROVER])

    # The approver requests the next one itself: it cannot approve it; an admin rejects it.
    with Registry.open(Settings.for_home(remote_home), actor="test:setup") as registry:
        registry.gates.check("cancer:3", data=model_dir / "sample.csv")
    cli(approver, "promote", "cancer:3", "--to", "production")
    approver_id = key_id(keys[Role.APPROVER])
    assert_clean_error(
        cli(approver, "approve", "cancer:3", ok=False),
        f"{approver_id} requested the promotion of cancer:3, so {approver_id} cannot approve it",
    )
    done = cli(admin, "approve", "cancer:3", "--reject", "--comment", "not this one")
    assert one_line(done) == "Rejected cancer:3: it is now rejected."
    every = as_json(cli(viewer, "approvals", "--all", "--json"))
    assert every == as_json(cli(local, "approvals", "--all", "--json"))
    assert [(r["version"], r["state"]) for r in every] == [(3, "rejected"), (2, "approved")]
    with Client(server.url, keys[Role.VIEWER]) as client:
        assert client.approvals() == []  # pending only, by default
        assert [r["id"] for r in client.approvals(state="rejected", model="cancer")] == [
            every[0]["id"]
        ]
        with pytest.raises(InvalidInputError, match="Unknown request state 'done'"):
            client.approvals(state="done")
    assert not empty.exists()


def test_remote_auto_deploy_rollout_status_abort_and_ab(
    server: ServerProcess, keys: dict[Role, str], remote_home: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    deployer = remote_env(server, keys[Role.DEPLOYER], empty)
    viewer = remote_env(server, keys[Role.VIEWER], empty)
    local = served_env(remote_home)

    auto = ["deploy", "web", "credit:2", "--canary", "10", "--auto", "--interval", "10m"]
    started = as_json(cli(deployer, *auto, "--json"))
    assert set(started) == ROLLOUT_KEYS and started["state"] == "running"
    assert started["weight"] == 10 and started["plan"]["steps"] == [10, 25, 50, 100]
    assert started["started_by"] == key_id(keys[Role.DEPLOYER])
    status = ["rollout", "status", "web", "--json"]
    assert as_json(cli(viewer, *status)) == as_json(cli(local, *status))
    assert_clean_error(
        cli(viewer, "rollout", "abort", "web", ok=False), "A viewer key may not deploy"
    )
    done = cli(deployer, "rollout", "abort", "web", "--reason", "enough")
    assert one_line(done) == (
        f"Rollout #{started['id']} on web aborted; version 1 takes all traffic again."
    )
    assert one_line(cli(viewer, "ab", "web")) == NO_PREDICTIONS
    report = as_json(cli(viewer, "ab", "web", "--json"))
    assert report == as_json(cli(local, "ab", "web", "--json"))
    assert report["enough_data"] is False and report["versions"] == []
    with Client(server.url, keys[Role.VIEWER]) as client:
        # A timezone-aware window travels as ISO text ("+00:00" escaped in the query).
        since = datetime.now(UTC) - timedelta(hours=1)
        windowed = client.ab("web", since=since, until=datetime.now(UTC), min_samples=5)
        assert windowed["min_samples"] == 5 and windowed["verdict"] == NO_PREDICTIONS
    assert not empty.exists()
