"""Command line of the drift benchmark: make the data, prepare Evidently, run, compare, write.

.venv/bin/python bench/run.py --drift-only                # full run, ~3 minutes
.venv/bin/python bench/run.py --drift-only --quick        # 100,000 rows, one round
.venv/bin/python bench/run.py --drift-only --no-evidently # Shipyard alone
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from serving.peers import PeerUnavailableError

from drift import compare, data, measure, report, venv

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
QUICK = data.Spec(rows=100_000, reference_rows=10_000)
TOOLS = ("evidently", "shipyard")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options (``--help`` lists them)."""
    parser = argparse.ArgumentParser(
        prog="bench/run.py --drift-only",
        description="Drift benchmark: Shipyard's drift engine vs Evidently's DataDriftPreset.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="100,000 x 10,000 rows, one round (a smoke run)"
    )
    parser.add_argument("--rounds", type=int, help="rounds per tool (default 2; --quick 1)")
    parser.add_argument("--rows", type=int, help="current rows (default 1,000,000)")
    parser.add_argument("--reference-rows", type=int, help="reference rows (default 100,000)")
    parser.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    parser.add_argument(
        "--no-evidently", action="store_true", help="measure Shipyard alone (no Evidently venv)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep (and reuse) the generated Parquet here instead of a temporary directory",
    )
    parser.add_argument(
        "--output", help="results name in bench/results/ (default drift; drift-quick for --quick)"
    )
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def spec_of(args: argparse.Namespace) -> data.Spec:
    """The data to generate: the issue's size, or --quick's, with any override."""
    base = QUICK if args.quick else data.Spec()
    return data.Spec(
        rows=args.rows or base.rows,
        reference_rows=args.reference_rows or base.reference_rows,
        numeric=base.numeric,
        categorical=base.categorical,
        seed=args.seed,
    )


def machine() -> dict[str, Any]:
    """CPU, memory, kernel and Python of this machine."""
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": memory_kb / 1024 / 1024,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }


def git_commit() -> str:
    """The checkout's commit, ``+dirty`` with uncommitted changes (read-only git calls)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=REPO_DIR, capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else "?"

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty and dirty != "?" else "")


def _write(name: str, result: dict[str, Any], text: str) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(exist_ok=True)
    out_json, out_md = RESULTS_DIR / f"{name}.json", RESULTS_DIR / f"{name}.md"
    for path, content in ((out_json, json.dumps(result, indent=2) + "\n"), (out_md, text)):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(content)
        tmp.replace(path)
    return out_json, out_md


def _comparison(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    first = {tool: next((r for r in runs if r["tool"] == tool and r["ok"]), None) for tool in TOOLS}
    ev, sy = first["evidently"], first["shipyard"]
    if ev is None or sy is None:
        return None
    pairs = compare.pair(ev["columns"], sy["columns"])
    return {
        "round": 1,
        "pairs": [p.to_dict() for p in pairs],
        "summary": compare.summarise(pairs),
        "evidently_drifted": ev["drifted_columns"],
        "shipyard_drifted": sy["drifted_columns"],
        **{
            f"{tool}_spread": compare.spread(
                [r["columns"] for r in runs if r["tool"] == tool and r["ok"]]
            )
            for tool in TOOLS
        },
    }


def _prepare_evidently(
    workdir: Path, setup: dict[str, Any], versions: dict[str, dict[str, str]]
) -> tuple[Path | None, str | None]:
    """Evidently's python, or None and why it is unavailable (recorded, never faked)."""
    print("preparing the Evidently virtualenv ...", flush=True)
    try:
        env = venv.ensure(workdir)
    except (PeerUnavailableError, OSError, subprocess.SubprocessError) as exc:
        print(f"  Evidently unavailable: {str(exc)[:500]}", flush=True)
        return None, f"could not install {venv.EVIDENTLY}: {exc}"
    versions["evidently venv"] = env.versions
    setup["evidently_venv"] = {
        "path": str(env.root.relative_to(REPO_DIR)),
        "reused": env.reused,
        "seconds": env.setup_seconds,
        "requirements": venv.requirements(),
    }
    print(f"  {'reused' if env.reused else 'created'} {env.root}", flush=True)
    return env.python, None


