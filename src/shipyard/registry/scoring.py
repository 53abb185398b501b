"""Offline batch scoring of CSV/Parquet files with a loaded version, streamed in chunks.

Output = the input columns, then ``prediction`` and, for classifiers, one ``proba_<class>``
column per class. The output file appears only when complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from shipyard.core.errors import DataFileError, InvalidInputError, ShipyardError
from shipyard.core.types import DType, Signature
from shipyard.flavors import Batch
from shipyard.registry.datafiles import TableWriter, iter_batches
from shipyard.registry.service import LoadedVersion

CHUNK_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class ScoringSummary:
    """What a scoring run did."""

    rows: int
    output: str
    model: str
    version: int


def score_file(
    loaded: LoadedVersion,
    input_path: Path,
    output: Path | BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    to_batch: Callable[[pa.Table, list[str]], Batch] | None = None,
) -> ScoringSummary:
    """Score every row of ``input_path`` into ``output`` (a path, or a binary stream for CSV).

    ``to_batch`` turns each chunk into the model's batch; the CLI passes the serving data
    plane's compiled validation, so a file is checked exactly as a request would be.

    Raises:
        DataFileError: unreadable or empty input, missing columns, or rows the model rejects
            (named by their row range).
    """
    record, predictor = loaded.version, loaded.predictor
    names = _input_names(loaded)
    writer: TableWriter | None = TableWriter(output) if isinstance(output, Path) else None
    stream_writer: pacsv.CSVWriter | None = None
    total = 0
    try:
        for chunk in iter_batches(input_path, chunk_rows, _csv_types(record.signature)):
            columns = names or chunk.schema.names
            _check_columns(loaded, input_path, chunk.schema.names, columns)
            table = pa.Table.from_batches([chunk])
            try:
                batch = (to_batch or Batch.from_arrow)(table, columns)
            except InvalidInputError as exc:
                raise DataFileError(
                    f"Rows {total + 1}-{total + chunk.num_rows} of {input_path.name}: {exc.message}"
                ) from None
            try:
                scored = _append_outputs(chunk, predictor.predict(batch), predictor, batch)
            except ShipyardError:
                raise
            except Exception as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise DataFileError(
                    f"{record.ref} failed on rows {total + 1}-{total + chunk.num_rows} of "
                    f"{input_path.name}: {reason}. Check those rows' types and missing values."
                ) from exc
            if writer is not None:
                writer.write(scored)
            else:
                if stream_writer is None:
                    stream_writer = pacsv.CSVWriter(output, scored.schema)
                stream_writer.write_batch(scored)
            total += chunk.num_rows
            if progress:
                progress(chunk.num_rows)
        if total == 0:
            raise DataFileError(f"{input_path.name} has no rows; nothing to score.")
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        writer.close()
    if stream_writer is not None:
        stream_writer.close()
    target = str(output) if isinstance(output, Path) else "<stdout>"
    return ScoringSummary(total, target, record.model, record.version)


def _input_names(loaded: LoadedVersion) -> list[str] | None:
    if loaded.version.signature is not None:
        return loaded.version.signature.input_names
    return loaded.predictor.feature_names


def _check_columns(
    loaded: LoadedVersion, path: Path, present: list[str], columns: list[str]
) -> None:
    ref = loaded.version.ref
    missing = [n for n in columns if n not in present]
    if missing:
        raise DataFileError(f"{path.name} lacks columns {ref} needs: {', '.join(missing)}.")
    expected = loaded.predictor.n_features
    if expected is not None and len(columns) != expected:
        raise DataFileError(
            f"{path.name} has {len(columns)} columns but {ref} expects {expected}, and the "
            "version records no signature to pick them by name. Register it with --sample-data "
            "so its input columns are known."
        )


def _csv_types(signature: Signature | None) -> dict[str, pa.DataType]:
    if signature is None:
        return {}
    types = {
        DType.DOUBLE: pa.float64(),
        DType.LONG: pa.float64(),  # a missing value in an int column must stay readable
        DType.BOOLEAN: pa.bool_(),
        DType.STRING: pa.string(),
    }
    return {c.name: types[c.dtype] for c in signature.inputs if c.dtype in types}


def _append_outputs(
    chunk: pa.RecordBatch, predictions: np.ndarray, predictor: object, batch: Batch
) -> pa.RecordBatch:
    arrays = list(chunk.columns)
    fields = list(chunk.schema)
    if predictions.ndim == 2:
        for i in range(predictions.shape[1]):
            arrays.append(pa.array(predictions[:, i]))
            fields.append(pa.field(f"prediction_{i}", arrays[-1].type))
    else:
        values = predictions.astype(str) if predictions.dtype.kind == "O" else predictions
        arrays.append(pa.array(values))
        fields.append(pa.field("prediction", arrays[-1].type))
    if getattr(predictor, "has_proba", False):
        proba = predictor.predict_proba(batch)  # type: ignore[attr-defined]
        classes = getattr(predictor, "classes", None) or list(range(proba.shape[1]))
        for i, label in enumerate(classes):
            arrays.append(pa.array(proba[:, i]))
            fields.append(pa.field(f"proba_{label}", pa.float64()))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
