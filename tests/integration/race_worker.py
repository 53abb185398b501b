"""Worker for the concurrent-registration test, in its own module: a spawned process imports
only this and Shipyard, not the test module's heavier imports (pandas, scikit-learn, pytest)."""

from __future__ import annotations

from typing import Any

from shipyard.core.settings import Settings
from shipyard.registry.service import Registry


def register_when_started(settings: Settings, artifact: str, start: Any, results: Any) -> None:
    """Wait for the start signal, register one version, report its number."""
    start.wait(60)
    with Registry.open(settings, actor="test:worker") as registry:
        results.put(registry.register("race", artifact).version.version)


def initialise_when_started(settings: Settings, start: Any, results: Any) -> None:
    """Wait for the start signal, run first-time set-up, report whether it made a key."""
    from shipyard.registry.setup import initialise

    start.wait(60)
    results.put(initialise(settings, actor="test:worker").admin_secret is not None)
