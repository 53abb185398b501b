"""The control plane's endpoint routes in process: each route's answer and its 4xx JSON errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.core.types import Role
from tests.fixtures.serving import Served, running_app

pytestmark = pytest.mark.anyio

ENDPOINT_KEYS = {"name", "model", "description", "created_at", "created_by", "revision", "current"}
REVISION_KEYS = {"revision", "policy", "action", "actor", "at", "reason"}


@pytest.fixture
def sums(served: Served, model_dir: Path) -> Served:
    """``sum`` v1 production (from ``served``), v2 staging."""
    served.registry.register("sum", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    served.registry.promote("sum:2", "staging")
    return served


def error_of(response: httpx.Response, status: int, code: str, fragment: str = "") -> str:
    """The error's message, after checking status, shape, code and wording."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert fragment in body["error"]["message"], body
    return str(body["error"]["message"])


def key_id(served: Served, role: Role) -> str:
    return served.keys[role].split("_")[1]


async def test_create_show_and_list(sums: Served) -> None:
    viewer, deployer = sums.headers(Role.VIEWER), sums.headers(Role.DEPLOYER)
    body = {"name": "web", "model": "sum", "description": "public scoring"}
    async with running_app(sums.settings) as client:
        created = await client.post("/api/v1/endpoints", json=body, headers=deployer)
        assert created.status_code == 201, created.text
        assert set(created.json()) == ENDPOINT_KEYS
        assert created.json()["current"] is None and created.json()["revision"] is None
        assert created.json()["created_by"] == f"key:{key_id(sums, Role.DEPLOYER)}"

        again = await client.post("/api/v1/endpoints", json=body, headers=deployer)
        error_of(again, 409, "conflict", "already exists")
        unknown_model = await client.post(
            "/api/v1/endpoints", json={"name": "x", "model": "nope"}, headers=deployer
        )
        error_of(unknown_model, 404, "model_not_found", "'nope'")
        bad_name = await client.post(
            "/api/v1/endpoints", json={"name": "Bad Name", "model": "sum"}, headers=deployer
        )
        error_of(bad_name, 422, "invalid_name", "Invalid endpoint name 'Bad Name'")
        no_model = await client.post("/api/v1/endpoints", json={"name": "x"}, headers=deployer)
        error_of(no_model, 422, "invalid_input", "model")
        as_viewer = await client.post("/api/v1/endpoints", json=body, headers=viewer)
        error_of(as_viewer, 403, "forbidden", "viewer key may not deploy")
        anonymous = await client.post("/api/v1/endpoints", json=body)
        error_of(anonymous, 401, "unauthenticated")

        shown = await client.get("/api/v1/endpoints/web", headers=viewer)
        assert shown.status_code == 200, shown.text
        assert set(shown.json()) == ENDPOINT_KEYS | {"history", "serving"}
        assert shown.json()["history"] == [] and shown.json()["serving"] is None
        assert shown.json()["description"] == "public scoring"
        missing = await client.get("/api/v1/endpoints/ghost", headers=viewer)
        error_of(missing, 404, "endpoint_not_found", "No endpoint named 'ghost'")
        as_predictor = await client.get("/api/v1/endpoints/web", headers=sums.headers())
        error_of(as_predictor, 403, "forbidden")

        listed = await client.get("/api/v1/endpoints", headers=viewer)
        assert listed.status_code == 200, listed.text
        assert [e["name"] for e in listed.json()["configured"]] == ["web"]
        assert listed.json()["configured"][0] == created.json()
        assert "sum" in listed.json()["endpoints"]  # what is served: the model under its name


async def test_deploy_traffic_rollback(sums: Served) -> None:
    deployer = sums.headers(Role.DEPLOYER)
    actor = f"key:{key_id(sums, Role.DEPLOYER)}"
    async with running_app(sums.settings) as client:

        async def deploy(body: dict[str, Any], name: str = "web") -> httpx.Response:
            return await client.post(
                f"/api/v1/endpoints/{name}/deploy", json=body, headers=deployer
            )

        first = await deploy({"version": "sum:1", "reason": "launch"})
        assert first.status_code == 200, first.text
        assert set(first.json()) == REVISION_KEYS
        assert (first.json()["revision"], first.json()["action"]) == (1, "deploy")
        assert (first.json()["actor"], first.json()["reason"]) == (actor, "launch")
        canary = await deploy({"version": "sum:2", "canary": 10, "sticky_key": "customer"})
        assert canary.json()["policy"]["weights"] == {"1": 90.0, "2": 10.0}
        assert canary.json()["policy"]["sticky_key"] == "customer"

        traffic = await client.put(
            "/api/v1/endpoints/web/traffic",
            json={"weights": {"1": 70, "2": 30}, "reason": "ramp"},
            headers=deployer,
        )
        assert traffic.status_code == 200, traffic.text
        assert traffic.json()["revision"] == 3 and traffic.json()["action"] == "traffic"
        assert traffic.json()["policy"]["weights"] == {"1": 70.0, "2": 30.0}
        assert traffic.json()["policy"]["sticky_key"] == "customer"  # omitted: kept
        cleared = await client.put(
            "/api/v1/endpoints/web/traffic",
            json={"weights": {"1": 100}, "sticky_key": ""},
            headers=deployer,
        )
        assert cleared.json()["policy"]["sticky_key"] is None

        back = await client.post("/api/v1/endpoints/web/rollback", json={}, headers=deployer)
        assert back.status_code == 200, back.text
        assert (back.json()["revision"], back.json()["action"]) == (5, "rollback")
        assert back.json()["policy"] == traffic.json()["policy"]
        assert back.json()["reason"] == "rolled back to revision 3"
        to_first = await client.post(
            "/api/v1/endpoints/web/rollback",
            json={"to_revision": 1, "reason": "stable"},
            headers=deployer,
        )
        assert to_first.json()["policy"] == first.json()["policy"]

        shown = (await client.get("/api/v1/endpoints/web", headers=deployer)).json()
        assert shown["revision"] == 6 and shown["current"] == to_first.json()
        assert [r["revision"] for r in shown["history"]] == [6, 5, 4, 3, 2, 1]
        serving = await _served_revision(client, deployer, 6)
        assert serving["model"] == "sum" and serving["weights"] == {"1": 100.0}

        audit = await client.get("/api/v1/audit?target=web&limit=10", headers=deployer)
        assert [(e["action"], e["actor"]) for e in audit.json()] == [
            ("endpoint.rollback", actor),
            ("endpoint.rollback", actor),
            ("endpoint.traffic", actor),
            ("endpoint.traffic", actor),
            ("endpoint.canary", actor),
            ("endpoint.deploy", actor),
            ("endpoint.create", actor),
        ]


