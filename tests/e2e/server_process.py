"""A real `shipyard serve` subprocess on a free port, for the end-to-end server tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

from tests.e2e.cli_runner import SHIPYARD

URL_LINE = re.compile(r"[Ss]erving .*?on (http://[^\s(]+)")


class ServerProcess:
    """``shipyard serve --port 0 …`` started with ``env``; ``url`` once it is ready."""

    def __init__(
        self, env: dict[str, str], *args: str, command: str = "serve", ready_timeout: float = 60.0
    ) -> None:
        self.command = command
        self.env = env
        self.args = args
        self.ready_timeout = ready_timeout
        self.url = ""
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self.started_at = 0.0
        self.ready_after = 0.0
        self._reader: threading.Thread

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [*SHIPYARD, self.command, "--port", "0", *self.args],
            env={**self.env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        found = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                match = URL_LINE.search(line)
                if match and not self.url:
                    self.url = match.group(1)
                    found.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not found.wait(self.ready_timeout):
            self.stop()
            raise AssertionError("server did not start:\n" + "".join(self.output))
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    self.ready_after = time.monotonic() - self.started_at
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise AssertionError("server never became ready:\n" + "".join(self.output))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Signal the server and wait; returns its exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig) if sig == signal.SIGKILL else self.process.send_signal(
                sig
            )
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        code = self.process.returncode
        self._reader.join(10)  # the pipe reaches EOF once the process (group) has exited
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
        return code

    def text(self) -> str:
        return "".join(self.output)


def served_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_HOME"] = str(home)
    env["OMP_NUM_THREADS"] = "1"
    return env
