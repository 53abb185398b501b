"""Import of MLflow model directories (an ``MLmodel`` file plus the framework's own artifact).

The import picks the safest flavor the directory offers (ONNX, native XGBoost/LightGBM, skops,
TorchScript/export, then pickles, which stay subject to ``--trust-pickle``) and carries over the
MLmodel signature and its provenance (run id, model uuid, MLflow version).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shipyard.core.errors import FlavorDetectionError
from shipyard.core.types import ColumnSpec, DType, Signature

_MLFLOW_TYPES = {
    "double": DType.DOUBLE,
    "float": DType.DOUBLE,
    "long": DType.LONG,
    "integer": DType.LONG,
    "boolean": DType.BOOLEAN,
    "string": DType.STRING,
    "datetime": DType.DATETIME,
}


@dataclass(frozen=True, slots=True)
class MlflowImport:
    """What an MLflow model directory resolves to."""

    flavor: str
    model_path: Path
    signature: Signature | None
    source: dict[str, Any] = field(default_factory=dict)


def is_mlflow_dir(path: Path) -> bool:
    """True if ``path`` is a directory holding an ``MLmodel`` file."""
    return path.is_dir() and (path / "MLmodel").is_file()


def read_mlflow_dir(path: Path) -> MlflowImport:
    """Resolve an MLflow model directory to a Shipyard flavor and artifact file.

    Raises:
        FlavorDetectionError: if the MLmodel file is unreadable or offers no supported flavor.
    """
    try:
        mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise FlavorDetectionError(f"Cannot read {path / 'MLmodel'}: {exc}.") from exc
    if not isinstance(mlmodel, dict) or not isinstance(mlmodel.get("flavors"), dict):
        raise FlavorDetectionError(f"{path / 'MLmodel'} has no 'flavors' section.")
    flavors: dict[str, Any] = mlmodel["flavors"]
    flavor, model_path = _choose(path, flavors)
    source = {
        "format": "mlflow",
        "mlflow_flavors": sorted(flavors),
        "run_id": mlmodel.get("run_id"),
        "model_uuid": mlmodel.get("model_uuid"),
        "utc_time_created": mlmodel.get("utc_time_created"),
        "mlflow_version": mlmodel.get("mlflow_version"),
    }
    return MlflowImport(flavor, model_path, _signature(mlmodel.get("signature")), source)


def _choose(root: Path, raw_flavors: dict[str, Any]) -> tuple[str, Path]:
    # A section that is not a mapping (``xgboost: null``) is unusable: treat it as absent.
    flavors = {k: v for k, v in raw_flavors.items() if isinstance(v, dict)}

    def data(section: dict[str, Any], *keys: str) -> Path | None:
        for key in keys:
            value = section.get(key)
            if isinstance(value, str) and (root / value).exists():
                return root / value
        return None

    if "onnx" in flavors and (p := data(flavors["onnx"], "data")):
        return "onnx", p
    xgb_format = flavors.get("xgboost", {}).get("model_format", "xgb")
    if "xgboost" in flavors and xgb_format in ("json", "ubj", "xgb"):
        p = data(flavors["xgboost"], "data")
        if p is not None:
            return "xgboost", p
    if "lightgbm" in flavors and (p := data(flavors["lightgbm"], "data")):
        # MLflow writes Boosters as text (model.lgb) but pickles LGBMClassifier & co (model.pkl).
        return ("pickle" if p.suffix == ".pkl" else "lightgbm"), p
    if "sklearn" in flavors and (p := data(flavors["sklearn"], "pickled_model", "data")):
        fmt = flavors["sklearn"].get("serialization_format", "cloudpickle")
        return ("sklearn" if fmt == "skops" or p.suffix == ".skops" else "pickle"), p
    if "pytorch" in flavors and (p := data(flavors["pytorch"], "model_data", "data")):
        return "pickle", p / "model.pth" if p.is_dir() else p
    raise FlavorDetectionError(
        f"The MLflow model at {root} offers flavors {sorted(raw_flavors)}, none of which Shipyard "
        "can load. Supported: onnx, xgboost, lightgbm, sklearn (skops or, with --trust-pickle, "
        "pickle) and pytorch (with --trust-pickle)."
    )


def _signature(raw: Any) -> Signature | None:
    if not isinstance(raw, dict) or not raw.get("inputs"):
        return None
    try:
        inputs = json.loads(raw["inputs"])
        outputs = json.loads(raw["outputs"]) if raw.get("outputs") else []
    except (TypeError, ValueError):
        return None

    def columns(specs: list[dict[str, Any]]) -> tuple[ColumnSpec, ...]:
        result = []
        for i, spec in enumerate(specs):
            dtype = _MLFLOW_TYPES.get(str(spec.get("type")), DType.DOUBLE)
            name = spec.get("name") or f"x{i}"
            result.append(ColumnSpec(name, dtype, not spec.get("required", True)))
        return tuple(result)

    if any(spec.get("type") == "tensor" for spec in inputs):
        return None  # tensor signatures carry no column names; infer from sample data instead
    return Signature(columns(inputs), columns(outputs))
