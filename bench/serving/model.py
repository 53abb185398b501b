"""The benchmark model and the one row every server is asked to score."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier

# Row 0 of the data set (a malignant tumour, class 0). One row per request, the same everywhere.
ROW_INDEX = 0
MODEL_DESCRIPTION = (
    "HistGradientBoostingClassifier(max_iter=100, random_state=0) fitted on the 30-feature "
    "numpy matrix of sklearn.datasets.load_breast_cancer (no feature names, so every server "
    "passes a plain float matrix); saved with skops"
)


@dataclass(frozen=True)
class ModelFiles:
    """What the servers load and what they are asked.

    Attributes:
        skops_path: The fitted model (skops); the bare, BentoML and MLflow servers and Shipyard
            all start from this one file.
        sample_csv: The data set with scikit-learn's column names plus ``target`` (Shipyard's
            ``--sample-data``).
        untrusted_types: Types skops will only load when told to trust them (our own file).
        feature_names: The 30 column names, in the model's order.
        row: The row every request carries.
        expected: The class the in-process model predicts for ``row``.
    """

    skops_path: Path
    sample_csv: Path
    untrusted_types: list[str]
    feature_names: list[str]
    row: list[float]
    expected: int


def build(workdir: Path) -> ModelFiles:
    """Fit the model, save it and the sample data under ``workdir``."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame
    names = [str(c) for c in data.feature_names]
    matrix = frame[names].to_numpy(dtype=np.float64)
    # Fitted on the matrix rather than the DataFrame: scikit-learn then wants no column names,
    # so the bare server and BentoML call predict on an array without a per-call warning, and
    # Shipyard/MLflow (which get named columns) are measured on their own mapping work.
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0)
    model.fit(matrix, frame["target"].to_numpy())
    skops_path = workdir / "model.skops"
    sio.dump(model, skops_path)
    sample_csv = workdir / "sample.csv"
    frame.to_csv(sample_csv, index=False)
    row = [float(v) for v in matrix[ROW_INDEX]]
    # Predict with the reloaded file, not the in-memory object: that is what the servers load.
    reloaded = sio.load(skops_path, trusted=sio.get_untrusted_types(file=skops_path))
    expected = int(reloaded.predict(np.asarray([row]))[0])
    return ModelFiles(
        skops_path=skops_path,
        sample_csv=sample_csv,
        untrusted_types=list(sio.get_untrusted_types(file=skops_path)),
        feature_names=names,
        row=row,
        expected=expected,
    )
