"""Run options and fixed paths of the serving benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
# Peer virtualenvs are cached here (git-ignored by bench/.gitignore) so a second run reuses them.
VENVS_DIR = BENCH_DIR / ".venvs"
SERVERS_DIR = Path(__file__).resolve().parent / "servers"

# Every server gets these on top of the inherited environment. One BLAS/OpenMP thread per process
# so a 2-worker server really uses 2 threads, and no peer phones home from a benchmark.
COMMON_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "DO_NOT_TRACK": "1",
    "BENTOML_DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PYTHONUNBUFFERED": "1",
}


@dataclass(frozen=True)
class Options:
    """How long and how much to measure.

    Attributes:
        duration: Seconds of each measured wrk run.
        warmup: Seconds of the (discarded) wrk run at the highest concurrency after each start.
        rounds: Interleaved rounds; round r runs every server at every concurrency first.
        concurrencies: wrk connection counts.
        only: Server keys to run (empty: all), e.g. ``bare-1w``, or families like ``bare``.
        start_timeout: Seconds a server may take from spawn to its first correct prediction.
        request_timeout: wrk's socket/request timeout in seconds (a slower answer is an error).
        keep_workdir: Keep the scratch directory (logs, model files) under bench/.work/.
        server_venv: Where Shipyard, the bare and the echo server run from: ``project`` (the
            project's .venv, with the dev extras) or ``clean`` (bench/.venvs/shipyard-server:
            this checkout installed with only its ``server`` extra, as in production).
    """

    duration: int = 10
    warmup: int = 3
    rounds: int = 3
    concurrencies: tuple[int, ...] = (1, 8, 64)
    only: tuple[str, ...] = field(default_factory=tuple)
    start_timeout: float = 120.0
    request_timeout: int = 10
    keep_workdir: bool = False
    server_venv: str = "project"

    @classmethod
    def quick(cls, **overrides: object) -> Options:
        """A ~2-3 minute smoke run: one round of 1-second measurements (not a result to quote).

        Server start-ups dominate it (MLflow and BentoML take 10-20 s each here), so one round.
        """
        values: dict[str, object] = {"duration": 1, "warmup": 1, "rounds": 1}
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
