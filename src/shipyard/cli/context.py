"""Opening the registry for a CLI command from the environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.core.settings import Settings

if TYPE_CHECKING:
    from shipyard.registry.service import Registry


def open_registry() -> Registry:
    """The registry of ``SHIPYARD_HOME``/``SHIPYARD_DATABASE_URL``, acting as the OS user."""
    # Imported here so that `shipyard --help` does not load the store and the frameworks.
    from shipyard.registry.service import Registry

    return Registry.open(Settings.from_env())
