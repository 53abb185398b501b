"""Bad inputs and races found in review: each must give a clear error or a consistent state."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.core.errors import (
    ArtifactNotFoundError,
    DataFileError,
    InvalidInputError,
    InvalidNameError,
)
from shipyard.core.settings import Settings
from shipyard.registry import Registry
from shipyard.registry.lineage import git_state
from shipyard.registry.scoring import score_file
from tests.fixtures.git import make_git_repo
from tests.integration.race_worker import initialise_when_started


def test_non_finite_metrics_are_refused(registry: Registry, model_dir: Path) -> None:
    for value in (float("nan"), float("inf")):
        with pytest.raises(InvalidInputError, match="'auc' is not a finite number"):
            registry.register("m", model_dir / "model.skops", metrics={"auc": value})
    assert registry.list_models() == []


def test_huge_sample_values_profile_without_infinities(
    registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    frame = pd.read_csv(model_dir / "sample.csv")
    frame.loc[:4, "mean area"] = 1e307
    frame.loc[5:9, "mean area"] = -1e307
    huge = tmp_path / "huge.csv"
    frame.to_csv(huge, index=False)
    version = registry.register("m", model_dir / "model.skops", sample_data=huge, target="target")
    area = version.version.reference_profile["columns"]["mean area"]
    assert area["std"] is None and area["max"] == 1e307  # overflowed statistic → None


def test_missing_training_data_is_refused_before_anything_is_stored(
    registry: Registry, model_dir: Path, settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match=r"Training data file .* does not exist"):
        registry.register("m", model_dir / "model.skops", training_data=tmp_path / "nope.csv")
    assert not Path(settings.artifact_uri).exists() or not any(
        p.is_file() for p in Path(settings.artifact_uri).rglob("*")
    )


def test_name_with_trailing_newline_is_refused(registry: Registry, model_dir: Path) -> None:
    with pytest.raises(InvalidNameError):
        registry.register("m2\n", model_dir / "model.skops")


def test_device_files_are_not_artifacts(registry: Registry) -> None:
    with pytest.raises(ArtifactNotFoundError, match="neither a regular file nor a directory"):
        registry.register("m", Path("/dev/null"))


def test_nested_columns_are_refused(registry: Registry, model_dir: Path, tmp_path: Path) -> None:
    table = pa.Table.from_pandas(pd.read_csv(model_dir / "sample.csv"))
    nested = table.append_column("tags", pa.array([["a"]] * table.num_rows))
    path = tmp_path / "nested.parquet"
    pq.write_table(nested, path)
    with pytest.raises(DataFileError, match=r"Column 'tags' of nested\.parquet is nested"):
        registry.register(
            "m", model_dir / "model.skops", sample_data=path, target="target", sensitive=["tags"]
        )


def test_directory_artifact_named_after_the_real_directory(
    registry: Registry, model_dir: Path, settings: Settings, tmp_path: Path
) -> None:
    scorer = tmp_path / "scorer"
    shutil.copytree(model_dir / "dir_model", scorer)
    (scorer / "sub").mkdir()
    version = registry.register("d", scorer / "sub" / "..").version
    assert version.artifact.filename == "scorer/"
    stale = settings.cache_dir / "artifacts" / version.artifact.sha256 / "tree-999999999-x"
    stale.mkdir(parents=True)
    registry.load("d:1")
    assert not stale.exists()  # trees of exited processes are cleaned up


def test_git_remote_credentials_are_not_recorded(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_git_repo(repo, remote="https://alice:ghp_SECRET@github.com/acme/m.git")
    state = git_state(repo)
    assert state is not None and state.repository == "https://github.com/acme/m.git"


def test_scoring_errors_name_the_rows(registry: Registry, model_dir: Path, tmp_path: Path) -> None:
    registry.register(
        "m", model_dir / "model.skops", sample_data=model_dir / "sample.csv", target="target"
    )
    loaded = registry.load("m:1")
    frame = pd.read_csv(model_dir / "to_score.csv")
    frame["mean radius"] = frame["mean radius"].astype(object)
    frame.loc[150, "mean radius"] = "oops"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(DataFileError, match="conversion error to double: invalid value 'oops'"):
        score_file(loaded, bad, tmp_path / "out.csv", chunk_rows=100)
    nan = tmp_path / "nan.csv"
    pd.read_csv(model_dir / "to_score.csv").assign(**{"mean area": np.nan}).to_csv(nan, index=False)
    with pytest.raises(DataFileError, match=r"failed on rows 1-100 of nan\.csv"):
        score_file(loaded, nan, tmp_path / "out.csv", chunk_rows=100)
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(frame.columns) + "\n")
    with pytest.raises(DataFileError, match="has no rows"):
        score_file(loaded, header_only, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_csv_column_types_come_from_the_signature(
    registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    # Arrow infers CSV types from the first 4 MB block: whole numbers there, then a 0.5 later.
    rows = 800_000
    sample = tmp_path / "ab_sample.csv"
    sample.write_text("a,b\n" + "".join(f"{i % 7}.5,1.0\n" for i in range(50)))
    big = tmp_path / "big.csv"
    big.write_text("a,b\n" + "3,1.0\n" * (rows - 1) + "0.5,1.0\n")
    assert big.stat().st_size > 4 * 1024 * 1024
    registry.register("sum", model_dir / "sum_model.py", sample_data=sample)
    summary = score_file(registry.load("sum:1"), big, tmp_path / "scored.parquet")
    assert summary.rows == rows
    assert pq.read_table(tmp_path / "scored.parquet").column("prediction")[-1].as_py() == 1.5


def test_scoring_without_a_signature_checks_the_column_count(
    registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    registry.register("np", model_dir / "numpy_model.skops")  # no sample data: no signature
    with pytest.raises(DataFileError, match="has 5 columns but np:1 expects 4"):
        score_file(registry.load("np:1"), model_dir / "sample.csv", tmp_path / "o.csv")


@pytest.mark.slow
def test_concurrent_first_time_setup_creates_one_admin_key(db_url: str, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path / "home", database_url=db_url, artifact_uri=str(tmp_path / "artifacts")
    )
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=initialise_when_started, args=(settings, start, results))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    start.set()
    created = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert sorted(created) == [False, False, False, True]
    with Registry.open(settings) as registry:
        assert [k.role.value for k in registry.list_keys()] == ["admin"]
        assert registry.verify_audit().ok
    assert os.environ.get("SHIPYARD_HOME") != str(settings.home)
