"""A BentoML 1.4 service from the BentoML virtualenv."""

from __future__ import annotations

import shutil
from pathlib import Path

from serving.model import ModelFiles
from serving.peers import PeerEnv
from serving.servers.base import ServerSpec
from serving.servers.local import APPS, HEADERS, instances_body


def prepare(workdir: Path) -> Path:
    """A working directory holding ``service.py`` (and nothing of the repo's)."""
    service_dir = workdir / "bentoml-service"
    service_dir.mkdir(exist_ok=True)
    shutil.copyfile(APPS / "bentoml_service.py", service_dir / "service.py")
    return service_dir


def spec(
    env: PeerEnv, service_dir: Path, files: ModelFiles, workers: int, workdir: Path
) -> ServerSpec:
    """``bentoml serve service:Classifier`` with ``workers`` from the service's config."""

    def argv(port: int) -> list[str]:
        return [
            str(env.bin / "bentoml"), "serve", "service:Classifier",
            "--working-dir", str(service_dir), "--host", "127.0.0.1", "--port", str(port),
        ]  # fmt: skip

    return ServerSpec(
        key=f"bentoml-{workers}w",
        family="bentoml",
        label=f"BentoML {env.versions.get('bentoml', '?')}",
        workers=workers,
        argv=argv,
        env={
            "BENCH_MODEL": str(files.skops_path),
            "BENCH_WORKERS": str(workers),
            # Its model store and logs go to the scratch directory, not ~/bentoml.
            "BENTOML_HOME": str(workdir / "bentoml-home"),
        },
        cwd=service_dir,
        path="/predict",
        body=instances_body(files),
        headers=HEADERS,
        prediction_of=lambda answer: answer[0],
        note="@bentoml.service(workers=N) class, sync @bentoml.api taking np.ndarray",
        path_prefix=[str(env.bin)],
    )
