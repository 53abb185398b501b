"""Traffic shifts, an automated ramp and rollbacks under load on a real two-worker server:
not one request may fail while traffic moves between healthy versions."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.core.endpoints import RolloutState
from shipyard.core.rollout import RolloutPlan
from shipyard.core.settings import Settings
from tests.e2e.server_process import ServerProcess, served_env
from tests.fixtures.serving import Served, served_registry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def served(tmp_path: Path, model_dir: Path) -> Iterator[Served]:
    s = served_registry(Settings.for_home(tmp_path / "home"), model_dir)
    yield s
    s.registry.close()


def _wait_for(condition, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_shift_ramp_and_roll_back_under_load_without_a_failed_request(
    served: Served, model_dir: Path
) -> None:
    registry = served.registry
    for _ in range(2):  # v2 and v3: copies of the sum model, told apart by their version
        registry.register("sum", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    registry.promote("sum:2", "staging")
    registry.gates.check("sum:3")
    registry.promote("sum:3", "production")
    registry.endpoints.deploy("web", "sum:3")
    env = served_env(served.settings.home)
    answers: list[int] = []
    failures: list[str] = []
    stop = threading.Event()
    with ServerProcess(env, "--workers", "2", "--rollout-interval", "0.2") as server:

        def load(worker: int) -> None:
            with httpx.Client(base_url=server.url, headers=served.headers(), timeout=30) as http:
                i = 0
                while not stop.is_set():
                    i += 1
                    body = {"instances": [[1, 2]], "routing_key": f"user-{worker}-{i % 50}"}
                    try:
                        r = http.post("/v1/endpoints/web/predict", json=body)
                    except httpx.TransportError as exc:
                        failures.append(repr(exc))
                        continue
                    if r.status_code == 200:
                        answers.append(r.json()["version"])
                    else:
                        failures.append(f"{r.status_code} {r.text}")

        threads = [threading.Thread(target=load, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        try:
            _wait_for(lambda: len(answers) > 200, 30)
            # By hand: a canary, a shadow, a reweight, a rollback.
            registry.endpoints.deploy("web", "sum:2", canary=30)
            _wait_for(lambda: 2 in answers[-200:], 15)
            registry.endpoints.deploy("web", "sum:1", shadow=True)
            registry.endpoints.set_traffic("web", {2: 60, 3: 40})
            time.sleep(1.0)
            registry.endpoints.rollback("web", to_revision=1)
            mark = len(answers)
            _wait_for(lambda: len(answers) > mark + 300 and set(answers[-200:]) == {3}, 15)

            # Automated: the controller ramps v2 up while it is healthy; v2 is staging, so the
            # ramp holds at its last step until it is promoted; then it completes.
            plan = RolloutPlan(steps=(25.0, 50.0, 100.0), interval_seconds=0.5, min_requests=40)
            registry.rollouts.start("web", "sum:2", plan)
            _wait_for(lambda: "waiting for production" in (_latest(served).reason or ""), 60)
            registry.gates.check("sum:2")
            registry.promote("sum:2", "production")
            _wait_for(lambda: _latest(served).state == RolloutState.COMPLETED, 60)
            mark = len(answers)
            _wait_for(lambda: len(answers) > mark + 300 and set(answers[-200:]) == {2}, 15)
        finally:
            stop.set()
            for t in threads:
                t.join()
    assert failures == [], failures[:5]
    seen = Counter(answers)
    assert set(seen) == {2, 3}, seen  # the shadow (v1) never answered a caller
    history = [r.action for r in registry.endpoints.history("web")]
    assert history[0] == "complete" and "ramp" in history and "rollback" in history


def _latest(served: Served):  # type: ignore[no-untyped-def]
    return served.registry.rollouts.history("web")[0]
