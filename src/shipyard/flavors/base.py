"""The seams every framework plugs into: ``Batch`` (rows in), ``Predictor``, ``Flavor``.

A ``Batch`` holds columns in signature order and converts lazily to what a framework wants
(a float matrix, a pandas frame, one array per column), caching each conversion, so the data
plane builds one object per merged batch and each predictor takes the cheapest view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from shipyard.core.errors import InvalidInputError, ModelLoadError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class Batch:
    """A batch of rows as named columns (numpy arrays of equal length), in model order."""

    __slots__ = ("_columns", "_frame", "_matrices", "_rows", "names")

    def __init__(self, columns: Mapping[str, np.ndarray]) -> None:
        self._columns: dict[str, np.ndarray] | None = dict(columns)
        self.names = list(self._columns)
        lengths = {len(c) for c in self._columns.values()}
        if len(lengths) > 1:
            raise InvalidInputError(f"Columns of a batch differ in length: {sorted(lengths)}.")
        self._rows = lengths.pop() if lengths else 0
        self._matrices: dict[Any, np.ndarray] = {}
        self._frame: pd.DataFrame | None = None

    @classmethod
    def from_matrix(cls, matrix: np.ndarray, names: Sequence[str]) -> Batch:
        """A batch whose columns are the columns of a 2-D array (column views made on demand)."""
        batch = cls.__new__(cls)
        batch._columns = None  # the serving hot path often never needs them
        batch.names = list(names)
        batch._rows = matrix.shape[0]
        batch._matrices = {matrix.dtype: matrix}
        batch._frame = None
        return batch

    def _column_map(self) -> dict[str, np.ndarray]:
        if self._columns is None:
            matrix = next(iter(self._matrices.values()))
            self._columns = {name: matrix[:, i] for i, name in enumerate(self.names)}
        return self._columns

    @classmethod
    def from_arrow(cls, table: pa.Table, names: Sequence[str] | None = None) -> Batch:
        """A batch from an Arrow table (``names`` selects and orders columns)."""
        names = list(names) if names is not None else table.column_names
        return cls({n: _arrow_to_numpy(table.column(n)) for n in names})

    @classmethod
    def concat(cls, batches: Sequence[Batch]) -> Batch:
        """One batch holding the rows of ``batches`` in order (same columns in each).

        Batches built from float matrices are stacked as matrices, which keeps the fast
        matrix and frame views available on the merged batch.
        """
        first = batches[0]
        names = first.names
        float64 = np.dtype(np.float64)
        if all(float64 in b._matrices for b in batches):
            return cls.from_matrix(np.vstack([b._matrices[float64] for b in batches]), names)
        return cls({n: np.concatenate([b.column(n) for b in batches]) for n in names})

    def __len__(self) -> int:
        return self._rows

    def cached_matrix(self, dtype: Any = np.float64) -> np.ndarray | None:
        """The ``[rows, columns]`` matrix of ``dtype`` if the batch already holds one."""
        return self._matrices.get(np.dtype(dtype))

    def column(self, name: str) -> np.ndarray:
        """One column as a 1-D array."""
        return self._column_map()[name]

    def matrix(self, dtype: Any = np.float64) -> np.ndarray:
        """All columns stacked as a 2-D ``[rows, columns]`` array of ``dtype`` (cached)."""
        key = np.dtype(dtype)
        cached = self._matrices.get(key)
        if cached is None:
            try:
                columns = self._column_map().values()
                cached = np.column_stack([np.asarray(c, dtype=key) for c in columns])
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    f"The batch cannot be converted to a {key} matrix: {exc}. This model needs "
                    "numeric inputs."
                ) from exc
            self._matrices[key] = cached
        return cached

    def frame(self) -> pd.DataFrame:
        """The batch as a pandas DataFrame (cached)."""
        if self._frame is None:
            import pandas as pd

            # An object Index and, when there is one, the float matrix as a single block: both
            # make construction (and scikit-learn's checks of the frame) many times cheaper.
            columns = pd.Index(self.names, dtype=object)
            matrix = self._matrices.get(np.dtype(np.float64))
            if matrix is not None:
                self._frame = pd.DataFrame(matrix, columns=columns, copy=False)
            else:
                self._frame = pd.DataFrame(self._column_map(), columns=columns, copy=False)
        return self._frame


def _arrow_to_numpy(column: Any) -> np.ndarray:
    import pyarrow as pa

    if pa.types.is_integer(column.type) and column.null_count:
        # Integers with nulls become floats with NaN, as in pandas.
        column = column.cast(pa.float64())
    return np.asarray(column.to_numpy(zero_copy_only=False))


class Predictor(Protocol):
    """A loaded model, ready to answer.

    Attributes:
        flavor: Name of the flavor that loaded it.
        feature_names: Input names the model itself records, in order (None if it records none).
        n_features: Number of inputs the model expects, if it says.
        classes: Labels of ``predict_proba``'s columns for classifiers, else None.
        has_proba: True if ``predict_proba`` is available.
    """

    flavor: str
    feature_names: list[str] | None
    n_features: int | None
    classes: list[Any] | None
    has_proba: bool

    def predict(self, batch: Batch) -> np.ndarray:
        """One prediction per row (1-D, or 2-D for multi-output models)."""
        ...

    def predict_proba(self, batch: Batch) -> np.ndarray:
        """Class probabilities ``[rows, classes]``.

        Raises:
            InvalidInputError: if the model has none (check ``has_proba``).
        """
        ...


@dataclass(frozen=True, slots=True)
class Trust:
    """What the user explicitly trusts when loading an artifact (recorded on the version).

    Attributes:
        pickle: Unpickling (runs code from the file) is allowed.
        types: Extra skops types the user reviewed and trusts.
    """

    pickle: bool = False
    types: tuple[str, ...] = ()


NO_TRUST = Trust()


class Flavor(Protocol):
    """Turns an artifact file (or directory) of one framework into a Predictor.

    Attributes:
        name: Registry name (``sklearn``, ``onnx``…).
        extra: The pip extra that installs the framework, or None if built in.
        executes_code: True if loading runs code from the artifact (pickle, python).
    """

    name: str
    extra: str | None
    executes_code: bool

    def load(self, path: Path, trust: Trust = NO_TRUST) -> Predictor:
        """Load the artifact, within what ``trust`` allows.

        Raises:
            ModelLoadError, UnsafeArtifactError, MissingExtraError.
        """
        ...


def no_proba(flavor: str) -> InvalidInputError:
    """The error for predict_proba on a model that has none."""
    return InvalidInputError(f"This {flavor} model does not produce class probabilities.")


def load_failed(flavor: str, path: Path, exc: BaseException) -> ModelLoadError:
    """The error for an artifact the framework could not load."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ModelLoadError(
        f"Could not load {path.name} as a {flavor} model: {reason}. Check that the file is a "
        f"{flavor} model saved with a compatible library version, or pass the right --flavor."
    )
