"""Command line of the serving benchmark: prepare every server, run the rounds, write the report."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from serving import load, model, peers, report, runner
from serving.config import BENCH_DIR, REPO_DIR, RESULTS_DIR, Options
from serving.servers import bentoml_peer, local, mlflow_peer, shipyard_server
from serving.servers.base import ServerSpec

WORKER_COUNTS = (1, 2)
PROJECT_PACKAGES = (
    "shipyard-ml", "starlette", "uvicorn", "uvloop", "httptools", "orjson", "fastapi",
    "scikit-learn", "numpy", "scipy", "skops",
)  # fmt: skip


def parse_args(argv: Sequence[str] | None) -> tuple[Options, bool, str | None]:
    """Options, whether this is a quick run, and an explicit output name."""
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description="Serving benchmark: Shipyard vs bare, echo, peers."
    )
    parser.add_argument(
        "--quick", action="store_true", help="~3-minute smoke run: 1 round of 1 s measurements"
    )
    parser.add_argument("--duration", type=int, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up per start (default 3)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--concurrency", help="comma-separated wrk connection counts (default 1,8,64)"
    )
    parser.add_argument(
        "--only",
        help="comma-separated servers or families, e.g. bare,echo or shipyard-2w",
    )
    parser.add_argument("--start-timeout", type=float, help="seconds to first answer (120)")
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep logs and model files in bench/.work/"
    )
    parser.add_argument(
        "--server-venv",
        choices=("project", "clean"),
        help="run Shipyard, bare and echo from the project .venv (default) or from a clean venv "
        "with only Shipyard's server extra (bench/.venvs/shipyard-server)",
    )
    parser.add_argument(
        "--output",
        help="results name in bench/results/ (default serving; -quick/-partial for such runs)",
    )
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {
        "duration": args.duration,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "start_timeout": args.start_timeout,
        "server_venv": args.server_venv,
        "keep_workdir": args.keep_workdir or None,
        "concurrencies": tuple(int(c) for c in args.concurrency.split(","))
        if args.concurrency
        else None,
        "only": tuple(s.strip() for s in args.only.split(",") if s.strip()) if args.only else None,
    }
    known = {"echo", "echo-1w"} | {
        name
        for family in ("shipyard", "bare", "mlflow", "bentoml")
        for name in (family, *(f"{family}-{n}w" for n in WORKER_COUNTS))
    }
    unknown = set(overrides["only"] or ()) - known
    if unknown:
        parser.error(
            f"--only: unknown {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})"
        )
    given = {k: v for k, v in overrides.items() if v is not None}
    options = Options.quick(**given) if args.quick else Options(**given)
    return options, args.quick, args.output


def _wanted(options: Options, key: str) -> bool:
    family = key.rsplit("-", 1)[0]
    return not options.only or key in options.only or family in options.only


def _machine() -> dict[str, Any]:
    model_name = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model_name,
        "memory_gb": memory_kb / 1024 / 1024,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }


def _project_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PROJECT_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def _git() -> dict[str, str]:
    """The checkout's commit and whether it has uncommitted changes (read-only git calls)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=REPO_DIR, capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else "?"

    dirty = git("status", "--porcelain", "--untracked-files=no")
    commit = git("rev-parse", "--short", "HEAD")
    return {"commit": commit + ("+dirty" if dirty and dirty != "?" else "")}


