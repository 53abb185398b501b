"""What every benchmarked server has: how to start it, what to ask it, how to check the answer."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from serving.config import COMMON_ENV
from serving.procs import still_running, tree


@dataclass(frozen=True)
class ServerSpec:
    """One server configuration of the benchmark (one row family of the table).

    Attributes:
        key: Unique id, e.g. ``bare-2w``.
        family: ``shipyard``, ``bare``, ``echo``, ``mlflow`` or ``bentoml``.
        label: Human name for the table.
        workers: Worker processes.
        argv: The command line, given the port.
        env: Environment variables set on top of the cleaned inherited environment.
        cwd: Working directory of the server.
        path: URL path of the prediction endpoint.
        body: The request body (the same data row for every server).
        headers: Request headers.
        prediction_of: Extracts the predicted class from a 2xx response body; None for the echo
            server, which has no model (any 2xx JSON answer is right).
        note: What this server is, in one sentence, for the report.
    """

    key: str
    family: str
    label: str
    workers: int
    argv: Callable[[int], list[str]]
    env: Mapping[str, str]
    cwd: Path
    path: str
    body: bytes
    headers: Mapping[str, str]
    prediction_of: Callable[[Any], Any] | None
    note: str = ""
    path_prefix: list[str] = field(default_factory=list)


def server_env(extra: Mapping[str, str], path_prefix: list[str] | None = None) -> dict[str, str]:
    """The inherited environment without project/venv leakage, plus COMMON_ENV and ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        # A server sees no SHIPYARD_* setting but its own, and no other virtualenv's paths.
        if not k.startswith("SHIPYARD_") and k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    }
    if path_prefix:
        env["PATH"] = os.pathsep.join([*path_prefix, env.get("PATH", "")])
    env.update(COMMON_ENV)
    env.update(extra)
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def same_class(got: Any, expected: int) -> bool:
    """Whether a prediction from JSON (0, 0.0, "0", [0]) is ``expected``."""
    while isinstance(got, list) and len(got) == 1:
        got = got[0]
    try:
        return float(got) == float(expected)
    except (TypeError, ValueError):
        return False


class ServerFailedError(Exception):
    """The server did not start, died, or answered wrongly; the message says how."""


@dataclass
class Probe:
    """One request's outcome."""

    status: int
    body: bytes


def post(port: int, spec: ServerSpec, timeout: float = 10.0) -> Probe:
    """Send the benchmark request once."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", spec.path, body=spec.body, headers=dict(spec.headers))
        response = conn.getresponse()
        return Probe(response.status, response.read())
    finally:
        conn.close()


def check_answer(spec: ServerSpec, probe: Probe, expected: int) -> str | None:
    """None if ``probe`` is a right answer, else what is wrong with it."""
    if not 200 <= probe.status < 300:
        return f"HTTP {probe.status}: {probe.body[:300]!r}"
    try:
        parsed = orjson.loads(probe.body)
    except orjson.JSONDecodeError:
        return f"not JSON: {probe.body[:300]!r}"
    if spec.prediction_of is None:
        return None
    try:
        got = spec.prediction_of(parsed)
    except (KeyError, IndexError, TypeError) as exc:
        return f"no prediction in {probe.body[:300]!r} ({exc!r})"
    if not same_class(got, expected):
        return f"predicted {got!r}, the in-process model says {expected}"
    return None


class Running:
    """A spawned server: its own session, so its whole process tree can be measured and ended."""

    def __init__(self, spec: ServerSpec, log_path: Path) -> None:
        self.spec = spec
        self.port = free_port()
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            spec.argv(self.port),
            cwd=spec.cwd,
            env=server_env(spec.env, spec.path_prefix),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def session(self) -> int:
        """The session id of the server's tree (the leader's pid)."""
        return self.process.pid

    @property
    def url(self) -> str:
        """The prediction URL."""
        return f"http://127.0.0.1:{self.port}{self.spec.path}"

    def log_tail(self, chars: int = 1500) -> str:
        """The end of the server's output."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_bytes()[-chars:].decode(errors="replace")

    def wait_first_prediction(self, expected: int, timeout: float) -> float:
        """Seconds from spawn to the first right answer (the cold start).

        Raises:
            ServerFailedError: the process exited, answered a 2xx with a wrong prediction, or
                gave no right answer within ``timeout``.
        """
        deadline = self.started + timeout
        last = "no answer yet"
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise ServerFailedError(
                    f"exited with {self.process.returncode} before answering: {self.log_tail()}"
                )
            try:
                probe = post(self.port, self.spec, timeout=max(1.0, deadline - time.perf_counter()))
            except OSError as exc:  # not listening yet, or reset while starting
                last = repr(exc)
                time.sleep(0.02)
                continue
            problem = check_answer(self.spec, probe, expected)
            if problem is None:
                return time.perf_counter() - self.started
            if 200 <= probe.status < 300:
                # A success status with a wrong or unreadable answer will not fix itself.
                raise ServerFailedError(f"wrong first answer: {problem}")
            last = problem  # e.g. 503 while loading: keep polling
            time.sleep(0.02)
        raise ServerFailedError(
            f"no right answer within {timeout:.0f} s (last: {last}); log: {self.log_tail()}"
        )

    def check(self, expected: int) -> str | None:
        """One more request after measuring: None if the server still answers right."""
        if self.process.poll() is not None:
            return f"exited with {self.process.returncode}"
        try:
            return check_answer(self.spec, post(self.port, self.spec), expected)
        except OSError as exc:
            return repr(exc)

    def settle(self, timeout: float) -> None:
        """Wait until requests queued by the last wrk run are answered.

        wrk stops sending when its time is up, but a slow server still has up to one request per
        connection queued (at 64 connections and 30 ms a request, ~2 s of work). Measuring the
        next run before that drains would charge it with the previous run's backlog. One probe
        per worker plus one, sent one after another, comes back only after the backlog.
        """
        for _ in range(self.spec.workers + 1):
            with contextlib.suppress(OSError):
                post(self.port, self.spec, timeout=timeout)
        time.sleep(0.2)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the server's process group, then SIGKILL whatever of its tree is left."""
        # Taken before the leader exits: afterwards its workers are re-parented and, if they
        # left its session (BentoML's do), nothing links them to it any more.
        members = tree(self.session)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=grace)
        # Workers that outlived the leader (all spawned by this server) are ended one by one.
        deadline = time.perf_counter() + grace
        while (left := [p for p in members if still_running(p)]) and time.perf_counter() < deadline:
            for member in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(member.pid, signal.SIGKILL)
            time.sleep(0.1)
        self._log.close()
