"""Plain pickle/joblib files: refused unless the user explicitly trusts them.

Unpickling runs arbitrary code from the file. This is the one module allowed to unpickle; the
registry only calls it with the user's explicit ``--trust-pickle``, which the audit log records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.core.errors import MissingExtraError, UnsafeArtifactError
from shipyard.flavors.base import NO_TRUST, Predictor, Trust, load_failed
from shipyard.flavors.estimator import EstimatorPredictor
from shipyard.flavors.torch import TorchPredictor, archive_kind

PICKLE_REFUSED = (
    "{name} is a pickle/joblib file. Loading a pickle runs whatever code it contains, so a "
    "tampered or untrusted file can take over the machine. Save the model in a safe format "
    "instead (scikit-learn: skops.io.dump(model, 'model.skops'); or ONNX, or the native XGBoost/"
    "LightGBM format). If you created this file yourself and accept the risk, pass "
    "--trust-pickle (recorded in the audit log)."
)


class PickleFlavor:
    """Pickled estimator-like objects (``.pkl``/``.joblib``…) and ``torch.save`` modules."""

    name = "pickle"
    extra = None
    executes_code = True

    def load(self, path: Path, trust: Trust = NO_TRUST) -> Predictor:
        """Unpickle (joblib understands plain pickles too) only when trusted."""
        if not trust.pickle:
            raise UnsafeArtifactError(PICKLE_REFUSED.format(name=path.name))
        if archive_kind(path) == "pickle":
            return self._load_torch_save(path)
        import joblib

        try:
            obj = joblib.load(path)
        except Exception as exc:
            raise load_failed(self.name, path, exc) from exc
        if not hasattr(obj, "predict"):
            raise load_failed(
                self.name, path, TypeError(f"the unpickled {type(obj).__name__} has no predict()")
            )
        return EstimatorPredictor(obj, self.name)

    def _load_torch_save(self, path: Path) -> Predictor:
        """A ``torch.save`` zip archive (joblib cannot read it): a whole module, run like torch."""
        try:
            import torch
        except ModuleNotFoundError as exc:
            raise MissingExtraError("A torch.save model", "torch", "torch") from exc
        try:
            obj: Any = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise load_failed(self.name, path, exc) from exc
        if hasattr(obj, "predict"):
            return EstimatorPredictor(obj, self.name)
        if not isinstance(obj, torch.nn.Module):
            raise load_failed(
                self.name,
                path,
                TypeError(
                    f"the unpickled {type(obj).__name__} has no predict() and is not a "
                    "torch.nn.Module (a state_dict needs its model code: use torch.export)"
                ),
            )
        obj.eval()
        predictor = TorchPredictor(obj, "pickle")
        predictor.flavor = self.name
        return predictor
