"""Outcomes: an endpoint's logged predictions joined with the feedback that arrived for them.

One DuckDB query over the Parquet segments written by ``serving.logsink`` and
``serving.feedback``; the result is a few NumPy columns. No statistics here (see ``abtest``),
and DuckDB is imported only when a query runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import DataFileError, InvalidInputError, MissingExtraError

if TYPE_CHECKING:
    import duckdb

__all__ = ["LIVE", "SHADOW", "Outcomes", "load_outcomes"]

LIVE = "live"
SHADOW = "shadow"
PROBABILITIES = "@probabilities"
"""Ask ``load_outcomes`` for this extra column to get each row's logged class probabilities."""
UNREADABLE = (
    "The prediction log or feedback of endpoint {endpoint!r} under {root} cannot be read: "
    "{error}. Move the segment it names out of the log directory, or fix its columns."
)
NOT_SCALAR = (
    "Endpoint {endpoint!r} logs {column} values of type {type}; comparing versions needs one "
    "number, string or boolean per row (multi-output models are not supported)."
)
_DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_NUMBER_TYPES = frozenset(
    {
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
        "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
        "FLOAT", "DOUBLE",
    }
)  # fmt: skip
_INTEGER_TYPES = _NUMBER_TYPES - {"FLOAT", "DOUBLE"}


def _no_totals() -> Mapping[int, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, eq=False)
class Outcomes:
    """Predictions that received feedback, one entry per (request_id, row), oldest first.

    Prediction and label share one type: float64 arrays when both sides are numbers or
    booleans (booleans become 0.0/1.0), object arrays of ``str`` when either side is a string.

    Attributes:
        endpoint: The endpoint the rows were logged under.
        version: Model version that made each prediction (int64).
        prediction: The prediction (float64, or object array of str).
        label: The feedback label, the latest one when several arrived (same type).
        time: When each prediction was made (``datetime64[us]``, UTC).
        predictions_total_by_version: Logged rows per version in the same window and role,
            with or without feedback; every version in ``version`` is a key.
        is_numeric: True when ``prediction`` and ``label`` are float64.
        extra: Further logged columns asked for (``columns=`` of ``load_outcomes``), aligned
            with the rows: an input feature by its name, a request metadata field as
            ``metadata.<field>`` (text, None where absent).
    """

    endpoint: str
    version: np.ndarray
    prediction: np.ndarray
    label: np.ndarray
    time: np.ndarray
    predictions_total_by_version: Mapping[int, int] = field(default_factory=_no_totals)
    is_numeric: bool = True
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def empty(cls, endpoint: str, *, is_numeric: bool = True) -> Outcomes:
        """Outcomes with no rows (nothing logged, or nothing in the window)."""
        values = np.empty(0, dtype=np.float64 if is_numeric else object)
        return cls(
            endpoint=endpoint,
            version=np.empty(0, dtype=np.int64),
            prediction=values,
            label=values.copy(),
            time=np.empty(0, dtype="datetime64[us]"),
            is_numeric=is_numeric,
        )

    def __len__(self) -> int:
        return len(self.version)

    def of_version(self, version: int) -> Outcomes:
        """The rows (and totals, and extra columns) of one version only."""
        keep = self.version == version
        return replace(
            self,
            version=self.version[keep],
            prediction=self.prediction[keep],
            label=self.label[keep],
            time=self.time[keep],
            predictions_total_by_version=MappingProxyType(
                {v: n for v, n in self.predictions_total_by_version.items() if v == version}
            ),
            extra={name: values[keep] for name, values in self.extra.items()},
        )

    @property
    def versions(self) -> list[int]:
        """Every version seen, with or without feedback, in ascending order."""
        return sorted(set(self.predictions_total_by_version) | {int(v) for v in self.version})


