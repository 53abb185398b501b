"""LightGBM models in LightGBM's text format, never pickles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shipyard.core.errors import MissingExtraError
from shipyard.flavors.base import NO_TRUST, Batch, Trust, load_failed
from shipyard.flavors.boosting import BoosterPredictor, OutputKind


class LightGBMPredictor(BoosterPredictor):
    """Predictor over a ``lightgbm.Booster``; the objective decides labels vs probabilities."""

    flavor = "lightgbm"

    def __init__(self, booster: Any) -> None:
        self._booster = booster
        objective = str(booster.params.get("objective", "regression")).split()[0]
        names = list(booster.feature_name())
        # LightGBM invents Column_0… when trained without names: those are not real names.
        generated = all(n == f"Column_{i}" for i, n in enumerate(names))
        self.feature_names: list[str] | None = None if generated else names
        self.n_features: int | None = booster.num_feature()
        n_classes = int(booster.params.get("num_class", 1) or 1)
        if objective == "binary":
            self.kind = OutputKind.BINARY
            self.classes: list[Any] | None = [0, 1]
        elif objective in ("multiclass", "softmax", "multiclassova"):
            self.kind = OutputKind.MULTICLASS
            self.classes = list(range(n_classes))
        else:
            self.kind = OutputKind.REGRESSION
            self.classes = None

    def _raw(self, batch: Batch) -> np.ndarray:
        result: np.ndarray = np.asarray(self._booster.predict(batch.matrix(), num_threads=1))
        return result


class LightGBMFlavor:
    """LightGBM text model files (``.txt``, ``.lgb``…; detected by content)."""

    name = "lightgbm"
    extra = "lightgbm"
    executes_code = False

    def load(self, path: Path, trust: Trust = NO_TRUST) -> LightGBMPredictor:
        """Load a Booster from its text file."""
        try:
            import lightgbm as lgb
        except ModuleNotFoundError as exc:
            raise MissingExtraError("A LightGBM model", "lightgbm", "lightgbm") from exc
        try:
            return LightGBMPredictor(lgb.Booster(model_file=str(path)))
        except Exception as exc:
            raise load_failed(self.name, path, exc) from exc
