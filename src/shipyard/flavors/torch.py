"""PyTorch models: ``torch.export`` programs (``.pt2``) and TorchScript archives.

Both formats load without unpickling arbitrary objects. TorchScript is deprecated by torch 2.13;
it still loads, and the predictor says so (``deprecation``) so the registry can tell the user.
A ``torch.save`` of a whole module is a pickle and goes through the pickle flavor instead.
Inputs are given to the module as one float32 tensor ``[rows, features]``; its output is returned
as is (``[rows]``, or ``[rows, k]`` for multi-output models).
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.core.errors import MissingExtraError, UnsafeArtifactError
from shipyard.flavors.base import NO_TRUST, Batch, Trust, load_failed, no_proba

TORCHSCRIPT_DEPRECATION = (
    "TorchScript is deprecated since torch 2.13; export the model with torch.export.save "
    "(.pt2) for future-proof loading."
)


def archive_kind(path: Path) -> str | None:
    """``export``, ``torchscript``, ``pickle`` (a ``torch.save`` archive) or None if not torch."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if any(n.endswith("/archive_format") for n in names) and any("/models/" in n for n in names):
        return "export"
    if any("/code/" in n for n in names) and any(n.endswith("/constants.pkl") for n in names):
        return "torchscript"
    if any(n.endswith("/data.pkl") for n in names):
        return "pickle"
    return None


def pickled_parts(path: Path) -> str | None:
    """Why loading a ``.pt2`` archive would unpickle something, or None if it would not.

    ``torch.export.load`` unpickles weights and constants marked ``use_pickle``, custom and
    opaque objects, and example inputs that are not plain tensors (it retries them with
    ``weights_only=False``). A plain exported model has none of these.
    """
    import torch

    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(("_weights_config.json", "_constants_config.json")):
                config = json.loads(archive.read(name)).get("config", {})
                for key, meta in config.items():
                    stored = str(meta.get("path_name", ""))
                    if meta.get("use_pickle") or stored.startswith(("custom_obj", "opaque_obj")):
                        return f"{key!r} in {name.rsplit('/', 1)[-1]}"
            elif "/sample_inputs/" in name:
                data = archive.read(name)
                if data:
                    try:
                        torch.load(io.BytesIO(data), weights_only=True)
                    except Exception:
                        return "example inputs that are not plain tensors"
    return None


class TorchPredictor:
    """Predictor over a callable torch module in eval mode, run without autograd."""

    flavor = "torch"

    def __init__(self, module: Any, kind: str) -> None:
        self._module = module
        self.kind = kind
        self.deprecation = TORCHSCRIPT_DEPRECATION if kind == "torchscript" else None
        self.feature_names: list[str] | None = None
        self.n_features: int | None = None
        self.classes: list[Any] | None = None
        self.has_proba = False

    def predict(self, batch: Batch) -> np.ndarray:
        """See Predictor.predict."""
        import torch

        matrix = batch.matrix(np.float32)
        if not (matrix.flags.writeable and matrix.flags.c_contiguous):
            matrix = np.array(matrix, order="C")  # torch.from_numpy warns on read-only arrays
        with torch.inference_mode():
            output = self._module(torch.from_numpy(matrix))
        result: np.ndarray = output.detach().cpu().numpy()
        return result.ravel() if result.ndim == 2 and result.shape[1] == 1 else result

    def predict_proba(self, batch: Batch) -> np.ndarray:
        """See Predictor.predict_proba."""
        raise no_proba(self.flavor)


class TorchFlavor:
    """``.pt2`` (torch.export) and TorchScript ``.pt`` archives."""

    name = "torch"
    extra = "torch"
    executes_code = False

    def load(self, path: Path, trust: Trust = NO_TRUST) -> TorchPredictor:
        """Load either format on the CPU."""
        try:
            import torch
        except ModuleNotFoundError as exc:
            raise MissingExtraError("A PyTorch model", "torch", "torch") from exc
        kind = archive_kind(path)
        if kind == "export" and not trust.pickle:
            reason = pickled_parts(path)
            if reason:
                raise UnsafeArtifactError(
                    f"{path.name} is a torch.export archive that contains pickled data "
                    f"({reason}); torch unpickles it on load, which can run code. Export the "
                    "model with plain tensor weights, or pass --trust-pickle if you made this "
                    "file (recorded in the audit log)."
                )
        try:
            if kind == "export":
                module = torch.export.load(str(path)).module()
            elif kind == "torchscript":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    warnings.simplefilter("ignore", FutureWarning)
                    module = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
                module.eval()
            else:
                raise ValueError(
                    "not a torch.export (.pt2) or TorchScript archive"
                    + (
                        " (it is a torch.save pickle: use --trust-pickle)"
                        if kind == "pickle"
                        else ""
                    )
                )
        except Exception as exc:
            raise load_failed(self.name, path, exc) from exc
        return TorchPredictor(module, kind)
