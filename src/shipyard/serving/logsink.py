"""The prediction log sink: a bounded queue drained by one thread into Parquet segments.

Holds the record type, the sink and its columnar encoding. The request path only appends to
the queue; all I/O happens on the sink's thread. No pandas, no SQL, no web framework here.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["PredictionLogSink", "PredictionRecord"]

DROP_WARNING_INTERVAL = 5.0  # seconds between two "dropped rows" warnings
# Wording that operators grep for and tests check.
DROPPED = (
    "Dropped %d prediction log rows (queue full or sink closed; %d in total): logging falls "
    "behind the request rate. Raise max_queue_records or check the disk under %s."
)
WRITE_FAILED = "Could not write %d prediction log rows to %s: %s. They are dropped."
MALFORMED = "Dropped %d prediction log rows of malformed records, e.g. %s"
STUCK = "The prediction log writer did not stop within %ss; %d records may be lost (%s)."
_DAY_US = 86_400_000_000
_EPOCH = date(1970, 1, 1)
_WORKER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TIME = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One answered request: its inputs and outputs, n instances (n >= 1).

    Attributes:
        request_id: The request's id.
        time: Epoch seconds (``time.time()``) when the request arrived.
        endpoint: Endpoint name; also the top directory of its logs.
        model: Model name.
        version: Model version.
        inputs: Feature columns of equal length n, in signature order.
        predictions: n predictions; 1-D, or 2-D for multi-output models.
        probabilities: ``[n, classes]`` class probabilities, or None.
        latency_ms: Time spent answering the request.
        metadata: JSON-able extra fields, or None.
        role: ``live`` for answers returned to the caller, ``shadow`` for a shadow version's
            answers to a copy of the request (never returned).
    """

    request_id: str
    time: float
    endpoint: str
    model: str
    version: int
    inputs: Mapping[str, np.ndarray]  # may offer ``.matrix`` ([rows, features] floats)
    predictions: np.ndarray
    probabilities: np.ndarray | None
    latency_ms: float
    metadata: Mapping[str, Any] | None
    role: str = "live"


class _Entry(NamedTuple):
    """A record checked by the writer, with what it derived once per record."""

    record: PredictionRecord
    rows: int
    time_us: int
    metadata: str | None


