"""The monitoring scenario end to end, on a real `shipyard serve --workers 2`.

Scripted traffic: a calm phase, then inputs drift and late labels turn wrong for one group.
Rules added with the CLI fire once each and reach a real webhook; the drift rule resolves
when calm traffic returns; `/metrics` carries the gauges; `monitor check` exits 1 while
alerts fire; everything goes through the server as a deployer key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shipyard.core.settings import Settings
from shipyard.core.types import Role
from tests.e2e.cli_runner import assert_clean_error, cli
from tests.e2e.server_process import ServerProcess, served_env
from tests.fixtures.models import FEATURES_SMALL
from tests.fixtures.serving import Served, served_registry
from tests.fixtures.webhooks import Hook, webhook_receiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(tmp_path: Path, model_dir: Path) -> Iterator[Served]:
    s = served_registry(Settings.for_home(tmp_path / "home"), model_dir)
    yield s
    s.registry.close()


def send(
    http: httpx.Client, frame: pd.DataFrame, *, drift: float, wrong_south: bool
) -> list[dict[str, Any]]:
    """One prediction per row (group alternating); the labels that arrive later for them."""
    items = []
    for i, row in enumerate(frame.to_dict(orient="records")):
        group = "south" if i % 2 else "north"
        instance = {name: float(row[name]) for name in FEATURES_SMALL}
        instance["mean radius"] *= drift
        r = http.post(
            "/v1/endpoints/cancer/predict",
            json={"instances": [instance], "metadata": {"group": group}},
        )
        assert r.status_code == 200, r.text
        answer = r.json()
        label = answer["predictions"][0]
        if wrong_south and group == "south":
            label = 1 - label  # late labels say the model is wrong for the whole group
        items.append({"request_id": answer["request_id"], "label": label})
    r = http.post("/v1/feedback", json={"endpoint": "cancer", "items": items})
    assert r.status_code == 200, r.text
    return items


def events(hook: Hook) -> list[tuple[str, str]]:
    return sorted((b["rule"]["name"], b["event"]) for b in hook.received)


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_drift_and_a_group_error_pattern_raise_alerts_that_resolve(
    served: Served, model_dir: Path
) -> None:
    everything = pd.read_csv(model_dir / "sample.csv").sample(frac=1.0, random_state=11)
    frame = everything.head(200)
    env = served_env(served.settings.home)
    with (
        webhook_receiver() as hook,
        ServerProcess(
            env, "--workers", "2", "--monitor-interval", "1", "--monitor-window", "1h"
        ) as server,
    ):
        remote = {**env, "SHIPYARD_URL": server.url,
                  "SHIPYARD_API_KEY": served.keys[Role.DEPLOYER], "COLUMNS": "200"}  # fmt: skip
        hooked = ["--webhook", hook.url]
        cli(remote, "alerts", "add", "cancer", "drift", "--metric", "drift_share",
            "--above", "0.2", "--window", "12s", "--min-samples", "100", *hooked)  # fmt: skip
        cli(remote, "alerts", "add", "cancer", "accuracy", "--metric", "accuracy",
            "--below", "0.9", "--window", "10m", "--min-samples", "100", *hooked)  # fmt: skip
        cli(remote, "alerts", "add", "cancer", "odds", "--metric", "equalized_odds_difference",
            "--above", "0.2", "--sensitive", "group", "--window", "10m",
            "--min-samples", "100", *hooked)  # fmt: skip
        rules = json.loads(cli(remote, "alerts", "rules", "--json").stdout)
        assert [r["name"] for r in rules] == ["accuracy", "drift", "odds"]

        with httpx.Client(base_url=server.url, headers=served.headers(), timeout=30) as http:
            send(http, frame, drift=1.0, wrong_south=False)  # calm
            time.sleep(2.5)  # two monitoring passes
            calm = cli(remote, "monitor", "check", "--json")
            assert calm.returncode == 0 and json.loads(calm.stdout)["firing"] == []
            assert hook.received == []

            send(http, frame, drift=1.8, wrong_south=True)  # drift, and errors in one group
            wait_until(lambda: len(hook.received) >= 3, 30, "three alerts to fire")
            assert events(hook) == [("accuracy", "firing"), ("drift", "firing"),
                                    ("odds", "firing")]  # fmt: skip

            check = cli(remote, "monitor", "check", "--json", ok=False)
            assert check.returncode == 1  # alerts are firing: a cron job sees it
            firing = {a["rule"]: a for a in json.loads(check.stdout)["firing"]}
            assert firing["drift"]["detail"]["drifted_columns"] == ["mean radius"]
            assert (
                firing["odds"]["detail"]["highest_group"] == "south"
                or firing["odds"]["detail"]["lowest_group"] == "south"
            )
            scrape = http.get("/metrics").text

            # Calm traffic returns; once the drifted rows leave the 12 s window, drift resolves.
            deadline = time.monotonic() + 40
            chunk = 0
            while ("drift", "resolved") not in events(hook):
                assert time.monotonic() < deadline, f"drift never resolved: {events(hook)}"
                start = (chunk * 60) % (len(everything) - 60)
                send(http, everything.iloc[start : start + 60], drift=1.0, wrong_south=False)
                chunk += 1
                time.sleep(1)
        listed = json.loads(cli(remote, "alerts", "list", "--json").stdout)
        text = cli(remote, "alerts", "list").stdout
        viewer = {**remote, "SHIPYARD_API_KEY": served.keys[Role.VIEWER]}
        refused = cli(viewer, "alerts", "add", "cancer", "x", "--metric", "accuracy",
                      "--below", "0.5", ok=False)  # fmt: skip

    assert events(hook).count(("drift", "firing")) == 1  # fired once, however many passes
    assert events(hook).count(("accuracy", "firing")) == 1
    by_rule = {a["rule"]: a for a in listed}
    assert by_rule["drift"]["state"] == "resolved" and by_rule["accuracy"]["state"] == "firing"
    assert all(d["delivered"] for a in listed for d in a["deliveries"])
    assert "drift" in text and "resolved" in text
    assert_clean_error(refused, "A viewer key may not deploy")

    families = {f.name: f for f in text_string_to_metric_families(scrape)}
    detected = {s.labels["column"]: s.value for s in families["shipyard_drift_detected"].samples}
    assert detected["mean radius"] == 1.0 and detected["mean texture"] == 0.0
    gaps = {
        s.labels["metric"]: s.value
        for s in families["shipyard_fairness_gap"].samples
        if s.labels["sensitive"] == "group"
    }
    assert gaps["equalized_odds_difference"] > 0.2
    accuracy = [
        s.value for s in families["shipyard_model_performance"].samples
        if s.labels["metric"] == "accuracy"
    ]  # fmt: skip
    assert accuracy and accuracy[0] < 0.95
    firing_now = {s.labels["rule"]: s.value for s in families["shipyard_alerts_firing"].samples}
    assert firing_now == {"drift": 1.0, "accuracy": 1.0, "odds": 1.0}
