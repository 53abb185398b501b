"""Registry use cases end to end on SQLite and PostgreSQL with real files and models."""

from __future__ import annotations

import hashlib
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from shipyard.core.errors import (
    ArtifactNotFoundError,
    ConflictError,
    DataFileError,
    IntegrityError,
    InvalidInputError,
    InvalidNameError,
    InvalidTransitionError,
    SampleDataMismatchError,
)
from shipyard.core.settings import Settings
from shipyard.core.types import Status
from shipyard.flavors import Batch
from shipyard.registry import Registry
from shipyard.registry.scoring import score_file
from tests.fixtures.git import make_git_repo
from tests.fixtures.models import FEATURES_SMALL
from tests.integration.race_worker import register_when_started


def test_register_records_full_lineage_signature_and_profile(
    registry: Registry, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = make_git_repo(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    result = registry.register(
        "cancer",
        model_dir / "model.skops",
        sample_data=model_dir / "sample_with_group.csv",
        target="target",
        sensitive=["group"],
        metrics={"accuracy": 0.91},
        params={"C": 1.0},
        data_version="2026-11",
        trained_at=datetime(2026, 11, 1, tzinfo=UTC),
        description="desc",
        intended_use="use",
        limitations="lim",
        notes="notes",
        owner="risk-team",
    )
    v = result.version
    assert result.created_model and v.version == 1 and v.status == Status.REGISTERED
    assert v.flavor == "sklearn"
    assert v.lineage.code_commit == commit and v.lineage.code_dirty is False
    expected = hashlib.sha256((model_dir / "sample_with_group.csv").read_bytes()).hexdigest()
    assert v.lineage.data_sha256 == expected
    assert v.lineage.params == {"C": "1.0"} and v.lineage.metrics == {"accuracy": 0.91}
    assert v.lineage.trained_at == datetime(2026, 11, 1, tzinfo=UTC)
    assert v.card.intended_use == "use" and v.owner == "risk-team" and v.created_by == "test:alice"
    assert v.signature is not None
    assert v.signature.input_names == FEATURES_SMALL  # group and target are not inputs
    assert v.signature.classes == (0, 1)
    columns = v.reference_profile["columns"]
    assert columns["target"]["role"] == "target"
    assert columns["group"]["role"] == "sensitive"
    assert columns["group"]["frequencies"] == {"a": 285, "b": 284}
    assert columns["prediction"]["role"] == "prediction"
    radius = columns["mean radius"]
    data = pd.read_csv(model_dir / "sample.csv")["mean radius"]
    assert radius["count"] == 569 and radius["missing"] == 0
    assert radius["mean"] == pytest.approx(data.mean())
    assert radius["quantiles"]["0.5"] == pytest.approx(data.median())
    assert sum(radius["histogram"]["counts"]) == 569
    # The bounded reference sample is stored as an artifact and reads back.
    assert v.reference_sample is not None
    sample = registry.artifacts.fetch(v.reference_sample.sha256, tmp_path / "ref.parquet")
    assert pq.read_table(sample).num_rows == 569
    entries = registry.audit_entries()
    assert [e.action for e in entries[:2]] == ["version.register", "model.create"]
    assert entries[0].details["artifact_sha256"] == v.artifact.sha256


def test_versions_increment_and_load_predicts(registry: Registry, model_dir: Path) -> None:
    for _ in range(3):
        registry.register("m", model_dir / "model.skops")
    assert [v.version for v in registry.list_versions("m")] == [3, 2, 1]
    loaded = registry.load("m:2")
    frame = pd.read_csv(model_dir / "to_score.csv")
    predictions = loaded.predictor.predict(Batch.from_matrix(frame.to_numpy(), FEATURES_SMALL))
    assert predictions.shape == (569,) and set(np.unique(predictions)) <= {0, 1}
    assert registry.get_version("m").version == 3  # NAME means latest


def test_promotion_moves_keep_one_production_and_full_history(
    registry: Registry, model_dir: Path
) -> None:
    for _ in range(2):
        registry.register("m", model_dir / "model.skops")
    registry.promote("m:1", "staging", reason="qa")
    registry.promote("m:1", "production", reason="go")
    assert registry.get_version("m:production").version == 1
    second = registry.promote("m:2", "production", reason="better")
    assert second.status == Status.PRODUCTION and second.production_since is not None
    first = registry.get_version("m:1")
    assert first.status == Status.ARCHIVED and first.production_since is None
    moves = [(h.version, h.from_status, h.to_status, h.reason) for h in registry.history("m")]
    assert moves == [
        (1, None, Status.REGISTERED, "registered"),
        (2, None, Status.REGISTERED, "registered"),
        (1, Status.REGISTERED, Status.STAGING, "qa"),
        (1, Status.STAGING, Status.PRODUCTION, "go"),
        (1, Status.PRODUCTION, Status.ARCHIVED, "replaced in production by version 2"),
        (2, Status.REGISTERED, Status.PRODUCTION, "better"),
    ]
    # Rolling back is promoting the archived version again.
    registry.promote("m:1", "production", reason="rollback")
    assert registry.get_model("m").production_version == 1
    promotions = registry.audit_entries(action="version.promote")
    assert promotions[0].details == {
        "from": "archived",
        "to": "production",
        "reason": "rollback",
        "replaced_version": 2,
    }


def test_promotion_errors(registry: Registry, model_dir: Path) -> None:
    registry.register("m", model_dir / "model.skops")
    registry.promote("m:1", "staging")
    with pytest.raises(InvalidTransitionError, match="m:1 is already in staging"):
        registry.promote("m:1", "staging")
    registry.promote("m:1", "rejected")
    with pytest.raises(InvalidTransitionError, match="cannot move from rejected"):
        registry.promote("m:1", "production")
    with pytest.raises(InvalidInputError, match="Unknown status 'prod'"):
        registry.promote("m:1", "prod")
    with pytest.raises(InvalidInputError, match="exact version"):
        registry.promote("m", "staging")
    with pytest.raises(ConflictError, match="no version in production"):
        registry.get_version("m:production")


@pytest.mark.parametrize("name", ["Bad Name", "-x", "a" * 65, "ünï", ""])
def test_invalid_model_names_are_refused(registry: Registry, model_dir: Path, name: str) -> None:
    with pytest.raises(InvalidNameError, match="Invalid model name"):
        registry.register(name, model_dir / "model.skops")
    assert registry.list_models() == []


def test_sample_data_that_does_not_fit_is_refused_and_nothing_is_written(
    registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.csv"
    pd.read_csv(model_dir / "sample.csv").rename(columns={"mean radius": "radius"}).to_csv(
        wrong, index=False
    )
    with pytest.raises(
        SampleDataMismatchError, match="missing columns the model needs: mean radius"
    ):
        registry.register("m", model_dir / "model.skops", sample_data=wrong, target="target")
    with pytest.raises(SampleDataMismatchError, match="no column 'label'"):
        registry.register(
            "m", model_dir / "model.skops", sample_data=model_dir / "sample.csv", target="label"
        )
    text = tmp_path / "text.csv"
    pd.read_csv(model_dir / "to_score.csv").assign(**{"mean radius": "big"}).to_csv(
        text, index=False
    )
    with pytest.raises(SampleDataMismatchError, match="failed to predict"):
        registry.register("m", model_dir / "model.skops", sample_data=text)
    numpy_model = model_dir / "numpy_model.skops"
    with pytest.raises(
        SampleDataMismatchError, match="has 5 feature columns but the model expects 4"
    ):
        registry.register("m", numpy_model, sample_data=model_dir / "sample.csv")
    with pytest.raises(DataFileError, match="unsupported data file type"):
        registry.register("m", numpy_model, sample_data=model_dir / "model.skops")
    assert registry.list_models() == []
    assert registry.audit_entries(action="version.register") == []


def test_missing_artifact_is_a_clear_error(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotFoundError, match="does not exist"):
        registry.register("m", tmp_path / "nope.skops")


def test_tampered_artifact_is_never_loaded(
    registry: Registry, model_dir: Path, settings: Settings
) -> None:
    version = registry.register("m", model_dir / "model.skops").version
    sha = version.artifact.sha256
    blob = Path(settings.artifact_uri) / "sha256" / sha[:2] / sha
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes() + b"tampered")
    with pytest.raises(IntegrityError) as caught:
        registry.load("m:1")
    assert f"expected SHA-256 {sha}" in caught.value.message
    assert "got " in caught.value.message and "model was not loaded" in caught.value.message


def test_directory_artifacts_are_packed_and_restored(registry: Registry, model_dir: Path) -> None:
    first = registry.register("scaled", model_dir / "dir_model").version
    second = registry.register("scaled", model_dir / "dir_model").version
    assert first.artifact.filename == "dir_model/"
    assert first.artifact.sha256 == second.artifact.sha256  # deterministic packing
    loaded = registry.load("scaled:1")
    out = loaded.predictor.predict(Batch({"a": np.array([1.0]), "b": np.array([2.0])}))
    assert out.tolist() == [6.0]


def test_batch_scoring_writes_predictions_and_probabilities(
    registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    registry.register(
        "m", model_dir / "model.skops", sample_data=model_dir / "sample.csv", target="target"
    )
    out = tmp_path / "scored.parquet"
    summary = score_file(registry.load("m:1"), model_dir / "to_score.csv", out, chunk_rows=100)
    scored = pq.read_table(out).to_pandas()
    assert summary.rows == 569 and len(scored) == 569
    assert list(scored.columns) == [*FEATURES_SMALL, "prediction", "proba_0", "proba_1"]
    assert np.allclose(scored["proba_0"] + scored["proba_1"], 1.0)


def test_scoring_a_file_without_the_features_fails_cleanly(
    registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    registry.register(
        "m", model_dir / "model.skops", sample_data=model_dir / "sample.csv", target="target"
    )
    partial = tmp_path / "partial.csv"
    pd.read_csv(model_dir / "to_score.csv").drop(columns=["mean area"]).to_csv(partial, index=False)
    out = tmp_path / "out.csv"
    with pytest.raises(DataFileError, match="lacks columns m:1 needs: mean area"):
        score_file(registry.load("m:1"), partial, out)
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))


@pytest.mark.slow
def test_eight_processes_registering_at_once_get_versions_1_to_8(
    registry: Registry, settings: Settings, model_dir: Path
) -> None:
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    # A python-flavor model keeps each worker's start-up cheap; the race is in the store.
    workers = [
        context.Process(
            target=register_when_started,
            args=(settings, str(model_dir / "sum_model.py"), start, results),
        )
        for _ in range(8)
    ]
    for worker in workers:
        worker.start()
    start.set()
    numbers = sorted(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert numbers == list(range(1, 9))
    assert sorted(v.version for v in registry.list_versions("race")) == list(range(1, 9))
    assert registry.verify_audit().ok  # the hash chain did not fork under concurrency
    assert len(registry.audit_entries(action="version.register")) == 8