def prepare(
    options: Options, files: model.ModelFiles, workdir: Path
) -> tuple[list[ServerSpec], dict[str, str], dict[str, dict[str, str]], dict[str, Any]]:
    """Every server spec that can run, the unavailable ones with reasons, versions, set-up info."""
    specs: list[ServerSpec] = []
    unavailable: dict[str, str] = {}
    versions: dict[str, dict[str, str]] = {"git": _git(), "project venv": _project_versions()}
    setup: dict[str, Any] = {"server_venv": options.server_venv}
    bin_dir = shipyard_server.PROJECT_BIN
    if options.server_venv == "clean":
        print("preparing the clean Shipyard server virtualenv ...", flush=True)
        # No fallback to the project venv: the point of asking for it is a different result.
        clean = peers.ensure("shipyard-server", workdir)
        versions["shipyard-server venv"] = clean.versions
        bin_dir = clean.bin
    python = bin_dir / "python"

    def unavailable_all(family: str, reason: str) -> None:
        for n in WORKER_COUNTS:
            if _wanted(options, f"{family}-{n}w"):
                unavailable[f"{family}-{n}w"] = reason
        print(f"  {family}: unavailable: {reason[:300]}", flush=True)

    if any(_wanted(options, f"shipyard-{n}w") for n in WORKER_COUNTS):
        print("preparing Shipyard (init, key, register, promote) ...", flush=True)
        try:
            shipyard_server.check_available(bin_dir / "shipyard")
            ready = shipyard_server.setup(bin_dir / "shipyard", files, workdir)
            setup["shipyard_setup_s"] = ready.setup_seconds
            specs += [
                shipyard_server.spec(ready, files, n)
                for n in WORKER_COUNTS
                if _wanted(options, f"shipyard-{n}w")
            ]
        except shipyard_server.ShipyardUnavailableError as exc:
            unavailable_all("shipyard", str(exc))
    specs += [
        local.bare(files, n, workdir, python)
        for n in WORKER_COUNTS
        if _wanted(options, f"bare-{n}w")
    ]
    if _wanted(options, "echo-1w"):
        specs.append(local.echo(files, workdir, python))
    for family in ("mlflow", "bentoml"):
        if not any(_wanted(options, f"{family}-{n}w") for n in WORKER_COUNTS):
            continue
        print(f"preparing {family} virtualenv ...", flush=True)
        try:
            env = peers.ensure(family, workdir)
            versions[family] = env.versions
            setup[f"{family}_venv"] = {
                "path": str(env.root),
                "reused": env.reused,
                "seconds": env.setup_seconds,
            }
            print(
                f"  {family}: {'reused' if env.reused else 'created'} {env.root} "
                f"({', '.join(f'{k} {v}' for k, v in env.versions.items())})",
                flush=True,
            )
            if family == "mlflow":
                model_dir = mlflow_peer.prepare(env, files, workdir)
                specs += [
                    mlflow_peer.spec(env, model_dir, files, n, workdir)
                    for n in WORKER_COUNTS
                    if _wanted(options, f"mlflow-{n}w")
                ]
            else:
                service_dir = bentoml_peer.prepare(workdir)
                specs += [
                    bentoml_peer.spec(env, service_dir, files, n, workdir)
                    for n in WORKER_COUNTS
                    if _wanted(options, f"bentoml-{n}w")
                ]
        except (peers.PeerUnavailableError, OSError) as exc:
            unavailable_all(family, str(exc))
    return specs, unavailable, versions, setup


def _write(name: str, result: dict[str, Any], text: str) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(exist_ok=True)
    out_json, out_md = RESULTS_DIR / f"{name}.json", RESULTS_DIR / f"{name}.md"
    for path, content in ((out_json, json.dumps(result, indent=2) + "\n"), (out_md, text)):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(content)
        tmp.replace(path)
    return out_json, out_md


def main(argv: Sequence[str] | None = None) -> int:
    """Run the serving benchmark; 0 unless nothing at all could be measured."""
    options, quick, output = parse_args(argv)
    started = time.perf_counter()
    machine = _machine()
    machine["wrk"] = load.ensure_wrk()
    if options.keep_workdir:
        workdir = BENCH_DIR / ".work" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        workdir.mkdir(parents=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="shipyard-bench-"))
    try:
        print(f"serving benchmark: {options} (scratch: {workdir})", flush=True)
        files = model.build(workdir)
        print(f"model fitted; row {model.ROW_INDEX} -> class {files.expected}", flush=True)
        specs, unavailable, versions, setup = prepare(options, files, workdir)
        print(f"servers: {', '.join(s.key for s in specs)}", flush=True)
        data = runner.run(specs, files.expected, options, workdir)
    finally:
        if not options.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    measured = {m["server"] for m in data.measurements}
    for key, why in data.failures.items():
        if key not in measured:
            unavailable[key] = f"failed: {why}"
    machine["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    workers = {s.key: s.workers for s in specs}
    summary = report.summarise(data.measurements, data.starts, workers)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {
            "quick": quick,
            "duration": options.duration,
            "warmup": options.warmup,
            "rounds": options.rounds,
            "concurrencies": list(options.concurrencies),
            "request_timeout": options.request_timeout,
            "only": list(options.only),
            "server_venv": options.server_venv,
        },
        "machine": machine,
        "model": {
            "description": model.MODEL_DESCRIPTION,
            "row_index": model.ROW_INDEX,
            "expected_class": files.expected,
        },
        "versions": versions,
        "setup": setup,
        "servers": [
            {
                "key": s.key,
                "label": s.label,
                "workers": s.workers,
                "path": s.path,
                "note": s.note,
                "body_sample": s.body.decode()[:100] + ("…" if len(s.body) > 100 else ""),
            }
            for s in specs
        ],
        "unavailable": unavailable,
        "failures": data.failures,
        "summary": summary,
        "targets": report.targets(summary, high=max(options.concurrencies), low=1),
        "rounds": data.measurements,
        "starts": data.starts,
        "elapsed_s": time.perf_counter() - started,
    }
    text = report.markdown(result)
    name = output or (
        "serving-quick" if quick else "serving-partial" if options.only else "serving"
    )
    out_json, out_md = _write(name, result, text)
    print()
    print(text)
    print(f"written to {out_json} and {out_md} ({result['elapsed_s']:.0f} s)")
    return 0 if data.measurements else 1
