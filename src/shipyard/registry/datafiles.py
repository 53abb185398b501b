"""Reading and writing the user's tabular files (CSV and Parquet) with pyarrow.

Errors name the file and what to do; nothing here knows about models.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shipyard.core.errors import DataFileError

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def file_format(path: Path) -> str:
    """``csv`` or ``parquet`` from the file name.

    Raises:
        DataFileError: for any other extension.
    """
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataFileError(
            f"{path.name}: unsupported data file type {path.suffix or '(none)'!r}; "
            "use .csv or .parquet."
        )
    return fmt


def read_table(path: Path) -> pa.Table:
    """The whole file as an Arrow table.

    Raises:
        DataFileError: missing, unreadable, malformed or empty file.
    """
    fmt = file_format(path)
    if not path.is_file():
        raise DataFileError(f"Data file {path} does not exist.")
    try:
        table = pacsv.read_csv(path) if fmt == "csv" else pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(f"Cannot read {path} as {fmt.upper()}: {_first_line(exc)}.") from exc
    if table.num_rows == 0:
        raise DataFileError(f"Data file {path} has no rows.")
    check_flat(table.schema, path)
    return table


def check_flat(schema: pa.Schema, path: Path) -> None:
    """Refuse nested columns (lists, structs, maps): models take one value per cell."""
    for column in schema:
        if pa.types.is_nested(column.type):
            raise DataFileError(
                f"Column {column.name!r} of {path.name} is nested ({column.type}); Shipyard "
                "reads flat tables only. Flatten it into one column per value."
            )


def iter_batches(
    path: Path, rows: int, column_types: dict[str, pa.DataType] | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream the file in record batches of about ``rows`` rows (for large scoring jobs).

    ``column_types`` fixes CSV column types up front: otherwise Arrow infers them from the
    first block only and fails on a later value that does not fit (an int column with 0.5).
    """
    fmt = file_format(path)
    if not path.is_file():
        raise DataFileError(f"Data file {path} does not exist.")
    try:
        if fmt == "parquet":
            parquet = pq.ParquetFile(path)
            check_flat(parquet.schema_arrow, path)
            yield from parquet.iter_batches(batch_size=rows)
        else:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=1 << 22),
                convert_options=pacsv.ConvertOptions(column_types=column_types or {}),
            )
            for batch in reader:
                for start in range(0, batch.num_rows, rows):
                    yield batch.slice(start, rows)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(f"Cannot read {path} as {fmt.upper()}: {_first_line(exc)}.") from exc


def count_rows(path: Path) -> int | None:
    """Row count if cheap to know (Parquet metadata); None for CSV."""
    if file_format(path) == "parquet" and path.is_file():
        return int(pq.ParquetFile(path).metadata.num_rows)
    return None


class TableWriter:
    """Appends record batches to a CSV or Parquet file, written atomically on ``close``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._format = file_format(path)
        self._tmp = path.with_name(f".{path.name}.tmp")
        self._writer: pq.ParquetWriter | pacsv.CSVWriter | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        """Append one batch (the first one fixes the schema)."""
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = (
                pq.ParquetWriter(self._tmp, batch.schema)
                if self._format == "parquet"
                else pacsv.CSVWriter(self._tmp, batch.schema)
            )
        self._writer.write_batch(batch)

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._writer is not None:
            self._writer.close()
            self._tmp.replace(self.path)

    def abort(self) -> None:
        """Drop the partial file."""
        if self._writer is not None:
            self._writer.close()
        self._tmp.unlink(missing_ok=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
