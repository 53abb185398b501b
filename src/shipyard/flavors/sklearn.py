"""scikit-learn models saved with skops: loaded with skops's trusted types only.

Types skops does not trust by default are refused, naming each one; a user who has reviewed a
type may trust it explicitly (``--trust-type``), which is recorded on the version and audited.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

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
        sio = import_skops()

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


# skops lists its trusted types with scikit-learn's ``all_estimators()``, which walks (imports)
# every scikit-learn package, vendored ones included. When PyTorch is installed, that walk
# imports ``sklearn.externals.array_api_compat.torch`` and with it all of torch: about 3 s and
# 300 MB per process that loads a skops model, for a module scikit-learn only uses with torch
# arrays. The walk ignores packages that fail to import, so it is skipped for that one import;
# the module stays importable afterwards for anyone who needs it.
_SKIPPED_DURING_SKOPS_IMPORT = "sklearn.externals.array_api_compat.torch"


def import_skops() -> ModuleType:
    """``skops.io``, imported without dragging in torch through scikit-learn's package walk."""
    if "skops.io" not in sys.modules and "torch" not in sys.modules:
        with _refusing(_SKIPPED_DURING_SKOPS_IMPORT):
            importlib.import_module("skops.io")
    return importlib.import_module("skops.io")


class _Refuse(importlib.abc.MetaPathFinder):
    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> Any:
        if fullname == self.name or fullname.startswith(self.name + "."):
            raise ImportError(f"{fullname} is skipped while skops lists its trusted types")
        return None


@contextmanager
def _refusing(name: str) -> Iterator[None]:
    finder = _Refuse(name)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]
