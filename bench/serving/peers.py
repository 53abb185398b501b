"""Virtualenvs for the peer servers (MLflow, BentoML), cached under bench/.venvs/.

The peers never enter the project's dependencies or its .venv: each gets its own virtualenv,
built from the project's Python, with scikit-learn, numpy and skops pinned to the project venv's
versions so the one model file loads and predicts identically everywhere.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from serving.config import REPO_DIR, VENVS_DIR

# Packages whose versions must equal the project venv's (the model file and its predictions).
PINNED_FROM_PROJECT = ("scikit-learn", "numpy", "skops", "scipy")

# "shipyard-server" is not a peer: it is Shipyard (editable, this checkout) with only its server
# extra, for --server-venv clean (a production-like install, without the dev extras' torch).
PEER_REQUIREMENTS: dict[str, list[str]] = {
    "mlflow": ["mlflow"],
    "bentoml": ["bentoml==1.4.*"],
    "shipyard-server": ["-c", str(REPO_DIR / "constraints.txt"), "-e", f"{REPO_DIR}[server]"],
}
# Versions reported in the results, per peer.
REPORTED_PACKAGES: dict[str, list[str]] = {
    "mlflow": ["mlflow", "uvicorn", "fastapi", "pandas", *PINNED_FROM_PROJECT],
    "bentoml": ["bentoml", "uvicorn", "starlette", "pydantic", *PINNED_FROM_PROJECT],
    "shipyard-server": [
        "shipyard-ml", "starlette", "uvicorn", "uvloop", "httptools", "orjson", "fastapi",
        *PINNED_FROM_PROJECT,
    ],
}  # fmt: skip
STAMP = ".bench-stamp.json"
INSTALL_TIMEOUT = 1800


@dataclass(frozen=True)
class PeerEnv:
    """A ready peer virtualenv.

    Attributes:
        name: ``mlflow`` or ``bentoml``.
        root: The virtualenv directory.
        versions: Installed versions of the packages that matter.
        reused: Whether a cached venv was reused.
        setup_seconds: Time spent creating or checking it.
    """

    name: str
    root: Path
    versions: dict[str, str]
    reused: bool
    setup_seconds: float

    @property
    def bin(self) -> Path:
        """The venv's bin directory."""
        return self.root / "bin"

    @property
    def python(self) -> Path:
        """The venv's interpreter."""
        return self.bin / "python"


class PeerUnavailableError(Exception):
    """A peer could not be installed or prepared; the message says why."""


def project_pins() -> list[str]:
    """``name==version`` of the packages the peers must share with the project venv."""
    return [f"{n}=={importlib.metadata.version(n)}" for n in PINNED_FROM_PROJECT]


def requirements(name: str) -> list[str]:
    """What ``pip install`` gets for peer ``name``."""
    return [*PEER_REQUIREMENTS[name], *project_pins()]


def installed_versions(python: Path, packages: list[str]) -> dict[str, str]:
    """Versions of ``packages`` in the interpreter ``python`` ("missing" when absent)."""
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = 'missing'\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [str(python), "-c", code, *packages], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise PeerUnavailableError(f"{python} cannot report versions: {done.stderr[-500:]}")
    return dict(json.loads(done.stdout))


def _stamp(name: str) -> dict[str, object]:
    stamp: dict[str, object] = {"python": sys.version, "requirements": requirements(name)}
    if name == "shipyard-server":
        # Rebuilt when the project's dependencies change (the code itself is an editable install).
        for file in ("pyproject.toml", "constraints.txt"):
            stamp[file] = hashlib.sha256((REPO_DIR / file).read_bytes()).hexdigest()
    return stamp


def _is_current(root: Path, name: str) -> bool:
    """A cached venv is reused when it was built for the same requirements and still matches."""
    stamp = root / STAMP
    python = root / "bin" / "python"
    if not (stamp.is_file() and python.exists()):
        return False
    try:
        if json.loads(stamp.read_text()) != _stamp(name):
            return False
        have = installed_versions(python, list(PINNED_FROM_PROJECT))
    except (ValueError, PeerUnavailableError):
        return False
    want = dict(pin.split("==", 1) for pin in project_pins())
    return have == want


def ensure(name: str, log_dir: Path) -> PeerEnv:
    """Create (or reuse) the virtualenv of peer ``name``.

    Raises:
        PeerUnavailableError: pip failed; the message carries the tail of its log.
        KeyError: ``name`` is not one of PEER_REQUIREMENTS.
    """
    started = time.perf_counter()
    root = VENVS_DIR / name
    reused = _is_current(root, name)
    if not reused:
        print(f"  creating {root} ({' '.join(requirements(name))}) ...", flush=True)
        shutil.rmtree(root, ignore_errors=True)
        root.parent.mkdir(parents=True, exist_ok=True)
        # The project's interpreter makes the venv, so the peers run the same Python build.
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        log = log_dir / f"pip-{name}.log"
        with log.open("w") as out:
            done = subprocess.run(
                [str(root / "bin" / "python"), "-m", "pip", "install", *requirements(name)],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        if done.returncode != 0:
            tail = log.read_text()[-1500:]
            shutil.rmtree(root, ignore_errors=True)
            raise PeerUnavailableError(f"pip install failed (exit {done.returncode}): {tail}")
        versions = installed_versions(root / "bin" / "python", list(PINNED_FROM_PROJECT))
        want = dict(pin.split("==", 1) for pin in project_pins())
        if versions != want:
            raise PeerUnavailableError(f"pinned versions not installed: {versions} != {want}")
        (root / STAMP).write_text(json.dumps(_stamp(name), indent=2) + "\n")
    versions = installed_versions(root / "bin" / "python", REPORTED_PACKAGES[name])
    return PeerEnv(name, root, versions, reused, time.perf_counter() - started)