class PredictionLogSink:
    """Non-blocking prediction log writing Parquet segments under ``root``.

    ``log`` appends to a bounded in-memory queue (it never waits for I/O); one daemon thread
    writes the queue every ``flush_interval`` seconds, or sooner once ``max_segment_rows`` rows
    wait. Files: ``{root}/{endpoint}/date=YYYY-MM-DD/part-{worker_id}-{time_ns}-{seq}.parquet``,
    one row per instance, each segment holding one (endpoint, model, version, UTC date).

    Drops (queue full, sink closed, malformed record, failed write) are counted in rows, passed
    to ``on_drop`` and logged, never raised: once flushed, ``written + dropped`` is every row
    ever logged.

    Args:
        root: Directory of the logs (``$SHIPYARD_HOME/logs``).
        worker_id: This process's id in file names, so workers never collide.
        max_queue_records: Records held in memory at most; more are dropped.
        flush_interval: Seconds between two writes.
        max_segment_rows: Rows per segment at most; this many queued rows trigger a write.
        on_drop: Called with a number of dropped rows (a metrics counter).
        on_write: Called with the rows and seconds of each segment written.
        logger: Where warnings and errors go; this module's logger by default.
    """

    def __init__(
        self,
        root: Path,
        *,
        worker_id: str,
        max_queue_records: int = 10_000,
        flush_interval: float = 1.0,
        max_segment_rows: int = 100_000,
        on_drop: Callable[[int], None] | None = None,
        on_write: Callable[[int, float], None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        if not _WORKER_ID.fullmatch(worker_id):
            raise ValueError(f"worker_id {worker_id!r} must be 1-64 of [A-Za-z0-9_.-].")
        if max_queue_records < 1 or max_segment_rows < 1 or not flush_interval > 0:
            raise ValueError("max_queue_records, max_segment_rows and flush_interval must be > 0.")
        self._root = Path(root)
        self._worker_id = worker_id
        self._max_queue = max_queue_records
        self._interval = flush_interval
        self._max_rows = max_segment_rows
        self._on_drop = on_drop
        self._on_write = on_write
        self._log = logger or logging.getLogger(__name__)
        # One lock guards the queue and the counters; log() holds it only for O(1) work and
        # takes the bare lock, which is cheaper than entering the condition built on it.
        self._mutex = threading.Lock()
        self._lock = threading.Condition(self._mutex)
        self._queue: list[PredictionRecord] = []
        self._queued_rows = 0
        self._accepted = 0  # records accepted so far; flush() waits until _done reaches it
        self._done = 0
        self._dropped = 0
        self._unreported = 0  # rows dropped by log() since the last warning
        self._last_warning = -math.inf
        self._written = 0
        self._seq = 0
        self._closed = False
        self._stopping = False
        self._running = False
        self._wake = threading.Event()
        self._write_lock = threading.Lock()  # one drain at a time: the thread or an inline caller
        self._thread: threading.Thread | None = None

    @property
    def dropped(self) -> int:
        """Rows dropped so far (queue full, closed, malformed or failed to write)."""
        return self._dropped

    @property
    def written(self) -> int:
        """Rows durably written so far."""
        return self._written

    @property
    def queued(self) -> int:
        """Records waiting in the queue (not counting a batch being written)."""
        return len(self._queue)

    def start(self) -> None:
        """Start the writer thread. A second call does nothing.

        Raises:
            RuntimeError: The sink is closed.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("This prediction log sink is closed; create a new one.")
            if self._thread is not None:
                return
            self._running = True
            self._thread = threading.Thread(
                target=self._run, name=f"shipyard-logsink-{self._worker_id}", daemon=True
            )
        self._thread.start()

    def log(self, record: PredictionRecord) -> bool:
        """Queue ``record`` for writing, in O(1) and without I/O; safe from any thread.

        The record's arrays are written later without a copy: do not change them afterwards.

        Returns:
            True if queued; False if dropped because the queue is full or the sink is closed
            (counted, passed to ``on_drop`` and reported by a rate-limited warning).
        """
        rows = _rows_of(record)
        with self._mutex:
            if not self._closed and len(self._queue) < self._max_queue:
                self._queue.append(record)
                self._accepted += 1
                self._queued_rows += rows
                if self._queued_rows >= self._max_rows and not self._wake.is_set():
                    self._wake.set()
                return True
            self._dropped += rows
            self._unreported += rows
        self._notify_drop(rows)
        self._report_drops()
        return False

    def flush(self, timeout: float | None = None) -> None:
        """Block until every record logged before the call is on disk (or counted as dropped).

        Without a running writer thread the caller writes the queue itself.

        Raises:
            TimeoutError: The writer did not get there within ``timeout`` seconds.
        """
        with self._lock:
            target = self._accepted
            running = self._running
        if running:
            self._wake.set()
            with self._lock:
                reached = self._lock.wait_for(
                    lambda: self._done >= target or not self._running, timeout
                )
            if not reached:
                raise TimeoutError(
                    f"Prediction logs were not written within {timeout}s; "
                    f"{self._accepted - self._done} records are still pending."
                )
        if self._done < target:  # never started, or stopped meanwhile
            self._drain()

    def close(self, timeout: float | None = None) -> None:
        """Write everything queued and stop the thread. Idempotent.

        After close, ``log`` returns False and counts a drop. If the thread does not finish
        within ``timeout`` seconds, an ERROR says how many records may be lost.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._stopping = True
            self._wake.set()
            thread.join(timeout)
        if thread is not None and thread.is_alive():
            self._log.error(STUCK, timeout, self._accepted - self._done, self._root)
        else:  # nothing is left after a clean stop; without a thread, write here
            self._drain()
        self._report_drops(force=True)

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(self._interval)
                self._wake.clear()
                # Read before draining: close() sets _closed before _stopping, so this last
                # drain sees every record log() accepted.
                stopping = self._stopping
                try:
                    self._drain()
                except Exception:  # a bug must not kill the thread and silently stop logging
                    self._log.exception("Prediction log writer failed; it keeps running.")
                self._report_drops()
                if stopping:
                    return
        finally:
            with self._lock:
                self._running = False
                self._lock.notify_all()

    def _drain(self) -> None:
        with self._write_lock:
            with self._lock:
                batch, self._queue = self._queue, []
                self._queued_rows = 0
                upto = self._accepted
            try:
                if batch:
                    self._write_batch(batch)
            finally:
                with self._lock:
                    self._done = upto
                    self._lock.notify_all()

    def _write_batch(self, batch: list[PredictionRecord]) -> None:
        groups: dict[tuple[Any, ...], list[_Entry]] = {}
        bad_rows, reason = 0, ""
        for record in batch:
            try:
                entry = _check(record)
            except (ValueError, TypeError, OverflowError) as exc:
                bad_rows += _rows_of(record)
                reason = reason or f"{record.request_id!r}: {exc}"
                continue
            day = entry.time_us // _DAY_US
            # A segment holds one version's rows, so one set of input columns.
            key = (record.endpoint, record.model, record.version, day, tuple(record.inputs))
            groups.setdefault(key, []).append(entry)
        if bad_rows:
            self._log.error(MALFORMED, bad_rows, reason)
            self._count_failed(bad_rows)
        for (endpoint, _, _, day, _), entries in groups.items():
            chunk: list[_Entry] = []
            rows = 0
            for entry in entries:  # split at record boundaries so no segment exceeds the cap
                if chunk and rows + entry.rows > self._max_rows:
                    self._write_segment(endpoint, day, chunk)
                    chunk, rows = [], 0
                chunk.append(entry)
                rows += entry.rows
            self._write_segment(endpoint, day, chunk)

    def _write_segment(self, endpoint: str, day: int, entries: list[_Entry]) -> None:
        rows = sum(entry.rows for entry in entries)
        directory = self._root / endpoint / f"date={(_EPOCH + timedelta(days=day)).isoformat()}"
        self._seq += 1
        name = f"part-{self._worker_id}-{time.time_ns()}-{self._seq:06d}.parquet"
        final, tmp = directory / name, directory / f".{name}.tmp"  # readers skip dot files
        started = time.perf_counter()
        try:
            table = _table(entries)
            directory.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, tmp)
            _fsync(tmp)
            os.replace(tmp, final)
            if os.name == "posix":  # make the rename itself durable
                _fsync(directory)
        except Exception as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            # Disk full or permissions say it all; anything else is a bug: keep its trace.
            self._log.error(WRITE_FAILED, rows, final, exc, exc_info=not isinstance(exc, OSError))
            self._count_failed(rows)
            return
        elapsed = time.perf_counter() - started
        with self._lock:
            self._written += rows
        if self._on_write is not None:
            try:
                self._on_write(rows, elapsed)
            except Exception:
                self._log.exception("The prediction log on_write callback failed.")

    def _count_failed(self, rows: int) -> None:
        with self._lock:
            self._dropped += rows
        self._notify_drop(rows)

    def _notify_drop(self, rows: int) -> None:
        if self._on_drop is not None:
            try:
                self._on_drop(rows)
            except Exception:  # log() must not fail the request over a metrics callback
                self._log.exception("The prediction log on_drop callback failed.")

    def _report_drops(self, *, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            if not self._unreported or (
                not force and now - self._last_warning < DROP_WARNING_INTERVAL
            ):
                return
            count, self._unreported, self._last_warning = self._unreported, 0, now
            total = self._dropped
        self._log.warning(DROPPED, count, total, self._root)


def _rows_of(record: PredictionRecord) -> int:
    try:
        return len(record.predictions)
    except TypeError:  # malformed: log() must not raise; the writer refuses it later
        return 1


def _check(record: PredictionRecord) -> _Entry:
    """Validate one record; the writer drops it if this raises."""
    predictions = record.predictions
    if not isinstance(predictions, np.ndarray) or predictions.ndim not in (1, 2):
        raise ValueError("predictions must be a 1-D or 2-D numpy array")
    rows = len(predictions)
    if rows == 0:
        raise ValueError("a record needs at least one instance")
    matrix = _input_matrix(record)
    if matrix is not None:
        if matrix.ndim != 2 or matrix.shape != (rows, len(record.inputs)):
            raise ValueError(f"the input matrix is not [{rows}, {len(record.inputs)}]")
    else:
        for feature, column in record.inputs.items():
            if not isinstance(column, np.ndarray) or column.ndim == 0 or len(column) != rows:
                raise ValueError(f"input {feature!r} is not an array of {rows} rows")
    probabilities = record.probabilities
    if probabilities is not None and (
        not isinstance(probabilities, np.ndarray)
        or probabilities.ndim != 2
        or len(probabilities) != rows
    ):
        raise ValueError(f"probabilities must be an array of shape [{rows}, classes]")
    endpoint = record.endpoint
    if not endpoint or endpoint[0] in "._" or "/" in endpoint or "\\" in endpoint:
        raise ValueError(f"endpoint {endpoint!r} is not a usable directory name")
    metadata = None
    if record.metadata is not None:
        metadata = orjson.dumps(dict(record.metadata), option=orjson.OPT_SERIALIZE_NUMPY).decode()
    return _Entry(record, rows, round(record.time * 1_000_000), metadata)


def _table(entries: list[_Entry]) -> pa.Table:
    """Columns for a segment: one row per instance, built per record, never per row."""
    records = [entry.record for entry in entries]
    counts = np.fromiter((entry.rows for entry in entries), dtype=np.int64, count=len(entries))
    owner = np.repeat(np.arange(len(entries)), counts)  # row -> index of its record
    starts = np.cumsum(counts) - counts

    def per_record(values: list[Any], type_: pa.DataType) -> pa.Array:
        return pa.array(values, type=type_).take(owner)

    columns: dict[str, pa.Array] = {
        "request_id": per_record([r.request_id for r in records], pa.string()),
        "row": pa.array((np.arange(len(owner)) - starts[owner]).astype(np.int32)),
        "time": per_record([entry.time_us for entry in entries], _TIME),
        "endpoint": per_record([r.endpoint for r in records], pa.string()),
        "model": per_record([r.model for r in records], pa.string()),
        "version": per_record([r.version for r in records], pa.int32()),
        "latency_ms": per_record([r.latency_ms for r in records], pa.float64()),
        "prediction": _column([r.predictions for r in records]),
        "probabilities": _lists([r.probabilities for r in records], counts, pa.float64()),
        "metadata": per_record([entry.metadata for entry in entries], pa.string()),
        "role": per_record([r.role for r in records], pa.string()),
    }
    matrices = [_input_matrix(r) for r in records]
    if all(m is not None for m in matrices):
        # Inputs that arrived as one float matrix per request: stack once, slice per feature,
        # instead of one small array per record and feature.
        stacked = np.vstack(matrices)  # type: ignore[arg-type]
        for i, feature in enumerate(records[0].inputs):
            columns[f"input.{feature}"] = pa.array(stacked[:, i])
    else:
        for feature in records[0].inputs:
            columns[f"input.{feature}"] = _column([r.inputs[feature] for r in records])
    return pa.table(columns)


def _input_matrix(record: PredictionRecord) -> np.ndarray | None:
    """The inputs as one ``[rows, features]`` float matrix, if the mapping offers one."""
    matrix = getattr(record.inputs, "matrix", None)
    return matrix if isinstance(matrix, np.ndarray) and matrix.dtype.kind == "f" else None


def _column(parts: list[np.ndarray]) -> pa.Array:
    """The native Arrow column of stacked arrays; arrays of 2+ dims become list rows."""
    if all(part.ndim == 1 for part in parts):
        return pa.array(np.concatenate(parts))
    counts = np.array([len(part) for part in parts], dtype=np.int64)
    return _lists(parts, counts, None)


def _lists(
    parts: Sequence[np.ndarray | None], counts: np.ndarray, type_: pa.DataType | None
) -> pa.Array:
    """A list column with one row per instance: row i of each part, flattened; None is null."""
    widths = [0 if part is None else part.size // len(part) for part in parts]
    present = [part.reshape(-1) for part in parts if part is not None]
    values = np.concatenate(present) if present else np.empty(0)
    lengths = np.repeat(np.array(widths, dtype=np.int64), counts)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    mask = np.repeat(np.array([part is None for part in parts], dtype=bool), counts)
    return pa.ListArray.from_arrays(
        pa.array(offsets, type=pa.int32()),  # raises rather than wraps past 2**31 values
        pa.array(values, type=type_),
        mask=pa.array(mask) if mask.any() else None,
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
