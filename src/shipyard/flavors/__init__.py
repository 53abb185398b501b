"""Frameworks → Predictor. Flavors are registered by name and imported only when used.

Public seam: ``Batch``, ``Predictor``, ``Trust``, ``get_flavor(name)``, ``FLAVOR_NAMES``,
``detect_flavor(path)``, ``load_predictor(flavor, path, trust)``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from shipyard.core.errors import FlavorDetectionError
from shipyard.flavors.base import NO_TRUST, Batch, Flavor, Predictor, Trust
from shipyard.flavors.detect import SUPPORTED, detect_flavor

# name -> (module, class); importing the module must not import the framework.
_REGISTRY: dict[str, tuple[str, str]] = {
    "sklearn": ("shipyard.flavors.sklearn", "SklearnFlavor"),
    "onnx": ("shipyard.flavors.onnx", "OnnxFlavor"),
    "xgboost": ("shipyard.flavors.xgboost", "XGBoostFlavor"),
    "lightgbm": ("shipyard.flavors.lightgbm", "LightGBMFlavor"),
    "torch": ("shipyard.flavors.torch", "TorchFlavor"),
    "python": ("shipyard.flavors.python", "PythonFlavor"),
    "pickle": ("shipyard.flavors.pickle", "PickleFlavor"),
}
FLAVOR_NAMES = tuple(_REGISTRY)


def get_flavor(name: str) -> Flavor:
    """The flavor registered as ``name``.

    Raises:
        FlavorDetectionError: for an unknown name, listing the known ones.
    """
    try:
        module_name, class_name = _REGISTRY[name]
    except KeyError:
        raise FlavorDetectionError(
            f"Unknown flavor {name!r}. Known flavors: {', '.join(FLAVOR_NAMES)}, or mlflow for "
            f"an MLflow model directory. Supported artifacts: {SUPPORTED}."
        ) from None
    flavor: Flavor = getattr(importlib.import_module(module_name), class_name)()
    return flavor


def load_predictor(flavor: str, path: Path, trust: Trust = NO_TRUST) -> Predictor:
    """Load ``path`` with the named flavor."""
    return get_flavor(flavor).load(path, trust)


__all__ = [
    "FLAVOR_NAMES",
    "NO_TRUST",
    "Batch",
    "Flavor",
    "Predictor",
    "Trust",
    "detect_flavor",
    "get_flavor",
    "load_predictor",
]
