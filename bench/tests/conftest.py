"""Make bench/ importable as it is when bench/run.py runs (``import serving``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
