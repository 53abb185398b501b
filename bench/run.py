"""Benchmarks entry point (`make bench`): the registry micro-benchmark, then the serving one.

    .venv/bin/python bench/run.py                 # both (the serving one takes ~25 minutes)
    .venv/bin/python bench/run.py --quick         # registry + a ~3-minute serving smoke run
    .venv/bin/python bench/run.py --serving-only --only bare,echo --quick

Every option after the first two is the serving benchmark's (``--help`` lists them);
bench/serving/README.md says what is measured and how.
"""

from __future__ import annotations

import sys

import registry_bench
from serving.cli import main as serving_main
from serving.cli import parse_args


def main(argv: list[str]) -> int:
    """Run the selected benchmarks; the exit code is the serving benchmark's."""
    serving_only = "--serving-only" in argv
    registry_only = "--registry-only" in argv
    rest = [a for a in argv if a not in {"--serving-only", "--registry-only"}]
    if "-h" in rest or "--help" in rest:
        print("bench/run.py [--registry-only | --serving-only] [serving options]\n")
        return serving_main(rest)
    if not registry_only:
        parse_args(rest)  # a typo in the serving options fails now, not after the registry run
    if not serving_only:
        print("== registry micro-benchmark ==", flush=True)
        registry_bench.main()
    if registry_only:
        return 0
    print("\n== serving benchmark ==", flush=True)
    return serving_main(rest)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
