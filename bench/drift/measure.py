"""Run one tool's runner in its own process; time it and read its peak RSS from the kernel.

Each runner is started through :mod:`drift.launch`, a small interpreter that waits for it with
``os.wait4`` and so gets exactly that child's ``ru_maxrss`` (its own peak resident set). The
launcher exists because Linux starts a child's peak from the size of the process it was forked
from: forked straight from this harness, which holds the generated data, every runner would
report at least the harness's size.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from drift.data import DataFiles

BENCH_DIR = Path(__file__).resolve().parent.parent
# Same environment for both tools: no telemetry from a benchmark, unbuffered logs.
CHILD_ENV = {"DO_NOT_TRACK": "1", "ITERATIVE_DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"}
TIMEOUT = 900.0


def run_child(command: list[str], log: Path, *, timeout: float = TIMEOUT) -> dict[str, Any]:
    """Run ``command`` to its end through the launcher.

    Returns:
        ``exit_code``, ``wall_s`` (spawn to exit), ``peak_rss_mb`` (the kernel's ``ru_maxrss``
        of that process), ``cpu_s`` (its user + system CPU time), ``launcher_rss_mb`` (the
        launcher's size, the floor of the peak), ``timed_out``. A command still running after
        ``timeout`` seconds is killed with its launcher (``timed_out`` True, the figures None).
    """
    env = {**os.environ, **CHILD_ENV}
    measured = log.with_suffix(".rusage.json")
    measured.unlink(missing_ok=True)
    launcher = [sys.executable, "-m", "drift.launch", str(measured), "--", *command]
    with log.open("w") as out:
        child = subprocess.Popen(
            launcher, cwd=BENCH_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: a timeout kills the command too
        )  # fmt: skip
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return {
                "exit_code": None, "wall_s": None, "peak_rss_mb": None, "cpu_s": None,
                "launcher_rss_mb": None, "timed_out": True,
            }  # fmt: skip
    if child.returncode != 0 or not measured.is_file():
        return {
            "exit_code": child.returncode, "wall_s": None, "peak_rss_mb": None, "cpu_s": None,
            "launcher_rss_mb": None, "timed_out": False,
        }  # fmt: skip
    return {**json.loads(measured.read_text()), "timed_out": False}


def run_tool(
    tool: str, python: Path, files: DataFiles, workdir: Path, round_: int
) -> dict[str, Any]:
    """One round of ``tool`` (``evidently`` or ``shipyard``): the harness's measurements, the
    runner's result (times, columns) and ``ok``; on failure ``error`` with the log's tail."""
    output = workdir / f"{tool}-{round_}.json"
    log = workdir / f"{tool}-{round_}.log"
    output.unlink(missing_ok=True)
    command = [
        str(python), "-m", f"drift.{tool}_runner",
        "--reference", str(files.reference), "--current", str(files.current),
        "--output", str(output),
    ]  # fmt: skip
    measured = run_child(command, log)
    record: dict[str, Any] = {"round": round_, "tool": tool, **measured}
    if measured["exit_code"] == 0 and output.is_file():
        record.update(json.loads(output.read_text()))
        record["ok"] = True
        record["error"] = None
    else:
        why = "timed out" if measured["timed_out"] else f"exit code {measured['exit_code']}"
        record["ok"] = False
        record["error"] = f"{why}: {log.read_text()[-1500:]}"
    return record
