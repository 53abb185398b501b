"""``python -m drift`` from bench/: the drift benchmark alone."""

import sys

from drift.cli import main

raise SystemExit(main(sys.argv[1:]))
