"""A window of an endpoint's prediction log: the inputs and outputs of the predictions in it.

What drift and fairness are computed on. One DuckDB query over the Parquet segments; a window
is a time range, the last N predictions, or both, of one version or all. Input features come
back under their own names (the log stores them as ``input.<name>``), request metadata fields
under ``metadata.<name>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from shipyard.core.errors import DataFileError, InvalidInputError
from shipyard.monitoring.outcomes import (
    LIVE,
    UNREADABLE,
    as_utc,
    column_types,
    import_duckdb,
    log_segments,
    quote_identifier,
)

INPUT_PREFIX = "input."
METADATA_PREFIX = "metadata."


@dataclass(frozen=True, slots=True)
class PredictionWindow:
    """Logged predictions of one endpoint, oldest first.

    Attributes:
        endpoint: The endpoint.
        table: Columns ``request_id``, ``version``, ``time``, ``prediction``, one per input
            feature (by its name) and ``metadata.<field>`` for each field asked for.
        features: The input feature columns, in log order.
    """

    endpoint: str
    table: pa.Table
    features: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def column(self, name: str) -> pa.ChunkedArray:
        """One column by name (KeyError naming the available ones)."""
        if name not in self.table.column_names:
            raise KeyError(f"{name!r}; the window has {', '.join(self.table.column_names)}")
        return self.table.column(name)


def load_window(
    log_root: Path,
    endpoint: str,
    *,
    version: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    last: int | None = None,
    role: str = LIVE,
    metadata_fields: Sequence[str] = (),
) -> PredictionWindow:
    """The predictions of ``endpoint`` in a window (an empty window is not an error).

    Args:
        log_root: The prediction log directory (``$SHIPYARD_HOME/logs``).
        endpoint: The endpoint whose log to read.
        version: Only this version's predictions.
        since: Only predictions made at or after this time.
        until: Only predictions made before this time.
        last: Only the newest ``last`` predictions (rows) of what the other bounds leave.
        role: ``live`` (answers returned) or ``shadow``.
        metadata_fields: Request metadata fields to extract (e.g. a sensitive attribute sent
            as ``"metadata": {"group": "a"}``).

    Raises:
        InvalidInputError: an empty time range or ``last`` below 1.
        DataFileError: a segment cannot be read.
        MissingExtraError: DuckDB is not installed.
    """
    since_utc, until_utc = as_utc(since), as_utc(until)
    if since_utc is not None and until_utc is not None and since_utc >= until_utc:
        raise InvalidInputError("The window is empty: its start must be before its end.")
    if last is not None and last < 1:
        raise InvalidInputError(f"--last must be at least 1, not {last}.")
    logs = log_segments(Path(log_root) / endpoint, "part-*.parquet", since_utc, until_utc)
    if not logs:
        return PredictionWindow(endpoint, _empty(metadata_fields), ())
    duckdb = import_duckdb()
    with duckdb.connect() as connection:
        try:
            source = "read_parquet($logs, union_by_name = true, hive_partitioning = false)"
            types = column_types(connection, source, {"logs": logs})
            features = tuple(c[len(INPUT_PREFIX) :] for c in types if c.startswith(INPUT_PREFIX))
            params: dict[str, Any] = {"logs": logs}
            where = ["version IS NOT NULL"]
            role_expr = "coalesce(role, 'live')" if "role" in types else "'live'"
            where.append(f"{role_expr} = $role")
            params["role"] = role
            if version is not None:
                where.append("version = $version")
                params["version"] = version
            if since_utc is not None:
                where.append('"time" >= $since')
                params["since"] = since_utc
            if until_utc is not None:
                where.append('"time" < $until')
                params["until"] = until_utc
            selected = [
                "request_id",
                "version",
                '"time"',
                "prediction",
                *(
                    f"{quote_identifier(INPUT_PREFIX + f)} AS {quote_identifier(f)}"
                    for f in features
                ),
            ]
            for i, name in enumerate(metadata_fields):
                if "metadata" in types:
                    params[f"field{i}"] = f"$.{name}"
                    expr = f"json_extract_string(metadata, $field{i})"
                else:
                    expr = "CAST(NULL AS VARCHAR)"
                selected.append(f"{expr} AS {quote_identifier(METADATA_PREFIX + name)}")
            # SQL text from fixed fragments and quoted identifiers; values are parameters.
            sql = f"SELECT {', '.join(selected)} FROM {source} WHERE {' AND '.join(where)}"  # noqa: S608
            if last is not None:
                sql = f'SELECT * FROM ({sql} ORDER BY "time" DESC LIMIT $last)'  # noqa: S608
                params["last"] = last
            sql += ' ORDER BY "time", request_id'
            table = connection.sql(sql, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise DataFileError(
                UNREADABLE.format(endpoint=endpoint, root=log_root, error=exc)
            ) from exc
    return PredictionWindow(endpoint, table, features)


def _renamed(column: str, name: str) -> str:
    return f"{quote_identifier(column)} AS {quote_identifier(name)}"


def _empty(metadata_fields: Sequence[str]) -> pa.Table:
    columns: dict[str, pa.Array] = {
        "request_id": pa.array([], pa.string()),
        "version": pa.array([], pa.int32()),
        "time": pa.array([], pa.timestamp("us", tz="UTC")),
        "prediction": pa.array([], pa.float64()),
    }
    for name in metadata_fields:
        columns[METADATA_PREFIX + name] = pa.array([], pa.string())
    return pa.table(columns)
