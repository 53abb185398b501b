"""Traffic policies in the running server: weighted and sticky routing, shadows, rollback."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.fixtures.serving import Served, running_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def web(served: Served, model_dir: Path) -> Served:
    """Endpoint ``web`` on model ``sum``: v1 production, v2 staging (a second copy of the
    sum model), v3 registered (``picky``: raises for a < 0), all deployed as the test says."""
    registry = served.registry
    registry.register("sum", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    registry.promote("sum:2", "staging")
    registry.register("sum", model_dir / "picky_model.py", sample_data=model_dir / "ab.csv")
    registry.endpoints.deploy("web", "sum:1")
    return served


async def predict(client, served: Served, body: dict, **headers: str):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/endpoints/web/predict", json=body, headers={**served.headers(), **headers}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def wait_for_revision(client, served: Served, revision: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        route = client.app.state.pool.routes().get("web")
        if route is not None and route.revision == revision:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the server never applied revision {revision}")


async def test_weighted_split_sticky_keys_and_rollback(web: Served) -> None:
    async with running_app(web.settings) as client:
        await wait_for_revision(client, web, 1)
        web.registry.endpoints.deploy("web", "sum:2", canary=20)
        await wait_for_revision(client, web, 2)
        body = {"instances": [{"a": 1, "b": 2}]}
        versions = Counter([(await predict(client, web, body))["version"] for _ in range(1000)])
        assert set(versions) == {1, 2}
        assert 120 <= versions[2] <= 280, versions  # 20% of 1000; sd is about 13

        # The same key always reaches the same version, from the body or the header.
        for key in ("alice", "bob", "carol", "dave"):
            seen = set()
            by_header = set()
            for _ in range(15):
                seen.add((await predict(client, web, {**body, "routing_key": key}))["version"])
                answer = await predict(client, web, body, **{"X-Routing-Key": key})
                by_header.add(answer["version"])
            assert len(seen) == 1 and seen == by_header

        web.registry.endpoints.rollback("web")
        await wait_for_revision(client, web, 3)
        after = [(await predict(client, web, body))["version"] for _ in range(100)]
        assert set(after) == {1}


async def test_sticky_feature_routes_by_the_named_input(web: Served) -> None:
    web.registry.endpoints.deploy("web", "sum:2", canary=50, sticky_key="a")
    async with running_app(web.settings) as client:
        await wait_for_revision(client, web, 2)
        for a in range(20):
            objects, rows = set(), set()
            for b in range(5):
                objects.add(
                    (await predict(client, web, {"instances": [{"a": a, "b": b}]}))["version"]
                )
                rows.add((await predict(client, web, {"instances": [[a, b]]}))["version"])
            assert len(objects) == 1 and objects == rows


async def test_shadow_gets_copies_logged_as_shadow_and_its_failures_stay_hidden(
    web: Served,
) -> None:
    web.registry.endpoints.deploy("web", "sum:3", shadow=True)
    async with running_app(web.settings) as client:
        await wait_for_revision(client, web, 2)
        for a in (-1, -2, 3, 4):  # picky (the shadow) raises for a < 0
            body = await predict(client, web, {"instances": [{"a": a, "b": 1}]})
            assert body["version"] == 1 and body["predictions"] == [a + 1]
        r = await client.post(
            "/v2/models/web/infer",
            json={"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [5, 6]}]},
            headers=web.headers(),
        )
        assert r.status_code == 200 and r.json()["model_version"] == "1"
        await client.app.state.shipyard.plane.drain_shadows()
        metrics = (await client.get("/metrics", headers=web.headers())).text
    assert 'protocol="shadow",status="500",version="3"' in metrics
    table = ds.dataset(web.settings.home / "logs" / "web", format="parquet").to_table()
    rows = Counter(zip(table["role"].to_pylist(), table["version"].to_pylist(), strict=True))
    assert rows == {("live", 1): 5, ("shadow", 3): 3}  # the two failed copies are not logged


async def test_v2_infer_and_metadata_follow_the_policy(web: Served) -> None:
    web.registry.endpoints.deploy("web", "sum:2", canary=50)
    async with running_app(web.settings) as client:
        await wait_for_revision(client, web, 2)
        seen = set()
        for i in range(60):
            r = await client.post(
                "/v2/models/web/infer",
                json={
                    "inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, i]}],
                    "parameters": {"routing_key": f"user-{i % 3}"},
                },
                headers=web.headers(),
            )
            assert r.status_code == 200, r.text
            seen.add((i % 3, r.json()["model_version"]))
        assert len(seen) == 3  # each of three keys stuck to one version
        meta = (await client.get("/v2/models/web", headers=web.headers())).json()
        assert meta["versions"] == ["2"]  # ties go to the newer version
        ready = await client.get("/v2/models/web/versions/1/ready", headers=web.headers())
        assert ready.status_code == 200


async def test_a_policy_waits_for_its_versions_to_load(web: Served, model_dir: Path) -> None:
    """A canary whose version cannot load never receives traffic; the old policy keeps serving."""
    web.registry.register("sum", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    web.registry.promote("sum:4", "staging")
    record = web.registry.get_version("sum:4")
    sha = record.artifact.sha256
    blob = Path(web.settings.artifact_uri, "sha256", sha[:2], sha)
    async with running_app(web.settings) as client:
        await wait_for_revision(client, web, 1)
        blob.write_bytes(b"tampered")
        web.registry.endpoints.deploy("web", "sum:4", canary=50)
        for _ in range(100):
            status = client.app.state.pool.status()
            if "web" in status["waiting"]:
                break
            await asyncio.sleep(0.02)
        assert "sum:4 failed to load" in status["waiting"]["web"]
        body = {"instances": [{"a": 1, "b": 2}]}
        answers = [(await predict(client, web, body))["version"] for _ in range(50)]
        assert set(answers) == {1}


async def test_a_slow_shadow_runs_after_the_answer(web: Served, model_dir: Path) -> None:
    """The caller's answer never waits for a shadow: it is sent while the shadow still runs."""
    web.registry.register("sum", model_dir / "slow_model.py", sample_data=model_dir / "ab.csv")
    web.registry.endpoints.deploy("web", "sum:4", shadow=True)  # 20 ms per call
    async with running_app(web.settings) as client:
        await wait_for_revision(client, web, 2)
        plane = client.app.state.shipyard.plane
        pending = []
        for a in range(10):
            await predict(client, web, {"instances": [{"a": a, "b": 1}]})
            pending.append(len(plane._shadow_tasks))
        assert max(pending) >= 1  # answers came back with their shadow copies still running
        await plane.drain_shadows()
        assert not plane._shadow_tasks
    table = ds.dataset(web.settings.home / "logs" / "web", format="parquet").to_table()
    shadow = [
        v
        for r, v in zip(table["role"].to_pylist(), table["version"].to_pylist(), strict=True)
        if r == "shadow"
    ]
    assert shadow == [4] * 10
