"""Evidently's virtualenv, cached under bench/.venvs/evidently as the serving peers' are.

Evidently never enters the project's dependencies or its .venv. NumPy, SciPy and PyArrow are
pinned to the project venv's versions, so both tools read the same Parquet with the same
library and compute with the same SciPy; pandas is held below 3 because Evidently 0.7.23
imports ``pandas.core.dtypes.common.infer_dtype_from_object``, which pandas 3 removed.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from serving.config import VENVS_DIR
from serving.peers import (
    INSTALL_TIMEOUT,
    STAMP,
    PeerEnv,
    PeerUnavailableError,
    installed_versions,
)

EVIDENTLY = "evidently==0.7.23"
PANDAS = "pandas>=2.2,<3"
PINNED_FROM_PROJECT = ("numpy", "scipy", "pyarrow")
REPORTED_PACKAGES = ["evidently", "pandas", *PINNED_FROM_PROJECT, "plotly", "scikit-learn"]
NAME = "evidently"


def project_pins() -> list[str]:
    """``name==version`` of the packages the Evidently venv shares with the project venv."""
    return [f"{n}=={importlib.metadata.version(n)}" for n in PINNED_FROM_PROJECT]


def requirements() -> list[str]:
    """What ``pip install`` gets."""
    return [EVIDENTLY, PANDAS, *project_pins()]


def _stamp() -> dict[str, object]:
    return {"python": sys.version, "requirements": requirements()}


def _is_current(root: Path) -> bool:
    """Reused while it was built for the same requirements and the pins still match."""
    stamp, python = root / STAMP, root / "bin" / "python"
    if not (stamp.is_file() and python.exists()):
        return False
    try:
        if json.loads(stamp.read_text()) != _stamp():
            return False
        have = installed_versions(python, list(PINNED_FROM_PROJECT))
    except (ValueError, PeerUnavailableError):
        return False
    return have == dict(pin.split("==", 1) for pin in project_pins())


def ensure(log_dir: Path, root: Path | None = None) -> PeerEnv:
    """Create (or reuse) Evidently's virtualenv.

    Raises:
        PeerUnavailableError: pip failed (the message carries the tail of its log), or the
            pinned versions did not install.
    """
    started = time.perf_counter()
    root = root or VENVS_DIR / NAME
    reused = _is_current(root)
    if not reused:
        print(f"  creating {root} ({' '.join(requirements())}) ...", flush=True)
        shutil.rmtree(root, ignore_errors=True)
        root.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        log = log_dir / "pip-evidently.log"
        with log.open("w") as out:
            done = subprocess.run(
                [str(root / "bin" / "python"), "-m", "pip", "install", *requirements()],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        if done.returncode != 0:
            tail = log.read_text()[-1500:]
            shutil.rmtree(root, ignore_errors=True)
            raise PeerUnavailableError(f"pip install failed (exit {done.returncode}): {tail}")
        have = installed_versions(root / "bin" / "python", list(PINNED_FROM_PROJECT))
        want = dict(pin.split("==", 1) for pin in project_pins())
        if have != want:
            raise PeerUnavailableError(f"pinned versions not installed: {have} != {want}")
        (root / STAMP).write_text(json.dumps(_stamp(), indent=2) + "\n")
    versions = installed_versions(root / "bin" / "python", REPORTED_PACKAGES)
    return PeerEnv(NAME, root, versions, reused, time.perf_counter() - started)
