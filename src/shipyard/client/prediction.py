"""What a prediction call returns: the server's answer as one frozen value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prediction:
    """One answered ``predict`` request.

    Attributes:
        request_id: The id the server logged it under; quote it when sending feedback.
        endpoint: The endpoint (or model, for a pinned version) that answered.
        model: The model that made the predictions.
        version: The version that made them (after the endpoint's traffic policy).
        predictions: One prediction per instance, in order.
        probabilities: Per instance, one probability per class; None unless asked for
            (``return_probabilities=True``) and the model has them.
        classes: The class labels of the probability columns, when known.
        raw: The whole JSON answer, including fields newer servers add.
    """

    request_id: str
    endpoint: str
    model: str
    version: int
    predictions: list[Any]
    probabilities: list[list[float]] | None = None
    classes: list[Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prediction:
        """The ``/v1/…/predict`` answer as a Prediction."""
        return cls(
            request_id=data["request_id"],
            endpoint=data["endpoint"],
            model=data["model"],
            version=int(data["version"]),
            predictions=list(data["predictions"]),
            probabilities=data.get("probabilities"),
            classes=data.get("classes"),
            raw=data,
        )
