"""The Python client and the remote CLI against a real `shipyard serve` subprocess.

One server per module (a start costs seconds). Tests that change state each use their own
model, so they do not depend on order: ``flow`` for the client, ``remote-cli`` for the CLI.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shipyard.client import Client, ServerUnavailableError
from shipyard.core.errors import (
    AuthenticationError,
    InvalidInputError,
    InvalidTransitionError,
    KeyNotFoundError,
    ModelNotFoundError,
    NotReadyError,
    PermissionDeniedError,
    VersionNotFoundError,
)
from shipyard.core.settings import Settings
from shipyard.core.types import Role
from shipyard.flavors import Batch
from tests.e2e.cli_runner import assert_clean_error, cli
from tests.e2e.server_process import ServerProcess, served_env
from tests.fixtures.models import FEATURES_SMALL, small_frame
from tests.fixtures.serving import Served, served_registry

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("client") / "home"
    s = served_registry(Settings.for_home(home), model_dir)
    ab = model_dir / "ab.csv"
    s.registry.register("sum", model_dir / "dir_model", sample_data=ab)  # sum:2, not promoted
    s.registry.register("flow", model_dir / "sum_model.py", sample_data=ab)
    s.registry.register("remote-cli", model_dir / "sum_model.py", sample_data=ab)
    yield s
    s.registry.close()


@pytest.fixture(scope="module")
def server(served: Served) -> Iterator[ServerProcess]:
    with ServerProcess(served_env(served.settings.home)) as process:
        yield process


def connect(server: ServerProcess, served: Served, role: Role = Role.ADMIN) -> Client:
    return Client(server.url, served.keys[role])


def key_id(served: Served, role: Role) -> str:
    return served.keys[role].split("_")[1]


# -- data plane ------------------------------------------------------------------------------


def test_predict_objects_rows_and_a_pinned_version(server: ServerProcess, served: Served) -> None:
    with connect(server, served, Role.PREDICTOR) as client:
        objects = client.predict("sum", [{"a": 1, "b": 2.5}, {"b": 1, "a": 10}])
        rows = client.predict("sum", [[1, 2], [3, 4]], request_id="mine-1", metadata={"g": "x"})
        pinned = client.predict_version("sum", 2, [[1, 2]])
        with pytest.raises(VersionNotFoundError) as missing:
            client.predict_version("sum", 9, [[1, 2]])
        with pytest.raises(NotReadyError):
            client.predict("flow", [[1, 2]])  # registered, never promoted: nothing served
    assert (objects.model, objects.version, objects.predictions) == ("sum", 1, [3.5, 11.0])
    assert objects.probabilities is None and objects.classes is None
    assert len(objects.request_id) >= 16
    assert (rows.request_id, rows.endpoint, rows.predictions) == ("mine-1", "sum", [3.0, 7.0])
    assert (pinned.version, pinned.predictions) == (2, [6.0])
    assert missing.value.code == "version_not_found"


def test_probabilities_match_the_model(server: ServerProcess, served: Served) -> None:
    x = small_frame()[FEATURES_SMALL].to_numpy()[:5]
    with connect(server, served, Role.PREDICTOR) as client:
        answer = client.predict("cancer", x, return_probabilities=True)
    predictor = served.registry.load("cancer:1").predictor
    batch = Batch.from_matrix(x, FEATURES_SMALL)
    assert answer.predictions == predictor.predict(batch).tolist()
    assert answer.probabilities is not None and answer.classes == [0, 1]
    np.testing.assert_allclose(answer.probabilities, predictor.predict_proba(batch))


def test_feedback_by_pairs_and_dicts(server: ServerProcess, served: Served) -> None:
    with connect(server, served, Role.PREDICTOR) as client:
        answer = client.predict("sum", [[1, 2], [3, 4]])
        accepted = client.feedback(
            "sum",
            [(answer.request_id, 3.0), {"request_id": answer.request_id, "label": 7, "row": 1}],
        )
        with pytest.raises(InvalidInputError, match=r"items\[0\]"):
            client.feedback("sum", [{"request_id": answer.request_id}])
    assert accepted == 2


def test_health_ready_and_metrics(server: ServerProcess, served: Served) -> None:
    with connect(server, served, Role.PREDICTOR) as client:
        assert client.health() is True
        ready = client.ready()
        metrics = client.metrics()
    assert ready["ready"] is True and set(ready["endpoints"]) >= {"sum", "cancer"}
    assert "shipyard_requests_total" in metrics


# -- control plane ---------------------------------------------------------------------------


def test_reading_the_registry(server: ServerProcess, served: Served) -> None:
    with connect(server, served, Role.VIEWER) as client:
        models = client.models()
        model = client.model("sum")
        version = client.version("sum", 2)
        history = client.history("sum")
        endpoints = client.endpoints()
        audit = client.audit(limit=3, action="version.register")
        verified = client.verify_audit()
    local = served.registry
    assert models == [m.to_dict() for m in local.list_models()]
    assert {k: v for k, v in model.items() if k != "versions"} == local.get_model("sum").to_dict()
    assert [v["version"] for v in model["versions"]] == [2, 1]
    assert version == local.get_version("sum:2").to_dict()
    assert history == [h.to_dict() for h in local.history("sum")]
    assert endpoints["endpoints"]["sum"]["version"] == 1
    assert len(audit) == 3 and {e["action"] for e in audit} == {"version.register"}
    assert [e["seq"] for e in audit] == sorted((e["seq"] for e in audit), reverse=True)
    assert verified["ok"] is True and verified["entries_checked"] > 10


def test_promotion_is_audited_under_the_key(server: ServerProcess, served: Served) -> None:
    with connect(server, served, Role.DEPLOYER) as deployer:
        staged = deployer.promote("flow", 1, "staging", reason="smoke tests passed")
        with pytest.raises(PermissionDeniedError) as denied:
            deployer.promote("flow", 1, "production")
        with pytest.raises(InvalidTransitionError):
            deployer.promote("flow", 1, "staging")
    with connect(server, served, Role.APPROVER) as approver:
        promoted = approver.promote("flow", 1, "production", reason="go")
        entries = approver.audit(action="version.promote", target="flow:1")
    assert staged["status"] == "staging" and promoted["status"] == "production"
    assert denied.value.code == "forbidden" and int(denied.value.http_status) == 403
    assert [(e["actor"], e["details"]["to"]) for e in entries] == [
        (f"key:{key_id(served, Role.APPROVER)}", "production"),
        (f"key:{key_id(served, Role.DEPLOYER)}", "staging"),
    ]


def test_keys_create_list_revoke(server: ServerProcess, served: Served) -> None:
    with connect(server, served) as admin:
        created = admin.create_key("viewer", name="dashboards")
        with Client(server.url, created["secret"]) as viewer:
            assert viewer.models()
            listed = admin.keys()
            revoked = admin.revoke_key(created["id"])
            with pytest.raises(AuthenticationError):
                viewer.models()
        with pytest.raises(KeyNotFoundError):
            admin.revoke_key("000000000000")
    assert (
        created["role"] == "viewer" and created["created_by"] == f"key:{key_id(served, Role.ADMIN)}"
    )
    assert created["id"] in {k["id"] for k in listed}
    assert all("secret" not in k for k in listed)
    assert revoked["revoked_at"] is not None


# -- errors ----------------------------------------------------------------------------------


def test_errors_come_back_as_the_servers_classes(server: ServerProcess, served: Served) -> None:
    with connect(server, served) as admin:
        with pytest.raises(ModelNotFoundError) as missing:
            admin.model("nope")
        with pytest.raises(InvalidInputError, match="missing 'b'") as invalid:
            admin.predict("sum", [{"a": 1}])
        with pytest.raises(InvalidInputError, match="role") as bad_role:
            admin.create_key("emperor")
    assert (missing.value.code, int(missing.value.http_status)) == ("model_not_found", 404)
    assert "No model named 'nope'" in missing.value.message
    assert (invalid.value.code, int(invalid.value.http_status)) == ("invalid_input", 422)
    assert bad_role.value.code == "invalid_input"

    with (
        Client(server.url, "sy_000000000000_wrong") as stranger,
        pytest.raises(AuthenticationError) as unknown,
    ):
        stranger.models()
    with Client(server.url, "") as anonymous, pytest.raises(AuthenticationError) as nokey:
        anonymous.predict("sum", [[1, 2]])
    with (
        connect(server, served, Role.PREDICTOR) as predictor,
        pytest.raises(PermissionDeniedError) as forbidden,
    ):
        predictor.models()
    assert (unknown.value.code, int(unknown.value.http_status)) == ("unauthenticated", 401)
    assert "SHIPYARD_API_KEY" in nokey.value.message
    assert (forbidden.value.code, int(forbidden.value.http_status)) == ("forbidden", 403)


def test_an_unreachable_server_is_named(served: Served) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    client = Client(url, served.keys[Role.ADMIN], timeout=5)
    with pytest.raises(ServerUnavailableError) as caught:
        client.models()
    assert caught.value.code == "server_unavailable"
    assert url in caught.value.message and "shipyard serve" in caught.value.message
    assert client.health() is False
    secret = served.keys[Role.ADMIN]
    assert secret not in repr(client) and secret not in caught.value.message
    assert repr(client) == f"Client(url={url!r}, api_key='sy_{key_id(served, Role.ADMIN)}_***')"


# -- the CLI in remote mode ------------------------------------------------------------------


def remote_env(server: ServerProcess, secret: str, home: Path) -> dict[str, str]:
    env = served_env(home)
    env.update({"SHIPYARD_URL": server.url, "SHIPYARD_API_KEY": secret, "COLUMNS": "200"})
    return env


def test_remote_cli_prints_what_the_local_cli_prints(
    server: ServerProcess, served: Served, tmp_path: Path
) -> None:
    local = served_env(served.settings.home)
    # An empty local home: remote commands must not need (or create) a local store.
    remote = remote_env(server, served.keys[Role.VIEWER], tmp_path / "empty")
    for args in (
        ["models", "list", "--json"],
        ["models", "show", "sum", "--json"],
        ["models", "show", "cancer:production", "--json"],
        ["models", "show", "sum:2", "--json"],
    ):
        assert json.loads(cli(remote, *args).stdout) == json.loads(cli(local, *args).stdout), args
    text = cli(remote, "models", "list").stdout
    assert "cancer" in text and "remote-cli" in text
    verify = cli(remote, "audit", "verify")
    assert "Audit log intact" in verify.stdout
    assert not (tmp_path / "empty").exists()


def test_remote_cli_promotes_and_manages_keys_as_the_key(
    server: ServerProcess, served: Served, tmp_path: Path
) -> None:
    admin = remote_env(server, served.keys[Role.ADMIN], tmp_path / "empty")
    moved = cli(admin, "promote", "remote-cli:1", "--to", "staging", "--reason", "from CI")
    assert moved.stdout.strip() == "remote-cli:1 is now staging."
    entries = json.loads(
        cli(
            admin,
            "audit",
            "list",
            "--action",
            "version.promote",
            "--target",
            "remote-cli",
            "--json",
        ).stdout
    )
    assert [(e["actor"], e["details"]["reason"]) for e in entries] == [
        (f"key:{key_id(served, Role.ADMIN)}", "from CI")
    ]

    created = json.loads(cli(admin, "keys", "create", "--role", "viewer", "--json").stdout)
    listed = json.loads(cli(admin, "keys", "list", "--json").stdout)
    assert created["id"] in {k["id"] for k in listed} and created["secret"].startswith("sy_")
    viewer = remote_env(server, created["secret"], tmp_path / "empty")
    assert json.loads(cli(viewer, "models", "list", "--json").stdout)
    revoked = cli(admin, "keys", "revoke", created["id"])
    assert f"Key {created['id']}" in revoked.stdout and "revoked" in revoked.stdout
    assert_clean_error(cli(viewer, "models", "list", ok=False), "API key", "revoked")


def test_remote_cli_errors_are_one_line(
    server: ServerProcess, served: Served, tmp_path: Path
) -> None:
    bad = remote_env(server, "sy_000000000000_wrong", tmp_path / "empty")
    done = cli(bad, "models", "list", ok=False)
    assert done.returncode == 1
    assert_clean_error(done, "API key is unknown")
    viewer = remote_env(server, served.keys[Role.VIEWER], tmp_path / "empty")
    assert_clean_error(cli(viewer, "keys", "list", ok=False), "viewer key may not")
    assert_clean_error(cli(viewer, "models", "show", "nope", ok=False), "No model named 'nope'")
    down = {**viewer, "SHIPYARD_URL": "http://127.0.0.1:9"}
    assert_clean_error(
        cli(down, "audit", "list", ok=False), "http://127.0.0.1:9", "shipyard serve", "SHIPYARD_URL"
    )
    # Local-only commands ignore SHIPYARD_URL and act on SHIPYARD_HOME.
    current = json.loads(
        cli({**down, "SHIPYARD_HOME": str(served.settings.home)}, "db", "current", "--json").stdout
    )
    assert current["up_to_date"] is True
