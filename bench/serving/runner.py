"""Interleaved rounds: each round starts, checks, warms, measures and stops every server in turn.

Each server is started fresh in every round, so there are as many cold-start and memory samples
as rounds, and only one server is alive while it is measured: idle peers never steal the two
cores, and noise from other work on the machine is spread over all servers alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serving.config import Options
from serving.load import LoadResult, run_wrk, write_script
from serving.procs import tree_cpu_seconds, tree_maps, tree_rss_bytes
from serving.servers.base import Running, ServerFailedError, ServerSpec


@dataclass
class RunData:
    """Everything measured, as plain records for the JSON file.

    Attributes:
        measurements: One per (round, server, concurrency).
        starts: One per (round, server): cold start, memory after the runs, final check.
        failures: Server key -> why it stopped being measured (and in which round).
    """

    measurements: list[dict[str, Any]] = field(default_factory=list)
    starts: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def _order(specs: list[ServerSpec], round_index: int) -> list[ServerSpec]:
    # Rotate the starting server each round so none is always measured first (right after the
    # harness's own set-up work) or last.
    shift = round_index % len(specs)
    return specs[shift:] + specs[:shift]


def _measure(
    running: Running, script: Path, connections: int, options: Options
) -> tuple[LoadResult, float]:
    """One wrk run and the CPU time the server's process tree spent during it."""
    before = tree_cpu_seconds(running.session)
    result = run_wrk(running.url, script, connections, options.duration, options.request_timeout)
    return result, tree_cpu_seconds(running.session) - before


def _one_server(
    spec: ServerSpec,
    round_index: int,
    expected: int,
    options: Options,
    workdir: Path,
    data: RunData,
) -> None:
    tag = f"[round {round_index + 1}/{options.rounds}] {spec.key:<11}"
    script = write_script(workdir / f"{spec.key}.lua", spec.body, dict(spec.headers))
    print(f"{tag} starting ...", flush=True)
    try:
        running = Running(spec, workdir / "logs" / f"{spec.key}-round{round_index + 1}.log")
    except OSError as exc:  # e.g. the executable is missing
        data.failures[spec.key] = f"round {round_index + 1}: cannot start: {exc}"
        print(f"{tag} FAILED to start: {exc}", flush=True)
        return
    try:
        cold = running.wait_first_prediction(expected, options.start_timeout)
        print(f"{tag} first right answer after {cold:.2f} s; warming up", flush=True)
        run_wrk(
            running.url,
            script,
            max(options.concurrencies),
            options.warmup,
            options.request_timeout,
        )
        running.settle(options.request_timeout)
        for connections in options.concurrencies:
            result, cpu = _measure(running, script, connections, options)
            running.settle(options.request_timeout)
            per_request_ms = cpu / result.requests * 1000 if result.requests else None
            data.measurements.append(
                {
                    "round": round_index + 1,
                    "server": spec.key,
                    "concurrency": connections,
                    **result.to_dict(),
                    "cpu_seconds": cpu,
                    "cpu_ms_per_request": per_request_ms,
                }
            )
            print(
                f"{tag} c={connections:<3} {result.rps:9.1f} req/s  "
                f"p50 {result.p50_us / 1000:7.2f} ms  p99 {result.p99_us / 1000:8.2f} ms  "
                f"errors {result.errors}  cpu {per_request_ms or 0:.3f} ms/req",
                flush=True,
            )
        rss, processes = tree_rss_bytes(running.session)
        torch_loaded = tree_maps(running.session, "libtorch")
        problem = running.check(expected)
        data.starts.append(
            {
                "round": round_index + 1,
                "server": spec.key,
                "cold_start_s": cold,
                "rss_bytes": rss,
                "processes": processes,
                "torch_loaded": torch_loaded,
                "final_check": problem or "ok",
            }
        )
        if problem:
            raise ServerFailedError(f"wrong answer after the runs: {problem}")
    except (ServerFailedError, RuntimeError) as exc:
        data.failures[spec.key] = f"round {round_index + 1}: {exc}"
        print(f"{tag} FAILED: {str(exc)[:500]}", flush=True)
    finally:
        running.stop()


def run(specs: list[ServerSpec], expected: int, options: Options, workdir: Path) -> RunData:
    """All rounds; a server that fails is recorded and left out of the later rounds."""
    (workdir / "logs").mkdir(exist_ok=True)
    data = RunData()
    started = time.perf_counter()
    for round_index in range(options.rounds):
        for spec in _order(specs, round_index):
            if spec.key not in data.failures:
                _one_server(spec, round_index, expected, options, workdir, data)
        print(
            f"round {round_index + 1}/{options.rounds} done "
            f"({time.perf_counter() - started:.0f} s so far)",
            flush=True,
        )
    return data
