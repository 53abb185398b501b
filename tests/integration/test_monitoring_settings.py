"""Per-model monitoring settings on SQLite and PostgreSQL: stored with history and audited, and
taken by real reports over real log segments (written by the server's log sink) and feedback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from shipyard.core.errors import ModelNotFoundError, MonitoringSettingsError
from shipyard.monitoring.drift import DriftOptions, Method
from shipyard.monitoring.settings import MonitoringSettings
from shipyard.registry import Registry
from shipyard.registry.analysis import drift_report, fairness_report, performance_report
from shipyard.serving.feedback import FeedbackBatch, FeedbackStore
from shipyard.serving.logsink import PredictionLogSink, PredictionRecord
from shipyard.store.schema import models
from shipyard.store.schema import monitoring_settings as table
from tests.fixtures.models import FEATURES_SMALL

RADIUS = "mean radius"
PSI_05 = f"drift:\n  columns:\n    {RADIUS}: {{method: psi, threshold: 0.5}}\n"
PSI_DEFAULT = f"drift:\n  columns:\n    {RADIUS}: {{method: psi}}\n"


@pytest.fixture
def cancer(registry: Registry, model_dir: Path) -> Registry:
    registry.register(
        "cancer", model_dir / "model.skops", sample_data=model_dir / "sample.csv", target="target"
    )
    registry.promote("cancer:1", "production")
    return registry


def log_rows(registry: Registry, frame: pd.DataFrame, *, scale: float = 1.0) -> None:
    """One logged prediction per row, now, ``mean radius`` times ``scale``; a ``group`` each
    (``north``/``south`` taking turns), and feedback with the true label for every row."""
    logs = registry.settings.home / "logs"
    sink = PredictionLogSink(logs, worker_id="w1")
    sink.start()
    now = datetime.now(UTC).timestamp()
    ids, labels = [], []
    for i, row in enumerate(frame.to_dict(orient="records")):
        inputs = {name: np.array([float(row[name])]) for name in FEATURES_SMALL}
        inputs[RADIUS] = inputs[RADIUS] * scale
        ids.append(f"r{i}")
        labels.append(int(row["target"]))
        sink.log(
            PredictionRecord(
                request_id=ids[-1],
                time=now - 60 + i * 0.001,
                endpoint="cancer",
                model="cancer",
                version=1,
                inputs=inputs,
                predictions=np.array([int(row["target"])]),
                probabilities=None,
                latency_ms=1.0,
                metadata={"group": "north" if i % 2 else "south"},
            )
        )
    sink.flush(timeout=10)
    sink.close(timeout=10)
    FeedbackStore(logs, "w1").write(
        FeedbackBatch("cancer", ids, labels, [0] * len(ids)), actor="test"
    )


def test_settings_are_stored_as_revisions_with_history_and_audit(cancer: Registry) -> None:
    service = cancer.monitoring_settings
    assert service.current("cancer") is None and service.history("cancer") == []
    assert service.settings("cancer") == MonitoringSettings.default()

    first = service.set("cancer", PSI_05)
    second = service.set("cancer", "performance:\n  min_rows: 50\n", source="perf.yaml")
    assert (first.revision, second.revision) == (1, 2)
    assert (second.model, second.actor, second.text) == (
        "cancer",
        "test:alice",
        "performance:\n  min_rows: 50\n",
    )
    assert service.current("cancer") == second
    assert [r.revision for r in service.history("cancer")] == [2, 1]
    assert service.history("cancer")[1] == first
    assert service.settings("cancer").performance_min_rows == 50
    assert service.settings("cancer").drift == DriftOptions()  # revision 2 replaced all of 1

    [entry, older] = cancer.audit_entries(action="monitoring_settings.set", limit=5)
    assert (entry.target, entry.actor) == ("cancer", "test:alice")
    assert entry.details == {"revision": 2, "text": "performance:\n  min_rows: 50\n"}
    assert older.details["revision"] == 1
    assert cancer.verify_audit().ok


def test_a_bad_file_or_an_unknown_column_stores_nothing(cancer: Registry) -> None:
    service = cancer.monitoring_settings
    with pytest.raises(MonitoringSettingsError, match=r"^s\.yaml line 2: drift\.min_rows: "):
        service.set("cancer", "drift:\n  min_rows: -1\n", source="s.yaml")
    with pytest.raises(MonitoringSettingsError) as caught:
        service.set("cancer", "drift:\n  columns:\n    mean radus: {method: psi}\n")
    assert caught.value.message == (
        "monitoring settings line 3: drift.columns.mean radus: unknown column 'mean radus' (did "
        "you mean 'mean radius'?); the columns cancer takes: mean radius, mean texture, mean "
        "perimeter, mean area, prediction"
    )
    assert service.history("cancer") == []
    assert cancer.audit_entries(action="monitoring_settings.set") == []
    service.set("cancer", "drift:\n  columns:\n    prediction: {method: chisquare}\n")


def test_an_unknown_model_is_named(cancer: Registry) -> None:
    for call in (
        lambda: cancer.monitoring_settings.set("nope", "{}"),
        lambda: cancer.monitoring_settings.history("nope"),
        lambda: cancer.monitoring_settings.current("nope"),
    ):
        with pytest.raises(ModelNotFoundError, match="No model named 'nope'"):
            call()


def test_the_database_refuses_a_second_row_with_the_same_revision(cancer: Registry) -> None:
    cancer.monitoring_settings.set("cancer", "{}")
    engine = sa.create_engine(cancer.settings.database_url)
    try:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            model_id = connection.execute(
                sa.select(models.c.id).where(models.c.name == "cancer")
            ).scalar_one()
            connection.execute(
                table.insert().values(
                    model_id=model_id, revision=1, text="{}", actor="x", at=datetime.now(UTC)
                )
            )
    finally:
        engine.dispose()


def test_a_per_column_method_and_threshold_change_a_real_drift_report(
    cancer: Registry, model_dir: Path
) -> None:
    frame = pd.read_csv(model_dir / "sample.csv").sample(300, random_state=2)
    log_rows(cancer, frame, scale=1.1)  # mean radius 10% larger

    default = drift_report(cancer, "cancer").report.column(RADIUS)
    assert (default.method, default.threshold, default.drifted) == (Method.KS, 0.05, True)

    cancer.monitoring_settings.set("cancer", PSI_05)
    loose = drift_report(cancer, "cancer").report
    radius = loose.column(RADIUS)
    assert (radius.method, radius.threshold) == (Method.PSI, 0.5)
    assert radius.statistic is not None and 0.1 < radius.statistic < 0.5
    assert radius.drifted is False and loose.drifted_columns == 0
    assert loose.column("mean texture").method is Method.KS  # other columns: automatic

    cancer.monitoring_settings.set("cancer", PSI_DEFAULT)  # PSI's own threshold, 0.1
    strict = drift_report(cancer, "cancer").report.column(RADIUS)
    assert (strict.method, strict.threshold, strict.drifted) == (Method.PSI, 0.1, True)
    assert strict.statistic == radius.statistic


def test_dataset_share_kind_defaults_and_min_rows_come_from_the_settings(
    cancer: Registry, model_dir: Path
) -> None:
    frame = pd.read_csv(model_dir / "sample.csv").sample(300, random_state=2)
    log_rows(cancer, frame, scale=1.1)
    before = drift_report(cancer, "cancer").report
    assert before.drifted_columns == 1 and before.evaluated_columns == 5
    assert (before.dataset_drift, before.drift_share_threshold) == (False, 0.5)
    assert before.column("prediction").method is Method.Z  # binary: automatic choice

    cancer.monitoring_settings.set(
        "cancer", "drift:\n  drift_share: 0.2\n  categorical: {method: chisquare}\n"
    )
    after = drift_report(cancer, "cancer").report
    assert (after.dataset_drift, after.drift_share_threshold) == (True, 0.2)
    assert after.column("prediction").method is Method.CHISQUARE

    cancer.monitoring_settings.set("cancer", "drift:\n  min_rows: 301\n")
    starved = drift_report(cancer, "cancer").report
    assert starved.evaluated_columns == 0 and starved.dataset_drift is None
    assert "at least 301 of each are needed" in starved.column(RADIUS).detail


def test_an_explicit_argument_still_wins_over_the_settings(
    cancer: Registry, model_dir: Path
) -> None:
    frame = pd.read_csv(model_dir / "sample.csv").sample(300, random_state=2)
    log_rows(cancer, frame)
    cancer.monitoring_settings.set(
        "cancer",
        "drift:\n  evidently: true\nperformance:\n  min_rows: 500\nfairness:\n"
        "  min_group_rows: 200\n",
    )
    assert performance_report(cancer, "cancer").min_rows == 500
    assert performance_report(cancer, "cancer", min_rows=5).min_rows == 5
    fair = fairness_report(cancer, "cancer", "group")
    assert fair.min_group_rows == 200 and all(g.is_small for g in fair.groups)
    explicit = fairness_report(cancer, "cancer", "group", min_group_rows=10)
    assert explicit.min_group_rows == 10 and not any(g.is_small for g in explicit.groups)
    # The same drift numbers either way here (no column takes a chi-square); what is checked
    # is that the explicit False reaches the engine without an error and the setting is read.
    assert cancer.monitoring_settings.settings("cancer").drift.evidently_compatible is True
    drift_report(cancer, "cancer", evidently_compatible=False)


def test_columns_a_version_lacks_are_skipped_not_an_error(
    cancer: Registry, model_dir: Path
) -> None:
    # Version 2 takes other inputs (a, b); settings may name them while version 1 serves.
    cancer.register("cancer", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    cancer.monitoring_settings.set("cancer", "drift:\n  columns:\n    a: {method: psi}\n")
    frame = pd.read_csv(model_dir / "sample.csv").sample(100, random_state=1)
    log_rows(cancer, frame)
    report = drift_report(cancer, "cancer").report  # version 1: no column 'a'
    assert "a" not in [c.column for c in report.columns] and report.evaluated_columns == 5
