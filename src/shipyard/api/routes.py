"""The control plane's REST API (``/api/v1/…``): models, versions, promotion, audit, keys.

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
from shipyard.core.errors import PermissionDeniedError
from shipyard.core.types import ApiKey, Role, Status
from shipyard.registry import Registry
from shipyard.registry.access import KeyAuthenticator, bearer_token


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


@router.get("/endpoints", tags=["endpoints"], summary="What this server serves")
def list_endpoints(request: Request, caller: Reader) -> dict[str, Any]:
    """Each endpoint with the version it serves, plus loading and failed versions."""
    status: dict[str, Any] = request.app.state.pool.status()
    return status


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
