"""The monitoring-settings routes in process, with real keys: roles, errors, and the drift route
taking the stored settings on real log segments."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.core.types import Role
from shipyard.serving.logsink import PredictionLogSink, PredictionRecord
from tests.fixtures.models import FEATURES_SMALL
from tests.fixtures.serving import Served, running_app

pytestmark = pytest.mark.anyio

ROUTE = "/api/v1/models/cancer/monitoring-settings"
SETTINGS = "drift:\n  columns:\n    mean radius: {method: psi, threshold: 0.5}\n"


def error_of(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    return body["error"]


def log_cancer(served: Served, model_dir: Path, rows: int = 200) -> None:
    frame = pd.read_csv(model_dir / "sample.csv")
    sink = PredictionLogSink(served.settings.home / "logs", worker_id="w-api")
    sink.start()
    for i, row in enumerate(frame.head(rows).to_dict(orient="records")):
        sink.log(
            PredictionRecord(
                request_id=f"r{i}",
                time=time.time() - 30,
                endpoint="cancer",
                model="cancer",
                version=1,
                inputs={name: np.array([float(row[name])]) for name in FEATURES_SMALL},
                predictions=np.array([int(row["target"])]),
                probabilities=None,
                latency_ms=1.0,
                metadata=None,
            )
        )
    sink.flush(timeout=10)
    sink.close(timeout=10)


async def test_viewers_read_deployers_set_and_mistakes_name_their_line(served: Served) -> None:
    deployer, viewer, predictor = (
        served.headers(r) for r in (Role.DEPLOYER, Role.VIEWER, Role.PREDICTOR)
    )
    async with running_app(served.settings) as client:
        empty = await client.get(ROUTE, headers=viewer)
        assert empty.status_code == 200
        assert empty.json() == {
            "model": "cancer",
            "revision": 0,
            "text": None,
            "settings": {
                "drift": {
                    "drift_share": 0.5,
                    "min_rows": 30,
                    "evidently": False,
                    "numeric": None,
                    "categorical": None,
                    "columns": {},
                },
                "performance": {"min_rows": 30},
                "fairness": {"min_group_rows": 30},
            },
            "history": [],
        }

        denied = await client.put(ROUTE, json={"text": SETTINGS}, headers=viewer)
        assert denied.status_code == 403 and error_of(denied)["code"] == "forbidden"
        assert "viewer key may not deploy" in error_of(denied)["message"]
        assert (await client.get(ROUTE, headers=predictor)).status_code == 403
        assert (await client.get(ROUTE)).status_code == 401

        bad = await client.put(
            ROUTE, json={"text": "drift:\n  numeric: {method: kss}\n"}, headers=deployer
        )
        assert bad.status_code == 422 and error_of(bad)["code"] == "invalid_monitoring_settings"
        assert error_of(bad)["message"].startswith(
            "monitoring settings line 2: drift.numeric.method: unknown method 'kss' (did you "
            "mean 'ks'?)"
        )
        broken = await client.put(ROUTE, json={"text": "drift: [\n"}, headers=deployer)
        assert broken.status_code == 422
        assert "line 2: invalid YAML" in error_of(broken)["message"]
        column = await client.put(
            ROUTE,
            json={"text": "drift:\n  columns:\n    radius: {method: psi}\n"},
            headers=deployer,
        )
        assert column.status_code == 422
        assert (
            "line 3: drift.columns.radius: unknown column 'radius'" in (error_of(column)["message"])
        )
        not_text = await client.put(ROUTE, json={"text": 3}, headers=deployer)
        assert not_text.status_code == 422

        for method in ("get", "put"):
            missing = await client.request(
                method,
                "/api/v1/models/nope/monitoring-settings",
                json={"text": "{}"},
                headers=deployer,
            )
            assert missing.status_code == 404 and error_of(missing)["code"] == "model_not_found"

        stored = await client.put(ROUTE, json={"text": SETTINGS}, headers=deployer)
        assert stored.status_code == 200, stored.text
        assert set(stored.json()) == {"model", "revision", "text", "actor", "at"}
        assert (stored.json()["revision"], stored.json()["text"]) == (1, SETTINGS)
        assert stored.json()["actor"] == f"key:{served.keys[Role.DEPLOYER].split('_')[1]}"
        shown = (await client.get(ROUTE, headers=viewer)).json()
        assert (shown["revision"], shown["text"]) == (1, SETTINGS)
        assert shown["settings"]["drift"]["columns"] == {
            "mean radius": {"method": "psi", "threshold": 0.5}
        }
        assert [r["revision"] for r in shown["history"]] == [1]

    [entry] = served.registry.audit_entries(action="monitoring_settings.set")
    assert entry.actor == stored.json()["actor"] and entry.details["revision"] == 1


async def test_the_drift_route_takes_the_stored_settings(served: Served, model_dir: Path) -> None:
    log_cancer(served, model_dir)
    deployer, viewer = served.headers(Role.DEPLOYER), served.headers(Role.VIEWER)
    async with running_app(served.settings) as client:
        drift = "/api/v1/monitoring/cancer/drift"
        before = (await client.get(drift, headers=viewer)).json()
        radius = next(c for c in before["columns"] if c["column"] == "mean radius")
        assert (radius["method"], radius["threshold"]) == ("ks", 0.05)

        r = await client.put(ROUTE, json={"text": SETTINGS}, headers=deployer)
        assert r.status_code == 200
        after = (await client.get(drift, headers=viewer)).json()
        radius = next(c for c in after["columns"] if c["column"] == "mean radius")
        assert (radius["method"], radius["threshold"]) == ("psi", 0.5)
        assert radius["statistic_kind"] == "distance"


async def test_report_routes_take_row_minimums_and_evidently_from_the_settings(
    served: Served, model_dir: Path
) -> None:
    log_cancer(served, model_dir)
    served.registry.monitoring_settings.set(
        "cancer",
        "drift:\n  evidently: true\nperformance:\n  min_rows: 7\nfairness:\n  min_group_rows: 9\n",
    )
    headers = served.headers(Role.VIEWER)
    async with running_app(served.settings) as client:
        performance = await client.get("/api/v1/monitoring/cancer/performance", headers=headers)
        explicit = await client.get(
            "/api/v1/monitoring/cancer/performance?min_rows=3", headers=headers
        )
    assert performance.status_code == 200, performance.text
    assert performance.json()["min_rows"] == 7  # the model's setting, not the old default 30
    assert explicit.json()["min_rows"] == 3  # an explicit value still wins
