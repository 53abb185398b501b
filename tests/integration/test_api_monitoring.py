"""Monitoring from real prediction logs: the server answers traffic with a group-dependent
error pattern, feedback arrives late, and the API's numbers match scikit-learn and Fairlearn."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from sklearn.metrics import accuracy_score

from shipyard.core.types import Role
from tests.fixtures.models import FEATURES_SMALL
from tests.fixtures.serving import Served, running_app

pytestmark = pytest.mark.anyio


async def test_performance_and_fairness_from_the_log(served: Served, model_dir: Path) -> None:
    frame = pd.read_csv(model_dir / "sample.csv").head(240)
    headers = served.headers(Role.DEPLOYER)
    rng = np.random.default_rng(7)
    predictions, labels, groups = [], [], []
    async with running_app(served.settings) as client:
        items = []
        for i, row in enumerate(frame.to_dict(orient="records")):
            group = "north" if i % 2 == 0 else "south"
            instance = {name: float(row[name]) for name in FEATURES_SMALL}
            r = await client.post(
                "/v1/endpoints/cancer/predict",
                json={"instances": [instance], "metadata": {"group": group}},
                headers=headers,
            )
            assert r.status_code == 200, r.text
            answer = r.json()
            truth = int(row["target"])
            if group == "south" and rng.random() < 0.3:  # late labels disagree more in the south
                truth = 1 - answer["predictions"][0]
            items.append({"request_id": answer["request_id"], "label": truth})
            predictions.append(answer["predictions"][0])
            labels.append(truth)
            groups.append(group)
        labelled = items[:200]  # the last 40 predictions have no label yet
        r = await client.post(
            "/v1/feedback", json={"endpoint": "cancer", "items": labelled}, headers=headers
        )
        assert r.status_code == 200, r.text
        await asyncio.sleep(0.3)
        perf = await client.get("/api/v1/monitoring/cancer/performance?buckets=2", headers=headers)
        fair = await client.get(
            "/api/v1/monitoring/cancer/fairness?sensitive=group", headers=headers
        )
        absent = await client.get(
            "/api/v1/monitoring/cancer/fairness?sensitive=colour", headers=headers
        )
        unknown = await client.get("/api/v1/monitoring/nope/performance", headers=headers)
        bad_window = await client.get(
            "/api/v1/monitoring/cancer/performance?window=soon", headers=headers
        )
    assert perf.status_code == 200, perf.text
    [version] = perf.json()["versions"]
    assert version["n"] == 200 and version["label_coverage"] == pytest.approx(200 / 240)
    accuracy = next(m for m in version["metrics"] if m["name"] == "accuracy")
    assert accuracy["value"] == pytest.approx(accuracy_score(labels[:200], predictions[:200]))
    assert len(perf.json()["buckets"]) == 2

    assert fair.status_code == 200, fair.text
    body = fair.json()
    y, p, g = np.array(labels[:200]), np.array(predictions[:200]), np.array(groups[:200])
    disparities = body["disparities"]
    assert disparities["demographic_parity_difference"]["value"] == pytest.approx(
        demographic_parity_difference(y, p, sensitive_features=g)
    )
    assert disparities["equalized_odds_difference"]["value"] == pytest.approx(
        equalized_odds_difference(y, p, sensitive_features=g)
    )
    by_group = {row["group"]: row for row in body["groups"]}
    assert by_group["north"]["accuracy"] > by_group["south"]["accuracy"]

    assert absent.status_code == 422 and "colour" in absent.json()["error"]["message"]
    assert unknown.status_code == 404
    assert bad_window.status_code == 422 and "window" in bad_window.json()["error"]["message"]


async def test_drift_of_logged_inputs_against_the_reference(
    served: Served, model_dir: Path
) -> None:
    frame = pd.read_csv(model_dir / "sample.csv").sample(200, random_state=1)
    headers = served.headers(Role.DEPLOYER)
    async with running_app(served.settings) as client:
        nothing = await client.get("/api/v1/monitoring/cancer/drift", headers=headers)
        for row in frame.to_dict(orient="records"):
            instance = {name: float(row[name]) for name in FEATURES_SMALL}
            instance["mean radius"] *= 1.5  # injected drift on one feature
            r = await client.post(
                "/v1/endpoints/cancer/predict", json={"instances": [instance]}, headers=headers
            )
            assert r.status_code == 200
        await asyncio.sleep(0.3)
        drift = await client.get("/api/v1/monitoring/cancer/drift", headers=headers)
        evidently = await client.get(
            "/api/v1/monitoring/cancer/drift?evidently=true&last=100", headers=headers
        )
    assert (
        nothing.status_code == 422 and "logged no prediction" in nothing.json()["error"]["message"]
    )
    assert drift.status_code == 200, drift.text
    body = drift.json()
    assert (body["model"], body["version"]) == ("cancer", 1)
    columns = {c["column"]: c for c in body["columns"]}
    assert set(columns) == {*FEATURES_SMALL, "prediction"}
    assert columns["mean radius"]["drifted"] is True and columns["mean radius"]["method"] == "ks"
    assert columns["mean texture"]["drifted"] is False
    reference = pd.read_csv(model_dir / "sample.csv")
    from scipy.stats import ks_2samp

    expected = ks_2samp(reference["mean texture"], frame["mean texture"]).pvalue
    assert columns["mean texture"]["statistic"] == pytest.approx(expected)
    assert evidently.status_code == 200
    assert {c["current_rows"] for c in evidently.json()["columns"]} == {100}


async def test_roc_auc_and_log_loss_from_logged_probabilities(
    served: Served, model_dir: Path
) -> None:
    from sklearn.metrics import log_loss, roc_auc_score

    frame = pd.read_csv(model_dir / "sample.csv").head(120)
    headers = served.headers(Role.DEPLOYER)
    labels, positive = [], []
    async with running_app(served.settings) as client:
        items = []
        for i, row in enumerate(frame.to_dict(orient="records")):
            instance = {name: float(row[name]) for name in FEATURES_SMALL}
            r = await client.post(
                "/v1/endpoints/cancer/predict",
                json={"instances": [instance], "return_probabilities": True},
                headers=headers,
            )
            answer = r.json()
            label = int(row["target"]) if i % 4 else 1 - int(row["target"])  # some noise
            items.append({"request_id": answer["request_id"], "label": label})
            labels.append(label)
            positive.append(answer["probabilities"][0][1])
        await client.post(
            "/v1/feedback", json={"endpoint": "cancer", "items": items}, headers=headers
        )
        await asyncio.sleep(0.3)
        perf = await client.get("/api/v1/monitoring/cancer/performance", headers=headers)
    metrics = {m["name"]: m for m in perf.json()["versions"][0]["metrics"]}
    assert metrics["roc_auc"]["value"] == pytest.approx(roc_auc_score(labels, positive))
    probabilities = np.column_stack([1 - np.array(positive), positive])
    assert metrics["log_loss"]["value"] == pytest.approx(log_loss(labels, probabilities))
