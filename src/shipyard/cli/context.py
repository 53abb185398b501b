"""Opening the registry for a CLI command from the environment."""

from __future__ import annotations

from shipyard.core.settings import Settings
from shipyard.registry import Registry


def open_registry() -> Registry:
    """The registry of ``SHIPYARD_HOME``/``SHIPYARD_DATABASE_URL``, acting as the OS user."""
    return Registry.open(Settings.from_env())
