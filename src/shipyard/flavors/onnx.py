"""ONNX models run with onnxruntime (CPU).

Handles both layouts converters produce: one 2-D input ``[rows, features]``, or one input per
feature (``[rows, 1]`` each, named after it). Classifier outputs may be a probability tensor or
skl2onnx's ZipMap (a list of ``{class: probability}``); both become a ``[rows, classes]`` array.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shipyard.core.errors import MissingExtraError
from shipyard.flavors.base import NO_TRUST, Batch, Trust, load_failed, no_proba

_ORT_TYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}


class OnnxPredictor:
    """Predictor over an onnxruntime InferenceSession."""

    flavor = "onnx"

    def __init__(self, session: Any, classes: list[Any] | None = None) -> None:
        self._session = session
        self._inputs = session.get_inputs()
        outputs = session.get_outputs()
        self._label_name = outputs[0].name
        proba = [o.name for o in outputs[1:] if "prob" in o.name.lower()]
        self._proba_name = proba[0] if proba else None
        self.has_proba = self._proba_name is not None
        self._per_column = len(self._inputs) > 1
        if self._per_column:
            self.feature_names: list[str] | None = [i.name for i in self._inputs]
            self.n_features: int | None = len(self._inputs)
        else:
            self.feature_names = None
            shape = self._inputs[0].shape
            self.n_features = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
        self.classes: list[Any] | None = classes

    def _feed(self, batch: Batch) -> dict[str, np.ndarray]:
        if not self._per_column:
            only = self._inputs[0]
            return {only.name: batch.matrix(_ORT_TYPES.get(only.type, np.float32))}
        return {
            i.name: np.asarray(
                _column(batch, i.name), dtype=_ORT_TYPES.get(i.type, np.float32)
            ).reshape(-1, 1)
            for i in self._inputs
        }

    def predict(self, batch: Batch) -> np.ndarray:
        """See Predictor.predict."""
        (labels,) = self._session.run([self._label_name], self._feed(batch))
        labels = np.asarray(labels)
        return labels.ravel() if labels.ndim == 2 and labels.shape[1] == 1 else labels

    def predict_proba(self, batch: Batch) -> np.ndarray:
        """See Predictor.predict_proba."""
        if self._proba_name is None:
            raise no_proba(self.flavor)
        (proba,) = self._session.run([self._proba_name], self._feed(batch))
        if isinstance(proba, list):  # ZipMap: one {class: probability} dict per row
            if self.classes is None and proba:
                self.classes = list(proba[0].keys())
            keys = self.classes or []
            return np.array([[row[k] for k in keys] for row in proba], dtype=np.float64)
        return np.asarray(proba)


def _column(batch: Batch, name: str) -> np.ndarray:
    """The batch column feeding input ``name``.

    Converters name inputs after features with spaces replaced (skl2onnx writes ``mean radius``
    as ``mean_radius``), while the signature keeps the data's names, as for LightGBM.
    """
    if name not in batch.names:
        name = {n.replace(" ", "_"): n for n in batch.names}.get(name, name)
    return batch.column(name)


def _class_labels(path: Path) -> list[Any] | None:
    """Class labels recorded in the graph (classifier/ZipMap ``classlabels_*`` attributes)."""
    try:
        import onnx
    except ModuleNotFoundError:
        return None
    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception:  # onnxruntime accepted the file; labels are a nicety, not a requirement
        return None
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name in ("classlabels_ints", "classlabels_int64s"):
                return [int(v) for v in attribute.ints]
            if attribute.name == "classlabels_strings":
                return [v.decode("utf-8") for v in attribute.strings]
    return None


class OnnxFlavor:
    """``.onnx`` files."""

    name = "onnx"
    extra = "onnx"
    executes_code = False

    def load(self, path: Path, trust: Trust = NO_TRUST) -> OnnxPredictor:
        """Create a CPU inference session (single-threaded ops: the server parallelises)."""
        try:
            import onnxruntime as ort
        except ModuleNotFoundError as exc:
            raise MissingExtraError("An ONNX model", "onnx", "onnxruntime") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(
                path.read_bytes(), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise load_failed(self.name, path, exc) from exc
        return OnnxPredictor(session, _class_labels(path))
