"""What each runner reports about its own process: memory from /proc and the result file.

Standard library only: imported by both runners, one of them inside the Evidently virtualenv.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STATUS = Path("/proc/self/status")


def status_mb(field: str, text: str | None = None) -> float | None:
    """A ``kB`` field of /proc/self/status (``VmHWM`` peak RSS, ``VmRSS`` now) in MiB."""
    try:
        lines = (text if text is not None else STATUS.read_text()).splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return None


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Write the runner's result (JSON, floats at full precision) where the harness reads it."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
    tmp.replace(path)


def number(value: Any) -> float | None:
    """``value`` as a plain float, or None when it is missing or not finite."""
    if value is None:
        return None
    result = float(value)
    return result if result == result and abs(result) != float("inf") else None
