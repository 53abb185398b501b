"""Every flavor end to end with the real frameworks: detect, load, predict like the library
itself, register on SQLite and load back; MLflow directories; and what is refused, and why."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.core.errors import (
    FlavorDetectionError,
    InvalidInputError,
    ModelLoadError,
    SampleDataMismatchError,
    UnsafeArtifactError,
)
from shipyard.core.types import DType
from shipyard.flavors import NO_TRUST, Batch, Trust, detect_flavor, load_predictor
from shipyard.flavors.mlflow import read_mlflow_dir
from shipyard.flavors.torch import TORCHSCRIPT_DEPRECATION
from shipyard.registry import Registry
from tests.fixtures import models as mf
from tests.fixtures.models import FEATURES_SMALL, Built

UNDERSCORED = [name.replace(" ", "_") for name in FEATURES_SMALL]
HIST_GB_TYPE = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
ROWS = 569


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: overrides conftest's dialect-parametrized ``db_url`` to keep this fast."""
    return f"sqlite:///{tmp_path / 'shipyard.db'}"


# -- models, built once per module ---------------------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("flavor-models")


@pytest.fixture(scope="module")
def onnx_models(root: Path) -> dict[str, Built]:
    return mf.build_onnx(root)


@pytest.fixture(scope="module")
def xgb_model(root: Path) -> Built:
    return mf.build_xgboost(root)


@pytest.fixture(scope="module")
def lgb_models(root: Path) -> dict[str, Built]:
    return mf.build_lightgbm(root)


@pytest.fixture(scope="module")
def torch_model(root: Path) -> Built:
    return mf.build_torch(root)


@pytest.fixture(scope="module")
def pickles(root: Path) -> Built:
    return mf.build_pickles(root)


@pytest.fixture(scope="module")
def skops_models(root: Path) -> dict[str, Built]:
    return mf.build_skops(root)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return mf.small_frame()


@pytest.fixture(scope="module")
def features(frame: pd.DataFrame) -> pa.Table:
    """The 4 feature columns, float64, as the server and the registry hand them over."""
    return pa.Table.from_pandas(frame[FEATURES_SMALL], preserve_index=False)


@pytest.fixture(scope="module")
def sample_csv(root: Path, frame: pd.DataFrame) -> Path:
    path = root / "sample.csv"
    frame.to_csv(path, index=False)
    return path


@dataclass(frozen=True)
class Case:
    """A model file, how Shipyard should see it, and what the framework itself predicts."""

    path: Path
    flavor: str
    labels: np.ndarray
    proba: np.ndarray | None
    classes: list[Any] | None
    feature_names: list[str] | None
    trust: Trust = NO_TRUST
    check_classes: bool = True


def torch_reference(model: Any, X: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(np.array(X, dtype=np.float32))).numpy().ravel()


@pytest.fixture(scope="module")
def cases(
    frame: pd.DataFrame,
    onnx_models: dict[str, Built],
    xgb_model: Built,
    lgb_models: dict[str, Built],
    torch_model: Built,
    pickles: Built,
    skops_models: dict[str, Built],
) -> dict[str, Case]:
    X = frame[FEATURES_SMALL]
    X32 = X.astype(np.float32)
    found: dict[str, Case] = {}
    for layout, inputs, names in (
        ("matrix", X32.to_numpy(), None),
        ("columns", X32, UNDERSCORED),  # skl2onnx writes "mean radius" as "mean_radius"
    ):
        built = onnx_models[layout]
        labels, proba = built.model.predict(inputs), built.model.predict_proba(inputs)
        for kind, path in built.paths.items():
            # Only ZipMap outputs carry class labels; a probability tensor has none.
            found[f"onnx_{layout}_{kind}"] = Case(
                path, "onnx", labels, proba, [0, 1], names, check_classes=kind == "zipmap"
            )
    xgb_labels, xgb_proba = xgb_model.model.predict(X), xgb_model.model.predict_proba(X)
    for fmt in ("ubj", "json"):
        found[f"xgboost_{fmt}"] = Case(
            xgb_model.paths[fmt], "xgboost", xgb_labels, xgb_proba, [0, 1], FEATURES_SMALL
        )
    classifier, regressor = lgb_models["classifier"], lgb_models["regressor"]
    found["lightgbm_classifier"] = Case(
        classifier.paths["text"],
        "lightgbm",
        classifier.model.predict(X),
        classifier.model.predict_proba(X),
        [0, 1],
        UNDERSCORED,
    )
    found["lightgbm_regressor"] = Case(
        regressor.paths["text"], "lightgbm", regressor.model.predict(X), None, None, UNDERSCORED
    )
    torch_out = torch_reference(torch_model.model, X32.to_numpy())
    for kind in ("export", "torchscript"):
        found[f"torch_{kind}"] = Case(torch_model.paths[kind], "torch", torch_out, None, None, None)
    found["torch_save"] = Case(
        torch_model.paths["pickle"], "pickle", torch_out, None, None, None, Trust(pickle=True)
    )
    pickle_out = pickles.model.predict(X), pickles.model.predict_proba(X)
    for kind in ("pickle", "joblib", "bin"):
        found[kind] = Case(
            pickles.paths[kind], "pickle", *pickle_out, [0, 1], FEATURES_SMALL, Trust(pickle=True)
        )
    trusted, hist_gb = skops_models["trusted"], skops_models["hist_gb"]
    found["sklearn_skops"] = Case(
        trusted.paths["skops"],
        "sklearn",
        trusted.model.predict(X),
        trusted.model.predict_proba(X),
        [0, 1],
        FEATURES_SMALL,
    )
    found["sklearn_hist_gb"] = Case(
        hist_gb.paths["skops"],
        "sklearn",
        hist_gb.model.predict(X),
        hist_gb.model.predict_proba(X),
        [0, 1],
        FEATURES_SMALL,
        Trust(types=(HIST_GB_TYPE,)),
    )
    for name, case in found.items():  # agreeing on a constant output would prove little
        assert len(np.unique(case.labels)) > 1, name
    return found


