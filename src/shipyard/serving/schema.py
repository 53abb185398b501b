"""Request validation compiled once per model version from its signature.

``InputSchema`` turns request instances (objects keyed by feature, or positional rows) and
protocol tensors into a ``Batch`` in signature order, or raises an ``InvalidInputError`` that
names the field and the expected type. The all-numeric path (the common case) builds one float
matrix with a single numpy call; per-value diagnosis runs only after something is wrong.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.core.errors import InvalidInputError, PayloadTooLargeError
from shipyard.core.types import DType, Signature
from shipyard.flavors import Batch, Predictor

DEFAULT_MAX_INSTANCES = 10_000

_NUMBER_TYPES = frozenset({int, float})
_TYPE_WORDS = {
    DType.DOUBLE: "a number",
    DType.LONG: "an integer",
    DType.BOOLEAN: "true or false",
    DType.STRING: "a string",
    DType.DATETIME: "an ISO-8601 date-time string",
}


@dataclass(frozen=True, slots=True)
class Feature:
    """One input column as validation sees it."""

    name: str
    dtype: DType
    nullable: bool


class InputSchema:
    """The validator of one model version's inputs."""

    def __init__(self, features: Sequence[Feature], *, max_instances: int) -> None:
        self.features = tuple(features)
        self.names = [f.name for f in self.features]
        self.max_instances = max_instances
        self._index = {f.name: i for i, f in enumerate(self.features)}
        self._all_double = all(f.dtype == DType.DOUBLE for f in self.features)
        self._any_nullable = any(f.nullable for f in self.features)

    @classmethod
    def for_version(
        cls,
        signature: Signature | None,
        predictor: Predictor,
        *,
        max_instances: int = DEFAULT_MAX_INSTANCES,
    ) -> InputSchema:
        """The schema from the version's signature, else from what the model records.

        A version registered without sample data has no signature; if the model names its
        features they are taken as non-null numbers, else positional ``f0..fN`` names are used.
        """
        if signature is not None and signature.inputs:
            features = [Feature(c.name, c.dtype, c.nullable) for c in signature.inputs]
        elif predictor.feature_names:
            features = [Feature(n, DType.DOUBLE, False) for n in predictor.feature_names]
        elif predictor.n_features:
            features = [Feature(f"f{i}", DType.DOUBLE, False) for i in range(predictor.n_features)]
        else:
            features = []
        return cls(features, max_instances=max_instances)

    # -- v1: JSON instances ---------------------------------------------------------------

    def batch_from_instances(self, instances: Any) -> Batch:
        """A batch from a list of objects ``{feature: value}`` or of positional rows.

        Raises:
            InvalidInputError: naming the instance, the field and the expected type.
            PayloadTooLargeError: for more instances than allowed.
        """
        if not isinstance(instances, list):
            raise InvalidInputError(
                "'instances' must be a list of objects {feature: value} or of rows [v1, v2, …]."
            )
        self._check_count(len(instances))
        if not self.features:
            raise InvalidInputError(
                "This version records no input schema; register it with --sample-data."
            )
        first = instances[0]
        if isinstance(first, dict):
            rows = self._rows_from_objects(instances)
        elif isinstance(first, list):
            rows = self._rows_from_lists(instances)
        else:
            raise InvalidInputError(
                f"instances[0] is {_kind(first)}; each instance must be an object "
                "{feature: value} or a row [v1, v2, …] in signature order."
            )
        if self._all_double:
            matrix = self._double_matrix(rows)
            if matrix is not None:
                return Batch.from_matrix(matrix, self.names)
        columns = {
            f.name: self._column(f, [row[i] for row in rows], i)
            for i, f in enumerate(self.features)
        }
        return Batch(columns)

    def _check_count(self, count: int) -> None:
        if count == 0:
            raise InvalidInputError("'instances' is empty: send at least one instance.")
        if count > self.max_instances:
            raise PayloadTooLargeError(
                f"{count} instances in one request; the limit is {self.max_instances}. "
                "Split the request, or raise the server's --max-instances."
            )

    def _rows_from_objects(self, instances: list[Any]) -> list[list[Any]]:
        names = self.names
        width = len(names)
        rows: list[list[Any]] = []
        for i, instance in enumerate(instances):
            if not isinstance(instance, dict):
                raise InvalidInputError(
                    f"instances[{i}] is {_kind(instance)}; mix no rows and objects: send every "
                    "instance as an object {feature: value}."
                )
            try:
                rows.append([instance[n] for n in names])
            except KeyError:
                self._raise_for_keys(i, instance)
            if len(instance) != width:
                self._raise_for_keys(i, instance)
        return rows

    def _raise_for_keys(self, i: int, instance: Mapping[str, Any]) -> None:
        missing = [n for n in self.names if n not in instance]
        extra = [k for k in instance if k not in self._index]
        parts = []
        if missing:
            parts.append(f"missing {_quote_list(missing)}")
        if extra:
            hints = []
            for name in extra:
                close = difflib.get_close_matches(str(name), missing or self.names, n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            parts.append(f"unexpected {', '.join(hints)}")
        raise InvalidInputError(
            f"instances[{i}]: {'; '.join(parts)}. This model takes {len(self.names)} features: "
            f"{_quote_list(self.names, limit=12)}."
        )

    def _rows_from_lists(self, instances: list[Any]) -> list[list[Any]]:
        width = len(self.names)
        for i, row in enumerate(instances):
            if not isinstance(row, list):
                raise InvalidInputError(
                    f"instances[{i}] is {_kind(row)}; mix no objects and rows: send every "
                    f"instance as a row of {width} values."
                )
            if len(row) != width:
                raise InvalidInputError(
                    f"instances[{i}] has {len(row)} values; this model takes {width}, in this "
                    f"order: {_quote_list(self.names, limit=12)}."
                )
        return instances

    def _double_matrix(self, rows: list[list[Any]]) -> np.ndarray | None:
        """The float matrix, or None when some value needs per-column diagnosis."""
        kinds = {type(v) for row in rows for v in row}
        if not kinds <= _NUMBER_TYPES:
            return None
        try:
            matrix = np.array(rows, dtype=np.float64)
        except (OverflowError, ValueError):
            return None
        if not np.isfinite(matrix).all():
            return None
        return matrix

    def _column(self, feature: Feature, values: list[Any], position: int) -> np.ndarray:
        """One validated column; raises naming the first bad value."""
        dtype = feature.dtype
        nulls = [i for i, v in enumerate(values) if v is None]
        if nulls and not feature.nullable:
            raise self._bad(feature, nulls[0], None, "is null, and this feature allows no nulls")
        for i, v in enumerate(values):
            if v is not None and not _fits(dtype, v):
                raise self._bad(feature, i, v, f"is {_kind(v)}; expected {_TYPE_WORDS[dtype]}")
        if dtype == DType.DOUBLE:
            array = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
            allowed = np.isnan(array) if feature.nullable else np.zeros(len(array), dtype=bool)
            bad = np.flatnonzero(~np.isfinite(array) & ~allowed)
            if bad.size:
                raise self._bad(feature, int(bad[0]), None, "is not a finite number")
            return array
        if dtype == DType.LONG:
            if nulls:
                return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
            return np.array(values, dtype=np.int64)
        if dtype == DType.BOOLEAN:
            if nulls:
                return np.array(values, dtype=object)
            return np.array(values, dtype=np.bool_)
        if dtype == DType.DATETIME:
            try:
                return np.array(
                    ["NaT" if v is None else str(v).removesuffix("Z") for v in values],
                    dtype="datetime64[us]",
                )
            except ValueError as exc:
                raise InvalidInputError(
                    f"Feature {feature.name!r}: {exc}; send ISO-8601 date-times such as "
                    "'2026-01-31T12:00:00'."
                ) from None
        return np.array(values, dtype=object)

    def _bad(self, feature: Feature, row: int, value: Any, problem: str) -> InvalidInputError:
        shown = "" if value is None else f" ({_preview(value)})"
        return InvalidInputError(f"instances[{row}]: feature {feature.name!r}{shown} {problem}.")

    # -- v2: tensors ----------------------------------------------------------------------

    def batch_from_matrix(self, matrix: np.ndarray, tensor: str) -> Batch:
        """A batch from one 2-D tensor ``[rows, features]`` in signature order."""
        width = len(self.names)
        if matrix.ndim == 1 and width == 1:
            matrix = matrix.reshape(-1, 1)
        if matrix.ndim != 2 or matrix.shape[1] != width:
            raise InvalidInputError(
                f"Input {tensor!r} has shape {list(matrix.shape)}; send one tensor of "
                f"shape [rows, {width}] in signature order, or one tensor per feature named "
                f"after it ({_quote_list(self.names, limit=6)})."
            )
        self._check_count(matrix.shape[0])
        if self._all_double:
            values = _as_float(matrix, tensor)
            if not self._any_nullable and not np.isfinite(values).all():
                row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
                raise InvalidInputError(
                    f"Input {tensor!r} row {row} holds NaN or infinity; this model "
                    "allows only finite numbers."
                )
            return Batch.from_matrix(values, self.names)
        return self.batch_from_columns({n: matrix[:, i] for i, n in enumerate(self.names)})

    def batch_from_columns(self, columns: Mapping[str, np.ndarray]) -> Batch:
        """A batch from one 1-D tensor per feature, named after it."""
        missing = [n for n in self.names if n not in columns]
        extra = [n for n in columns if n not in self._index]
        if missing or extra:
            raise InvalidInputError(
                "Inputs do not match the model's features"
                + (f"; missing {_quote_list(missing, limit=8)}" if missing else "")
                + (f"; unexpected {_quote_list(extra, limit=8)}" if extra else "")
                + ". Send one tensor per feature named after it, or a single 2-D tensor "
                f"[rows, {len(self.names)}]."
            )
        out: dict[str, np.ndarray] = {}
        rows: int | None = None
        for feature in self.features:
            array = columns[feature.name]
            if array.ndim == 2 and array.shape[1] == 1:
                array = array[:, 0]
            if array.ndim != 1:
                raise InvalidInputError(
                    f"Input {feature.name!r} has shape {list(array.shape)}; a per-feature "
                    "tensor must be [rows] or [rows, 1]."
                )
            if rows is None:
                rows = len(array)
                self._check_count(rows)
            elif len(array) != rows:
                raise InvalidInputError(
                    f"Input {feature.name!r} has {len(array)} rows, others have {rows}."
                )
            out[feature.name] = _tensor_column(feature, array)
        return Batch(out)


def _tensor_column(feature: Feature, array: np.ndarray) -> np.ndarray:
    kind = array.dtype.kind
    if feature.dtype in (DType.DOUBLE, DType.LONG):
        values = _as_float(array, feature.name)
        finite = np.isfinite(values)
        if not finite.all() and not (feature.nullable and not np.isinf(values).any()):
            raise InvalidInputError(
                f"Input {feature.name!r} holds NaN or infinity at row "
                f"{int(np.flatnonzero(~finite)[0])}; this feature allows only finite numbers."
            )
        return values if feature.dtype == DType.DOUBLE or not finite.all() else array
    if feature.dtype == DType.BOOLEAN:
        if kind != "b":
            raise InvalidInputError(f"Input {feature.name!r} must be BOOL.")
        return array
    if kind not in "OSU":
        raise InvalidInputError(
            f"Input {feature.name!r} must be BYTES ({_TYPE_WORDS[feature.dtype]})."
        )
    decoded = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in array.tolist()]
    if feature.dtype == DType.DATETIME:
        try:
            return np.array(decoded, dtype="datetime64[us]")
        except ValueError as exc:
            raise InvalidInputError(f"Input {feature.name!r}: {exc}.") from None
    return np.array(decoded, dtype=object)


def _as_float(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise InvalidInputError(
            f"Input {name!r} has datatype {array.dtype}; this model needs numbers "
            "(FP32, FP64 or an integer type)."
        )
    return array.astype(np.float64, copy=False)


def _fits(dtype: DType, value: Any) -> bool:
    kind = type(value)
    if dtype == DType.DOUBLE:
        return kind is float or kind is int
    if dtype == DType.LONG:
        return kind is int or (kind is float and float(value).is_integer())
    if dtype == DType.BOOLEAN:
        return kind is bool
    return kind is str


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _quote_list(names: Sequence[str], *, limit: int = 20) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
