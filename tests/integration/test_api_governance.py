"""Control-plane API of gates, approvals and rollouts, in process, with real keys and models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.core.types import Role
from tests.fixtures.serving import Served, running_app

pytestmark = pytest.mark.anyio


def error_of(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    return body["error"]


async def test_gate_policy_check_and_four_eyes_over_http(served: Served, model_dir: Path) -> None:
    registry = served.registry
    registry.register(
        "cancer", model_dir / "model.skops", sample_data=model_dir / "sample.csv", target="target"
    )  # v2
    approver, deployer, viewer = (
        served.headers(r) for r in (Role.APPROVER, Role.DEPLOYER, Role.VIEWER)
    )
    rows = pd.read_csv(model_dir / "sample.csv").head(200).to_dict(orient="records")
    async with running_app(served.settings) as client:
        base = "/api/v1/models/cancer"
        bad = await client.put(
            f"{base}/gate-policy", json={"text": "approvals: -1\n"}, headers=approver
        )
        assert bad.status_code == 422 and error_of(bad)["code"] == "invalid_gate_policy"
        assert "line 1: approvals" in error_of(bad)["message"]
        denied = await client.put(f"{base}/gate-policy", json={"text": "{}"}, headers=deployer)
        assert denied.status_code == 403

        policy = "approvals: 1\nmetrics:\n  accuracy: {min: 0.8}\n"
        r = await client.put(f"{base}/gate-policy", json={"text": policy}, headers=approver)
        assert r.status_code == 200 and r.json()["revision"] == 1
        r = await client.get(f"{base}/gate-policy", headers=viewer)
        assert r.json()["policy"]["approvals"] == 1 and len(r.json()["history"]) == 1

        refused = await client.post(
            f"{base}/versions/2/promote", json={"to": "production"}, headers=deployer
        )
        assert refused.status_code == 409 and error_of(refused)["code"] == "gates_failed"
        assert "metric:accuracy" in error_of(refused)["message"]

        check = await client.post(
            f"{base}/versions/2/gate-check", json={"rows": rows}, headers=deployer
        )
        assert check.status_code == 200 and check.json()["passed"], check.text
        empty = await client.post(
            f"{base}/versions/2/gate-check", json={"rows": []}, headers=deployer
        )
        assert empty.status_code == 422 and "'rows' is empty" in error_of(empty)["message"]
        stored = await client.get(f"{base}/versions/2/checks?kind=gate", headers=viewer)
        assert stored.json()[0]["passed"] is True

        pending = await client.post(
            f"{base}/versions/2/promote", json={"to": "production"}, headers=deployer
        )
        assert pending.status_code == 200 and pending.json()["status"] == "pending_approval"
        queue = await client.get("/api/v1/approvals", headers=viewer)
        assert [(q["model"], q["version"]) for q in queue.json()] == [("cancer", 2)]
        no_role = await client.post(f"{base}/versions/2/approve", json={}, headers=deployer)
        assert no_role.status_code == 403
        done = await client.post(
            f"{base}/versions/2/approve", json={"comment": "ok"}, headers=approver
        )
        assert done.status_code == 200, done.text
        assert done.json()["version"]["status"] == "production"
        assert done.json()["request"]["decisions"][0]["comment"] == "ok"

        # The approver requests the next one: approving it too is refused.
        registry.register(
            "cancer",
            model_dir / "model.skops",
            sample_data=model_dir / "sample.csv",
            target="target",
        )
        await client.post(f"{base}/versions/3/gate-check", json={"rows": rows}, headers=approver)
        await client.post(f"{base}/versions/3/promote", json={"to": "production"}, headers=approver)
        own = await client.post(f"{base}/versions/3/approve", json={}, headers=approver)
        assert own.status_code == 403 and error_of(own)["code"] == "self_approval"


async def test_rollouts_over_http(served: Served, model_dir: Path) -> None:
    registry = served.registry
    registry.register("sum", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    registry.promote("sum:2", "staging")
    registry.endpoints.deploy("web", "sum:1")
    deployer, viewer = served.headers(Role.DEPLOYER), served.headers(Role.VIEWER)
    async with running_app(served.settings) as client:
        bad = await client.post(
            "/api/v1/endpoints/web/rollouts",
            json={"version": "sum:2", "steps": [10, 50, 25]},
            headers=deployer,
        )
        assert bad.status_code == 422 and "must increase and end at 100" in error_of(bad)["message"]
        started = await client.post(
            "/api/v1/endpoints/web/rollouts",
            json={
                "version": "sum:2",
                "steps": [20, 100],
                "interval_seconds": 600,
                "significance": 0.01,
                "min_samples": 10,
            },
            headers=deployer,
        )
        assert started.status_code == 201, started.text
        assert started.json()["weight"] == 20 and started.json()["state"] == "running"
        plan = started.json()["plan"]
        assert (plan["significance"], plan["min_samples"]) == (0.01, 10)
        busy = await client.post(
            "/api/v1/endpoints/web/deploy", json={"version": "sum:2", "canary": 5}, headers=deployer
        )
        assert busy.status_code == 409 and "rollout abort web" in error_of(busy)["message"]
        listed = await client.get("/api/v1/endpoints/web/rollouts", headers=viewer)
        assert [r["state"] for r in listed.json()] == ["running"]
        stopped = await client.post(
            "/api/v1/endpoints/web/rollouts/abort", json={"reason": "test"}, headers=deployer
        )
        assert stopped.status_code == 200 and stopped.json()["state"] == "aborted"
        again = await client.post("/api/v1/endpoints/web/rollouts/abort", json={}, headers=deployer)
        assert again.status_code == 409
        missing = await client.get("/api/v1/endpoints/nope/rollouts", headers=viewer)
        assert missing.status_code == 404 and error_of(missing)["code"] == "endpoint_not_found"
    assert registry.endpoints.get("web").policy.weights() == {1: 100.0}  # type: ignore[union-attr]


async def test_ab_report_compares_versions_on_feedback(served: Served, model_dir: Path) -> None:
    registry = served.registry
    registry.register("sum", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    registry.promote("sum:2", "staging")
    registry.endpoints.deploy("web", "sum:1")
    registry.endpoints.deploy("web", "sum:2", canary=50)
    h = served.headers(Role.DEPLOYER)  # predicts and reads
    rng = np.random.default_rng(0)
    async with running_app(served.settings) as client:
        empty = await client.get("/api/v1/endpoints/web/ab", headers=h)
        assert empty.status_code == 200 and empty.json()["enough_data"] is False
        items = []
        for i in range(300):
            r = await client.post(
                "/v1/endpoints/web/predict",
                json={"instances": [{"a": float(i), "b": 1.0}]},
                headers=h,
            )
            answer = r.json()
            bias = 0.0 if answer["version"] == 1 else 1.0  # v2 is worse by one unit
            label = answer["predictions"][0] + bias + rng.normal(0, 0.5)
            items.append({"request_id": answer["request_id"], "label": label})
        r = await client.post("/v1/feedback", json={"endpoint": "web", "items": items}, headers=h)
        assert r.status_code == 200, r.text
        await asyncio.sleep(0.3)  # the log writer flushes every 50 ms here
        report = (await client.get("/api/v1/endpoints/web/ab", headers=h)).json()
        short = await client.get("/api/v1/endpoints/web/ab?min_samples=10000", headers=h)
        bad = await client.get("/api/v1/endpoints/web/ab?confidence=2", headers=h)
        missing = await client.get("/api/v1/endpoints/nope/ab", headers=h)
    assert report["metric"] == "mae" and report["enough_data"] is True
    by_version = {v["version"]: v for v in report["versions"]}
    assert set(by_version) == {1, 2} and sum(v["n"] for v in by_version.values()) == 300
    [comparison] = report["comparisons"]
    assert comparison["is_significant"] and comparison["p_value"] < 0.001
    # The baseline is the version with more traffic (either, at 50/50): compare magnitudes.
    assert 0.4 < abs(comparison["difference"]) < 0.8  # E|1 + N(0, .5)| - E|N(0, .5)| = 0.6
    assert "Not enough data" in short.json()["verdict"]
    assert bad.status_code == 422
    assert missing.status_code == 404 and error_of(missing)["code"] == "endpoint_not_found"


async def test_pilot_over_http_is_kept_on_the_version(served: Served) -> None:
    deployer, viewer = served.headers(Role.DEPLOYER), served.headers(Role.VIEWER)
    async with running_app(served.settings) as client:
        base = "/api/v1/models/sum/versions/1"
        bad = await client.post(f"{base}/pilot", json={"requests": 0}, headers=deployer)
        assert bad.status_code == 422
        denied = await client.post(f"{base}/pilot", json={"requests": 5}, headers=viewer)
        assert denied.status_code == 403
        r = await client.post(
            f"{base}/pilot", json={"requests": 40, "concurrency": 2}, headers=deployer
        )
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["requests"] == 40 and result["errors"] == 0
        assert 0 < result["p50_ms"] <= result["p99_ms"]
        stored = (await client.get(f"{base}/checks?kind=pilot", headers=viewer)).json()
    assert stored[0]["result"]["p99_ms"] == result["p99_ms"] and stored[0]["passed"] is True
