"""Registry use cases: versioned models with lineage, integrity, lifecycle and audit."""

from shipyard.registry.service import LoadedVersion, Registration, Registry

__all__ = ["LoadedVersion", "Registration", "Registry"]
