"""What every control-plane route needs: the caller's identity, checked against its role.

``require(permission)`` is a FastAPI dependency; ``registry_for`` gives a route the registry
acting as the caller, so every change lands in the audit log under the caller's key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel

from shipyard.core.access import Permission
from shipyard.core.types import ApiKey, Role
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


def registry_for(request: Request, caller: Caller) -> Registry:
    """The server's registry acting as ``caller`` (for the audit log and four-eyes checks)."""
    base: Registry = request.app.state.registry
    return base.as_actor(caller.actor)


Reader = Annotated[Caller, Depends(require(Permission.READ))]
Deployer = Annotated[Caller, Depends(require(Permission.DEPLOY))]
Admin = Annotated[Caller, Depends(require(Permission.ADMIN))]


Approver = Annotated[Caller, Depends(require(Permission.APPROVE))]
