"""Alert rules on real prediction logs: fire once, resolve once, deliver with retries, audit.

Logs are real Parquet segments written by the server's log sink; feedback goes through the
real feedback store; webhooks go to a real HTTP server on port 0; every test runs on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.core.alerts import AlertState
from shipyard.core.errors import (
    AlertRuleNotFoundError,
    ConflictError,
    EndpointNotFoundError,
    InvalidInputError,
)
from shipyard.monitoring.notify import RetryPolicy
from shipyard.registry import Registry
from shipyard.serving.feedback import FeedbackBatch, FeedbackStore
from shipyard.serving.logsink import PredictionLogSink, PredictionRecord
from tests.fixtures.models import FEATURES_SMALL
from tests.fixtures.webhooks import webhook_receiver

FAST = RetryPolicy(attempts=3, timeout=0.5, backoff=0.01)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def cancer_registry(registry: Registry, model_dir: Path) -> Registry:
    registry.register(
        "cancer", model_dir / "model.skops", sample_data=model_dir / "sample.csv", target="target"
    )
    registry.promote("cancer:1", "production")
    return registry


def log_rows(
    registry: Registry,
    frame: pd.DataFrame,
    at: datetime,
    *,
    scale: float = 1.0,
    prefix: str = "r",
    groups: list[str] | None = None,
) -> list[str]:
    """Log one prediction per row at ``at`` (``mean radius`` times ``scale``); their ids."""
    sink = PredictionLogSink(registry.settings.home / "logs", worker_id=f"w-{prefix}")
    sink.start()
    ids = []
    for i, row in enumerate(frame.to_dict(orient="records")):
        inputs = {name: np.array([float(row[name])]) for name in FEATURES_SMALL}
        inputs["mean radius"] = inputs["mean radius"] * scale
        ids.append(f"{prefix}{i}")
        sink.log(
            PredictionRecord(
                request_id=ids[-1],
                time=at.timestamp() + i * 0.001,
                endpoint="cancer",
                model="cancer",
                version=1,
                inputs=inputs,
                predictions=np.array([int(row["target"])]),
                probabilities=None,
                latency_ms=1.0,
                metadata={"group": groups[i]} if groups else None,
            )
        )
    sink.flush(timeout=10)
    sink.close(timeout=10)
    return ids


def test_a_rule_fires_once_while_breached_and_resolves_once(
    cancer_registry: Registry, model_dir: Path
) -> None:
    registry = cancer_registry
    frame = pd.read_csv(model_dir / "sample.csv").sample(300, random_state=2)
    with webhook_receiver() as hook:
        rule = registry.alerts.add_rule(
            "cancer",
            "radius-drift",
            metric="drift_share",
            threshold=0.2,
            window_seconds=3600,
            min_samples=100,
            webhooks=[hook.url],
        )
        log_rows(registry, frame, T0, scale=1.6, prefix="d")  # injected drift
        first = registry.alerts.check(now=T0 + timedelta(minutes=30), retry=FAST)
        again = registry.alerts.check(now=T0 + timedelta(minutes=40), retry=FAST)
        log_rows(registry, frame, T0 + timedelta(hours=2), prefix="ok")  # back to normal
        recovered = registry.alerts.check(now=T0 + timedelta(hours=2, minutes=30), retry=FAST)
        bodies = hook.wait_for(2)

    [evaluation] = first.evaluations
    assert evaluation.breached is True and evaluation.value is not None
    assert evaluation.value >= 0.2 and "mean radius" in evaluation.detail["drifted_columns"]
    [fired] = first.transitions
    assert fired.state is AlertState.FIRING and fired.rule == rule.name
    assert [d.delivered for d in fired.deliveries] == [True]
    assert again.transitions == () and [a.id for a in again.firing] == [fired.id]
    [resolved] = recovered.transitions
    assert resolved.id == fired.id and resolved.state is AlertState.RESOLVED
    assert recovered.firing == ()
    assert [b["event"] for b in bodies] == ["firing", "resolved"]
    assert bodies[0]["alert"]["metric"] == "drift_share"
    assert bodies[0]["rule"]["name"] == "radius-drift"
    assert "cancer: drift_share" in bodies[0]["summary"]
    history = registry.alerts.history(endpoint="cancer", state=None)
    assert [a.id for a in history] == [fired.id]
    assert [d.event for d in history[0].deliveries] == [AlertState.FIRING, AlertState.RESOLVED]
    actions = [e.action for e in registry.audit_entries(limit=20)]
    assert "alert.fire" in actions and "alert.resolve" in actions
    assert "alert_rule.create" in actions


def test_an_empty_window_neither_fires_nor_resolves(
    cancer_registry: Registry, model_dir: Path
) -> None:
    registry = cancer_registry
    frame = pd.read_csv(model_dir / "sample.csv").sample(150, random_state=3)
    registry.alerts.add_rule(
        "cancer", "drift", metric="drifted_columns", threshold=1, window_seconds=600, min_samples=50
    )
    log_rows(registry, frame, T0, scale=2.0)
    assert len(registry.alerts.check(now=T0 + timedelta(minutes=5)).transitions) == 1
    later = registry.alerts.check(now=T0 + timedelta(hours=5))  # nothing logged since
    [evaluation] = later.evaluations
    assert evaluation.breached is None and "logged no prediction" in (evaluation.reason or "")
    assert later.transitions == () and len(later.firing) == 1


def test_too_few_rows_is_not_a_verdict(cancer_registry: Registry, model_dir: Path) -> None:
    registry = cancer_registry
    frame = pd.read_csv(model_dir / "sample.csv").head(20)
    registry.alerts.add_rule("cancer", "drift", metric="drift_share", threshold=0.1)
    log_rows(registry, frame, T0, scale=3.0)
    [evaluation] = registry.alerts.check(now=T0 + timedelta(minutes=1)).evaluations
    assert evaluation.breached is None
    assert evaluation.reason == "not enough data: 20 rows in the window, the rule needs 100"


def test_accuracy_and_fairness_rules_read_late_feedback(
    cancer_registry: Registry, model_dir: Path
) -> None:
    registry = cancer_registry
    frame = pd.read_csv(model_dir / "sample.csv").head(200)
    groups = ["north" if i % 2 else "south" for i in range(len(frame))]
    ids = log_rows(registry, frame, T0, groups=groups)
    truth = frame["target"].astype(int).tolist()
    # Late labels: the model is wrong on every third southern row.
    labels = [
        1 - t if g == "south" and i % 3 == 0 else t
        for i, (t, g) in enumerate(zip(truth, groups, strict=True))
    ]
    FeedbackStore(registry.settings.home / "logs", "w1").write(
        FeedbackBatch("cancer", ids, labels, [0] * len(ids)), actor="test"
    )
    registry.alerts.add_rule(
        "cancer", "accuracy", metric="accuracy", comparison="below", threshold=0.9,
        min_samples=50,
    )  # fmt: skip
    registry.alerts.add_rule(
        "cancer", "parity", metric="equalized_odds_difference", threshold=0.1,
        sensitive="group", min_samples=50,
    )  # fmt: skip
    registry.alerts.add_rule(
        "cancer", "coverage", metric="label_coverage", comparison="below", threshold=0.5
    )
    result = registry.alerts.check(now=T0 + timedelta(minutes=10))
    by_rule = {e.rule.name: e for e in result.evaluations}
    expected_accuracy = np.mean(np.array(labels) == np.array(truth))
    assert by_rule["accuracy"].value == pytest.approx(expected_accuracy)
    assert by_rule["accuracy"].breached is True
    assert by_rule["parity"].breached is True and by_rule["parity"].samples == 200
    assert by_rule["coverage"].value == pytest.approx(1.0) and by_rule["coverage"].breached is False
    assert sorted(a.rule for a in result.firing) == ["accuracy", "parity"]


def test_webhooks_are_retried_with_backoff_and_failures_recorded(
    cancer_registry: Registry, model_dir: Path
) -> None:
    registry = cancer_registry
    frame = pd.read_csv(model_dir / "sample.csv").head(120)
    with webhook_receiver() as flaky, webhook_receiver() as slow, webhook_receiver() as gone:
        flaky.statuses = [503, 502]  # then 200
        slow.delay = 2.0  # longer than the 0.5 s time-out
        gone.statuses = [404]
        registry.alerts.add_rule(
            "cancer",
            "traffic",
            metric="predictions",
            threshold=100,
            webhooks=[flaky.url, slow.url, gone.url],
        )
        log_rows(registry, frame, T0)
        started = time.monotonic()
        [alert] = registry.alerts.check(now=T0 + timedelta(minutes=1), retry=FAST).transitions
        took = time.monotonic() - started
    by_target = {d.target: d for d in alert.deliveries}
    assert (by_target[flaky.url].delivered, by_target[flaky.url].attempts) == (True, 3)
    assert by_target[slow.url].delivered is False and by_target[slow.url].attempts == 3
    assert "no answer" in (by_target[slow.url].error or "")
    assert by_target[gone.url].attempts == 1 and by_target[gone.url].status == 404
    assert "not retried" in (by_target[gone.url].error or "")
    assert took < 10  # three 0.5 s time-outs and short waits, not the server's delay
    assert len(flaky.received) == 3


def test_a_command_gets_the_alert_on_stdin(
    cancer_registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    registry = cancer_registry
    out = tmp_path / "alert.json"
    script = tmp_path / "retrain.py"
    script.write_text(
        "import sys, pathlib\npathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())\n"
    )
    registry.alerts.add_rule("cancer", "quiet", metric="predictions", comparison="below",
                             threshold=10, window_seconds=60)  # fmt: skip
    command = f"{sys.executable} {script} {out}"
    [alert] = registry.alerts.check(now=T0, command=command).transitions
    assert json.loads(out.read_text())["alert"]["metric"] == "predictions"
    [delivery] = alert.deliveries
    assert (delivery.kind, delivery.delivered, delivery.status) == ("command", True, 0)

    registry.alerts.delete_rule("cancer", "quiet")
    registry.alerts.add_rule("cancer", "quiet2", metric="predictions", comparison="below",
                             threshold=10, window_seconds=60)  # fmt: skip
    failing = f"{sys.executable} -c 'import sys; sys.exit(\"retraining is off\")'"
    [alert] = registry.alerts.check(now=T0, command=failing).transitions
    [delivery] = alert.deliveries
    assert delivery.delivered is False and delivery.status == 1
    assert "retraining is off" in (delivery.error or "")


def test_two_checkers_fire_a_rule_once(cancer_registry: Registry) -> None:
    registry = cancer_registry
    rule = registry.alerts.add_rule("cancer", "quiet", metric="predictions",
                                    comparison="below", threshold=10)  # fmt: skip
    with registry.store.session(write=True) as s:
        first = s.alerts.fire(rule, value=0.0, samples=0, detail={}, at=T0)
        second = s.alerts.fire(rule, value=0.0, samples=0, detail={}, at=T0)
        assert first is not None and second is None
        assert s.alerts.resolve(first.id, value=20.0, at=T0) is not None
        assert s.alerts.resolve(first.id, value=20.0, at=T0) is None


def test_leases_have_one_holder_until_they_expire(registry: Registry) -> None:
    with registry.store.session(write=True) as s:
        assert s.leases.acquire("monitor", "a", ttl=60, now=T0)
        assert not s.leases.acquire("monitor", "b", ttl=60, now=T0 + timedelta(seconds=30))
        assert s.leases.acquire("monitor", "a", ttl=60, now=T0 + timedelta(seconds=30))
        assert s.leases.acquire("monitor", "b", ttl=60, now=T0 + timedelta(seconds=91))
        s.leases.release("monitor", "b")
        assert s.leases.acquire("monitor", "a", ttl=60, now=T0 + timedelta(seconds=92))


def test_bad_rules_are_refused_with_what_to_do(cancer_registry: Registry) -> None:
    alerts = cancer_registry.alerts
    with pytest.raises(InvalidInputError, match="Did you mean drift_share"):
        alerts.add_rule("cancer", "x", metric="drift_shar", threshold=0.5)
    with pytest.raises(InvalidInputError, match="name the sensitive attribute"):
        alerts.add_rule("cancer", "x", metric="demographic_parity_difference", threshold=0.1)
    with pytest.raises(InvalidInputError, match="fairness metrics only"):
        alerts.add_rule("cancer", "x", metric="accuracy", threshold=0.1, sensitive="group")
    with pytest.raises(InvalidInputError, match="not an http"):
        alerts.add_rule("cancer", "x", metric="accuracy", threshold=0.1, webhooks=["ftp://h/x"])
    with pytest.raises(InvalidInputError, match="comparison must be"):
        alerts.add_rule("cancer", "x", metric="accuracy", threshold=0.1, comparison="over")
    with pytest.raises(InvalidInputError, match="finite"):
        alerts.add_rule("cancer", "x", metric="accuracy", threshold=float("nan"))
    with pytest.raises(InvalidInputError, match="at most 90 days"):
        alerts.add_rule("cancer", "x", metric="accuracy", threshold=0.1, window_seconds=1e9)
    with pytest.raises(InvalidInputError, match="not valid"):
        alerts.add_rule("cancer", "Bad Name", metric="accuracy", threshold=0.1)
    with pytest.raises(EndpointNotFoundError, match="endpoints list"):
        alerts.add_rule("nope", "x", metric="accuracy", threshold=0.1)
    alerts.add_rule("cancer", "x", metric="accuracy", threshold=0.1)
    with pytest.raises(ConflictError, match="already has an alert rule named 'x'"):
        alerts.add_rule("cancer", "x", metric="f1", threshold=0.1)
    with pytest.raises(AlertRuleNotFoundError, match="alerts rules cancer"):
        alerts.delete_rule("cancer", "y")
    assert [r.name for r in alerts.rules("cancer")] == ["x"]


def test_a_rule_deleted_while_it_is_checked_raises_nothing(
    cancer_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = cancer_registry
    registry.alerts.add_rule("cancer", "quiet", metric="predictions", comparison="below",
                             threshold=10)  # fmt: skip
    from shipyard.registry import alert_checks

    real = alert_checks.evaluate

    def evaluate_then_delete(rule: Any, reports: Any) -> Any:
        found = real(rule, reports)
        registry.alerts.delete_rule("cancer", "quiet")  # someone deletes it meanwhile
        return found

    monkeypatch.setattr(alert_checks, "evaluate", evaluate_then_delete)
    result = registry.alerts.check(now=T0)
    assert result.evaluations[0].breached is True
    assert result.transitions == () and result.firing == ()  # nothing left firing forever
    assert registry.alerts.history() == []


def test_a_webhook_that_missed_an_event_gets_it_later(
    cancer_registry: Registry,
) -> None:
    from shipyard.registry.alert_delivery import Dispatcher

    registry = cancer_registry
    with webhook_receiver() as hook:
        hook.statuses = [503, 503, 503]  # down for the whole first series
        registry.alerts.add_rule("cancer", "quiet", metric="predictions", comparison="below",
                                 threshold=10, window_seconds=60, webhooks=[hook.url])  # fmt: skip
        [alert] = registry.alerts.check(retry=FAST).transitions
        assert [d.delivered for d in alert.deliveries] == [False]
        dispatcher = Dispatcher(registry, command=None, retry=FAST)
        assert dispatcher.redeliver(registry.now()) == 0  # too soon: waits a minute first
        assert dispatcher.redeliver(registry.now() + timedelta(minutes=2)) == 1
        assert dispatcher.redeliver(registry.now() + timedelta(minutes=30)) == 0  # delivered
        bodies = hook.wait_for(4)
    [stored] = registry.alerts.history()
    assert [d.delivered for d in stored.deliveries] == [False, True]
    assert bodies[-1]["event"] == "firing" and bodies[-1]["alert"]["id"] == alert.id
