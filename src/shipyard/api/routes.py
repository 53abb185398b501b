"""The control plane's REST API (``/api/v1/…``): models, promotion, audit, keys.

FastAPI routes that only translate HTTP to ``Registry`` calls made as the key's identity, so
every change lands in the audit log under the caller's key. Handlers are plain ``def``s: FastAPI
runs them on its thread pool, keeping registry I/O off the event loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shipyard.api.deps import Admin, Deployer, Reader, registry_for
from shipyard.core.errors import PermissionDeniedError
from shipyard.core.types import Role, Status
from shipyard.registry import Registry
from shipyard.registry.access import KeyAuthenticator


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
    return [m.to_dict() for m in registry_for(request, caller).list_models()]


@router.get("/models/{name}", tags=["models"], summary="One model and its versions")
def get_model(name: str, request: Request, caller: Reader) -> dict[str, Any]:
    """The model record and the summary of each version, newest first."""
    registry = registry_for(request, caller)
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
    return registry_for(request, caller).get_version(name, version).to_dict()


@router.get("/models/{name}/history", tags=["models"], summary="Status changes of a model")
def get_history(name: str, request: Request, caller: Reader) -> list[dict[str, Any]]:
    """Who moved which version where, when and why (oldest first)."""
    return [c.to_dict() for c in registry_for(request, caller).history(name)]


@router.post(
    "/models/{name}/versions/{version}/promote",
    tags=["models"],
    summary="Change a version's status",
)
def promote(
    name: str, version: int, body: PromoteBody, request: Request, caller: Deployer
) -> dict[str, Any]:
    """Move a version; production runs its gates first.

    If the model's policy asks for approvals, a deployer may request production (the version
    waits in ``pending_approval``); otherwise production needs an approver or admin key.
    """
    registry = registry_for(request, caller)
    elevated = caller.role in (None, Role.APPROVER, Role.ADMIN)
    if body.to == Status.PRODUCTION and not elevated and not _asks_approval(registry, name):
        raise PermissionDeniedError(
            "Promoting to production needs an approver or admin key when the model's gate "
            "policy requires no approvals; a deployer may stage, or request production "
            "once the policy asks for approvals."
        )
    moved = registry.promote(f"{name}:{version}", body.to, reason=body.reason)
    return moved.to_dict()


def _asks_approval(registry: Registry, model: str) -> bool:
    return registry.gates.policy(model).policy.approvals > 0


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
    entries = registry_for(request, caller).audit_entries(
        limit=limit, action=action, target=target, before_seq=before_seq
    )
    return [e.to_dict() for e in entries]


@router.get("/audit/verify", tags=["audit"], summary="Verify the audit hash chain")
def verify_audit(request: Request, caller: Reader) -> dict[str, Any]:
    """Whether the chain is intact, and the first broken entry if not."""
    return registry_for(request, caller).verify_audit().to_dict()


@router.get("/keys", tags=["keys"], summary="List API keys (never their secrets)")
def list_keys(request: Request, caller: Admin) -> list[dict[str, Any]]:
    """Every key's id, name, role, expiry and revocation."""
    return [k.to_dict() for k in registry_for(request, caller).list_keys()]


@router.post("/keys", tags=["keys"], summary="Create an API key", status_code=201)
def create_key(body: KeyBody, request: Request, caller: Admin) -> dict[str, Any]:
    """The new key; its ``secret`` is shown in this answer only and never stored."""
    key, secret = registry_for(request, caller).create_key(
        body.role, name=body.name, expires_at=body.expires_at
    )
    return {**key.to_dict(), "secret": secret}


@router.delete("/keys/{key_id}", tags=["keys"], summary="Revoke an API key")
def revoke_key(key_id: str, request: Request, caller: Admin) -> dict[str, Any]:
    """Revoke (idempotent); the key stops working within a second on every server."""
    key = registry_for(request, caller).revoke_key(key_id)
    auth: KeyAuthenticator | None = request.app.state.auth
    if auth is not None:
        auth.forget()
    return key.to_dict()
