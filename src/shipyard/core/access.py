"""Who may do what: the permissions each API key role grants (DESIGN.md "Auth").

Pure data and one function; the HTTP layers ask ``role_allows`` and never compare roles
themselves, so the table below is the single place where the role model lives.
"""

from __future__ import annotations

from enum import StrEnum

from shipyard.core.types import Role


class Permission(StrEnum):
    """An operation class a route requires."""

    PREDICT = "predict"  # inference and feedback
    READ = "read"  # read the control plane
    REVIEW = "review"  # work the human review queue
    DEPLOY = "deploy"  # register, stage, deploy, roll back
    APPROVE = "approve"  # approve production
    ADMIN = "admin"  # keys and everything else
    METRICS = "metrics"  # scrape /metrics (any valid key)


_REVIEWER = {Permission.READ, Permission.REVIEW}
_DEPLOYER = _REVIEWER | {Permission.PREDICT, Permission.DEPLOY}
_APPROVER = _DEPLOYER | {Permission.APPROVE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PREDICTOR: frozenset({Permission.PREDICT, Permission.METRICS}),
    Role.VIEWER: frozenset({Permission.READ, Permission.METRICS}),
    Role.REVIEWER: frozenset(_REVIEWER | {Permission.METRICS}),
    Role.DEPLOYER: frozenset(_DEPLOYER | {Permission.METRICS}),
    Role.APPROVER: frozenset(_APPROVER | {Permission.METRICS}),
    Role.ADMIN: frozenset(Permission),
}


def role_allows(role: Role, permission: Permission) -> bool:
    """True if a key of ``role`` may perform operations that need ``permission``."""
    return permission in ROLE_PERMISSIONS[role]


def roles_with(permission: Permission) -> list[Role]:
    """The roles that grant ``permission`` (for error messages)."""
    return [role for role in Role if permission in ROLE_PERMISSIONS[role]]
