"""``mlflow models serve`` from the MLflow virtualenv."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import orjson

from serving.model import ModelFiles
from serving.peers import PeerEnv, PeerUnavailableError
from serving.servers.base import ServerSpec
from serving.servers.local import APPS, HEADERS


def prepare(env: PeerEnv, files: ModelFiles, workdir: Path) -> Path:
    """Save the model with ``mlflow.sklearn.save_model`` inside the MLflow venv."""
    out = workdir / "mlflow-model"
    done = subprocess.run(
        [
            str(env.python), str(APPS / "mlflow_save.py"),
            str(files.skops_path), str(out), json.dumps(files.feature_names),
            json.dumps(files.untrusted_types),
        ],
        cwd=workdir, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise PeerUnavailableError(f"mlflow.sklearn.save_model failed: {done.stderr[-1500:]}")
    return out


def spec(
    env: PeerEnv, model_dir: Path, files: ModelFiles, workers: int, workdir: Path
) -> ServerSpec:
    """``mlflow models serve --env-manager local --workers N`` (its uvicorn scoring server)."""

    def argv(port: int) -> list[str]:
        # --env-manager local: serve from this venv instead of building another one at start.
        return [
            str(env.bin / "mlflow"), "models", "serve", "-m", str(model_dir),
            "--host", "127.0.0.1", "-p", str(port), "--workers", str(workers),
            "--env-manager", "local",
        ]  # fmt: skip

    body = {"dataframe_split": {"columns": files.feature_names, "data": [files.row]}}
    return ServerSpec(
        key=f"mlflow-{workers}w",
        family="mlflow",
        label=f"MLflow {env.versions.get('mlflow', '?')}",
        workers=workers,
        argv=argv,
        env={
            "MLFLOW_TRACKING_URI": f"file://{workdir / 'mlruns'}",
            # The model was fitted on a matrix and MLflow hands it a DataFrame, so scikit-learn
            # warns on every request (MLflow's server shows it each time). That is our choice of
            # model, not MLflow's cost, so the warning is silenced; nothing else is changed.
            "PYTHONWARNINGS": "ignore:X has feature names:UserWarning",
        },
        cwd=workdir,
        path="/invocations",
        body=orjson.dumps(body),
        headers=HEADERS,
        prediction_of=lambda answer: answer["predictions"][0],
        note="mlflow models serve --env-manager local (its defaults otherwise: uvicorn, access "
        "log on), /invocations with dataframe_split; the model's feature-name warning silenced",
        path_prefix=[str(env.bin)],
    )
