"""Plain pickle/joblib files: refused unless the user explicitly trusts them.

Unpickling runs arbitrary code from the file. This is the one module allowed to unpickle; the
registry only calls it with the user's explicit ``--trust-pickle``, which the audit log records.
"""

from __future__ import annotations

from pathlib import Path

from shipyard.core.errors import UnsafeArtifactError
from shipyard.flavors.base import NO_TRUST, Trust, load_failed
from shipyard.flavors.estimator import EstimatorPredictor

PICKLE_REFUSED = (
    "{name} is a pickle/joblib file. Loading a pickle runs whatever code it contains, so a "
    "tampered or untrusted file can take over the machine. Save the model in a safe format "
    "instead (scikit-learn: skops.io.dump(model, 'model.skops'); or ONNX, or the native XGBoost/"
    "LightGBM format). If you created this file yourself and accept the risk, pass "
    "--trust-pickle (recorded in the audit log)."
)


class PickleFlavor:
    """``.pkl``/``.pickle``/``.joblib`` files holding an estimator-like object."""

    name = "pickle"
    extra = None
    executes_code = True

    def load(self, path: Path, trust: Trust = NO_TRUST) -> EstimatorPredictor:
        """Unpickle (joblib understands plain pickles too) only when trusted."""
        if not trust.pickle:
            raise UnsafeArtifactError(PICKLE_REFUSED.format(name=path.name))
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
