"""The load generator: wrk with one thread, a Lua script for the POST and a parseable summary."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

RESULT_MARK = "BENCH_RESULT "

# wrk's `done` hook runs once after the run with the merged statistics of all threads. Latency
# values are microseconds. wrk counts a response as a "status" error when its code is > 399;
# none of the endpoints here redirects (each server's first answer is checked to be a 2xx with
# the right class), so that is the non-2xx count.
_LUA_TEMPLATE = """\
wrk.method = "POST"
wrk.body = {body}
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "{mark}{{\\"requests\\":%d,\\"duration_us\\":%d,\\"bytes\\":%d,"
    .. "\\"errors_connect\\":%d,\\"errors_read\\":%d,\\"errors_write\\":%d,"
    .. "\\"errors_status\\":%d,\\"errors_timeout\\":%d,"
    .. "\\"p50_us\\":%.1f,\\"p90_us\\":%.1f,\\"p99_us\\":%.1f,\\"p999_us\\":%.1f,"
    .. "\\"mean_us\\":%.1f,\\"max_us\\":%.1f}}\\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.mean, latency.max))
end
"""


class LoadError(RuntimeError):
    """wrk failed or did not print its summary."""


@dataclass(frozen=True)
class LoadResult:
    """One wrk run, as its Lua ``done`` hook reported it.

    Attributes:
        requests: Completed requests (any status).
        duration_us: Wall time of the run.
        bytes: Bytes read.
        errors_connect, errors_read, errors_write, errors_timeout: Socket errors.
        errors_status: Responses with a status code > 399.
        p50_us, p90_us, p99_us, p999_us, mean_us, max_us: Latency in microseconds.
    """

    requests: int
    duration_us: int
    bytes: int
    errors_connect: int
    errors_read: int
    errors_write: int
    errors_status: int
    errors_timeout: int
    p50_us: float
    p90_us: float
    p99_us: float
    p999_us: float
    mean_us: float
    max_us: float

    @property
    def errors(self) -> int:
        """Non-2xx responses plus socket errors (connect, read, write, timeout)."""
        return (
            self.errors_connect
            + self.errors_read
            + self.errors_write
            + self.errors_status
            + self.errors_timeout
        )

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    def to_dict(self) -> dict[str, float | int]:
        """All fields plus the derived ``errors`` and ``rps``."""
        return {**asdict(self), "errors": self.errors, "rps": self.rps}


def lua_long_string(text: str) -> str:
    """``text`` as a Lua long-bracket literal that cannot be closed early by its content."""
    level = 1  # never `[[`, which reads ambiguously after `[` (as in `t[ [[k]] ]`)
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    # A long string drops one newline right after the opening bracket; none is added here.
    return f"[{eq}[{text}]{eq}]"


def write_script(path: Path, body: bytes, headers: dict[str, str]) -> Path:
    """Write the wrk Lua script that POSTs ``body`` with ``headers``."""
    lines = [
        f"wrk.headers[ {lua_long_string(name)} ] = {lua_long_string(value)}"
        for name, value in headers.items()
    ]
    path.write_text(
        _LUA_TEMPLATE.format(
            body=lua_long_string(body.decode()), headers="\n".join(lines), mark=RESULT_MARK
        )
    )
    return path


def parse_output(stdout: str) -> LoadResult:
    """Find the ``done`` hook's line in wrk's output."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARK):
            fields = json.loads(line[len(RESULT_MARK) :])
            return LoadResult(
                **{
                    k: (int(v) if k.startswith(("requests", "duration", "bytes", "errors")) else v)
                    for k, v in fields.items()
                }
            )
    raise LoadError(f"no {RESULT_MARK.strip()} line in wrk output:\n{stdout[-2000:]}")


def run_wrk(url: str, script: Path, connections: int, duration: int, timeout: int) -> LoadResult:
    """Run ``wrk -t1`` against ``url`` and return its summary."""
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        f"--timeout={timeout}s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + timeout + 60, check=False
    )
    if done.returncode != 0:
        raise LoadError(f"wrk exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    if done.stderr.strip():
        # wrk reports a Lua error on stderr and goes on with GET requests: never measure that.
        raise LoadError(f"wrk complained: {done.stderr.strip()[-2000:]}")
    return parse_output(done.stdout)


def ensure_wrk() -> str:
    """The wrk version, installing Debian's package first if wrk is missing (we run as root)."""
    if shutil.which("wrk") is None:
        print("wrk not found: installing the Debian package (apt-get install -y wrk)", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    # `wrk -v` prints its version line then the usage, and exits 1.
    first = (done.stdout or done.stderr).splitlines()[0]
    return first.split(" Copyright")[0].strip()
