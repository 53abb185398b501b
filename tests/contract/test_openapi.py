"""The HTTP contract as a snapshot: the OpenAPI document may only grow (DESIGN.md: "change it
only by adding"). Regenerate after an intended change with SHIPYARD_UPDATE_SNAPSHOTS=1."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from shipyard.core.settings import Settings
from shipyard.registry.setup import initialise
from shipyard.server.app import create_app
from shipyard.server.options import ServeOptions

SNAPSHOT = Path(__file__).with_name("snapshots") / "openapi.json"


def current_spec(tmp_path: Path) -> dict[str, Any]:
    settings = Settings.for_home(tmp_path / "home")
    initialise(settings, actor="test:setup")
    app = create_app(settings, ServeOptions())
    try:
        return app.openapi()
    finally:
        app.state.shipyard.close()


def operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in spec["paths"].items() for method in item}


def test_openapi_matches_the_snapshot(tmp_path: Path) -> None:
    spec = current_spec(tmp_path)
    if os.environ.get("SHIPYARD_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
        pytest.skip("snapshot updated")
    recorded = json.loads(SNAPSHOT.read_text())
    removed = operations(recorded) - operations(spec)
    assert not removed, f"routes removed from the public contract: {sorted(removed)}"
    assert spec == recorded, (
        "The OpenAPI document changed. If intended (additions only), regenerate the snapshot "
        "with SHIPYARD_UPDATE_SNAPSHOTS=1 and review the diff."
    )
