"""Alerts through the API and inside the server: rules, checks, the monitoring pass, gauges."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shipyard.core.types import Role
from tests.fixtures.models import FEATURES_SMALL
from tests.fixtures.serving import Served, fast_options, running_app
from tests.fixtures.webhooks import webhook_receiver

pytestmark = pytest.mark.anyio


async def test_rules_and_checks_through_the_api(served: Served) -> None:
    deployer, viewer = served.headers(Role.DEPLOYER), served.headers(Role.VIEWER)
    rule = {"name": "quiet", "metric": "predictions", "threshold": 5, "comparison": "below",
            "window": "10m", "min_samples": 1}  # fmt: skip
    async with running_app(served.settings) as client:
        created = await client.post("/api/v1/endpoints/cancer/alert-rules", json=rule,
                                    headers=deployer)  # fmt: skip
        listed = await client.get("/api/v1/endpoints/cancer/alert-rules", headers=viewer)
        every = await client.get("/api/v1/alert-rules", headers=viewer)
        checked = await client.post("/api/v1/alerts/check?endpoint=cancer", headers=deployer)
        firing = await client.get("/api/v1/alerts?state=firing", headers=viewer)
        one = await client.get(f"/api/v1/alerts/{firing.json()['alerts'][0]['id']}",
                               headers=viewer)  # fmt: skip
        # Bad input: each a 4xx JSON error that says what to do.
        viewer_add = await client.post("/api/v1/endpoints/cancer/alert-rules", json=rule,
                                       headers=viewer)  # fmt: skip
        duplicate = await client.post("/api/v1/endpoints/cancer/alert-rules", json=rule,
                                      headers=deployer)  # fmt: skip
        unknown_metric = await client.post(
            "/api/v1/endpoints/cancer/alert-rules",
            json={**rule, "name": "x", "metric": "acuracy"},
            headers=deployer,
        )
        bad_window = await client.post(
            "/api/v1/endpoints/cancer/alert-rules",
            json={**rule, "name": "x", "window": "soon"},
            headers=deployer,
        )
        no_endpoint = await client.post("/api/v1/endpoints/nope/alert-rules", json=rule,
                                        headers=deployer)  # fmt: skip
        no_alert = await client.get("/api/v1/alerts/999", headers=viewer)
        bad_state = await client.get("/api/v1/alerts?state=open", headers=viewer)
        deleted = await client.delete("/api/v1/endpoints/cancer/alert-rules/quiet",
                                      headers=deployer)  # fmt: skip
        gone = await client.delete("/api/v1/endpoints/cancer/alert-rules/quiet",
                                   headers=deployer)  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["description"] == "predictions below 5 over 10m"
    assert [r["name"] for r in listed.json()["rules"]] == ["quiet"]
    assert [r["endpoint"] for r in every.json()["rules"]] == ["cancer"]
    assert checked.status_code == 200, checked.text
    [evaluation] = checked.json()["evaluations"]
    assert (evaluation["value"], evaluation["breached"]) == (0.0, True)
    assert [t["state"] for t in checked.json()["transitions"]] == ["firing"]
    assert one.json()["rule"] == "quiet" and one.json()["state"] == "firing"
    assert viewer_add.status_code == 403
    assert duplicate.status_code == 409 and "already has" in duplicate.json()["error"]["message"]
    assert unknown_metric.status_code == 422
    assert "Did you mean accuracy" in unknown_metric.json()["error"]["message"]
    assert bad_window.status_code == 422 and "window" in bad_window.json()["error"]["message"]
    assert no_endpoint.status_code == 404
    assert no_alert.status_code == 404 and "alerts list" in no_alert.json()["error"]["message"]
    assert bad_state.status_code == 422
    assert deleted.status_code == 200 and gone.status_code == 404


async def test_the_server_checks_rules_and_publishes_gauges_on_its_own(
    served: Served, model_dir: Path
) -> None:
    frame = pd.read_csv(model_dir / "sample.csv").sample(150, random_state=4)
    headers = served.headers(Role.DEPLOYER)
    options = fast_options(monitor_interval=0.3, monitor_window=3600.0)
    with webhook_receiver() as hook:
        served.registry.alerts.add_rule(
            "cancer", "drift", metric="drifted_columns", threshold=1, min_samples=50,
            webhooks=[hook.url],
        )  # fmt: skip
        async with running_app(served.settings, options) as client:
            for row in frame.to_dict(orient="records"):
                instance = {name: float(row[name]) for name in FEATURES_SMALL}
                instance["mean radius"] *= 1.7  # injected drift
                r = await client.post(
                    "/v1/endpoints/cancer/predict", json={"instances": [instance]}, headers=headers
                )
                assert r.status_code == 200
            bodies = await asyncio.to_thread(hook.wait_for, 1, 15.0)
            await asyncio.sleep(0.8)  # a pass or two more: still one delivery (fires once)
            scrape = await client.get("/metrics", headers=headers)
    assert [b["event"] for b in hook.received] == ["firing"]
    assert bodies[0]["alert"]["detail"]["drifted_columns"] == ["mean radius"]
    families = {f.name: f for f in text_string_to_metric_families(scrape.text)}
    detected = {
        s.labels["column"]: s.value
        for s in families["shipyard_drift_detected"].samples
        if s.labels["endpoint"] == "cancer"
    }
    assert detected["mean radius"] == 1.0 and detected["mean texture"] == 0.0
    share = [
        s for s in families["shipyard_drift_share"].samples if s.labels["endpoint"] == "cancer"
    ]
    assert share and share[0].value == pytest.approx(0.2)
    firing = [s for s in families["shipyard_alerts_firing"].samples if s.labels["rule"] == "drift"]
    assert [s.value for s in firing] == [1.0]
    delivered = [
        s for s in families["shipyard_alert_notifications"].samples
        if s.name.endswith("_total") and s.labels["outcome"] == "delivered"
    ]  # fmt: skip
    assert [s.value for s in delivered] == [1.0]
    audit = served.registry.audit_entries(action="alert.fire")
    assert [e.actor for e in audit] == ["monitor"]


def test_one_worker_holds_the_monitoring_pass_and_stale_series_go(served: Served) -> None:
    from shipyard.server.monitor import MonitorLoop
    from shipyard.serving.metrics import ServingMetrics

    metrics = ServingMetrics()
    logs = served.settings.home / "logs"

    def loop(holder: str) -> MonitorLoop:
        return MonitorLoop(served.registry, metrics, logs, holder=holder, interval=60, window=3600)

    first, second = loop("worker-a"), loop("worker-b")
    served.registry.alerts.add_rule(
        "cancer", "quiet", metric="predictions", comparison="below", threshold=1, min_samples=1
    )
    assert first.tick() is not None
    assert second.tick() is None  # the lease is worker-a's for three intervals

    def firing_series() -> list[tuple[str, float]]:
        family = next(f for f in metrics.collect() if f.name == "shipyard_alerts_firing")
        return [(s.labels["rule"], s.value) for s in family.samples]

    assert firing_series() == [("quiet", 1.0)]
    served.registry.alerts.delete_rule("cancer", "quiet")
    first.tick()
    assert firing_series() == []  # a deleted rule's series is not exported any more
    first.release()
    assert second.tick() is not None  # released: the other worker takes over at once


async def test_a_slow_webhook_never_holds_up_predictions(served: Served) -> None:
    headers = served.headers(Role.PREDICTOR)
    options = fast_options(monitor_interval=0.2)
    with webhook_receiver() as hook:
        hook.delay = 2.0  # each delivery takes two seconds to answer
        served.registry.alerts.add_rule(
            "sum", "quiet", metric="predictions", comparison="below", threshold=1000,
            min_samples=1, webhooks=[hook.url],
        )  # fmt: skip
        async with running_app(served.settings, options) as client:
            await asyncio.to_thread(hook.wait_for, 1, 10.0)  # the delivery is under way
            slowest = 0.0
            for _ in range(20):
                started = asyncio.get_running_loop().time()
                r = await client.post(
                    "/v1/endpoints/sum/predict", json={"instances": [[1.0, 2.0]]}, headers=headers
                )
                assert r.status_code == 200
                slowest = max(slowest, asyncio.get_running_loop().time() - started)
                await asyncio.sleep(0.05)
    assert slowest < 1.0  # answered while the webhook was still waiting to reply


async def test_readers_see_webhook_hosts_only_and_oversized_values_are_refused(
    served: Served,
) -> None:
    deployer, viewer = served.headers(Role.DEPLOYER), served.headers(Role.VIEWER)
    secret = "https://hooks.example.com/services/T0/B0/s3cr3t?token=abc"
    rule = {"name": "quiet", "metric": "predictions", "threshold": 5, "comparison": "below",
            "webhooks": [secret]}  # fmt: skip
    async with running_app(served.settings) as client:
        assert (await client.post("/api/v1/endpoints/sum/alert-rules", json=rule,
                                  headers=deployer)).status_code == 201  # fmt: skip
        as_viewer = await client.get("/api/v1/alert-rules", headers=viewer)
        as_deployer = await client.get("/api/v1/alert-rules", headers=deployer)
        too_big = [
            await client.post(
                "/api/v1/endpoints/sum/alert-rules",
                json={**rule, "name": f"x{i}", **extra},
                headers=deployer,
            )
            for i, extra in enumerate(
                [{"min_samples": 2**31}, {"version": 2**31}, {"sensitive": "s" * 201}]
            )
        ]
        huge_id = await client.get("/api/v1/alerts/99999999999999999999", headers=viewer)
    assert as_viewer.json()["rules"][0]["webhooks"] == ["https://hooks.example.com/…"]
    assert as_deployer.json()["rules"][0]["webhooks"] == [secret]
    assert [r.status_code for r in too_big] == [422, 422, 422]
    assert all("error" in r.json() for r in too_big)
    assert huge_id.status_code == 422


def test_a_worker_that_loses_the_lease_retires_what_it_published(served: Served) -> None:
    from shipyard.server.monitor import MonitorLoop
    from shipyard.serving.metrics import ServingMetrics

    logs = served.settings.home / "logs"
    mine, theirs = ServingMetrics(), ServingMetrics()  # two replicas: two registries
    first = MonitorLoop(served.registry, mine, logs, holder="a", interval=60, window=3600)
    second = MonitorLoop(served.registry, theirs, logs, holder="b", interval=60, window=3600)
    served.registry.alerts.add_rule(
        "cancer", "quiet", metric="predictions", comparison="below", threshold=1, min_samples=1
    )
    assert first.tick() is not None
    first.release()
    assert second.tick() is not None  # the other replica has the pass now
    assert first.tick() is None  # ...so this one is on standby

    def series(metrics: ServingMetrics) -> list[float]:
        family = next(f for f in metrics.collect() if f.name == "shipyard_alerts_firing")
        return [s.value for s in family.samples]

    assert series(mine) == []  # its old "firing" series would otherwise stay at 1 for ever
    assert series(theirs) == [1.0]
