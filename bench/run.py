"""Benchmarks entry point (`make bench`): the registry micro-benchmark, the drift benchmark
against Evidently, then the serving one.

    .venv/bin/python bench/run.py                   # all three (~30 minutes)
    .venv/bin/python bench/run.py --quick           # registry + drift and serving smoke runs
    .venv/bin/python bench/run.py --serving-only --only bare,echo --quick
    .venv/bin/python bench/run.py --drift-only [--quick] [--rounds N] [--no-evidently]
    .venv/bin/python bench/run.py --registry-only

With ``--serving-only`` or ``--drift-only`` every other option is that benchmark's (``--help``
after the flag lists them); in a full run every option is the serving benchmark's, and
``--quick`` is passed to the drift benchmark too. bench/serving/README.md and
bench/drift/README.md say what is measured and how.
"""

from __future__ import annotations

import sys

import registry_bench
from drift.cli import main as drift_main
from drift.cli import parse_args as drift_parse_args
from serving.cli import main as serving_main
from serving.cli import parse_args as serving_parse_args

ONLY = ("--registry-only", "--drift-only", "--serving-only")
USAGE = "bench/run.py [--registry-only | --drift-only | --serving-only] [options]\n"


def main(argv: list[str]) -> int:
    """Run the selected benchmarks; the exit code is the first non-zero one of them."""
    only = [flag for flag in ONLY if flag in argv]
    if len(only) > 1:
        print(f"{USAGE}error: choose one of {', '.join(only)}", file=sys.stderr)
        return 2
    rest = [a for a in argv if a not in ONLY]
    chosen = only[0] if only else None
    if "-h" in rest or "--help" in rest:
        print(USAGE)
        if chosen == "--drift-only":
            return drift_main(rest)
        return serving_main(rest)
    # A typo in the options fails now, not after the benchmarks before it.
    drift_args = rest if chosen == "--drift-only" else [a for a in rest if a == "--quick"]
    if chosen in (None, "--serving-only"):
        serving_parse_args(rest)
    if chosen == "--drift-only":
        drift_parse_args(rest)
    codes: list[int] = []
    if chosen in (None, "--registry-only"):
        print("== registry micro-benchmark ==", flush=True)
        registry_bench.main()
    if chosen in (None, "--drift-only"):
        print("\n== drift benchmark vs Evidently ==", flush=True)
        codes.append(drift_main(drift_args))
    if chosen in (None, "--serving-only"):
        print("\n== serving benchmark ==", flush=True)
        codes.append(serving_main(rest))
    return next((code for code in codes if code), 0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
