"""XGBoost models in XGBoost's own formats (UBJSON ``.ubj`` or JSON), never pickles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.core.errors import MissingExtraError
from shipyard.flavors.base import NO_TRUST, Batch, Trust, load_failed
from shipyard.flavors.boosting import BoosterPredictor, OutputKind

_KINDS = {
    "binary:logistic": OutputKind.BINARY,
    "multi:softprob": OutputKind.MULTICLASS,
    "multi:softmax": OutputKind.LABELS,
}


class XGBoostPredictor(BoosterPredictor):
    """Predictor over an ``xgboost.Booster``; the objective decides labels vs probabilities."""

    flavor = "xgboost"

    def __init__(self, booster: Any) -> None:
        self._booster = booster
        config = json.loads(booster.save_config())
        learner = config["learner"]
        objective = str(learner["objective"]["name"])
        self.kind = _KINDS.get(objective, OutputKind.REGRESSION)
        n_classes = int(learner["learner_model_param"].get("num_class", "0") or 0)
        self.feature_names: list[str] | None = (
            list(booster.feature_names) if booster.feature_names else None
        )
        self.n_features: int | None = booster.num_features()
        if self.kind == OutputKind.BINARY:
            self.classes: list[Any] | None = [0, 1]
        elif self.kind in (OutputKind.MULTICLASS, OutputKind.LABELS):
            self.classes = list(range(n_classes))
        else:
            self.classes = None

    def _raw(self, batch: Batch) -> np.ndarray:
        result: np.ndarray = np.asarray(self._booster.inplace_predict(batch.matrix(np.float32)))
        return result


class XGBoostFlavor:
    """``.ubj`` / XGBoost ``.json`` files."""

    name = "xgboost"
    extra = "xgboost"
    executes_code = False

    def load(self, path: Path, trust: Trust = NO_TRUST) -> XGBoostPredictor:
        """Load a Booster from its native file."""
        try:
            import xgboost as xgb
        except ModuleNotFoundError as exc:
            raise MissingExtraError("An XGBoost model", "xgboost", "xgboost") from exc
        booster = xgb.Booster()
        try:
            # From the bytes, so XGBoost tells JSON from UBJSON by content: by name it guesses
            # (and warns) for other suffixes, such as MLflow's default model.xgb.
            booster.load_model(bytearray(path.read_bytes()))
            booster.set_param({"nthread": 1})
            return XGBoostPredictor(booster)
        except Exception as exc:
            raise load_failed(self.name, path, exc) from exc
