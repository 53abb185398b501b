"""The control plane's REST API (``/api/v1/…``): models, promotion, endpoints, audit, keys.

FastAPI routes that only translate HTTP to ``Registry`` calls made as the key's identity, so
every change lands in the audit log under the caller's key. Handlers are plain ``def``s: FastAPI
runs them on its thread pool, keeping registry I/O off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from shipyard.core.access import Permission
from shipyard.core.errors import InvalidInputError, PermissionDeniedError
from shipyard.core.types import ApiKey, Role, Status
from shipyard.registry import Registry
from shipyard.registry.access import KeyAuthenticator, bearer_token
from shipyard.registry.endpoints import KEEP


class Caller(BaseModel):
    """Who is calling: the key's id and role (None when auth is off)."""

    key_id: str | None
    role: Role | None

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        return f"key:{self.key_id}" if self.key_id else "anonymous (auth off)"


def require(permission: Permission) -> Callable[[Request], Caller]:
    """A FastAPI dependency that authorises the request's key for ``permission``."""

    def dependency(request: Request) -> Caller:
        auth: KeyAuthenticator | None = request.app.state.auth
        if auth is None:
            return Caller(key_id=None, role=None)
        key: ApiKey = auth.authorize(bearer_token(request.headers.get("authorization")), permission)
        return Caller(key_id=key.id, role=key.role)

    return dependency


def _registry(request: Request, caller: Caller) -> Registry:
    base: Registry = request.app.state.registry
    return base.as_actor(caller.actor)


Reader = Annotated[Caller, Depends(require(Permission.READ))]
Deployer = Annotated[Caller, Depends(require(Permission.DEPLOY))]
Admin = Annotated[Caller, Depends(require(Permission.ADMIN))]


class PromoteBody(BaseModel):
    """Move a version to another status."""

    to: Status = Field(description="staging, production, archived or rejected")
    reason: str | None = Field(default=None, max_length=1000)


class KeyBody(BaseModel):
    """Create an API key."""

    role: Role
    name: str | None = Field(default=None, max_length=200)
    expires_at: datetime | None = None


class EndpointBody(BaseModel):
    """Create an endpoint."""

    name: str = Field(max_length=64)
    model: str = Field(max_length=64)
    description: str | None = Field(default=None, max_length=1000)


class DeployBody(BaseModel):
    """Deploy a version to an endpoint."""

    version: str = Field(description="NAME:VERSION, e.g. credit:3", max_length=100)
    canary: float | None = Field(default=None, description="percent of traffic (0-100]")
    shadow: bool = Field(default=False, description="copies only; answers logged, never returned")
    sticky_key: str | None = Field(
        default=None,
        max_length=200,
        description="feature that keeps a caller on one version; empty string clears it",
    )
    reason: str | None = Field(default=None, max_length=1000)


class TrafficBody(BaseModel):
    """An endpoint's whole traffic policy."""

    weights: dict[str, float] = Field(description='percent per version, e.g. {"1": 90, "2": 10}')
    shadows: list[int] | None = None
    sticky_key: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=1000)


class RollbackBody(BaseModel):
    """Restore an earlier revision."""

    to_revision: int | None = Field(default=None, description="default: the previous revision")
    reason: str | None = Field(default=None, max_length=1000)


router = APIRouter(prefix="/api/v1")


@router.get("/models", tags=["models"], summary="List registered models")
def list_models(request: Request, caller: Reader) -> list[dict[str, Any]]:
    """Every model with its latest and production version numbers."""
    return [m.to_dict() for m in _registry(request, caller).list_models()]


@router.get("/models/{name}", tags=["models"], summary="One model and its versions")
def get_model(name: str, request: Request, caller: Reader) -> dict[str, Any]:
    """The model record and the summary of each version, newest first."""
    registry = _registry(request, caller)
    model = registry.get_model(name)
    versions = registry.list_versions(name)
    return {
        **model.to_dict(),
        "versions": [
            {
                "version": v.version,
                "status": v.status.value,
                "flavor": v.flavor,
                "created_at": v.created_at.isoformat(),
                "created_by": v.created_by,
            }
            for v in versions
        ],
    }


@router.get("/models/{name}/versions/{version}", tags=["models"], summary="One version")
def get_version(name: str, version: int, request: Request, caller: Reader) -> dict[str, Any]:
    """The full governance record of a version (lineage, signature, card, status)."""
    return _registry(request, caller).get_version(name, version).to_dict()


@router.get("/models/{name}/history", tags=["models"], summary="Status changes of a model")
def get_history(name: str, request: Request, caller: Reader) -> list[dict[str, Any]]:
    """Who moved which version where, when and why (oldest first)."""
    return [c.to_dict() for c in _registry(request, caller).history(name)]


@router.post(
    "/models/{name}/versions/{version}/promote",
    tags=["models"],
    summary="Change a version's status",
)
def promote(
    name: str, version: int, body: PromoteBody, request: Request, caller: Deployer
) -> dict[str, Any]:
    """Move a version; production needs an approver or admin key and swaps it in everywhere."""
    if body.to == Status.PRODUCTION and caller.role not in (None, Role.APPROVER, Role.ADMIN):
        raise PermissionDeniedError(
            "Promoting to production needs an approver or admin key; a deployer may stage."
        )
    moved = _registry(request, caller).promote(f"{name}:{version}", body.to, reason=body.reason)
    return moved.to_dict()


