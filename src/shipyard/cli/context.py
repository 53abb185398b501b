"""Opening the registry for a CLI command: the local store, or a server when SHIPYARD_URL is set.

Commands that read or govern the registry (models, promote, endpoints, deploy, rollback, audit,
keys) take a ``ControlPlane``: the local ``Registry`` acting as the OS user, or, with
``SHIPYARD_URL`` set, ``RemoteRegistry`` acting as ``SHIPYARD_API_KEY`` through the server.
Commands that need local files or the store itself (init, db, register, predict, serve) always
open the local registry.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shipyard.core.auditchain import ChainVerification
from shipyard.core.endpoints import Endpoint, EndpointRevision
from shipyard.core.settings import Settings
from shipyard.core.types import ApiKey, AuditEntry, Model, ModelVersion, Role, Status, StatusChange
from shipyard.registry.endpoints import KEEP

if TYPE_CHECKING:
    from shipyard.registry.service import Registry


class EndpointControl(Protocol):
    """Endpoints and their traffic policies; ``registry.endpoints`` is one.

    Every change appends a revision (audited as the caller) and returns it.
    """

    def list(self) -> builtins.list[Endpoint]:
        """All endpoints with their current policies, by name."""

    def get(self, name: str) -> Endpoint:
        """One endpoint (EndpointNotFoundError)."""

    def history(self, name: str) -> builtins.list[EndpointRevision]:
        """The endpoint's revisions, newest first (EndpointNotFoundError)."""

    def create(self, name: str, model: str, *, description: str | None = None) -> Endpoint:
        """A new endpoint serving nothing yet.

        Raises:
            InvalidNameError, ConflictError (name taken), ModelNotFoundError.
        """

    def deploy(
        self,
        name: str,
        ref: str,
        *,
        canary: float | None = None,
        shadow: bool = False,
        sticky_key: str | object | None = KEEP,
        reason: str | None = None,
    ) -> EndpointRevision:
        """All traffic, a ``canary`` share or shadow copies to ``ref`` (creates the endpoint).

        ``sticky_key=KEEP`` leaves the sticky key as it is; ``""`` or None clears it.

        Raises:
            InvalidInputError: see ``shipyard.registry.endpoints.Endpoints.deploy``.
            ModelNotFoundError, VersionNotFoundError.
        """

    def set_traffic(
        self,
        name: str,
        weights: Mapping[int, float],
        *,
        shadows: tuple[int, ...] | None = None,
        sticky_key: str | object | None = KEEP,
        reason: str | None = None,
    ) -> EndpointRevision:
        """Weights per version (summing to 100), shadows (None keeps them) and the sticky key.

        Raises:
            InvalidInputError, EndpointNotFoundError.
        """

    def rollback(
        self, name: str, *, to_revision: int | None = None, reason: str | None = None
    ) -> EndpointRevision:
        """Restore an earlier revision (default: the previous one) as a new revision.

        Raises:
            InvalidInputError, EndpointNotFoundError, RevisionNotFoundError, ConflictError.
        """


class ControlPlane(Protocol):
    """What the remote-capable commands need of a registry; ``Registry`` is one."""

    @property
    def endpoints(self) -> EndpointControl:
        """Endpoints and their traffic policies, changed as the caller."""

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
