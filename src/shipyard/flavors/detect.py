"""Which flavor an artifact is, from its content first and its name second.

Only cheap sniffing here (magic bytes, zip listings, a few header bytes): no framework is
imported to decide. An artifact that matches nothing is an error listing what is supported.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from shipyard.core.errors import ArtifactNotFoundError, FlavorDetectionError
from shipyard.flavors.mlflow import is_mlflow_dir
from shipyard.flavors.python import ENTRY_POINT
from shipyard.flavors.torch import archive_kind

SUPPORTED = (
    "sklearn (.skops), onnx (.onnx), xgboost (.ubj or XGBoost .json), lightgbm (LightGBM text "
    "model), torch (.pt2 torch.export or TorchScript), python (.py or a directory with "
    "model.py), an MLflow model directory, pickle (.pkl/.joblib, only with --trust-pickle)"
)
PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib"}


def check_artifact_path(path: Path) -> None:
    """Raise a clear error if ``path`` is missing or unreadable."""
    if not path.exists():
        raise ArtifactNotFoundError(f"Artifact {path} does not exist. Check the path.")
    if not (path.is_file() or path.is_dir()):
        raise ArtifactNotFoundError(
            f"Artifact {path} is neither a regular file nor a directory; give the model file."
        )
    try:
        if path.is_file():
            with path.open("rb") as handle:
                handle.read(1)
        else:
            next(path.iterdir(), None)
    except PermissionError as exc:
        raise ArtifactNotFoundError(
            f"Artifact {path} is not readable ({exc.strerror}). Check its permissions."
        ) from exc


def detect_flavor(path: Path) -> str:
    """The flavor name for ``path``, or ``mlflow`` for an MLflow model directory.

    Raises:
        FlavorDetectionError: naming the supported flavors and the ``--flavor`` option.
    """
    check_artifact_path(path)
    if path.is_dir():
        if is_mlflow_dir(path):
            return "mlflow"
        if (path / ENTRY_POINT).is_file():
            return "python"
        raise FlavorDetectionError(
            f"Cannot tell which flavor the directory {path} is: it has neither an MLmodel file "
            f"nor a {ENTRY_POINT}. Supported: {SUPPORTED}."
        )
    with path.open("rb") as handle:
        head = handle.read(256)
    suffix = path.suffix.lower()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
        if "schema.json" in names:
            return "sklearn"
        kind = archive_kind(path)
        if kind in ("export", "torchscript"):
            return "torch"
        if kind == "pickle":
            return "pickle"
    if suffix == ".onnx":
        return "onnx"
    if head.startswith(b"{") and b"learner" in head[:64]:
        return "xgboost"
    if head.startswith(b"tree\n") or head.startswith(b"tree\r\n"):
        return "lightgbm"
    if suffix == ".py":
        return "python"
    if suffix in PICKLE_SUFFIXES or head[:1] == b"\x80":
        return "pickle"
    raise FlavorDetectionError(
        f"Cannot tell which flavor {path.name} is. Pass --flavor with one of: {SUPPORTED}."
    )
