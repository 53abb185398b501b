"""Running the `shipyard` CLI in a subprocess, as a user types it, for the e2e tests."""

from __future__ import annotations

import subprocess
import sys

SHIPYARD = [sys.executable, "-m", "shipyard.cli"]


def cli(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*SHIPYARD, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if ok:
        assert done.returncode == 0, f"{args}: {done.stderr}"
    return done


def assert_clean_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit code ≠ 0, one clear `error:` line on stderr, no traceback."""
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error:"), done.stderr
    text = " ".join(done.stderr.split())
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
