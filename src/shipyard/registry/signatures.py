"""Signatures from data: Arrow types → Shipyard column types, and checks against the model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from shipyard.core.errors import SampleDataMismatchError
from shipyard.core.types import ColumnSpec, DType, Signature


def dtype_of_arrow(arrow_type: pa.DataType) -> DType:
    """The Shipyard column type for an Arrow type."""
    if pa.types.is_boolean(arrow_type):
        return DType.BOOLEAN
    if pa.types.is_integer(arrow_type):
        return DType.LONG
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return DType.DOUBLE
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return DType.DATETIME
    return DType.STRING


def dtype_of_numpy(array: np.ndarray) -> DType:
    """The Shipyard column type of a numpy array's values."""
    kind = array.dtype.kind
    if kind == "b":
        return DType.BOOLEAN
    if kind in "iu":
        return DType.LONG
    if kind == "f":
        return DType.DOUBLE
    if kind == "M":
        return DType.DATETIME
    return DType.STRING


def input_columns(table: pa.Table, names: Sequence[str]) -> tuple[ColumnSpec, ...]:
    """Column specs for ``names`` of ``table`` (nullable where the sample has nulls)."""
    specs = []
    for name in names:
        column = table.column(name)
        nullable = column.null_count > 0
        if pa.types.is_floating(column.type) and not nullable:
            nullable = bool(np.isnan(column.to_numpy(zero_copy_only=False)).any())
        specs.append(ColumnSpec(name, dtype_of_arrow(column.type), nullable))
    return tuple(specs)


def output_signature(
    inputs: tuple[ColumnSpec, ...], predictions: np.ndarray, classes: list[Any] | None
) -> Signature:
    """The full signature, with outputs described from a trial prediction."""
    if predictions.ndim == 2 and predictions.shape[1] > 1:
        kind = dtype_of_numpy(predictions)
        outputs = tuple(ColumnSpec(f"prediction_{i}", kind) for i in range(predictions.shape[1]))
    else:
        outputs = (ColumnSpec("prediction", dtype_of_numpy(predictions)),)
    return Signature(inputs, outputs, tuple(classes) if classes is not None else None)


def _normalise(name: str) -> str:
    # LightGBM stores "mean radius" as "mean_radius"; compare names the way it writes them.
    return name.replace(" ", "_")


def check_features(
    data_columns: Sequence[str],
    model_features: Sequence[str] | None,
    n_features: int | None,
    source: str,
) -> list[str]:
    """The model's feature order, checked against the sample's feature columns.

    Returns:
        Sample column names in the order the model expects them.

    Raises:
        SampleDataMismatchError: naming missing and unexpected columns.
    """
    if model_features:
        by_norm = {_normalise(c): c for c in data_columns}
        missing = [f for f in model_features if _normalise(f) not in by_norm]
        wanted = {_normalise(f) for f in model_features}
        extra = [c for c in data_columns if _normalise(c) not in wanted]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing columns the model needs: {', '.join(missing)}")
            if extra:
                parts.append(f"columns the model does not know: {', '.join(extra)}")
            raise SampleDataMismatchError(
                f"{source} does not match the model: {'; '.join(parts)}. Use --target and "
                "--sensitive for label and group columns the model does not take as input."
            )
        return [by_norm[_normalise(f)] for f in model_features]
    if n_features is not None and n_features != len(data_columns):
        raise SampleDataMismatchError(
            f"{source} has {len(data_columns)} feature columns but the model expects "
            f"{n_features}. Use --target and --sensitive for label and group columns the "
            "model does not take as input."
        )
    return list(data_columns)
