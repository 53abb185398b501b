"""``python -m shipyard.cli``: the same as the ``shipyard`` script."""

from shipyard.cli.main import run

run()
