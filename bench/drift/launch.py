"""A small launcher: run one command, then write its wall time and peak RSS as JSON.

Why not spawn the runners straight from the harness: Linux starts a child's ``ru_maxrss`` from
the resident set of the process it was forked from (exec keeps the old address space's peak),
so a runner forked from the harness, which holds the generated data, would report at least
the harness's size. This launcher is a fresh interpreter of ~10 MB; what it forks reports its
own peak. Standard library only: ``python -m drift.launch OUT.json -- COMMAND...``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def own_rss_mb() -> float | None:
    """This launcher's resident set now (the floor of its child's measured peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def main(argv: list[str]) -> int:
    """Run ``argv[2:]`` (after ``OUT --``); write ``exit_code``, ``wall_s``, ``peak_rss_mb``,
    ``cpu_s`` (user + system) and ``launcher_rss_mb``."""
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m drift.launch OUT.json -- COMMAND...", file=sys.stderr)
        return 2
    out, command = Path(argv[0]), argv[2:]
    floor = own_rss_mb()
    started = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    out.write_text(
        json.dumps(
            {
                "exit_code": child.returncode,
                "wall_s": wall,
                "peak_rss_mb": usage.ru_maxrss / 1024,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "launcher_rss_mb": floor,
            }
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
