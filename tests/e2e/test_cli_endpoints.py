"""`shipyard endpoints|deploy|rollback` as a user types them: locally, then through a server.

Models are registered in process (the commands under test are the endpoint ones); every
endpoint command runs the real CLI in a subprocess, several per test since each costs a start.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard.client import Client
from shipyard.core.errors import (
    EndpointNotFoundError,
    InvalidInputError,
    PermissionDeniedError,
    RevisionNotFoundError,
)
from shipyard.core.settings import Settings
from shipyard.core.types import Role
from shipyard.registry import Registry
from shipyard.registry.setup import initialise
from tests.e2e.cli_runner import assert_clean_error, cli
from tests.e2e.server_process import ServerProcess, served_env

pytestmark = pytest.mark.e2e

ENDPOINT_KEYS = {"name", "model", "description", "created_at", "created_by", "revision", "current"}


def registered_home(home: Path, model_dir: Path) -> Registry:
    """``credit`` v1 production, v2 staging, v3 registered; ``other`` v1 production."""
    settings = Settings.for_home(home)
    initialise(settings, actor="test:setup")
    registry = Registry.open(settings, actor="test:setup")
    for _ in range(3):
        registry.register("credit", model_dir / "sum_model.py")
    registry.register("other", model_dir / "sum_model.py")
    registry.promote("credit:1", "production")
    registry.promote("credit:2", "staging")
    registry.promote("other:1", "production")
    return registry


@pytest.fixture
def env(tmp_path: Path, model_dir: Path) -> dict[str, str]:
    registered_home(tmp_path / "home", model_dir).close()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    environment["SHIPYARD_HOME"] = str(tmp_path / "home")
    environment["COLUMNS"] = "200"
    return environment


def as_json(done: Any) -> Any:
    return json.loads(done.stdout)


def one_line(done: Any) -> str:
    return " ".join(done.stdout.split())


def test_deploy_canary_shadow_traffic_show_and_rollback(env: dict[str, str]) -> None:
    done = cli(env, "deploy", "web", "credit:1", "--reason", "launch")
    assert one_line(done) == "web revision 1: credit:1 takes 100%."
    done = cli(env, "deploy", "web", "credit:2", "--canary", "10")
    assert one_line(done) == "web revision 2: credit:2 takes 10% (canary), credit:1 90%."
    shadow = as_json(cli(env, "deploy", "web", "credit:3", "--shadow", "--json"))
    assert (shadow["revision"], shadow["action"]) == (3, "shadow")
    assert shadow["policy"]["weights"] == {"1": 90.0, "2": 10.0}
    assert shadow["policy"]["shadows"] == [3]
    done = cli(
        env,
        "endpoints",
        "traffic",
        "web",
        "1=70",
        "v2=30%",
        "--sticky-key",
        "customer",
        "--reason",
        "ramp",
    )
    assert one_line(done) == (
        "web revision 4: credit:1 70%, credit:2 30%; shadows: credit:3; sticky key: customer."
    )
    cleared = as_json(
        cli(
            env,
            "endpoints",
            "traffic",
            "web",
            "1=80",
            "2=20",
            "--no-sticky-key",
            "--no-shadows",
            "--json",
        )
    )
    assert cleared["revision"] == 5 and cleared["action"] == "traffic"
    assert cleared["policy"]["sticky_key"] is None and cleared["policy"]["shadows"] == []

    shown = as_json(cli(env, "endpoints", "show", "web", "--json"))
    assert set(shown) == ENDPOINT_KEYS | {"history"}
    assert (shown["name"], shown["model"], shown["revision"]) == ("web", "credit", 5)
    assert shown["current"] == shown["history"][0] == cleared
    assert [r["revision"] for r in shown["history"]] == [5, 4, 3, 2, 1]
    assert [r["action"] for r in shown["history"]] == [
        "traffic",
        "traffic",
        "shadow",
        "canary",
        "deploy",
    ]
    assert [r["reason"] for r in shown["history"]] == [None, "ramp", None, None, "launch"]
    assert all(r["actor"].startswith("os:") for r in shown["history"])
    text = cli(env, "endpoints", "show", "web").stdout
    assert "traffic: v1 80% · v2 20%  shadows: -  sticky key: -" in text
    rows = [line for line in text.splitlines() if "│" in line]
    assert [row.split("│")[1].strip() for row in rows] == ["5", "4", "3", "2", "1"]
    assert "customer" in rows[1] and "ramp" in rows[1] and "v3" in rows[1]
    assert "launch" in rows[4] and "v1 100%" in rows[4]

    done = cli(env, "rollback", "web")
    assert one_line(done) == (
        "web revision 6 restores revision 4: credit:1 70%, credit:2 30%; shadows: credit:3; "
        "sticky key: customer."
    )
    back = as_json(
        cli(env, "rollback", "web", "--to-revision", "1", "--reason", "stable again", "--json")
    )
    assert (back["revision"], back["action"], back["reason"]) == (7, "rollback", "stable again")
    assert back["policy"]["weights"] == {"1": 100.0} and back["policy"]["sticky_key"] is None

    created = as_json(
        cli(
            env,
            "endpoints",
            "create",
            "api",
            "--model",
            "credit",
            "--description",
            "public",
            "--json",
        )
    )
    assert set(created) == ENDPOINT_KEYS and created["current"] is None
    assert created["description"] == "public"
    listed = as_json(cli(env, "endpoints", "list", "--json"))
    assert [(e["name"], e["revision"]) for e in listed] == [("api", None), ("web", 7)]
    table = cli(env, "endpoints", "list").stdout
    web_row = next(line for line in table.splitlines() if "│ web" in line)
    assert "credit" in web_row and "v1 100%" in web_row
    assert "nothing deployed" in next(line for line in table.splitlines() if "│ api" in line)

    entries = as_json(cli(env, "audit", "list", "--json"))
    endpoint_entries = [e for e in entries if e["action"].startswith("endpoint.")]
    assert [(e["action"], e["target"]) for e in endpoint_entries] == [
        ("endpoint.create", "api"),
        ("endpoint.rollback", "web"),
        ("endpoint.rollback", "web"),
        ("endpoint.traffic", "web"),
        ("endpoint.traffic", "web"),
        ("endpoint.shadow", "web"),
        ("endpoint.canary", "web"),
        ("endpoint.deploy", "web"),
        ("endpoint.create", "web"),
    ]
    assert endpoint_entries[2]["details"]["restored_revision"] == 4
    assert endpoint_entries[1]["details"]["reason"] == "stable again"


def test_bad_inputs_each_say_what_is_wrong(env: dict[str, str]) -> None:
    with Registry.open(Settings.from_env(env)) as registry:
        registry.endpoints.deploy("web", "credit:1")
    assert_clean_error(
        cli(env, "endpoints", "traffic", "web", "1=80", "2=10", ok=False),
        "Weights must sum to 100; 1: 80, 2: 10 sum to 90",
    )
    assert_clean_error(
        cli(env, "endpoints", "traffic", "web", "1=50", "7=50", ok=False),
        "serves model 'credit', which has no version 7",
    )
    assert_clean_error(
        cli(env, "deploy", "web", "credit:9", "--canary", "10", ok=False),
        "Model 'credit' has no version 9",
    )
    assert_clean_error(
        cli(env, "deploy", "web", "other:1", "--canary", "10", ok=False),
        "Endpoint 'web' serves model 'credit'; 'other' is another model",
    )
    assert_clean_error(
        cli(env, "deploy", "fresh", "credit:2", "--canary", "10", ok=False),
        "no stable version to take the rest of the traffic",
    )
    assert_clean_error(
        cli(env, "rollback", "web", ok=False),
        "Endpoint 'web' is at its first revision; there is nothing earlier to roll back to",
    )
    assert_clean_error(
        cli(env, "endpoints", "show", "ghost", ok=False), "No endpoint named 'ghost'"
    )
    for weights, fragment in (("1:90", "got '1:90'"), ("1=lots", "'lots' in '1=lots'")):
        usage = cli(env, "endpoints", "traffic", "web", weights, ok=False)
        assert usage.returncode == 2 and "Traceback" not in usage.stderr
        assert "expected VERSION=PCT" in usage.stderr and fragment in usage.stderr
    # None of the refusals changed anything.
    with Registry.open(Settings.from_env(env)) as registry:
        assert [r.revision for r in registry.endpoints.history("web")] == [1]
        with pytest.raises(EndpointNotFoundError):
            registry.endpoints.get("fresh")


# -- through a server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def remote_home(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("endpoints") / "home"
    registered_home(home, model_dir).close()
    yield home


@pytest.fixture(scope="module")
def keys(remote_home: Path) -> dict[Role, str]:
    with Registry.open(Settings.for_home(remote_home), actor="test:setup") as registry:
        return {role: registry.create_key(role)[1] for role in (Role.DEPLOYER, Role.VIEWER)}


@pytest.fixture(scope="module")
def server(remote_home: Path, keys: dict[Role, str]) -> Iterator[ServerProcess]:
    with ServerProcess(served_env(remote_home)) as process:
        yield process


def remote_env(server: ServerProcess, secret: str, home: Path) -> dict[str, str]:
    env = served_env(home)
    env.update({"SHIPYARD_URL": server.url, "SHIPYARD_API_KEY": secret, "COLUMNS": "200"})
    return env


def test_remote_cli_deploys_as_the_key_and_prints_what_the_local_cli_prints(
    server: ServerProcess, keys: dict[Role, str], remote_home: Path, tmp_path: Path
) -> None:
    # An empty local home: remote commands must not need (or create) a local store.
    deployer = remote_env(server, keys[Role.DEPLOYER], tmp_path / "empty")
    viewer = remote_env(server, keys[Role.VIEWER], tmp_path / "empty")
    local = served_env(remote_home)

    done = cli(deployer, "deploy", "web", "credit:1", "--reason", "launch")
    assert one_line(done) == "web revision 1: credit:1 takes 100%."
    canary = as_json(
        cli(
            deployer,
            "deploy",
            "web",
            "credit:2",
            "--canary",
            "20",
            "--sticky-key",
            "customer",
            "--json",
        )
    )
    assert canary["policy"]["weights"] == {"1": 80.0, "2": 20.0}
    assert canary["policy"]["sticky_key"] == "customer"
    done = cli(deployer, "endpoints", "traffic", "web", "1=50", "2=50")
    assert one_line(done) == "web revision 3: credit:1 50%, credit:2 50%; sticky key: customer."
    done = cli(deployer, "rollback", "web")
    assert one_line(done) == (
        "web revision 4 restores revision 2: credit:1 80%, credit:2 20%; sticky key: customer."
    )
    for args in (["endpoints", "show", "web", "--json"], ["endpoints", "list", "--json"]):
        assert as_json(cli(viewer, *args)) == as_json(cli(local, *args)), args

    assert_clean_error(
        cli(viewer, "deploy", "web", "credit:1", ok=False), "A viewer key may not deploy"
    )
    assert_clean_error(
        cli(deployer, "deploy", "web", "credit:latest", ok=False),
        "Name the exact version to deploy, e.g. credit:3 (got 'credit:latest')",
    )
    assert_clean_error(
        cli(deployer, "endpoints", "traffic", "web", "1=80", "2=10", ok=False),
        "Weights must sum to 100; 1: 80, 2: 10 sum to 90",
    )
    entries = as_json(cli(viewer, "audit", "list", "--target", "web", "--json"))
    deployer_id = keys[Role.DEPLOYER].split("_")[1]
    assert [e["action"] for e in entries] == [
        "endpoint.rollback",
        "endpoint.traffic",
        "endpoint.canary",
        "endpoint.deploy",
        "endpoint.create",
    ]
    assert {e["actor"] for e in entries} == {f"key:{deployer_id}"}
    assert not (tmp_path / "empty").exists()


def test_client_endpoint_methods(server: ServerProcess, keys: dict[Role, str]) -> None:
    with Client(server.url, keys[Role.DEPLOYER]) as client:
        created = client.create_endpoint("sdk", "credit", description="from the SDK")
        first = client.deploy("sdk", "credit:1", sticky_key="customer")
        canary = client.deploy("sdk", "credit:2", canary=10, reason="try v2")
        shadow = client.deploy("sdk", "credit:3", shadow=True)
        kept = client.set_traffic("sdk", {1: 70, 2: 30})
        cleared = client.set_traffic("sdk", {1: 70, 2: 30}, shadows=[], sticky_key="")
        restored = client.rollback("sdk", to_revision=1, reason="enough")
        shown = client.endpoint("sdk")
        listed = client.endpoints()["configured"]
        with pytest.raises(EndpointNotFoundError):
            client.endpoint("ghost")
        with pytest.raises(InvalidInputError, match="Weights are keyed by version number"):
            client.set_traffic("sdk", {"x": 100})  # type: ignore[dict-item]
        with pytest.raises(RevisionNotFoundError):
            client.rollback("sdk", to_revision=99)
    with (
        Client(server.url, keys[Role.VIEWER]) as viewer,
        pytest.raises(PermissionDeniedError),
    ):
        viewer.rollback("sdk")
    assert created["current"] is None and created["description"] == "from the SDK"
    assert first["policy"]["sticky_key"] == "customer"
    assert canary["policy"]["weights"] == {"1": 90.0, "2": 10.0} and canary["reason"] == "try v2"
    assert canary["policy"]["sticky_key"] == "customer"  # omitted: kept
    assert shadow["policy"]["shadows"] == [3]
    assert kept["policy"]["shadows"] == [3] and kept["policy"]["sticky_key"] == "customer"
    assert cleared["policy"]["shadows"] == [] and cleared["policy"]["sticky_key"] is None
    assert restored["revision"] == 6 and restored["policy"] == first["policy"]
    assert shown["current"] == restored and len(shown["history"]) == 6
    assert "serving" in shown
    assert "sdk" in {e["name"] for e in listed}
