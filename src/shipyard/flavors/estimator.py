"""A Predictor over any object with the scikit-learn estimator API (``predict``/``predict_proba``).

Used by the skops flavor and by the (trusted) pickle flavor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shipyard.core.errors import InvalidInputError
from shipyard.flavors.base import Batch, no_proba


class EstimatorPredictor:
    """Calls an estimator with a DataFrame if it was fitted on one, else with a matrix."""

    def __init__(self, estimator: Any, flavor: str) -> None:
        self.flavor = flavor
        self._estimator = estimator
        names = getattr(estimator, "feature_names_in_", None)
        self.feature_names: list[str] | None = (
            [str(n) for n in names] if names is not None else None
        )
        n_features = getattr(estimator, "n_features_in_", None)
        self.n_features: int | None = int(n_features) if n_features is not None else None
        classes = getattr(estimator, "classes_", None)
        self.classes: list[Any] | None = (
            [c.item() if hasattr(c, "item") else c for c in classes]
            if classes is not None
            else None
        )
        self.has_proba = hasattr(estimator, "predict_proba")

    def _inputs(self, batch: Batch) -> Any:
        if self.feature_names is not None:
            return batch.frame()
        try:
            return batch.matrix()
        except InvalidInputError:
            # Strings or mixed types: an estimator fitted on an object array (e.g. a pipeline
            # with an encoder) takes the values as they are.
            return batch.matrix(object)

    def predict(self, batch: Batch) -> np.ndarray:
        """See Predictor.predict."""
        return np.asarray(self._estimator.predict(self._inputs(batch)))

    def predict_proba(self, batch: Batch) -> np.ndarray:
        """See Predictor.predict_proba."""
        if not self.has_proba:
            raise no_proba(self.flavor)
        return np.asarray(self._estimator.predict_proba(self._inputs(batch)))
