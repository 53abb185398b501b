"""Shipyard: from a trained model file to a governed production endpoint.

The SDK's public names are importable from here (``from shipyard import Registry``); they are
loaded on first use so that ``import shipyard`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shipyard._version import __version__

if TYPE_CHECKING:
    from shipyard.client import Client
    from shipyard.core.errors import ShipyardError
    from shipyard.core.settings import Settings
    from shipyard.core.types import (
        ApiKey,
        AuditEntry,
        ColumnSpec,
        DType,
        Lineage,
        Model,
        ModelCard,
        ModelVersion,
        Role,
        Signature,
        Status,
    )
    from shipyard.flavors.base import Batch, Predictor
    from shipyard.registry.scoring import score_file
    from shipyard.registry.service import LoadedVersion, Registration, Registry
    from shipyard.registry.setup import initialise

_EXPORTS: dict[str, str] = {
    "ApiKey": "shipyard.core.types",
    "AuditEntry": "shipyard.core.types",
    "Batch": "shipyard.flavors.base",
    "Client": "shipyard.client",
    "ColumnSpec": "shipyard.core.types",
    "DType": "shipyard.core.types",
    "Lineage": "shipyard.core.types",
    "LoadedVersion": "shipyard.registry.service",
    "Model": "shipyard.core.types",
    "ModelCard": "shipyard.core.types",
    "ModelVersion": "shipyard.core.types",
    "Predictor": "shipyard.flavors.base",
    "Registration": "shipyard.registry.service",
    "Registry": "shipyard.registry.service",
    "Role": "shipyard.core.types",
    "Settings": "shipyard.core.settings",
    "ShipyardError": "shipyard.core.errors",
    "Signature": "shipyard.core.types",
    "Status": "shipyard.core.types",
    "initialise": "shipyard.registry.setup",
    "score_file": "shipyard.registry.scoring",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