@router.get("/endpoints", tags=["endpoints"], summary="Endpoints and what this server serves")
def list_endpoints(request: Request, caller: Reader) -> dict[str, Any]:
    """What this server routes, and every stored endpoint with its policy.

    The serving part: each endpoint's weights and loaded versions, plus versions loading or
    failed. ``configured`` lists the stored endpoints (including ones not served here yet).
    """
    status: dict[str, Any] = request.app.state.pool.status()
    configured = _registry(request, caller).endpoints.list()
    return {**status, "configured": [e.to_dict() for e in configured]}


@router.post("/endpoints", tags=["endpoints"], summary="Create an endpoint", status_code=201)
def create_endpoint(body: EndpointBody, request: Request, caller: Deployer) -> dict[str, Any]:
    """A new endpoint for a model, serving nothing until a version is deployed."""
    registry = _registry(request, caller)
    return registry.endpoints.create(body.name, body.model, description=body.description).to_dict()


@router.get("/endpoints/{name}", tags=["endpoints"], summary="One endpoint and its history")
def get_endpoint(name: str, request: Request, caller: Reader) -> dict[str, Any]:
    """The endpoint, its current policy and every revision (newest first).

    ``serving`` is what this server routes for it right now (null if nothing).
    """
    registry = _registry(request, caller)
    endpoint = registry.endpoints.get(name)
    route = request.app.state.pool.routes().get(name)
    return {
        **endpoint.to_dict(),
        "history": [r.to_dict() for r in registry.endpoints.history(name)],
        "serving": route.describe() if route is not None else None,
    }


@router.post("/endpoints/{name}/deploy", tags=["endpoints"], summary="Deploy a version")
def deploy(name: str, body: DeployBody, request: Request, caller: Deployer) -> dict[str, Any]:
    """All traffic, a canary share, or shadow copies to a version.

    Creates the endpoint on first use. Answers the new revision.
    """
    sticky = KEEP if "sticky_key" not in body.model_fields_set else body.sticky_key
    revision = _registry(request, caller).endpoints.deploy(
        name,
        body.version,
        canary=body.canary,
        shadow=body.shadow,
        sticky_key=sticky,
        reason=body.reason,
    )
    return revision.to_dict()


@router.put("/endpoints/{name}/traffic", tags=["endpoints"], summary="Set the traffic policy")
def set_traffic(name: str, body: TrafficBody, request: Request, caller: Deployer) -> dict[str, Any]:
    """Weights per version (summing to 100), shadow versions and the sticky key, at once."""
    sticky = KEEP if "sticky_key" not in body.model_fields_set else body.sticky_key
    revision = _registry(request, caller).endpoints.set_traffic(
        name,
        _weights(body.weights),
        shadows=tuple(body.shadows) if body.shadows is not None else None,
        sticky_key=sticky,
        reason=body.reason,
    )
    return revision.to_dict()


@router.post("/endpoints/{name}/rollback", tags=["endpoints"], summary="Roll back")
def rollback(name: str, body: RollbackBody, request: Request, caller: Deployer) -> dict[str, Any]:
    """Restore an earlier revision (default: the previous one) as a new revision."""
    revision = _registry(request, caller).endpoints.rollback(
        name, to_revision=body.to_revision, reason=body.reason
    )
    return revision.to_dict()


def _weights(raw: dict[str, float]) -> dict[int, float]:
    weights: dict[int, float] = {}
    for key, value in raw.items():
        if not key.isdigit() or int(key) < 1:
            raise InvalidInputError(
                f'Weights are keyed by version number, e.g. {{"1": 90, "2": 10}}; got {key!r}.'
            )
        weights[int(key)] = value
    return weights


@router.get("/audit", tags=["audit"], summary="Audit log, newest first")
def list_audit(
    request: Request,
    caller: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: str | None = None,
    target: str | None = None,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
) -> list[dict[str, Any]]:
    """Hash-chained audit entries, filterable by action and target."""
    entries = _registry(request, caller).audit_entries(
        limit=limit, action=action, target=target, before_seq=before_seq
    )
    return [e.to_dict() for e in entries]


@router.get("/audit/verify", tags=["audit"], summary="Verify the audit hash chain")
def verify_audit(request: Request, caller: Reader) -> dict[str, Any]:
    """Whether the chain is intact, and the first broken entry if not."""
    return _registry(request, caller).verify_audit().to_dict()


@router.get("/keys", tags=["keys"], summary="List API keys (never their secrets)")
def list_keys(request: Request, caller: Admin) -> list[dict[str, Any]]:
    """Every key's id, name, role, expiry and revocation."""
    return [k.to_dict() for k in _registry(request, caller).list_keys()]


@router.post("/keys", tags=["keys"], summary="Create an API key", status_code=201)
def create_key(body: KeyBody, request: Request, caller: Admin) -> dict[str, Any]:
    """The new key; its ``secret`` is shown in this answer only and never stored."""
    key, secret = _registry(request, caller).create_key(
        body.role, name=body.name, expires_at=body.expires_at
    )
    return {**key.to_dict(), "secret": secret}


@router.delete("/keys/{key_id}", tags=["keys"], summary="Revoke an API key")
def revoke_key(key_id: str, request: Request, caller: Admin) -> dict[str, Any]:
    """Revoke (idempotent); the key stops working within a second on every server."""
    key = _registry(request, caller).revoke_key(key_id)
    auth: KeyAuthenticator | None = request.app.state.auth
    if auth is not None:
        auth.forget()
    return key.to_dict()
