"""scikit-learn models saved with skops: loaded with skops's trusted types only.

Types skops does not trust by default are refused, naming each one; a user who has reviewed a
type may trust it explicitly (``--trust-type``), which is recorded on the version and audited.
"""

from __future__ import annotations

from pathlib import Path

from shipyard.core.errors import UnsafeArtifactError
from shipyard.flavors.base import NO_TRUST, Trust, load_failed
from shipyard.flavors.estimator import EstimatorPredictor


class SklearnFlavor:
    """``.skops`` files."""

    name = "sklearn"
    extra = None
    executes_code = False

    def load(self, path: Path, trust: Trust = NO_TRUST) -> EstimatorPredictor:
        """Load with skops, refusing untrusted types not listed in ``trust.types``."""
        import skops.io as sio

        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as exc:
            raise load_failed(self.name, path, exc) from exc
        refused = [t for t in untrusted if t not in trust.types]
        if refused:
            flags = " ".join(f"--trust-type {t}" for t in refused)
            raise UnsafeArtifactError(
                f"{path.name} contains types that skops does not trust by default: "
                f"{', '.join(refused)}. A crafted file could abuse them. If you made this file "
                f"or trust its source, review those types and register with {flags} (recorded "
                "in the audit log)."
            )
        try:
            estimator = sio.load(path, trusted=list(untrusted) or None)
        except Exception as exc:
            raise load_failed(self.name, path, exc) from exc
        return EstimatorPredictor(estimator, self.name)
