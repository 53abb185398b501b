"""The generic Python flavor: any model you can wrap in a small, readable Python file.

Interface (documented in docs/flavors.md): the artifact is a ``.py`` file, or a directory whose
``model.py`` is the entry point (other files in the directory travel with it). The module defines
``load_model(artifact_dir: pathlib.Path) -> object``; the object has ``predict(batch)`` and
optionally ``predict_proba(batch)``, ``classes`` and ``feature_names``. ``batch`` is a
``shipyard.Batch`` (``.matrix()``, ``.frame()``, ``.column(name)``, ``len()``).

Loading executes the file: unlike a pickle, the code is plain text that reviewers can read, and
it is stored and hashed with the version like any artifact.
"""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.flavors.base import NO_TRUST, Batch, Trust, load_failed, no_proba

ENTRY_POINT = "model.py"


def entry_file(path: Path) -> Path:
    """The module file of a python-flavor artifact (a file, or ``model.py`` in a directory)."""
    return path / ENTRY_POINT if path.is_dir() else path


class PythonPredictor:
    """Predictor over the user's object."""

    flavor = "python"

    def __init__(self, model: Any) -> None:
        self._model = model
        names = getattr(model, "feature_names", None)
        self.feature_names: list[str] | None = list(names) if names is not None else None
        self.n_features: int | None = len(self.feature_names) if self.feature_names else None
        classes = getattr(model, "classes", None)
        self.classes: list[Any] | None = list(classes) if classes is not None else None
        self.has_proba = callable(getattr(model, "predict_proba", None))

    def predict(self, batch: Batch) -> np.ndarray:
        """See Predictor.predict."""
        return np.asarray(self._model.predict(batch))

    def predict_proba(self, batch: Batch) -> np.ndarray:
        """See Predictor.predict_proba."""
        if not self.has_proba:
            raise no_proba(self.flavor)
        return np.asarray(self._model.predict_proba(batch))


class PythonFlavor:
    """``.py`` files and directories with a ``model.py``."""

    name = "python"
    extra = None
    executes_code = True

    def load(self, path: Path, trust: Trust = NO_TRUST) -> PythonPredictor:
        """Import the entry module under a unique name and call its ``load_model``."""
        entry = entry_file(path)
        try:
            spec = importlib.util.spec_from_file_location(
                f"shipyard_model_{uuid.uuid4().hex}", entry
            )
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import {entry}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            factory = getattr(module, "load_model", None)
            if not callable(factory):
                raise AttributeError(
                    f"{entry.name} defines no load_model(artifact_dir) (see docs/flavors.md)"
                )
            model = factory(path if path.is_dir() else path.parent)
            if not callable(getattr(model, "predict", None)):
                raise AttributeError("the object returned by load_model() has no predict(batch)")
        except Exception as exc:
            raise load_failed(self.name, path, exc) from exc
        return PythonPredictor(model)