def load_outcomes(
    log_root: Path,
    endpoint: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    role: str | None = LIVE,
    columns: Sequence[str] = (),
) -> Outcomes:
    """Join an endpoint's prediction log with its feedback on ``(request_id, row)``.

    When feedback for one row arrived several times, the latest (by feedback ``time``, then by
    segment name and position) wins. When one ``(request_id, row, role)`` was logged several
    times (a client reusing its request ids), only the latest prediction is joined, so one
    label is never counted twice. Segments written before the ``role`` column existed count
    as ``"live"``.

    Args:
        log_root: The prediction log root (``$SHIPYARD_HOME/logs``).
        endpoint: Endpoint name (its directory under ``log_root``).
        since: Only predictions made at or after this instant (naive datetimes are UTC).
        until: Only predictions made before this instant (naive datetimes are UTC).
        role: ``"live"`` (default), ``"shadow"``, or None for every role.
        columns: Further logged columns to carry along into ``Outcomes.extra``: input
            features by name, request metadata fields as ``metadata.<field>``, and the
            class probabilities as ``PROBABILITIES`` (one array per row, or None). A feature the
            log does not have comes back as None values (say so to the user: it is absent).

    Returns:
        The joined rows; empty Outcomes when the endpoint has no log or no feedback.
        ``predictions_total_by_version`` also counts rows without feedback.

    Raises:
        InvalidInputError: ``endpoint`` is not a usable directory name.
        DataFileError: A segment cannot be read, or predictions/labels are not scalars.
        MissingExtraError: DuckDB (the ``monitoring`` extra) is not installed.
    """
    if not endpoint or endpoint[0] in "._" or "/" in endpoint or "\\" in endpoint:
        raise InvalidInputError(f"{endpoint!r} is not an endpoint name.")
    if role not in (LIVE, SHADOW, None):
        raise InvalidInputError(
            f"Unknown role {role!r}: use {LIVE!r}, {SHADOW!r} or None for both."
        )
    since_utc, until_utc = as_utc(since), as_utc(until)
    if since_utc is not None and until_utc is not None and since_utc >= until_utc:
        raise InvalidInputError(
            f"The window is empty: since ({since_utc.isoformat()}) must be before until "
            f"({until_utc.isoformat()})."
        )
    directory = Path(log_root) / endpoint
    logs = log_segments(directory, "part-*.parquet", since_utc, until_utc)
    if not logs:
        return replace(Outcomes.empty(endpoint), extra={c: np.empty(0, object) for c in columns})
    feedback = log_segments(directory / "feedback", "fb-*.parquet", None, None)
    duckdb = import_duckdb()
    with duckdb.connect() as connection:
        try:
            return _query(connection, endpoint, logs, feedback, since_utc, until_utc, role, columns)
        except duckdb.Error as exc:
            raise DataFileError(
                UNREADABLE.format(endpoint=endpoint, root=log_root, error=exc)
            ) from exc


def _query(
    connection: duckdb.DuckDBPyConnection,
    endpoint: str,
    logs: list[str],
    feedback: list[str],
    since: datetime | None,
    until: datetime | None,
    role: str | None,
    columns: Sequence[str],
) -> Outcomes:
    # SQL text is assembled only from the fixed fragments below and quoted identifiers; every
    # value, the file lists and JSON paths included, travels as a parameter.
    source = "read_parquet($logs, union_by_name = true, hive_partitioning = false)"
    log_types = column_types(connection, source, {"logs": logs})
    params: dict[str, Any] = {"logs": logs}
    role_expr = "coalesce(role, 'live')" if "role" in log_types else "'live'"
    where = ["version IS NOT NULL"]
    if since is not None:
        where.append('"time" >= $since')
        params["since"] = since
    if until is not None:
        where.append('"time" < $until')
        params["until"] = until
    if role is not None:
        where.append(f"{role_expr} = $role")
        params["role"] = role
    condition = " AND ".join(where)
    totals = {
        int(version): int(count)
        for version, count in connection.execute(
            f"SELECT version, count(*) FROM {source} WHERE {condition} GROUP BY version",  # noqa: S608
            params,
        ).fetchall()
    }
    prediction_type = _scalar_type(log_types.get("prediction", "DOUBLE"), endpoint, "prediction")
    if not feedback:
        empty = Outcomes.empty(endpoint, is_numeric=prediction_type != "VARCHAR")
        return replace(
            empty,
            predictions_total_by_version=MappingProxyType(dict(sorted(totals.items()))),
            extra={c: np.empty(0, object) for c in columns},
        )
    fb_source = (
        "read_parquet($feedback, union_by_name = true, hive_partitioning = false, "
        "filename = true, file_row_number = true)"
    )
    fb_types = column_types(connection, fb_source, {"feedback": feedback})
    label_type = _scalar_type(fb_types.get("label", "DOUBLE"), endpoint, "label")
    is_numeric = "VARCHAR" not in (prediction_type, label_type)
    params["feedback"] = feedback
    prediction = _as_common("prediction", prediction_type, is_numeric=is_numeric)
    label = _as_common("label", label_type, is_numeric=is_numeric)
    extras = []
    for i, name in enumerate(columns):
        if name == PROBABILITIES:
            present = "probabilities" in log_types
            extras.append('"probabilities"' if present else "CAST(NULL AS DOUBLE[])")
        elif name.startswith("metadata."):
            if "metadata" in log_types:
                params[f"path{i}"] = "$." + name[len("metadata.") :]
                extras.append(f"json_extract_string(metadata, $path{i})")
            else:
                extras.append("CAST(NULL AS VARCHAR)")
        elif f"input.{name}" in log_types:
            extras.append(quote_identifier(f"input.{name}"))
        else:
            extras.append("CAST(NULL AS VARCHAR)")
    extra_select = "".join(f", {e} AS extra{i}" for i, e in enumerate(extras))
    extra_out = "".join(f", logged.extra{i}" for i in range(len(extras)))
    sql = f"""
        WITH logged AS (
            SELECT request_id, "row", version, epoch_us("time") AS time_us,
                   {prediction} AS prediction{extra_select}
            FROM {source}
            WHERE {condition}
            QUALIFY row_number() OVER (
                PARTITION BY request_id, "row", {role_expr} ORDER BY "time" DESC
            ) = 1
        ), answered AS (
            SELECT request_id, "row", {label} AS label
            FROM {fb_source}
            QUALIFY row_number() OVER (
                PARTITION BY request_id, "row"
                ORDER BY "time" DESC, filename DESC, file_row_number DESC
            ) = 1
        )
        SELECT logged.version, logged.prediction, answered.label, logged.time_us{extra_out}
        FROM logged JOIN answered USING (request_id, "row")
        WHERE logged.prediction IS NOT NULL AND answered.label IS NOT NULL
        ORDER BY logged.time_us, logged.request_id, logged."row", logged.version
    """  # noqa: S608
    result = connection.execute(sql, params).fetchnumpy()
    value_type = np.float64 if is_numeric else object
    return Outcomes(
        endpoint=endpoint,
        version=np.asarray(result["version"], dtype=np.int64),
        prediction=np.asarray(result["prediction"], dtype=value_type),
        label=np.asarray(result["label"], dtype=value_type),
        time=np.asarray(result["time_us"], dtype=np.int64).astype("datetime64[us]"),
        predictions_total_by_version=MappingProxyType(dict(sorted(totals.items()))),
        is_numeric=is_numeric,
        extra={name: np.asarray(result[f"extra{i}"]) for i, name in enumerate(columns)},
    )


