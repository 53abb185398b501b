"""What gradient-boosting libraries' raw outputs mean, shared by the XGBoost and LightGBM flavors.

Both return, per objective, either P(class 1) (binary), a probability matrix (multiclass),
class indices (XGBoost's ``multi:softmax``) or values (regression); this turns each into
labels and, where they exist, class probabilities.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np

from shipyard.flavors.base import Batch, no_proba


class OutputKind(StrEnum):
    """How to read a booster's raw prediction."""

    BINARY = "binary"
    MULTICLASS = "multiclass"
    LABELS = "labels"
    REGRESSION = "regression"


class BoosterPredictor:
    """Predictor logic over ``_raw(batch)``; subclasses load the booster and set ``kind``."""

    flavor: str
    kind: OutputKind
    feature_names: list[str] | None
    n_features: int | None
    classes: list[Any] | None

    def _raw(self, batch: Batch) -> np.ndarray:
        raise NotImplementedError

    @property
    def has_proba(self) -> bool:
        """Probabilities exist for binary and multiclass objectives."""
        return self.kind in (OutputKind.BINARY, OutputKind.MULTICLASS)

    def predict(self, batch: Batch) -> np.ndarray:
        """See Predictor.predict."""
        raw = self._raw(batch)
        if self.kind == OutputKind.BINARY:
            return (raw > 0.5).astype(np.int64)
        if self.kind == OutputKind.MULTICLASS:
            labels: np.ndarray = raw.argmax(axis=1)
            return labels
        if self.kind == OutputKind.LABELS:
            return raw.astype(np.int64)
        return raw

    def predict_proba(self, batch: Batch) -> np.ndarray:
        """See Predictor.predict_proba."""
        if not self.has_proba:
            raise no_proba(self.flavor)
        raw = self._raw(batch)
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw
