"""The pilot load test: one version served by an isolated in-process server, under bounded load.

``run_pilot`` starts the app ``shipyard serve`` runs (auth off, prediction log in a temporary
home) on 127.0.0.1 port 0 in a background thread, sends requests built from rows of the
version's reference sample to its pinned-version route, and returns client-side latencies,
throughput and errors. It never writes to the registry: storing the result is the caller's job.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import numpy as np
import orjson
import pyarrow as pa

from shipyard.core import errors
from shipyard.core.errors import (
    ConfigurationError,
    ConflictError,
    DataFileError,
    InvalidInputError,
    MissingExtraError,
    ShipyardError,
)
from shipyard.core.settings import Settings
from shipyard.core.types import ModelVersion, Status
from shipyard.server.options import ServeOptions
from shipyard.server.run import bind

if TYPE_CHECKING:
    from shipyard.registry import Registry

log = logging.getLogger("shipyard.server")

MAX_REQUESTS = 1_000_000
MAX_CONCURRENCY = 1024
MAX_WARMUP = 100_000
HOST = "127.0.0.1"
# Rows drawn once from the reference sample and encoded up front; requests pick from them, so
# the client does no encoding while it measures.
POOL_ROWS = 10_000
MAX_EXAMPLES = 3
REQUEST_TIMEOUT = 60.0
START_TIMEOUT = 600.0  # the app loads every production version of the registry before it is up
STOP_TIMEOUT = 60.0
# The same switch interval ``shipyard serve`` sets (see run.py): client and server share this
# process's GIL, and the default 5 ms slices would show up as their own tail latency.
SWITCH_INTERVAL = 0.0005

BAD_RANGE = "{name} must be between {low:,} and {high:,} (got {value!r})."
REJECTED = "{ref} was rejected; rejected versions are never served, so there is nothing to pilot."
NO_REFERENCE_SAMPLE = (
    "{ref} has no reference sample to build pilot requests from: it was registered without "
    "--sample-data. Register a new version with `shipyard register {model} MODEL_FILE "
    "--sample-data DATA_FILE` and pilot that one."
)
MISSING_COLUMNS = "The reference sample of {ref} lacks the input column(s) {columns}."
NOT_SERVED = "The pilot server could not serve {ref}: {message}"
NOT_STARTED = "The pilot server did not start{why}; see the log above for the cause."

# Answers to the first request that mean the version cannot be served at all (rather than a
# model failing on some rows): the pilot raises them instead of reporting 100% errors.
_LOAD_FAILURES: dict[str, type[ShipyardError]] = {
    cls.code: cls
    for cls in (
        errors.IntegrityError,
        errors.ModelLoadError,
        errors.UnsafeArtifactError,
        errors.MissingExtraError,
        errors.NotReadyError,
        errors.ModelNotFoundError,
        errors.VersionNotFoundError,
        errors.ArtifactNotFoundError,
        errors.ArtifactStoreUnavailableError,
        errors.DatabaseUnavailableError,
    )
}
_REQUEST_ID = re.compile(r"\b[0-9a-f]{32}\b")


@dataclass(frozen=True, slots=True)
class PilotResult:
    """What one pilot measured, client side.

    Latency statistics cover every measured request, failed ones included (a failure's
    latency is the time until its error answer or transport failure).

    Attributes:
        ref: The version piloted, ``name:N`` (resolved, even if given as ``name:production``).
        requests: Measured requests (warm-up excluded).
        concurrency: Most requests in flight at once.
        rows_per_request: Instances in each request body.
        errors: Measured requests answered with a non-2xx status or failed in transport.
        error_examples: Up to three distinct errors, e.g. ``"HTTP 500: The model failed…"``.
        p50_ms: Median latency in milliseconds (percentiles interpolate linearly).
        p90_ms: 90th percentile latency in milliseconds.
        p99_ms: 99th percentile latency in milliseconds.
        mean_ms: Mean latency in milliseconds.
        max_ms: Slowest request in milliseconds.
        throughput_rps: Measured requests (failed included) per second of ``duration_s``.
        duration_s: Wall-clock seconds of the measured phase.
        started_at: When the measured phase began (timezone-aware UTC).
    """

    ref: str
    requests: int
    concurrency: int
    rows_per_request: int
    errors: int
    error_examples: tuple[str, ...]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    throughput_rps: float
    duration_s: float
    started_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``started_at`` as ISO 8601, examples as a list)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["error_examples"] = list(self.error_examples)
        data["started_at"] = self.started_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PilotResult:
        """Inverse of :meth:`to_dict` (a naive ``started_at`` is taken as UTC)."""
        started = data["started_at"]
        if not isinstance(started, datetime):
            started = datetime.fromisoformat(str(started))
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        return cls(
            ref=str(data["ref"]),
            requests=int(data["requests"]),
            concurrency=int(data["concurrency"]),
            rows_per_request=int(data["rows_per_request"]),
            errors=int(data["errors"]),
            error_examples=tuple(str(e) for e in data.get("error_examples") or ()),
            p50_ms=float(data["p50_ms"]),
            p90_ms=float(data["p90_ms"]),
            p99_ms=float(data["p99_ms"]),
            mean_ms=float(data["mean_ms"]),
            max_ms=float(data["max_ms"]),
            throughput_rps=float(data["throughput_rps"]),
            duration_s=float(data["duration_s"]),
            started_at=started,
        )


def run_pilot(
    registry: Registry,
    ref: str,
    *,
    requests: int = 500,
    concurrency: int = 8,
    rows_per_request: int = 1,
    warmup: int = 20,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> PilotResult:
    """Serve ``ref`` in an isolated server and measure it under a bounded load.

    Blocks until done; call it from a thread with no running event loop (from async code, use
    ``asyncio.to_thread``). One priming request loads the version, then ``warmup`` unmeasured
    requests run, then ``requests`` measured ones, at most ``concurrency`` in flight.

    Args:
        registry: Where the version and its reference sample are read.
        ref: ``name:N``, ``name:latest`` or ``name:production``; any status but rejected.
        requests: Measured requests (1 to 1,000,000).
        concurrency: Most requests in flight (1 to 1,024).
        rows_per_request: Instances per request, drawn from the reference sample.
        warmup: Unmeasured requests sent first (0 to 100,000).
        seed: Seed of the row sampling (the same seed sends the same bodies in the same order).
        progress: Called with ``(done, requests)`` as each measured request completes.

    Returns:
        The measurements.

    Raises:
        InvalidInputError: an argument is out of range, or the version has no reference sample.
        ConflictError: the version was rejected.
        ModelNotFoundError, VersionNotFoundError: no such version.
        IntegrityError, ModelLoadError, UnsafeArtifactError, MissingExtraError: the version
            cannot be loaded (raised before anything is measured).
        ConfigurationError: the pilot server did not start.
    """
    _check_arguments(requests, concurrency, rows_per_request, warmup)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("run_pilot blocks; call it through asyncio.to_thread from async code.")
    _require_server_extra()
    version = registry.get_version(ref)
    if version.status == Status.REJECTED:
        raise ConflictError(REJECTED.format(ref=version.ref))
    rng = np.random.default_rng(seed)
    rows = _reference_rows(registry, version, rng)
    bodies = _bodies(rows, rows_per_request, rng)
    plan = _Plan(version, requests, concurrency, rows_per_request, warmup, progress)
    with (
        tempfile.TemporaryDirectory(prefix="shipyard-pilot-") as home,
        _switch_interval(SWITCH_INTERVAL),
        _isolated_server(_isolated_settings(registry.settings, Path(home))) as url,
    ):
        return asyncio.run(_measure(url, plan, bodies))


def _check_arguments(requests: int, concurrency: int, rows_per_request: int, warmup: int) -> None:
    limits = (
        ("requests", requests, 1, MAX_REQUESTS),
        ("concurrency", concurrency, 1, MAX_CONCURRENCY),
        ("rows per request", rows_per_request, 1, ServeOptions().max_instances),
        ("warmup", warmup, 0, MAX_WARMUP),
    )
    for name, value, low, high in limits:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInputError(BAD_RANGE.format(name=name, low=low, high=high, value=value))


def _require_server_extra() -> None:
    for module in ("uvicorn", "fastapi", "prometheus_client"):
        try:
            __import__(module)
        except ImportError:
            raise MissingExtraError("shipyard pilot", "server", module) from None


# -- requests -----------------------------------------------------------------------------


def _reference_rows(
    registry: Registry, version: ModelVersion, rng: np.random.Generator
) -> list[bytes]:
    """Up to ``POOL_ROWS`` rows of the reference sample's inputs, each encoded as JSON."""
    if version.reference_sample is None:
        raise InvalidInputError(NO_REFERENCE_SAMPLE.format(ref=version.ref, model=version.model))
    table = registry.reference_table(version)
    names = _input_names(version, table.column_names)
    absent = [n for n in names if n not in table.column_names]
    if absent:
        columns = ", ".join(map(repr, absent))
        raise DataFileError(MISSING_COLUMNS.format(ref=version.ref, columns=columns))
    table = _naive_utc(table.select(names))
    picked = rng.choice(table.num_rows, size=min(table.num_rows, POOL_ROWS), replace=False)
    # orjson writes NaN as null, which nullable inputs accept; datetimes as ISO 8601.
    return [orjson.dumps(row, default=str) for row in table.take(pa.array(picked)).to_pylist()]


def _input_names(version: ModelVersion, available: Sequence[str]) -> list[str]:
    if version.signature is not None and version.signature.inputs:
        return version.signature.input_names
    columns = (version.reference_profile or {}).get("columns") or {}
    features = [n for n, c in columns.items() if c.get("role") in ("feature", "sensitive")]
    return features or list(available)


def _naive_utc(table: pa.Table) -> pa.Table:
    """Time-zone-aware timestamps as naive UTC: the server parses ISO strings without offsets."""
    for index, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            naive = table.column(index).cast(pa.timestamp(column.type.unit))
            table = table.set_column(index, column.name, naive)
    return table


def _bodies(rows: Sequence[bytes], per_request: int, rng: np.random.Generator) -> Iterator[bytes]:
    """Endless v1 request bodies of ``per_request`` rows drawn (with replacement) from ``rows``."""
    while True:
        picks = rng.integers(0, len(rows), size=per_request)
        yield b'{"instances":[' + b",".join(rows[i] for i in picks) + b"]}"


# -- the isolated server ------------------------------------------------------------------


def _isolated_settings(settings: Settings, home: Path) -> Settings:
    """The same database and artifact store, with a private home for logs and feedback.

    The artifact cache is shared with the real home when possible (a symlink), so a large model
    is not copied again for each pilot; its files are verified copies either way.
    """
    try:
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        (home / "cache").symlink_to(settings.cache_dir, target_is_directory=True)
    except OSError as exc:
        log.debug("The pilot uses a private artifact cache: %s", exc)
    return replace(settings, home=home, url=None, api_key=None)


def _pilot_options() -> ServeOptions:
    # No polling while measuring: the pinned version is all the pilot asks for.
    return ServeOptions(
        auth=False,
        role="inference",
        poll_interval=3600.0,
        rollout_interval=0,
        serve_endpoints=False,
    )


@contextmanager
def _isolated_server(settings: Settings) -> Iterator[str]:
    """The app of ``shipyard serve`` on a free port of 127.0.0.1, in a background thread."""
    import uvicorn

    from shipyard.server.app import NO_AUTH_WARNING, create_app

    app = create_app(settings, _pilot_options())
    state = app.state.shipyard
    quiet = _DropMessage(NO_AUTH_WARNING)  # true but beside the point for a private server
    logging.getLogger("shipyard.server").addFilter(quiet)
    server: Any = None
    thread: threading.Thread | None = None
    sock: socket.socket | None = None
    try:
        sock = bind(HOST, 0)
        url = f"http://{HOST}:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            app,
            lifespan="on",
            ws="none",
            access_log=False,
            proxy_headers=False,
            log_config=None,  # the process's logging belongs to its owner (CLI or tests)
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=_serve, args=(server, sock), name="shipyard-pilot-server", daemon=True
        )
        thread.start()
        _wait_started(server, thread)
        yield url
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None and thread.is_alive():
            thread.join(STOP_TIMEOUT)
        if thread is not None and thread.is_alive():
            log.warning("The pilot server did not stop within %.0f s", STOP_TIMEOUT)
        elif server is None or not server.started:
            state.close()  # the lifespan closes what it started; a failed start does not
        if sock is not None:
            sock.close()
        logging.getLogger("shipyard.server").removeFilter(quiet)


class _DropMessage(logging.Filter):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != self.message


def _serve(server: Any, sock: socket.socket) -> None:
    try:
        server.run(sockets=[sock])
    except SystemExit:  # uvicorn's way of reporting a failed start-up; the waiter sees it
        log.error("The pilot server failed to start")


def _wait_started(server: Any, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise ConfigurationError(NOT_STARTED.format(why=""))
        if time.monotonic() > deadline:
            raise ConfigurationError(NOT_STARTED.format(why=f" within {START_TIMEOUT:.0f} s"))
        time.sleep(0.01)


@contextmanager
def _switch_interval(seconds: float) -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, seconds))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


