"""Opening the registry for a CLI command: the local store, or a server when SHIPYARD_URL is set.

Commands that read or govern the registry (models, promote, audit, keys) take a
``ControlPlane``: the local ``Registry`` acting as the OS user, or, with ``SHIPYARD_URL`` set,
``RemoteRegistry`` acting as ``SHIPYARD_API_KEY`` through the server. Commands that need local
files or the store itself (init, db, register, predict, serve) always open the local registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shipyard.core.auditchain import ChainVerification
from shipyard.core.settings import Settings
from shipyard.core.types import ApiKey, AuditEntry, Model, ModelVersion, Role, Status, StatusChange

if TYPE_CHECKING:
    from shipyard.registry.service import Registry


class ControlPlane(Protocol):
    """What the remote-capable commands need of a registry; ``Registry`` is one."""

    def list_models(self) -> list[Model]:
        """All registered models."""

    def get_model(self, name: str) -> Model:
        """One model (ModelNotFoundError)."""

    def list_versions(self, name: str) -> list[ModelVersion]:
        """A model's versions, newest first."""

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion:
        """Resolve ``name``, ``name:N``, ``name:latest`` or ``name:production``."""

    def history(self, name: str, version: int | None = None) -> list[StatusChange]:
        """Status changes, oldest first."""

    def promote(self, ref: str, to: Status | str, *, reason: str | None = None) -> ModelVersion:
        """Move a version (audited as the caller)."""

    def audit_entries(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        target: str | None = None,
        before_seq: int | None = None,
    ) -> list[AuditEntry]:
        """Newest audit entries first."""

    def verify_audit(self) -> ChainVerification:
        """Check the audit hash chain."""

    def create_key(
        self, role: Role | str, *, name: str | None = None, expires_at: datetime | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (shown once)."""

    def list_keys(self) -> list[ApiKey]:
        """All keys, never their secrets."""

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent)."""


@contextmanager
def open_registry() -> Iterator[ControlPlane]:
    """The server at ``SHIPYARD_URL`` if set, else the local registry (as the OS user)."""
    settings = Settings.from_env()
    if settings.url:
        from shipyard.cli.remote import RemoteRegistry

        with RemoteRegistry.connect(settings) as remote:
            yield remote
        return
    with _local(settings) as registry:
        yield registry


def open_local_registry() -> Registry:
    """The registry of ``SHIPYARD_HOME``/``SHIPYARD_DATABASE_URL``, acting as the OS user."""
    return _local(Settings.from_env())


def _local(settings: Settings) -> Registry:
    # Imported here so that `shipyard --help` does not load the store and the frameworks.
    from shipyard.registry.service import Registry

    return Registry.open(settings)