async def test_deploy_errors(sums: Served) -> None:
    deployer, viewer = sums.headers(Role.DEPLOYER), sums.headers(Role.VIEWER)
    async with running_app(sums.settings) as client:

        async def deploy(
            body: dict[str, Any], name: str = "web", headers: dict[str, str] = deployer
        ) -> httpx.Response:
            return await client.post(f"/api/v1/endpoints/{name}/deploy", json=body, headers=headers)

        no_stable = await deploy({"version": "sum:2", "canary": 10})
        error_of(no_stable, 422, "invalid_input", "no stable version to take the rest")
        assert (await deploy({"version": "sum:1"})).status_code == 200
        error_of(await deploy({"version": "sum:latest"}), 422, "invalid_input", "exact version")
        error_of(
            await deploy({"version": "sum:2", "canary": 150}),
            422,
            "invalid_input",
            "--canary must be a percentage",
        )
        error_of(
            await deploy({"version": "sum:2"}),
            422,
            "invalid_input",
            "only the production version may take all",
        )
        error_of(
            await deploy({"version": "cancer:1", "canary": 10}),
            422,
            "invalid_input",
            "serves model 'sum'; 'cancer' is another model",
        )
        error_of(await deploy({"version": "sum:9"}), 404, "version_not_found", "no version 9")
        error_of(await deploy({"version": "nope:1"}, "new"), 404, "model_not_found")
        error_of(await deploy({"canary": 10}), 422, "invalid_input", "version")
        error_of(await deploy({"version": "sum:1"}, headers=viewer), 403, "forbidden")
        history = (await client.get("/api/v1/endpoints/web", headers=viewer)).json()["history"]
        assert [r["revision"] for r in history] == [1]  # no refusal wrote a revision
        error_of(
            await client.get("/api/v1/endpoints/new", headers=viewer), 404, "endpoint_not_found"
        )


async def test_traffic_and_rollback_errors(sums: Served) -> None:
    deployer, viewer = sums.headers(Role.DEPLOYER), sums.headers(Role.VIEWER)
    sums.registry.endpoints.deploy("web", "sum:1")
    async with running_app(sums.settings) as client:

        async def traffic(
            body: dict[str, Any], name: str = "web", headers: dict[str, str] = deployer
        ) -> httpx.Response:
            return await client.put(f"/api/v1/endpoints/{name}/traffic", json=body, headers=headers)

        async def rollback(
            body: dict[str, Any], name: str = "web", headers: dict[str, str] = deployer
        ) -> httpx.Response:
            return await client.post(
                f"/api/v1/endpoints/{name}/rollback", json=body, headers=headers
            )

        error_of(
            await traffic({"weights": {"1": 80, "2": 10}}),
            422,
            "invalid_input",
            "Weights must sum to 100; 1: 80, 2: 10 sum to 90",
        )
        error_of(
            await traffic({"weights": {"x": 100}}),
            422,
            "invalid_input",
            "Weights are keyed by version number",
        )
        error_of(await traffic({"weights": {"0": 100}}), 422, "invalid_input", "got '0'")
        error_of(await traffic({"weights": {"1": "lots"}}), 422, "invalid_input", "weights.1")
        error_of(await traffic({"weights": {"1": 50, "7": 50}}), 422, "invalid_input", "version 7")
        error_of(await traffic({"weights": {"1": 100}}, "ghost"), 404, "endpoint_not_found")
        error_of(await traffic({"weights": {"1": 100}}, headers=viewer), 403, "forbidden")

        error_of(await rollback({}), 422, "invalid_input", "at its first revision")
        error_of(await rollback({"to_revision": 1}), 422, "invalid_input", "current revision")
        error_of(await rollback({"to_revision": 99}), 404, "revision_not_found", "99")
        error_of(await rollback({"to_revision": "x"}), 422, "invalid_input", "to_revision")
        error_of(await rollback({}, "ghost"), 404, "endpoint_not_found")
        error_of(await rollback({}, headers=viewer), 403, "forbidden")
        history = (await client.get("/api/v1/endpoints/web", headers=viewer)).json()["history"]
        assert [r["revision"] for r in history] == [1]


async def _served_revision(
    client: httpx.AsyncClient, headers: dict[str, str], revision: int
) -> dict[str, Any]:
    """The endpoint's ``serving`` answer once the server routes ``revision``."""
    for _ in range(200):
        shown = (await client.get("/api/v1/endpoints/web", headers=headers)).json()
        serving = shown["serving"]
        if serving is not None and serving["revision"] == revision:
            return dict(serving)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server never routed revision {revision} of 'web'")
