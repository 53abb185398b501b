"""Registry use cases: versioned models with lineage, integrity, lifecycle and audit.

``Registry`` and friends are loaded on first use, so importing a light helper such as
``shipyard.registry.refs`` does not pull in the store and the frameworks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.registry.service import LoadedVersion, Registration, Registry

__all__ = ["LoadedVersion", "Registration", "Registry"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'shipyard.registry' has no attribute {name!r}")
    return getattr(importlib.import_module("shipyard.registry.service"), name)
