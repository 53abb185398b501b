"""Fixtures of the in-process server tests: an asyncio backend and a served SQLite registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.core.settings import Settings
from tests.fixtures.serving import Served, served_registry


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def served(tmp_path: Path, model_dir: Path) -> Iterator[Served]:
    """Four models in production and a key per role, on SQLite."""
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'shipyard.db'}",
        artifact_uri=str(tmp_path / "artifacts"),
    )
    s = served_registry(settings, model_dir)
    yield s
    s.registry.close()
