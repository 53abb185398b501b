"""The bare server and the echo floor, run by uvicorn from the same virtualenv as Shipyard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from serving.config import SERVERS_DIR
from serving.model import ModelFiles
from serving.servers.base import ServerSpec

APPS = SERVERS_DIR / "apps"
HEADERS = {"Content-Type": "application/json"}


def _uvicorn(python: Path, app: str, workers: int) -> Any:
    def argv(port: int) -> list[str]:
        # No access log: the bare server is the "nothing but the model" baseline.
        return [
            str(python), "-m", "uvicorn", app, "--app-dir", str(APPS),
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip

    return argv


def instances_body(files: ModelFiles) -> bytes:
    """``{"instances": [[30 floats]]}``: the bare, echo and BentoML request body."""
    return orjson.dumps({"instances": [files.row]})


def bare(files: ModelFiles, workers: int, workdir: Path, python: Path) -> ServerSpec:
    """Starlette + orjson calling model.predict in an async endpoint."""
    return ServerSpec(
        key=f"bare-{workers}w",
        family="bare",
        label="bare Starlette+orjson",
        workers=workers,
        argv=_uvicorn(python, "bare_app:app", workers),
        env={"BENCH_MODEL": str(files.skops_path)},
        cwd=workdir,
        path="/predict",
        body=instances_body(files),
        headers=HEADERS,
        prediction_of=lambda answer: answer["predictions"][0],
        note="uvicorn + Starlette async endpoint, orjson parse, model.predict on the event loop",
    )


def echo(files: ModelFiles, workdir: Path, python: Path) -> ServerSpec:
    """The HTTP/JSON floor: parses the body, answers a constant."""
    return ServerSpec(
        key="echo-1w",
        family="echo",
        label="echo (no model)",
        workers=1,
        argv=_uvicorn(python, "echo_app:app", 1),
        env={},
        cwd=workdir,
        path="/predict",
        body=instances_body(files),
        headers=HEADERS,
        prediction_of=None,
        note="same stack as bare, parses the body and answers a constant: the HTTP/JSON floor",
    )
