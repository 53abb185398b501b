"""Preparing a registration before anything is written.

Resolve the flavor, load the model, fit the sample data to it, infer the signature, profile the
reference data and stage the files.

Everything here works in a private temporary directory; nothing is visible to other users until
the registry stores the blobs and commits the version row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shipyard.artifacts.packing import DIRECTORY_SUFFIX, pack_directory
from shipyard.core.errors import SampleDataMismatchError, ShipyardError, UnsafeArtifactError
from shipyard.core.types import ColumnSpec, DType, Signature
from shipyard.flavors import Batch, Predictor, Trust, detect_flavor, get_flavor
from shipyard.flavors.detect import check_artifact_path
from shipyard.flavors.mlflow import read_mlflow_dir
from shipyard.flavors.pickle import PICKLE_REFUSED
from shipyard.registry.datafiles import read_table
from shipyard.registry.profiles import profile_table
from shipyard.registry.signatures import check_features, input_columns, output_signature

TRIAL_ROWS = 100
SCORING_CHUNK = 10_000
DEFAULT_REFERENCE_ROWS = 100_000
PREDICTION_COLUMN = "prediction"


@dataclass(slots=True)
class PreparedArtifact:
    """The model side of a registration."""

    flavor: str
    path: Path
    predictor: Predictor
    trust: Trust
    signature: Signature | None = None
    source: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PreparedSample:
    """The data side of a registration."""

    signature: Signature
    profile: dict[str, Any]
    sample_file: Path


def prepare_artifact(artifact: Path, flavor: str | None, trust: Trust) -> PreparedArtifact:
    """Resolve the flavor (MLflow directories to their inner model) and load the model.

    Raises:
        ArtifactNotFoundError, FlavorDetectionError, UnsafeArtifactError, ModelLoadError,
        MissingExtraError.
    """
    check_artifact_path(artifact)
    name = flavor or detect_flavor(artifact)
    source: dict[str, Any] = {}
    signature = None
    if name == "mlflow":
        imported = read_mlflow_dir(artifact)
        name, artifact, signature = imported.flavor, imported.model_path, imported.signature
        source = imported.source
    handler = get_flavor(name)
    if name == "pickle" and not trust.pickle:
        raise UnsafeArtifactError(PICKLE_REFUSED.format(name=artifact.name))
    predictor = handler.load(artifact, trust)
    prepared = PreparedArtifact(name, artifact, predictor, trust, signature, source)
    deprecation = getattr(predictor, "deprecation", None)
    if deprecation:
        prepared.warnings.append(str(deprecation))
    if signature is None and predictor.feature_names:
        # Without sample data, the model's own feature names are the best signature we have.
        prepared.signature = Signature(
            tuple(ColumnSpec(n, DType.DOUBLE) for n in predictor.feature_names),
            classes=tuple(predictor.classes) if predictor.classes is not None else None,
        )
    return prepared


def stage_artifact(prepared: PreparedArtifact, workdir: Path) -> tuple[Path, str]:
    """The file to store (directories packed as a deterministic tar) and its display name."""
    if prepared.path.is_dir():
        packed = pack_directory(prepared.path, workdir / "artifact.tar")
        # resolve(): "models/x/.." must be named after the real directory, never "..".
        return packed, prepared.path.resolve().name + DIRECTORY_SUFFIX
    return prepared.path, prepared.path.name


def prepare_sample(
    prepared: PreparedArtifact,
    sample_path: Path,
    *,
    target: str | None,
    sensitive: Sequence[str],
    reference_rows: int,
    workdir: Path,
) -> PreparedSample:
    """Check the sample fits the model, infer the signature, profile it and stage the sample.

    Raises:
        DataFileError: unreadable sample, or target/sensitive columns absent.
        SampleDataMismatchError: the columns do not fit the model, or it fails on them.
    """
    table = read_table(sample_path)
    source = f"Sample data {sample_path.name}"
    columns = table.column_names
    for label, wanted in (("--target", [target] if target else []), ("--sensitive", sensitive)):
        absent = [c for c in wanted if c not in columns]
        if absent:
            raise SampleDataMismatchError(
                f"{source} has no column {', '.join(map(repr, absent))} (given as {label}); "
                f"its columns are: {', '.join(columns)}."
            )
    predictor = prepared.predictor
    known = set(predictor.feature_names or ())
    # A sensitive column stays a feature only if the model says it takes it as input.
    excluded = {target} | {s for s in sensitive if s not in known}
    candidates = [c for c in columns if c not in excluded]
    features = check_features(candidates, predictor.feature_names, predictor.n_features, source)
    trial = Batch.from_arrow(table.slice(0, TRIAL_ROWS), features)
    predictions = _predict_checked(predictor, trial, source)

    signature = output_signature(input_columns(table, features), predictions, predictor.classes)
    sample = _bounded_sample(table, reference_rows)
    scored = _score(predictor, sample, features, source)
    prediction_name = PREDICTION_COLUMN
    while prediction_name in sample.column_names:
        prediction_name += "_"
    sample = sample.append_column(prediction_name, scored)

    roles = {name: "feature" for name in features}
    roles.update({name: "sensitive" for name in sensitive})
    if target:
        roles[target] = "target"
    roles[prediction_name] = "prediction"
    profile = profile_table(sample, roles)
    profile["source_rows"] = table.num_rows
    sample_file = workdir / "reference.parquet"
    pq.write_table(sample.select(list(roles)), sample_file)
    return PreparedSample(signature, profile, sample_file)


def _predict_checked(predictor: Predictor, batch: Batch, source: str) -> np.ndarray:
    try:
        predictions = predictor.predict(batch)
    except ShipyardError:
        raise
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SampleDataMismatchError(
            f"The model failed to predict on the first rows of {source.lower()}: {reason}. "
            "Check that the sample has the columns and types the model was trained on."
        ) from exc
    if len(predictions) != len(batch):
        raise SampleDataMismatchError(
            f"The model returned {len(predictions)} predictions for {len(batch)} rows of "
            f"{source.lower()}; a predictor must return one per row."
        )
    return predictions


def _bounded_sample(table: pa.Table, rows: int) -> pa.Table:
    if table.num_rows <= rows:
        return table
    rng = np.random.default_rng(0)  # reproducible: the same data gives the same reference
    keep = np.sort(rng.choice(table.num_rows, size=rows, replace=False))
    return table.take(pa.array(keep))


def _score(predictor: Predictor, table: pa.Table, features: list[str], source: str) -> pa.Array:
    parts = []
    for start in range(0, table.num_rows, SCORING_CHUNK):
        batch = Batch.from_arrow(table.slice(start, SCORING_CHUNK), features)
        predictions = _predict_checked(predictor, batch, source)
        if predictions.ndim > 1:
            predictions = predictions.argmax(axis=1) if predictions.shape[1] > 1 else predictions
            predictions = predictions.ravel()
        parts.append(predictions)
    values = np.concatenate(parts)
    if values.dtype.kind == "O":
        values = values.astype(str)
    return pa.array(values)