# -- the load -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    version: ModelVersion
    requests: int
    concurrency: int
    rows_per_request: int
    warmup: int
    progress: Callable[[int, int], None] | None


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One answer: ``problem`` is None for a 2xx, else ``"HTTP 500: message"`` or similar."""

    status: int | None
    code: str | None
    message: str | None
    problem: str | None


@dataclass(slots=True)
class _Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    examples: dict[str, str] = field(default_factory=dict)

    def record(self, seconds: float, outcome: _Outcome) -> None:
        self.latencies.append(seconds)
        if outcome.problem is None:
            return
        self.errors += 1
        if len(self.examples) < MAX_EXAMPLES:
            # Messages quoting request ids differ only by them: one example per kind.
            self.examples.setdefault(_REQUEST_ID.sub("…", outcome.problem), outcome.problem)


async def _measure(url: str, plan: _Plan, bodies: Iterator[bytes]) -> PilotResult:
    version = plan.version
    path = f"/v1/models/{quote(version.model, safe='')}/versions/{version.version}/predict"
    limits = httpx.Limits(
        max_connections=plan.concurrency, max_keepalive_connections=plan.concurrency
    )
    async with httpx.AsyncClient(
        base_url=url,
        limits=limits,
        timeout=REQUEST_TIMEOUT,
        trust_env=False,  # a proxy from the environment must not sit between us and 127.0.0.1
        headers={"content-type": "application/json"},
    ) as client:
        await _wait_ready(client)
        _check_served(version.ref, await _send(client, path, next(bodies)))
        await _drive(client, path, bodies, plan.warmup, plan.concurrency)
        tally = _Tally()
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        await _drive(client, path, bodies, plan.requests, plan.concurrency, tally, plan.progress)
        duration = time.perf_counter() - started
    latencies = np.asarray(tally.latencies) * 1000.0
    p50, p90, p99 = (float(v) for v in np.percentile(latencies, [50, 90, 99]))
    return PilotResult(
        ref=version.ref,
        requests=plan.requests,
        concurrency=plan.concurrency,
        rows_per_request=plan.rows_per_request,
        errors=tally.errors,
        error_examples=tuple(tally.examples.values()),
        p50_ms=p50,
        p90_ms=p90,
        p99_ms=p99,
        mean_ms=float(latencies.mean()),
        max_ms=float(latencies.max()),
        throughput_rps=plan.requests / duration,
        duration_s=duration,
        started_at=started_at,
    )


async def _wait_ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError as exc:
            if time.monotonic() > deadline:
                raise ConfigurationError(NOT_STARTED.format(why=f" ({exc})")) from exc
        if time.monotonic() > deadline:
            raise ConfigurationError(NOT_STARTED.format(why=" (it never reported ready)"))
        await asyncio.sleep(0.02)


def _check_served(ref: str, outcome: _Outcome) -> None:
    """Raise what the first answer says if the version cannot be served at all."""
    if outcome.status is None:
        raise ConfigurationError(NOT_SERVED.format(ref=ref, message=outcome.problem))
    cls = _LOAD_FAILURES.get(outcome.code or "")
    if cls is not None:
        # Built without the subclass's own __init__ (MissingExtraError composes its message
        # from parts); the server already composed it.
        error = cls.__new__(cls)
        ShipyardError.__init__(error, NOT_SERVED.format(ref=ref, message=outcome.message))
        raise error


async def _drive(
    client: httpx.AsyncClient,
    path: str,
    bodies: Iterator[bytes],
    count: int,
    concurrency: int,
    tally: _Tally | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Send ``count`` requests, at most ``concurrency`` at once; measure them into ``tally``."""
    remaining = iter(range(count))  # shared by the workers: each takes the next request

    async def worker() -> None:
        for _ in remaining:
            body = next(bodies)
            started = time.perf_counter()
            outcome = await _send(client, path, body)
            elapsed = time.perf_counter() - started
            if tally is not None:
                tally.record(elapsed, outcome)
                if progress is not None:
                    progress(len(tally.latencies), count)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, count)):
                group.create_task(worker())
    except ExceptionGroup as failed:  # e.g. the progress callback raised: raise that, plainly
        raise failed.exceptions[0] from None


async def _send(client: httpx.AsyncClient, path: str, body: bytes) -> _Outcome:
    try:
        response = await client.post(path, content=body)
    except httpx.HTTPError as exc:
        return _Outcome(None, None, None, f"{type(exc).__name__}: {exc or 'no detail'}")
    if response.is_success:
        return _Outcome(response.status_code, None, None, None)
    code, message = _error_of(response)
    return _Outcome(response.status_code, code, message, f"HTTP {response.status_code}: {message}")


def _error_of(response: httpx.Response) -> tuple[str | None, str]:
    try:
        error = orjson.loads(response.content).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        code = error.get("code")
        return (code if isinstance(code, str) else None), error["message"]
    text = response.text.strip()[:200]
    return None, text or response.reason_phrase


def pilot_and_record(registry: Registry, ref: str, **options: Any) -> PilotResult:
    """``run_pilot`` and keep the result on the version (what the latency gate reads).

    The result is stored as passed when no request failed; ``options`` are ``run_pilot``'s.
    """
    from shipyard.core.governance import CheckKind

    version = registry.get_version(ref)
    result = run_pilot(registry, version.ref, **options)
    registry.gates.record(version, CheckKind.PILOT, result.errors == 0, result.to_dict())
    return result
