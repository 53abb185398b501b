"""Registry helpers without I/O beyond temp files: signatures, profiles, keys, packing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from shipyard.artifacts.base import file_sha256
from shipyard.artifacts.packing import pack_directory, unpack_directory
from shipyard.core.errors import InvalidInputError, SampleDataMismatchError
from shipyard.core.types import DType
from shipyard.flavors import Batch
from shipyard.registry.profiles import profile_table
from shipyard.registry.signatures import check_features, dtype_of_arrow, input_columns
from shipyard.security.keys import generate_key, hash_secret, secrets_match


def test_check_features_orders_by_model_and_names_problems() -> None:
    assert check_features(["b", "a"], ["a", "b"], 2, "s") == ["a", "b"]
    assert check_features(["mean radius"], ["mean_radius"], 1, "s") == ["mean radius"]
    with pytest.raises(
        SampleDataMismatchError,
        match="missing columns the model needs: c; columns the model does not know: z",
    ):
        check_features(["a", "z"], ["a", "c"], 2, "s")
    with pytest.raises(SampleDataMismatchError, match="has 3 feature columns"):
        check_features(["a", "b", "c"], None, 2, "s")


def test_arrow_types_map_to_signature_types() -> None:
    table = pa.table({"i": [1, 2], "f": [1.0, float("nan")], "s": ["x", None], "b": [True, False]})
    specs = {c.name: c for c in input_columns(table, ["i", "f", "s", "b"])}
    assert specs["i"].dtype == DType.LONG and not specs["i"].nullable
    assert specs["f"].dtype == DType.DOUBLE and specs["f"].nullable  # NaN counts as missing
    assert specs["s"].dtype == DType.STRING and specs["s"].nullable
    assert specs["b"].dtype == DType.BOOLEAN
    assert dtype_of_arrow(pa.timestamp("us")) == DType.DATETIME


def test_profile_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(10, 2, 1000)
    values[:10] = np.nan
    table = pa.table({"x": values, "c": ["a"] * 600 + ["b"] * 399 + [None]})
    profile = profile_table(table, {"x": "feature", "c": "sensitive"})
    x, c = profile["columns"]["x"], profile["columns"]["c"]
    finite = values[~np.isnan(values)]
    assert (x["count"], x["missing"]) == (990, 10)
    assert x["mean"] == pytest.approx(finite.mean()) and x["std"] == pytest.approx(finite.std())
    assert x["quantiles"]["0.95"] == pytest.approx(np.quantile(finite, 0.95))
    counts, edges = np.histogram(finite, bins=20)
    assert x["histogram"]["counts"] == counts.tolist()
    assert x["histogram"]["edges"] == pytest.approx(edges.tolist())
    assert (c["frequencies"], c["missing"], c["unique"], c["role"]) == (
        {"a": 600, "b": 399},
        1,
        2,
        "sensitive",
    )


def test_keys_are_random_and_compared_by_digest() -> None:
    (id1, s1), (id2, s2) = generate_key(), generate_key()
    assert id1 != id2 and s1 != s2 and s1.startswith(f"sy_{id1}_") and len(s1) > 40
    assert hash_secret(s1) == hashlib.sha256(s1.encode()).hexdigest()
    assert secrets_match(s1, hash_secret(s1)) and not secrets_match(s2, hash_secret(s1))


def test_directory_packing_is_deterministic_and_safe(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "model.py").write_text("x = 1\n")
    (source / "sub" / "w.bin").write_bytes(b"\x00" * 10)
    first = pack_directory(source, tmp_path / "one.tar")
    (source / "model.py").touch()  # a new mtime must not change the hash
    second = pack_directory(source, tmp_path / "two.tar")
    assert file_sha256(first) == file_sha256(second)
    out = unpack_directory(first, tmp_path / "out")
    assert (out / "sub" / "w.bin").read_bytes() == b"\x00" * 10


def test_batch_views_are_consistent() -> None:
    batch = Batch({"a": np.array([1, 2]), "b": np.array([0.5, 1.5])})
    assert len(batch) == 2 and batch.names == ["a", "b"]
    assert batch.matrix().tolist() == [[1.0, 0.5], [2.0, 1.5]]
    assert batch.matrix() is batch.matrix()  # cached
    assert list(batch.frame().columns) == ["a", "b"]
    with pytest.raises(InvalidInputError, match="differ in length"):
        Batch({"a": np.array([1]), "b": np.array([1, 2])})
    with pytest.raises(InvalidInputError, match="cannot be converted"):
        Batch({"a": np.array(["x"], dtype=object)}).matrix()
