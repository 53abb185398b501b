"""``RemoteRegistry``: the CLI's registry calls answered by a server through ``shipyard.client``.

It returns the same core types as the local ``Registry`` (rebuilt with their ``from_dict``), so
each command renders text and ``--json`` with one code path whichever side answered. Argument
checks that the server would phrase differently (its request validation) are made here first,
with the local wording.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType

from shipyard.client import Client
from shipyard.core.auditchain import ChainVerification
from shipyard.core.endpoints import Endpoint, EndpointRevision, validate_endpoint_name
from shipyard.core.errors import ConflictError, InvalidInputError, RemoteError
from shipyard.core.settings import Settings
from shipyard.core.types import ApiKey, AuditEntry, Model, ModelVersion, Role, Status, StatusChange
from shipyard.registry.endpoints import KEEP
from shipyard.registry.refs import parse_ref


class RemoteRegistry:
    """The subset of ``Registry`` the remote-capable commands use, over HTTP.

    Args:
        client: A client acting as the caller's API key; closed with this object.
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    @classmethod
    def connect(cls, settings: Settings) -> RemoteRegistry:
        """A registry at ``settings.url``, acting as ``settings.api_key``."""
        return cls(Client(settings.url, settings.api_key or ""))

    def __enter__(self) -> RemoteRegistry:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the client's connections."""
        self.client.close()

    # -- models ---------------------------------------------------------------------------

    def list_models(self) -> list[Model]:
        """All registered models."""
        return [Model.from_dict(m) for m in self.client.models()]

    def get_model(self, name: str) -> Model:
        """One model (ModelNotFoundError)."""
        return Model.from_dict(self.client.model(name))

    def list_versions(self, name: str) -> list[ModelVersion]:
        """A model's versions, newest first, each with its full record.

        The API's model answer summarises versions without their artifact hash, which the
        listing shows, so each version is fetched: one request per version.
        """
        summary = self.client.model(name).get("versions", [])
        return [self._version(name, int(v["version"])) for v in summary]

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion:
        """Resolve ``name``, ``name:N``, ``name:latest`` or ``name:production`` to a version."""
        name, selector = parse_ref(ref) if version is None else (ref, str(version))
        if selector is not None and selector.isdigit():
            return self._version(name, int(selector))
        model = self.get_model(name)
        if selector == "production":
            if model.production_version is None:
                raise ConflictError(
                    f"Model {name!r} has no version in production. Promote one with "
                    f"`shipyard promote {name}:VERSION --to production`."
                )
            return self._version(name, model.production_version)
        return self._version(name, model.latest_version)

    def history(self, name: str, version: int | None = None) -> list[StatusChange]:
        """Who moved which version to which status, when and why (oldest first)."""
        changes = (StatusChange.from_dict(c) for c in self.client.history(name))
        return [c for c in changes if version is None or c.version == version]

    def promote(self, ref: str, to: Status | str, *, reason: str | None = None) -> ModelVersion:
        """Move a version; the server audits it under the caller's key."""
        name, selector = parse_ref(ref)
        if selector is None or not selector.isdigit():
            raise InvalidInputError(
                f"Name the exact version to promote, e.g. {name}:3 (got {ref!r})."
            )
        try:
            target = Status(to)
        except ValueError:
            raise InvalidInputError(
                f"Unknown status {to!r}; use one of: staging, production, archived, rejected."
            ) from None
        moved = self.client.promote(name, int(selector), target, reason)
        return ModelVersion.from_dict(moved)

    def _version(self, name: str, number: int) -> ModelVersion:
        return ModelVersion.from_dict(self.client.version(name, number))

    # -- endpoints ------------------------------------------------------------------------

    @property
    def endpoints(self) -> RemoteEndpoints:
        """Endpoints and their traffic policies, changed as the caller's key."""
        return RemoteEndpoints(self.client)

    # -- audit ----------------------------------------------------------------------------

    def audit_entries(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        target: str | None = None,
        before_seq: int | None = None,
    ) -> list[AuditEntry]:
        """Newest audit entries first."""
        entries = self.client.audit(
            limit=limit, action=action, target=target, before_seq=before_seq
        )
        return [AuditEntry.from_dict(e) for e in entries]

    def verify_audit(self) -> ChainVerification:
        """The server's check of the whole hash chain."""
        return ChainVerification.from_dict(self.client.verify_audit())

    # -- keys -----------------------------------------------------------------------------

    def create_key(
        self, role: Role | str, *, name: str | None = None, expires_at: datetime | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (shown once); needs an admin key."""
        try:
            role = Role(role)
        except ValueError:
            raise InvalidInputError(
                f"Unknown role {role!r}; use one of: {', '.join(r.value for r in Role)}."
            ) from None
        created = self.client.create_key(role, name=name, expires_at=expires_at)
        return ApiKey.from_dict(created), str(created["secret"])

    def list_keys(self) -> list[ApiKey]:
        """All API keys (never their secrets); needs an admin key."""
        records = self.client.keys()  # a method of Client, not dict.keys() (ruff SIM118)
        return [ApiKey.from_dict(k) for k in records]

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent); needs an admin key."""
        return ApiKey.from_dict(self.client.revoke_key(key_id))


class RemoteEndpoints:
    """``registry.endpoints`` over HTTP: the same methods, arguments and core types.

    Args:
        client: A client acting as the caller's API key (not closed here).
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    def list(self) -> builtins.list[Endpoint]:
        """All stored endpoints with their current policies, by name."""
        configured = self.client.endpoints().get("configured")
        if not isinstance(configured, builtins.list):
            raise RemoteError(
                f"The server at {self.client.url} does not list its endpoints; it may predate "
                "named endpoints. Upgrade it, or unset SHIPYARD_URL to read the local registry.",
                code="unexpected_response",
            )
        return [Endpoint.from_dict(e) for e in configured]

    def get(self, name: str) -> Endpoint:
        """One endpoint (EndpointNotFoundError)."""
        return Endpoint.from_dict(self.client.endpoint(name))

    def history(self, name: str) -> builtins.list[EndpointRevision]:
        """The endpoint's revisions, newest first (EndpointNotFoundError)."""
        return [EndpointRevision.from_dict(r) for r in self.client.endpoint(name)["history"]]

    def create(self, name: str, model: str, *, description: str | None = None) -> Endpoint:
        """A new endpoint for ``model``, serving nothing yet."""
        validate_endpoint_name(name)
        return Endpoint.from_dict(self.client.create_endpoint(name, model, description))

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
        """All traffic, a ``canary`` share or shadow copies to the exact version ``ref``."""
        validate_endpoint_name(name)
        model, selector = parse_ref(ref)
        if selector is None or not selector.isdigit():
            raise InvalidInputError(
                f"Name the exact version to deploy, e.g. {model}:3 (got {ref!r})."
            )
        revision = self.client.deploy(
            name,
            ref,
            canary=canary,
            shadow=shadow,
            sticky_key=_sticky(sticky_key),
            reason=reason,
        )
        return EndpointRevision.from_dict(revision)

    def set_traffic(
        self,
        name: str,
        weights: Mapping[int, float],
        *,
        shadows: tuple[int, ...] | None = None,
        sticky_key: str | object | None = KEEP,
        reason: str | None = None,
    ) -> EndpointRevision:
        """The endpoint's whole policy: ``{version: percent}``, shadows and sticky key."""
        revision = self.client.set_traffic(
            name, weights, shadows=shadows, sticky_key=_sticky(sticky_key), reason=reason
        )
        return EndpointRevision.from_dict(revision)

    def rollback(
        self, name: str, *, to_revision: int | None = None, reason: str | None = None
    ) -> EndpointRevision:
        """Restore an earlier revision (default: the previous one) as a new revision."""
        revision = self.client.rollback(name, to_revision=to_revision, reason=reason)
        return EndpointRevision.from_dict(revision)


def _sticky(sticky_key: str | object | None) -> str | None:
    """The registry's ``KEEP``/None/str as the client spells them: None keeps, "" clears."""
    if sticky_key is KEEP:
        return None
    if sticky_key is None:
        return ""
    if not isinstance(sticky_key, str):
        raise InvalidInputError(f"A sticky key is a feature name; got {sticky_key!r}.")
    return sticky_key
