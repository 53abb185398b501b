"""Automated progressive delivery: rollout rules, and the controller in a running server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shipyard.core.endpoints import RolloutState
from shipyard.core.errors import ConflictError, InvalidInputError
from shipyard.core.rollout import Decision, RolloutPlan
from shipyard.core.types import Role
from shipyard.registry import Registry
from tests.fixtures.serving import Served, fast_options, running_app

FAST = RolloutPlan(steps=(50.0, 100.0), interval_seconds=0.3, min_requests=30, min_samples=20)


@pytest.fixture
def web(registry: Registry, model_dir: Path) -> Registry:
    """Endpoint ``web`` serving ``sum`` v1 (production); v2 staging, v3 registered."""
    for _ in range(3):
        registry.register("sum", model_dir / "sum_model.py")
    registry.promote("sum:1", "production")
    registry.promote("sum:2", "staging")
    registry.endpoints.deploy("web", "sum:1")
    return registry


def test_start_refusals(web: Registry) -> None:
    with pytest.raises(InvalidInputError, match="sum:3 is registered; live traffic goes only"):
        web.rollouts.start("web", "sum:3", FAST)
    web.endpoints.create("empty", "sum")
    with pytest.raises(InvalidInputError, match="no stable version to take the rest"):
        web.rollouts.start("empty", "sum:2", FAST)
    rollout = web.rollouts.start("web", "sum:2", FAST)
    assert rollout.state == RolloutState.RUNNING and rollout.weight == 50.0
    assert web.endpoints.get("web").policy.weights() == {1: 50.0, 2: 50.0}  # type: ignore[union-attr]
    with pytest.raises(ConflictError, match=r"Rollout #\d+ is ramping 'web'"):
        web.rollouts.start("web", "sum:2", FAST)
    with pytest.raises(ConflictError, match="shipyard rollout abort web"):
        web.endpoints.deploy("web", "sum:2", canary=10)
    with pytest.raises(ConflictError, match="shipyard rollout abort web"):
        web.endpoints.set_traffic("web", {1: 100})
    with pytest.raises(InvalidInputError, match="Canary steps must increase and end at 100"):
        RolloutPlan(steps=(10.0, 50.0, 25.0))


def test_decisions_ramp_hold_for_production_and_complete(web: Registry) -> None:
    rollout = web.rollouts.start("web", "sum:2", RolloutPlan(steps=(10.0, 50.0, 100.0)))
    advance = Decision("advance", 50.0, "healthy", ())
    ramped = web.rollouts.apply(rollout, advance)
    assert ramped is not None and ramped.step == 1
    assert web.rollouts.apply(rollout, advance) is None  # a second worker's copy does nothing
    assert web.endpoints.get("web").policy.weights() == {1: 50.0, 2: 50.0}  # type: ignore[union-attr]

    finish = Decision("advance", 100.0, "healthy", ())
    held = web.rollouts.apply(ramped, finish)
    assert held is not None and held.state == RolloutState.RUNNING
    assert "waiting for production" in (held.reason or "")  # staging canaries hold at the end
    web.promote("sum:2", "production")
    done = web.rollouts.apply(held, finish)
    assert done is not None and done.state == RolloutState.COMPLETED
    revision = web.endpoints.get("web").current
    assert revision is not None and revision.policy.weights() == {2: 100.0}
    assert revision.action == "complete" and revision.actor == "controller"
    actions = [e.action for e in web.audit_entries(target="web", limit=10)]
    assert "rollout.complete" in actions and "rollout.step" in actions


def test_rollback_decision_and_abort_restore_the_stable_version(web: Registry) -> None:
    rollout = web.rollouts.start("web", "sum:2", FAST)
    stopped = web.rollouts.apply(rollout, Decision("rollback", 0.0, "canary errors", ()))
    assert stopped is not None and stopped.state == RolloutState.ROLLED_BACK
    current = web.endpoints.get("web").current
    assert current is not None and current.policy.weights() == {1: 100.0}
    assert current.action == "auto_rollback" and current.reason == "canary errors"
    alert = web.audit_entries(action="rollout.rolled_back", limit=1)[0]
    assert alert.details["reason"] == "canary errors" and alert.actor == "controller"

    web.rollouts.start("web", "sum:2", FAST)
    aborted = web.rollouts.abort("web", reason="pager went off")
    assert aborted.state == RolloutState.ABORTED
    assert web.endpoints.get("web").policy.weights() == {1: 100.0}  # type: ignore[union-attr]
    with pytest.raises(ConflictError, match="No rollout is running"):
        web.rollouts.abort("web")

    web.rollouts.start("web", "sum:2", FAST)
    web.endpoints.rollback("web", reason="manual")  # a person's rollback overrides automation
    assert web.rollouts.history("web")[0].state == RolloutState.ABORTED


# -- the controller in a running server -------------------------------------------------


async def _load(client, served: Served, stop: asyncio.Event, a: int, failures: list[str]) -> int:  # type: ignore[no-untyped-def]
    sent = 0
    while not stop.is_set():
        r = await client.post(
            "/v1/endpoints/web/predict",
            json={"instances": [{"a": a, "b": 1}]},
            headers=served.headers(),
        )
        sent += 1
        if r.status_code != 200:
            failures.append(f"{r.status_code}")
        await asyncio.sleep(0)
    return sent


async def _until_state(served: Served, state: RolloutState, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        history = served.registry.rollouts.history("web")
        if history and history[0].state == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"rollout never reached {state}: {history[0] if history else None}")


@pytest.mark.anyio
async def test_controller_ramps_a_healthy_canary_to_completion(
    served: Served, model_dir: Path
) -> None:
    registry = served.registry
    registry.register("sum", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    registry.promote("sum:2", "production")
    registry.endpoints.deploy("web", "sum:2")  # stable: v2; canary: v3 below
    registry.register("sum", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    registry.gates.check("sum:3")
    registry.promote("sum:3", "production")
    options = fast_options(rollout_interval=0.1)
    async with running_app(served.settings, options) as client:
        registry.rollouts.start("web", "sum:3", FAST)
        stop, failures = asyncio.Event(), []
        workers = [asyncio.create_task(_load(client, served, stop, 1, failures)) for _ in range(4)]
        try:
            await _until_state(served, RolloutState.COMPLETED)
        finally:
            stop.set()
            await asyncio.gather(*workers)
    assert failures == []
    assert registry.endpoints.get("web").policy.weights() == {3: 100.0}  # type: ignore[union-attr]
    actions = [r.action for r in registry.endpoints.history("web")]
    assert actions[:2] == ["complete", "canary"]


@pytest.mark.anyio
async def test_controller_rolls_back_a_faulty_canary_and_says_why(
    served: Served, model_dir: Path
) -> None:
    registry = served.registry
    registry.endpoints.deploy("web", "sum:1")
    registry.register("sum", model_dir / "picky_model.py", sample_data=model_dir / "ab.csv")
    registry.promote("sum:2", "staging")  # picky: raises for a < 0, which stable v1 answers
    options = fast_options(rollout_interval=0.1)
    async with running_app(served.settings, options) as client:
        plan = RolloutPlan(steps=(25.0, 100.0), interval_seconds=60, min_requests=1000)
        registry.rollouts.start("web", "sum:2", plan)
        stop, failures = asyncio.Event(), []
        workers = [asyncio.create_task(_load(client, served, stop, -1, failures)) for _ in range(4)]
        try:
            await _until_state(served, RolloutState.ROLLED_BACK)
        finally:
            stop.set()
            await asyncio.gather(*workers)
        metrics = (await client.get("/metrics", headers=served.headers())).text
    rollout = registry.rollouts.history("web")[0]
    assert "error rate" in (rollout.reason or "") and "rolling back" in (rollout.reason or "")
    assert registry.endpoints.get("web").policy.weights() == {1: 100.0}  # type: ignore[union-attr]
    assert 'shipyard_rollout_rollbacks_total{endpoint="web"} 1.0' in metrics
    assert registry.audit_entries(action="rollout.rolled_back", limit=1)[0].target == "web"
    assert failures  # the canary's own failures reached callers until it was pulled


@pytest.mark.anyio
async def test_a_rollout_resumes_after_a_server_restart(served: Served, model_dir: Path) -> None:
    registry = served.registry
    registry.endpoints.deploy("web", "sum:1")
    registry.register("sum", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    registry.gates.check("sum:2")
    registry.promote("sum:2", "production")
    plan = RolloutPlan(steps=(20.0, 40.0, 60.0, 100.0), interval_seconds=0.5, min_requests=20)
    registry.rollouts.start("web", "sum:2", plan)
    options = fast_options(rollout_interval=0.1)
    for until in ("step 2", "complete"):
        async with running_app(served.settings, options) as client:
            stop, failures = asyncio.Event(), []
            workers = [
                asyncio.create_task(_load(client, served, stop, 1, failures)) for _ in range(3)
            ]
            try:
                if until == "step 2":  # the first server gets the rollout past its first step
                    await _until(lambda: registry.rollouts.history("web")[0].step >= 1)
                else:  # a new server picks the stored rollout up where it was
                    await _until_state(served, RolloutState.COMPLETED)
            finally:
                stop.set()
                await asyncio.gather(*workers)
        assert failures == []
        if until == "step 2":
            paused = registry.rollouts.history("web")[0]
            assert paused.state == RolloutState.RUNNING and paused.step in (1, 2)
    assert registry.endpoints.get("web").policy.weights() == {2: 100.0}  # type: ignore[union-attr]


async def _until(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.mark.anyio
async def test_controller_rolls_back_a_canary_that_is_wrong_more_often(
    served: Served, model_dir: Path
) -> None:
    """Same errors and latency, but the feedback says the canary's answers are worse."""
    from shipyard.server.rollouts import RolloutController

    registry = served.registry
    registry.endpoints.deploy("web", "sum:1")
    registry.register("sum", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    registry.promote("sum:2", "staging")
    plan = RolloutPlan(steps=(50.0, 100.0), interval_seconds=3600, min_requests=1, min_samples=20)
    rollout = registry.rollouts.start("web", "sum:2", plan)
    headers = served.headers(Role.DEPLOYER)
    async with running_app(served.settings, fast_options(rollout_interval=0)) as client:
        state = client.app.state.shipyard
        controller = RolloutController(
            registry, state.metrics, served.settings.home / "logs", feedback_every=0
        )
        items = []
        for i in range(160):
            r = await client.post(
                "/v1/endpoints/web/predict",
                json={"instances": [{"a": i % 4, "b": 1}]},
                headers=headers,
            )
            answer = r.json()
            wrong = answer["version"] == 2 and i % 3 != 0  # the canary is right a third of the time
            label = answer["predictions"][0] + (1 if wrong else 0)
            items.append({"request_id": answer["request_id"], "label": label})
        r = await client.post(
            "/v1/feedback", json={"endpoint": "web", "items": items}, headers=headers
        )
        assert r.status_code == 200, r.text
        await asyncio.sleep(0.3)  # let the log writer flush
        # Accuracy counts feedback since the step began, so the first look can decide.
        [updated] = await asyncio.to_thread(controller.tick)
    assert updated.id == rollout.id and updated.state == RolloutState.ROLLED_BACK, updated
    assert "accuracy" in (updated.reason or "")
    checks = {c["name"]: c for c in (updated.last_decision or {})["checks"]}
    assert checks["accuracy"]["outcome"] == "fail" and checks["error_rate"]["outcome"] != "fail"