CASE_NAMES = [
    "onnx_matrix_zipmap",
    "onnx_matrix_tensor",
    "onnx_columns_zipmap",
    "onnx_columns_tensor",
    "xgboost_ubj",
    "xgboost_json",
    "lightgbm_classifier",
    "lightgbm_regressor",
    "torch_export",
    "torch_torchscript",
    "torch_save",
    "pickle",
    "joblib",
    "bin",
    "sklearn_skops",
    "sklearn_hist_gb",
]


def assert_predicts_like(predictor: Any, case: Case, batch: Batch) -> None:
    """Same predictions (and probabilities) as the framework itself, one per row."""
    rows = len(batch)
    predictions = predictor.predict(batch)
    assert predictions.shape == (rows,)
    expected = case.labels[:rows]
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(predictions, expected, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(predictions, expected)
    if case.proba is None:
        assert predictor.has_proba is False
        with pytest.raises(InvalidInputError, match="does not produce class probabilities"):
            predictor.predict_proba(batch)
        return
    assert predictor.has_proba is True
    proba = predictor.predict_proba(batch)
    assert proba.shape == (rows, 2)
    np.testing.assert_allclose(proba, case.proba[:rows], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


# -- detection, loading, prediction ---------------------------------------------------------


@pytest.mark.parametrize("name", CASE_NAMES)
def test_flavor_detects_loads_and_predicts_like_the_library(
    cases: dict[str, Case], features: pa.Table, name: str
) -> None:
    case = cases[name]
    assert detect_flavor(case.path) == case.flavor
    predictor = load_predictor(case.flavor, case.path, case.trust)
    assert predictor.flavor == case.flavor
    assert predictor.feature_names == case.feature_names
    assert predictor.n_features in (len(FEATURES_SMALL), None)
    assert_predicts_like(predictor, case, Batch.from_arrow(features))
    # The same rows as a matrix, and a single row (torch.export's batch dimension is dynamic).
    matrix = features.to_pandas().to_numpy()
    assert_predicts_like(predictor, case, Batch.from_matrix(matrix[:7], FEATURES_SMALL))
    assert_predicts_like(predictor, case, Batch.from_matrix(matrix[:1], FEATURES_SMALL))
    if case.check_classes:
        assert predictor.classes == case.classes


def test_predictors_report_features_and_torchscript_deprecation(
    cases: dict[str, Case],
) -> None:
    known_width = ["onnx_matrix_zipmap", "onnx_columns_tensor", "xgboost_ubj", "sklearn_skops"]
    for name in known_width:
        case = cases[name]
        assert load_predictor(case.flavor, case.path, case.trust).n_features == 4, name
    script = load_predictor("torch", cases["torch_torchscript"].path)
    assert getattr(script, "deprecation", None) == TORCHSCRIPT_DEPRECATION
    assert "torch.export" in TORCHSCRIPT_DEPRECATION
    exported = load_predictor("torch", cases["torch_export"].path)
    assert getattr(exported, "deprecation", "missing") is None


@pytest.mark.parametrize("name", ["torch_export", "torch_torchscript", "torch_save"])
def test_torch_accepts_a_read_only_float32_matrix(cases: dict[str, Case], name: str) -> None:
    # Arrow and pandas hand out read-only arrays; torch.from_numpy warns on those.
    case = cases[name]
    predictor = load_predictor(case.flavor, case.path, case.trust)
    matrix = mf.small_frame()[FEATURES_SMALL].to_numpy(np.float32)
    matrix.flags.writeable = False
    predictions = predictor.predict(Batch.from_matrix(matrix, FEATURES_SMALL))
    np.testing.assert_allclose(predictions, case.labels, rtol=1e-5, atol=1e-5)


def test_onnx_zipmap_and_tensor_outputs_give_the_same_probabilities(
    cases: dict[str, Case], features: pa.Table
) -> None:
    batch = Batch.from_arrow(features)
    for layout in ("matrix", "columns"):
        zipmap = load_predictor("onnx", cases[f"onnx_{layout}_zipmap"].path)
        tensor = load_predictor("onnx", cases[f"onnx_{layout}_tensor"].path)
        from_zipmap = zipmap.predict_proba(batch)
        assert from_zipmap.dtype == np.float64
        assert zipmap.classes == [0, 1]  # read from the ZipMap keys
        np.testing.assert_allclose(from_zipmap, tensor.predict_proba(batch), rtol=1e-6)


def test_python_flavor_file_and_directory(model_dir: Path) -> None:
    batch = Batch.from_matrix(np.array([[1.0, 10.0], [2.0, 20.0], [3.5, 0.5]]), ["a", "b"])
    assert detect_flavor(model_dir / "sum_model.py") == "python"
    summed = load_predictor("python", model_dir / "sum_model.py")
    assert summed.flavor == "python"
    assert summed.feature_names == ["a", "b"] and summed.n_features == 2
    assert summed.has_proba is False and summed.classes is None
    np.testing.assert_array_equal(summed.predict(batch), [11.0, 22.0, 4.0])
    with pytest.raises(InvalidInputError, match="python model does not produce"):
        summed.predict_proba(batch)
    assert detect_flavor(model_dir / "dir_model") == "python"
    scaled = load_predictor("python", model_dir / "dir_model")
    np.testing.assert_array_equal(scaled.predict(batch), [22.0, 44.0, 8.0])
    exploding = load_predictor("python", model_dir / "error_model.py")
    with pytest.raises(RuntimeError, match="model exploded"):
        exploding.predict(batch)


# -- registration on SQLite and loading back ------------------------------------------------


@pytest.mark.parametrize("name", CASE_NAMES)
def test_register_with_sample_data_and_load_back(
    registry: Registry, cases: dict[str, Case], features: pa.Table, sample_csv: Path, name: str
) -> None:
    case = cases[name]
    model = name.replace("_", "-")
    registration = registry.register(
        model,
        case.path,
        sample_data=sample_csv,
        target="target",
        trust_pickle=case.trust.pickle,
        trust_types=case.trust.types,
    )
    version = registration.version
    assert version.flavor == case.flavor
    assert version.artifact.filename == case.path.name
    assert version.trust_pickle is (case.flavor == "pickle")
    assert version.trusted_types == case.trust.types
    assert version.signature is not None
    assert version.signature.input_names == FEATURES_SMALL
    assert all(c.dtype == DType.DOUBLE for c in version.signature.inputs)
    assert version.reference_profile is not None
    assert version.reference_profile["columns"]["target"]["role"] == "target"
    assert version.reference_profile["columns"]["prediction"]["count"] == ROWS
    expected_warnings = [TORCHSCRIPT_DEPRECATION] if name == "torch_torchscript" else []
    assert registration.warnings == expected_warnings

    loaded = registry.load(f"{model}:1")
    assert loaded.version.artifact.sha256 == version.artifact.sha256
    assert loaded.predictor.flavor == case.flavor
    batch = Batch.from_arrow(features, version.signature.input_names)
    assert_predicts_like(loaded.predictor, case, batch)


def test_register_python_flavor_file_and_directory(
    registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    sample = tmp_path / "ab_target.csv"
    pd.read_csv(model_dir / "ab.csv").assign(target=[0, 1, 1]).to_csv(sample, index=False)
    batch = Batch.from_matrix(np.array([[1.0, 2.0], [3.0, 4.0]]), ["a", "b"])

    summed = registry.register(
        "sum", model_dir / "sum_model.py", sample_data=sample, target="target"
    )
    assert summed.version.flavor == "python"
    assert summed.version.signature is not None
    assert summed.version.signature.input_names == ["a", "b"]
    np.testing.assert_array_equal(registry.load("sum:1").predictor.predict(batch), [3.0, 7.0])

    scaled = registry.register(
        "scaled", model_dir / "dir_model", sample_data=sample, target="target"
    )
    assert scaled.version.flavor == "python"
    assert scaled.version.artifact.filename == "dir_model/"
    # The directory is packed, stored, unpacked on load, and model.py finds weights.json beside it.
    np.testing.assert_array_equal(registry.load("scaled:1").predictor.predict(batch), [6.0, 14.0])


def test_python_model_that_fails_to_predict_is_refused_at_registration(
    registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    sample = tmp_path / "ab_target.csv"
    pd.read_csv(model_dir / "ab.csv").assign(target=[0, 1, 1]).to_csv(sample, index=False)
    with pytest.raises(SampleDataMismatchError, match=r"failed to predict.*: model exploded"):
        registry.register("boom", model_dir / "error_model.py", sample_data=sample, target="target")
    assert registry.list_models() == []


def test_pickle_needs_trust_which_is_recorded_and_audited(
    registry: Registry, pickles: Built, features: pa.Table
) -> None:
    path = pickles.paths["pickle"]
    with pytest.raises(UnsafeArtifactError, match="--trust-pickle") as refused:
        registry.register("pickled", path)
    assert "model.pkl is a pickle/joblib file" in refused.value.message
    assert registry.list_models() == []
    assert registry.audit_entries(action="artifact.trust_pickle") == []

    version = registry.register("pickled", path, trust_pickle=True).version
    assert version.flavor == "pickle" and version.trust_pickle is True
    (entry,) = registry.audit_entries(action="artifact.trust_pickle")
    assert entry.target == "pickled:1" and entry.actor == "test:alice"
    assert entry.details == {"artifact_sha256": version.artifact.sha256, "filename": "model.pkl"}
    with Registry.open(registry.settings, actor="test:bob") as later:
        loaded = later.load("pickled:1")  # trust comes from the version record
        assert loaded.version.trust_pickle is True
        np.testing.assert_array_equal(
            loaded.predictor.predict(Batch.from_arrow(features)),
            pickles.model.predict(features.to_pandas()),
        )


def test_skops_untrusted_type_is_refused_until_trusted_explicitly(
    registry: Registry, skops_models: dict[str, Built], features: pa.Table
) -> None:
    built = skops_models["hist_gb"]
    path = built.paths["skops"]
    with pytest.raises(UnsafeArtifactError, match=f"--trust-type {HIST_GB_TYPE}") as refused:
        load_predictor("sklearn", path)
    assert f"skops does not trust by default: {HIST_GB_TYPE}" in refused.value.message
    with pytest.raises(UnsafeArtifactError, match="TreePredictor"):
        registry.register("hgb", path)
    with pytest.raises(UnsafeArtifactError, match="TreePredictor"):
        registry.register("hgb", path, trust_types=["sklearn.tree._tree.Tree"])
    assert registry.list_models() == []

    version = registry.register("hgb", path, trust_types=[HIST_GB_TYPE]).version
    assert version.flavor == "sklearn"
    assert version.trusted_types == (HIST_GB_TYPE,) and version.trust_pickle is False
    (entry,) = registry.audit_entries(action="artifact.trust_types")
    assert entry.target == "hgb:1"
    assert entry.details == {"types": [HIST_GB_TYPE], "artifact_sha256": version.artifact.sha256}
    assert registry.audit_entries(action="artifact.trust_pickle") == []
    # A later session reads the trusted types back from the version record.
    with Registry.open(registry.settings, actor="test:bob") as later:
        loaded = later.load("hgb")
        assert loaded.version.trusted_types == (HIST_GB_TYPE,)
        batch = Batch.from_arrow(features)
        X = features.to_pandas()
        np.testing.assert_array_equal(loaded.predictor.predict(batch), built.model.predict(X))
        proba = loaded.predictor.predict_proba(batch)
        np.testing.assert_allclose(proba, built.model.predict_proba(X))


# -- MLflow model directories -----------------------------------------------------------------


@pytest.fixture(scope="module")
def mlflow_dirs(
    root: Path,
    onnx_models: dict[str, Built],
    xgb_model: Built,
    lgb_models: dict[str, Built],
    torch_model: Built,
    pickles: Built,
    skops_models: dict[str, Built],
) -> dict[str, Path]:
    """One MLflow directory per flavor Shipyard imports, in MLflow's on-disk layout."""
    base = root / "mlflow"
    inputs = mf.mlflow_signature_inputs()
    pyfunc = mf.pyfunc_section
    dirs = {
        "onnx": mf.write_mlflow_dir(
            base / "onnx",
            {
                "onnx": {
                    "code": None,
                    "data": "model.onnx",
                    "onnx_version": "1.17.0",
                    "providers": ["CUDAExecutionProvider", "CPUExecutionProvider"],
                },
                "python_function": pyfunc("mlflow.onnx", "model.onnx"),
            },
            {"model.onnx": onnx_models["matrix"].paths["tensor"]},
            signature_inputs=inputs,
        ),
        "sklearn_skops": mf.write_mlflow_dir(
            base / "sklearn_skops",
            {
                "sklearn": {
                    "code": None,
                    "pickled_model": "model.skops",
                    "serialization_format": "skops",
                    "sklearn_version": "1.5.2",
                },
                "python_function": pyfunc("mlflow.sklearn", "model.skops"),
            },
            {"model.skops": skops_models["trusted"].paths["skops"]},
            signature_inputs=inputs,
        ),
        "sklearn_cloudpickle": mf.write_mlflow_dir(
            base / "sklearn_cloudpickle",
            {
                "sklearn": {
                    "code": None,
                    "pickled_model": "model.pkl",
                    "serialization_format": "cloudpickle",
                    "sklearn_version": "1.5.2",
                },
                "python_function": pyfunc("mlflow.sklearn", "model.pkl"),
            },
            {"model.pkl": pickles.paths["pickle"]},
            signature_inputs=inputs,
        ),
        "xgboost": mf.write_mlflow_dir(
            base / "xgboost",
            {
                "xgboost": {
                    "code": None,
                    "data": "model.xgb",
                    "model_class": "xgboost.sklearn.XGBClassifier",
                    "model_format": "xgb",
                    "xgb_version": "2.1.1",
                },
                "python_function": pyfunc("mlflow.xgboost", "model.xgb"),
            },
            {"model.xgb": xgb_model.paths["xgb"]},
            signature_inputs=inputs,
        ),
        "lightgbm": mf.write_mlflow_dir(
            base / "lightgbm",
            {
                "lightgbm": {
                    "code": None,
                    "data": "model.lgb",
                    "lgb_version": "4.5.0",
                    "model_class": "lightgbm.basic.Booster",
                },
                "python_function": pyfunc("mlflow.lightgbm", "model.lgb"),
            },
            {"model.lgb": lgb_models["classifier"].paths["text"]},
            signature_inputs=inputs,
        ),
        # mlflow.lightgbm.save_model(LGBMClassifier) pickles the estimator as model.pkl.
        "lightgbm_sklearn": mf.write_mlflow_dir(
            base / "lightgbm_sklearn",
            {
                "lightgbm": {
                    "code": None,
                    "data": "model.pkl",
                    "lgb_version": "4.5.0",
                    "model_class": "lightgbm.sklearn.LGBMClassifier",
                },
                "python_function": pyfunc("mlflow.lightgbm", "model.pkl"),
            },
            {"model.pkl": lgb_models["classifier"].paths["pickle"]},
            signature_inputs=inputs,
        ),
        "pytorch": mf.write_mlflow_dir(
            base / "pytorch",
            {
                "pytorch": {
                    "code": None,
                    "model_data": "data",
                    "pytorch_version": "2.4.1",
                },
                "python_function": pyfunc("mlflow.pytorch", "data"),
            },
            {"data/model.pth": torch_model.paths["pickle"]},
            signature_inputs=inputs,
        ),
    }
    # Columns-only signature as MLflow writes tensors: no names, so none is imported.
    dirs["onnx_tensor_signature"] = mf.write_mlflow_dir(
        base / "onnx_tensor_signature",
        {"onnx": {"data": "model.onnx"}, "python_function": pyfunc("mlflow.onnx", "model.onnx")},
        {"model.onnx": onnx_models["matrix"].paths["tensor"]},
        signature_inputs=json.dumps(
            [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]
        ),
    )
    dirs["unsupported"] = mf.write_mlflow_dir(
        base / "unsupported",
        {
            "transformers": {"code": None, "framework": "pt", "pipeline_model_type": "Bert"},
            "python_function": pyfunc("mlflow.transformers", "model"),
        },
        {"model/config.json": xgb_model.paths["json"]},
    )
    return dirs


MLFLOW_CASES = [
    # (directory, inner flavor, inner file, case with the reference predictions)
    ("onnx", "onnx", "model.onnx", "onnx_matrix_tensor"),
    ("sklearn_skops", "sklearn", "model.skops", "sklearn_skops"),
    ("sklearn_cloudpickle", "pickle", "model.pkl", "pickle"),
    ("xgboost", "xgboost", "model.xgb", "xgboost_ubj"),
    ("lightgbm", "lightgbm", "model.lgb", "lightgbm_classifier"),
    ("lightgbm_sklearn", "pickle", "model.pkl", "lightgbm_classifier"),
    ("pytorch", "pickle", "model.pth", "torch_save"),
]


@pytest.mark.parametrize(("directory", "flavor", "filename", "case_name"), MLFLOW_CASES)
def test_mlflow_dir_resolves_to_its_inner_flavor(
    mlflow_dirs: dict[str, Path],
    cases: dict[str, Case],
    features: pa.Table,
    directory: str,
    flavor: str,
    filename: str,
    case_name: str,
) -> None:
    path = mlflow_dirs[directory]
    assert detect_flavor(path) == "mlflow"
    imported = read_mlflow_dir(path)
    assert imported.flavor == flavor
    assert imported.model_path.name == filename and imported.model_path.is_file()
    assert imported.source["format"] == "mlflow"
    assert imported.source["run_id"] == mf.MLFLOW_RUN_ID
    assert imported.signature is not None
    assert imported.signature.input_names == FEATURES_SMALL
    case = cases[case_name]
    predictor = load_predictor(imported.flavor, imported.model_path, Trust(pickle=True))
    assert_predicts_like(
        predictor, case, Batch.from_arrow(features, imported.signature.input_names)
    )


def test_register_mlflow_onnx_without_sample_takes_signature_and_provenance_from_mlmodel(
    registry: Registry, mlflow_dirs: dict[str, Path], cases: dict[str, Case], features: pa.Table
) -> None:
    version = registry.register("from-mlflow", mlflow_dirs["onnx"]).version
    assert version.flavor == "onnx"
    assert version.artifact.filename == "model.onnx"
    assert version.reference_profile is None
    source = version.lineage.source
    assert source == {
        "format": "mlflow",
        "mlflow_flavors": ["onnx", "python_function"],
        "run_id": mf.MLFLOW_RUN_ID,
        "model_uuid": mf.MLFLOW_MODEL_UUID,
        "utc_time_created": "2026-01-10 09:15:02.123456",
        "mlflow_version": mf.MLFLOW_VERSION,
    }
    signature = version.signature
    assert signature is not None
    assert signature.input_names == FEATURES_SMALL
    assert [c.dtype for c in signature.inputs] == [DType.DOUBLE] * 4
    assert [c.nullable for c in signature.inputs] == [False] * 4
    assert [(c.name, c.dtype) for c in signature.outputs] == [("x0", DType.LONG)]
    loaded = registry.load("from-mlflow:1")
    assert loaded.version.lineage.source["format"] == "mlflow"
    batch = Batch.from_arrow(features, signature.input_names)
    assert_predicts_like(loaded.predictor, cases["onnx_matrix_tensor"], batch)


def test_register_mlflow_with_sample_data_infers_signature_from_the_sample(
    registry: Registry,
    mlflow_dirs: dict[str, Path],
    cases: dict[str, Case],
    sample_csv: Path,
    features: pa.Table,
) -> None:
    registration = registry.register(
        "skops-mlflow", mlflow_dirs["sklearn_skops"], sample_data=sample_csv, target="target"
    )
    version = registration.version
    assert version.flavor == "sklearn"
    assert version.lineage.source["format"] == "mlflow"
    assert version.lineage.source["mlflow_flavors"] == ["python_function", "sklearn"]
    assert version.signature is not None
    assert version.signature.input_names == FEATURES_SMALL
    assert version.signature.classes == (0, 1)
    assert [c.name for c in version.signature.outputs] == ["prediction"]
    assert version.reference_profile is not None
    loaded = registry.load("skops-mlflow:1")
    assert_predicts_like(loaded.predictor, cases["sklearn_skops"], Batch.from_arrow(features))


@pytest.mark.parametrize(
    ("directory", "flavor", "case_name"),
    [("xgboost", "xgboost", "xgboost_ubj"), ("lightgbm", "lightgbm", "lightgbm_classifier")],
)
def test_register_mlflow_native_boosters(
    registry: Registry,
    mlflow_dirs: dict[str, Path],
    cases: dict[str, Case],
    features: pa.Table,
    directory: str,
    flavor: str,
    case_name: str,
) -> None:
    version = registry.register(directory, mlflow_dirs[directory]).version
    assert version.flavor == flavor and version.trust_pickle is False
    assert version.lineage.source["format"] == "mlflow"
    assert version.signature is not None and version.signature.input_names == FEATURES_SMALL
    loaded = registry.load(f"{directory}:1")
    assert_predicts_like(loaded.predictor, cases[case_name], Batch.from_arrow(features))


@pytest.mark.parametrize(
    ("directory", "case_name"),
    [
        ("sklearn_cloudpickle", "pickle"),
        ("lightgbm_sklearn", "lightgbm_classifier"),
        ("pytorch", "torch_save"),
    ],
)
def test_register_mlflow_pickles_need_trust(
    registry: Registry,
    mlflow_dirs: dict[str, Path],
    cases: dict[str, Case],
    features: pa.Table,
    directory: str,
    case_name: str,
) -> None:
    name = directory.replace("_", "-")
    with pytest.raises(UnsafeArtifactError, match="--trust-pickle"):
        registry.register(name, mlflow_dirs[directory])
    assert registry.list_models() == []
    version = registry.register(name, mlflow_dirs[directory], trust_pickle=True).version
    assert version.flavor == "pickle" and version.trust_pickle is True
    assert version.lineage.source["format"] == "mlflow"
    assert [e.target for e in registry.audit_entries(action="artifact.trust_pickle")] == [
        f"{name}:1"
    ]
    loaded = registry.load(f"{name}:1")
    assert_predicts_like(loaded.predictor, cases[case_name], Batch.from_arrow(features))


def test_mlflow_tensor_signature_is_not_imported(
    registry: Registry, mlflow_dirs: dict[str, Path]
) -> None:
    imported = read_mlflow_dir(mlflow_dirs["onnx_tensor_signature"])
    assert imported.flavor == "onnx" and imported.signature is None
    version = registry.register("tensor-sig", mlflow_dirs["onnx_tensor_signature"]).version
    assert version.signature is None  # the ONNX matrix model records no feature names either


def test_mlflow_dir_with_only_unsupported_flavors_is_refused(
    registry: Registry, mlflow_dirs: dict[str, Path]
) -> None:
    path = mlflow_dirs["unsupported"]
    assert detect_flavor(path) == "mlflow"
    message = r"offers flavors \['python_function', 'transformers'\], none of which Shipyard"
    with pytest.raises(FlavorDetectionError, match=message):
        read_mlflow_dir(path)
    with pytest.raises(FlavorDetectionError, match="none of which Shipyard can load"):
        registry.register("hf", path)
    assert registry.list_models() == []


def test_mlflow_dir_without_flavors_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty-mlflow"
    path.mkdir()
    (path / "MLmodel").write_text("artifact_path: model\nrun_id: abc\n")
    assert detect_flavor(path) == "mlflow"
    with pytest.raises(FlavorDetectionError, match="has no 'flavors' section"):
        read_mlflow_dir(path)


# -- what is refused, and why -----------------------------------------------------------------


def test_unknown_flavor_name(registry: Registry, cases: dict[str, Case]) -> None:
    path = cases["xgboost_ubj"].path
    with pytest.raises(
        FlavorDetectionError, match=r"Unknown flavor 'tensorflow'\. Known flavors: "
    ):
        load_predictor("tensorflow", path)
    with pytest.raises(FlavorDetectionError, match="Unknown flavor 'tensorflow'"):
        registry.register("tf", path, flavor="tensorflow")
    assert registry.list_models() == []


def test_undetectable_file_asks_for_flavor(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(b"\x00\x01SHIPYARD-NOT-A-MODEL" + os.urandom(64))
    with pytest.raises(
        FlavorDetectionError, match=r"Cannot tell which flavor random\.bin is"
    ) as err:
        detect_flavor(path)
    assert "Pass --flavor with one of:" in err.value.message
    with pytest.raises(FlavorDetectionError, match="--flavor"):
        registry.register("random", path)
    directory = tmp_path / "plain-dir"
    directory.mkdir()
    (directory / "weights.bin").write_bytes(b"\x00")
    with pytest.raises(FlavorDetectionError, match=r"neither an MLmodel file nor a model\.py"):
        detect_flavor(directory)
    assert registry.list_models() == []


@pytest.fixture(scope="module")
def bad_files(root: Path) -> dict[str, Path]:
    import pickle  # noqa: TID251 - a trusted pickle that holds no model

    bad = root / "bad"
    bad.mkdir()
    files = {
        "garbage.onnx": b"\x08\x07this is not a protobuf model",
        "notes.txt": b"just some text\n",
        "weights.pkl": pickle.dumps({"weights": [1.0, 2.0]}),
        "no_loader.py": b"MODEL = None\n",
        "no_predict.py": b"def load_model(artifact_dir):\n    return object()\n",
    }
    for name, content in files.items():
        (bad / name).write_bytes(content)
    return {name: bad / name for name in files}


@pytest.mark.parametrize(
    ("flavor", "which", "message"),
    [
        ("onnx", "bad:garbage.onnx", "Could not load garbage.onnx as a onnx model"),
        ("onnx", "case:xgboost_json", "as a onnx model"),
        ("xgboost", "case:lightgbm_classifier", "Could not load lgb_classifier.txt as a xgboost"),
        ("xgboost", "bad:notes.txt", "as a xgboost model"),
        ("lightgbm", "case:xgboost_json", "Could not load xgb_model.json as a lightgbm model"),
        ("torch", "bad:notes.txt", "not a torch.export (.pt2) or TorchScript archive"),
        ("torch", "case:sklearn_skops", "not a torch.export (.pt2) or TorchScript archive"),
        ("torch", "case:torch_save", "it is a torch.save pickle: use --trust-pickle"),
        ("sklearn", "case:onnx_matrix_zipmap", "as a sklearn model"),
        ("sklearn", "case:pickle", "as a sklearn model"),
        ("pickle", "bad:weights.pkl", "the unpickled dict has no predict()"),
        ("pickle", "bad:notes.txt", "Could not load notes.txt as a pickle model"),
        ("python", "model_dir:broken_model.py", "cannot import this model"),
        ("python", "bad:no_loader.py", "defines no load_model(artifact_dir)"),
        ("python", "bad:no_predict.py", "load_model() has no predict(batch)"),
    ],
)
def test_file_that_is_not_a_model_of_the_given_flavor(
    cases: dict[str, Case],
    bad_files: dict[str, Path],
    model_dir: Path,
    flavor: str,
    which: str,
    message: str,
) -> None:
    kind, name = which.split(":")
    if kind == "bad":
        path = bad_files[name]
    elif kind == "case":
        path = cases[name].path
    else:
        path = model_dir / name
    with pytest.raises(ModelLoadError, match=re.escape(message)) as err:
        load_predictor(flavor, path, Trust(pickle=True))
    assert "pass the right --flavor" in err.value.message


def test_registering_with_the_wrong_flavor_writes_nothing(
    registry: Registry, cases: dict[str, Case], model_dir: Path
) -> None:
    with pytest.raises(ModelLoadError, match="as a xgboost model"):
        registry.register("wrong", cases["lightgbm_classifier"].path, flavor="xgboost")
    with pytest.raises(ModelLoadError, match="cannot import this model"):
        registry.register("broken", model_dir / "broken_model.py")
    assert registry.list_models() == []
    assert registry.audit_entries(action="version.register") == []


@pytest.mark.parametrize("kind", ["pickle", "joblib", "bin"])
def test_pickles_are_refused_without_trust(pickles: Built, kind: str) -> None:
    path = pickles.paths[kind]
    assert detect_flavor(path) == "pickle"
    with pytest.raises(UnsafeArtifactError, match="pass --trust-pickle") as err:
        load_predictor("pickle", path)
    assert f"{path.name} is a pickle/joblib file" in err.value.message


def test_torch_save_archive_is_a_pickle(torch_model: Built, features: pa.Table) -> None:
    path = torch_model.paths["pickle"]
    assert detect_flavor(path) == "pickle"
    with pytest.raises(UnsafeArtifactError, match="--trust-pickle"):
        load_predictor("pickle", path)
    trusted = load_predictor("pickle", path, Trust(pickle=True))
    assert trusted.flavor == "pickle" and trusted.has_proba is False
    matrix = features.to_pandas().to_numpy()
    np.testing.assert_allclose(
        trusted.predict(Batch.from_arrow(features)),
        torch_reference(torch_model.model, matrix),
        rtol=1e-5,
    )
