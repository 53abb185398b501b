"""Shipyard itself, set up and served through its CLI exactly as a user would.

Contract: with ``SHIPYARD_HOME`` (and no other SHIPYARD_* variable) set, ``shipyard init --json``
prints ``admin_secret``; ``shipyard keys create --role predictor --json`` prints ``secret``;
``shipyard register NAME FILE --sample-data CSV --target target``; ``shipyard promote NAME:1
--to production``; ``shipyard serve --host H --port P --workers N`` serves
``POST /v1/endpoints/NAME/predict`` (Bearer key) with ``{"instances": [{feature: value}]}``.
Everything that is on by default (auth, validation, prediction logging, metrics) stays on.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from serving.model import ModelFiles
from serving.servers.base import ServerSpec, server_env

MODEL_NAME = "bench-hgb"
PROJECT_BIN = Path(sys.executable).parent


class ShipyardUnavailableError(Exception):
    """Shipyard cannot be benchmarked (yet); the message says why."""


@dataclass(frozen=True)
class ShipyardSetup:
    """A SHIPYARD_HOME with the model registered and promoted.

    Attributes:
        shipyard: The ``shipyard`` executable.
        home: The SHIPYARD_HOME directory.
        api_key: A predictor key's secret (the admin key if no predictor key could be made).
        setup_seconds: Time taken by init + key + register + promote.
    """

    shipyard: Path
    home: Path
    api_key: str
    setup_seconds: float


def _cli(shipyard: Path, home: Path, *args: str) -> str:
    done = subprocess.run(
        [str(shipyard), *args],
        env=server_env({"SHIPYARD_HOME": str(home)}),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise ShipyardUnavailableError(
            f"`shipyard {' '.join(args[:2])}` exited {done.returncode}: "
            f"{(done.stderr or done.stdout).strip()[-1000:]}"
        )
    return done.stdout


def check_available(shipyard: Path) -> None:
    """Raise unless ``shipyard`` has a ``serve`` command."""
    if not shipyard.exists():
        raise ShipyardUnavailableError(f"{shipyard} not found (is the venv installed?)")
    done = subprocess.run(
        [str(shipyard), "serve", "--help"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ShipyardUnavailableError("shipyard serve not implemented yet")


def setup(shipyard: Path, files: ModelFiles, workdir: Path) -> ShipyardSetup:
    """Init a fresh home, make a predictor key, register and promote the model."""
    started = time.perf_counter()
    home = workdir / "shipyard-home"
    home.mkdir()
    init = orjson.loads(_cli(shipyard, home, "init", "--json"))
    api_key = str(init["admin_secret"])
    try:
        # Least privilege, as a real client would call: a predictor key.
        api_key = str(
            orjson.loads(_cli(shipyard, home, "keys", "create", "--role", "predictor", "--json"))[
                "secret"
            ]
        )
    except (ShipyardUnavailableError, KeyError, orjson.JSONDecodeError) as exc:
        print(f"  (no predictor key, using the admin key: {exc})", flush=True)
    trust = [arg for t in files.untrusted_types for arg in ("--trust-type", t)]
    _cli(
        shipyard, home, "register", MODEL_NAME, str(files.skops_path),
        "--sample-data", str(files.sample_csv), "--target", "target", *trust,
    )  # fmt: skip
    _cli(
        shipyard, home, "promote", f"{MODEL_NAME}:1", "--to", "production", "--reason", "benchmark"
    )
    return ShipyardSetup(shipyard, home, api_key, time.perf_counter() - started)


def prediction_of(answer: Any) -> Any:
    """The first prediction, whether given as a value or as an object with a label."""
    first = answer["predictions"][0]
    if isinstance(first, dict):
        for key in ("label", "class", "prediction", "value"):
            if key in first:
                return first[key]
    return first


def spec(setup_: ShipyardSetup, files: ModelFiles, workers: int) -> ServerSpec:
    """``shipyard serve --workers N`` on the prepared home."""

    def argv(port: int) -> list[str]:
        return [
            str(setup_.shipyard), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers),
        ]  # fmt: skip

    body = {"instances": [dict(zip(files.feature_names, files.row, strict=True))]}
    return ServerSpec(
        key=f"shipyard-{workers}w",
        family="shipyard",
        label="Shipyard",
        workers=workers,
        argv=argv,
        env={"SHIPYARD_HOME": str(setup_.home)},
        cwd=setup_.home,
        path=f"/v1/endpoints/{MODEL_NAME}/predict",
        body=orjson.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {setup_.api_key}"},
        prediction_of=prediction_of,
        note="shipyard serve with its defaults: auth, validation, prediction logging, metrics on",
    )
