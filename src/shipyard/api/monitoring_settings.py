"""Control-plane routes of a model's monitoring settings: read them (viewer), set them (deployer).

Thin adapters over ``registry.monitoring_settings``; the answer of ``GET`` is
``shipyard.monitoring.settings.settings_document``, the shape ``monitor settings show --json``
prints.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from shipyard.api.deps import Deployer, Reader, registry_for
from shipyard.monitoring.settings import settings_document


class SettingsBody(BaseModel):
    """A model's monitoring settings as YAML text."""

    text: str = Field(max_length=100_000, description="the settings YAML (see docs/monitoring.md)")


router = APIRouter(prefix="/api/v1")


@router.get(
    "/models/{name}/monitoring-settings",
    tags=["monitoring"],
    summary="A model's monitoring settings",
)
def get_settings(name: str, request: Request, caller: Reader) -> dict[str, Any]:
    """The settings in force (revision 0: the defaults) and every stored revision."""
    history = registry_for(request, caller).monitoring_settings.history(name)
    return settings_document(name, history)


@router.put(
    "/models/{name}/monitoring-settings",
    tags=["monitoring"],
    summary="Set a model's monitoring settings",
)
def set_settings(
    name: str, body: SettingsBody, request: Request, caller: Deployer
) -> dict[str, Any]:
    """Store the next settings revision (deployer or above); 422 names the line and field."""
    registry = registry_for(request, caller)
    return registry.monitoring_settings.set(name, body.text).to_dict()