def quote_identifier(identifier: str) -> str:
    """A SQL identifier, quoted (column names come from log files, not from SQL)."""
    return '"' + identifier.replace('"', '""') + '"'


def column_types(
    connection: duckdb.DuckDBPyConnection, source: str, params: dict[str, Any]
) -> dict[str, str]:
    """Column name -> DuckDB type of the union of the segments (reads footers only)."""
    sql = f"DESCRIBE SELECT * FROM {source}"  # noqa: S608 - a fixed source, values are parameters
    rows = connection.execute(sql, params).fetchall()
    return {str(row[0]): str(row[1]) for row in rows}


def _scalar_type(type_: str, endpoint: str, column: str) -> str:
    """``DOUBLE``, ``BIGINT``, ``BOOLEAN`` or ``VARCHAR``: the comparable kind of a column."""
    if type_ in _INTEGER_TYPES:
        return "BIGINT"
    if type_ in _NUMBER_TYPES or type_.startswith("DECIMAL"):
        return "DOUBLE"
    if type_ in ("BOOLEAN", "VARCHAR"):
        return type_
    raise DataFileError(NOT_SCALAR.format(endpoint=endpoint, column=column, type=type_))


def _as_common(column: str, type_: str, *, is_numeric: bool) -> str:
    """SQL casting ``column`` to DOUBLE, or to VARCHAR when the other side holds strings.

    Whole numbers become ``"1"`` rather than ``"1.0"`` so that a float-typed 1 matches the
    string label ``"1"``.
    """
    name = f'"{column}"'
    if is_numeric:
        return f"CAST({name} AS DOUBLE)"
    if type_ == "DOUBLE":
        return (
            f"CASE WHEN isfinite({name}) AND {name} = trunc({name}) "
            f"AND abs({name}) < 9007199254740992 "
            f"THEN CAST(CAST({name} AS BIGINT) AS VARCHAR) ELSE CAST({name} AS VARCHAR) END"
        )
    return f"CAST({name} AS VARCHAR)"


def log_segments(
    directory: Path, pattern: str, since: datetime | None, until: datetime | None
) -> list[str]:  # shared with ``window``
    """Segment paths under ``directory/date=…/``, skipping days outside [since, until].

    A segment under ``date=D`` holds rows of UTC day D only, so whole days can be skipped
    without opening their files. Temporary files start with a dot and never match.
    """
    if not directory.is_dir():
        return []
    first = since.date() if since is not None else date.min
    last = until.date() if until is not None else date.max
    paths: list[str] = []
    for day_dir in directory.iterdir():
        match = _DATE_DIR.fullmatch(day_dir.name)
        if match is None or not day_dir.is_dir():
            continue
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            continue
        if first <= day <= last:
            paths.extend(str(path) for path in day_dir.glob(pattern) if path.is_file())
    return sorted(paths)


def as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def import_duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:
        raise MissingExtraError("Reading prediction logs", "monitoring", "duckdb") from exc
    return duckdb


def logged_request_ids(log_root: Path, endpoint: str, request_ids: Sequence[str]) -> set[str]:
    """The ids among ``request_ids`` that the endpoint's prediction log holds (any role).

    Raises:
        DataFileError: a segment cannot be read.
        MissingExtraError: DuckDB is not installed.
    """
    logs = log_segments(Path(log_root) / endpoint, "part-*.parquet", None, None)
    if not logs or not request_ids:
        return set()
    duckdb = import_duckdb()
    with duckdb.connect() as connection:
        try:
            found = connection.execute(
                "SELECT DISTINCT request_id FROM read_parquet($logs, union_by_name = true, "
                "hive_partitioning = false) WHERE list_contains($ids, request_id)",
                {"logs": logs, "ids": list(request_ids)},
            ).fetchall()
        except duckdb.Error as exc:
            raise DataFileError(
                UNREADABLE.format(endpoint=endpoint, root=log_root, error=exc)
            ) from exc
    return {str(row[0]) for row in found}