def _run_rounds(
    pythons: dict[str, Path], files: data.DataFiles, workdir: Path, rounds: int
) -> list[dict[str, Any]]:
    """Every round of every available tool; the tool that goes first alternates."""
    runs: list[dict[str, Any]] = []
    for round_ in range(1, rounds + 1):
        for tool in TOOLS if round_ % 2 else TOOLS[::-1]:
            if tool not in pythons:
                continue
            record = measure.run_tool(tool, pythons[tool], files, workdir, round_)
            runs.append(record)
            if record["ok"]:
                sec = record["seconds"]
                print(
                    f"  round {round_} {tool}: read+compute {sec['read_compute']:.2f} s "
                    f"(compute {sec['compute']:.2f} s), process {record['wall_s']:.1f} s, "
                    f"peak RSS {record['peak_rss_mb']:.0f} MiB",
                    flush=True,
                )
            else:
                print(f"  round {round_} {tool}: FAILED {record['error'][:800]}", flush=True)
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the drift benchmark; 0 when Shipyard was measured (Evidently may be unavailable)."""
    args = parse_args(argv)
    started = time.perf_counter()
    spec = spec_of(args)
    rounds = args.rounds or (1 if args.quick else 2)
    workdir = Path(tempfile.mkdtemp(prefix="shipyard-drift-bench-"))
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_commit(),
        "options": {"quick": args.quick, "rounds": rounds, "no_evidently": args.no_evidently},
        "machine": machine(),
        "evidently_version": venv.EVIDENTLY.split("==", 1)[1],
    }
    print(f"drift benchmark: {spec}, {rounds} round(s) (scratch: {workdir})", flush=True)
    pythons: dict[str, Path] = {"shipyard": Path(sys.executable)}
    unavailable: dict[str, str] = {}
    versions: dict[str, dict[str, str]] = {}
    try:
        files = data.write(spec, args.data_dir or workdir / "data")
        print(
            f"data: {files.size_bytes / 2**20:.0f} MB of Parquet ({files.generate_seconds:.1f} s)",
            flush=True,
        )
        setup: dict[str, Any] = {"data_seconds": files.generate_seconds}
        if args.no_evidently:
            unavailable["evidently"] = "skipped (--no-evidently)"
        else:
            python, why = _prepare_evidently(workdir, setup, versions)
            if python is None:
                unavailable["evidently"] = why or "unavailable"
            else:
                pythons["evidently"] = python
        runs = _run_rounds(pythons, files, workdir, rounds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for tool in TOOLS:
        failed = [r["error"] for r in runs if r["tool"] == tool and not r["ok"]]
        if (
            tool not in unavailable
            and failed
            and not any(r["ok"] for r in runs if r["tool"] == tool)
        ):
            unavailable[tool] = f"every round failed: {failed[0][:1500]}"
    shipyard_run = next((r for r in runs if r["tool"] == "shipyard" and r["ok"]), None)
    if shipyard_run:
        versions = {"project venv": shipyard_run["versions"], **versions}
    summaries = {tool: report.summarise([r for r in runs if r["tool"] == tool]) for tool in TOOLS}
    comparison = _comparison(runs)
    result.update(
        {
            "data": {
                "rows": spec.rows,
                "reference_rows": spec.reference_rows,
                "columns": spec.numeric + spec.categorical,
                "numeric": spec.numeric,
                "categorical": spec.categorical,
                "seed": spec.seed,
                "parquet_mb": files.size_bytes / 2**20,
                "plan": [vars(c) for c in files.columns],
            },
            "versions": versions,
            "setup": setup,
            **{
                tool: {"summary": summaries[tool], "unavailable": unavailable.get(tool)}
                for tool in TOOLS
            },
            "comparison": comparison,
            "targets": report.targets(
                summaries["evidently"],
                summaries["shipyard"],
                comparison["summary"] if comparison else None,
                why_not="; ".join(f"{k}: {v[:200]}" for k, v in unavailable.items()),
            ),
            "runs": [{k: v for k, v in r.items() if k != "columns"} for r in runs],
            "columns_by_run": [
                {"round": r["round"], "tool": r["tool"], "columns": r["columns"]}
                for r in runs
                if r["ok"]
            ],
        }
    )
    result["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    result["elapsed_s"] = time.perf_counter() - started
    text = report.markdown(result)
    out_json, out_md = _write(
        args.output or ("drift-quick" if args.quick else "drift"), result, text
    )
    print()
    print(text)
    print(f"written to {out_json} and {out_md} ({result['elapsed_s']:.0f} s)")
    return 0 if summaries["shipyard"] else 1
