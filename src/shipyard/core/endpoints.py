"""Endpoints and their revisions: a stable name serving one model under a traffic policy.

Every change to an endpoint's policy (a deploy, a ramp step, a rollback) appends a revision
that records the whole policy, who made it, when and why, so any earlier state can be restored
in one call. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shipyard.core.errors import InvalidNameError
from shipyard.core.rollout import RolloutPlan
from shipyard.core.traffic import TrafficPolicy
from shipyard.core.types import MODEL_NAME_PATTERN, MODEL_NAME_RULE


def validate_endpoint_name(name: str) -> str:
    """Return ``name`` if it can be an endpoint name (it is a URL path segment and a directory).

    Endpoint names follow the model-name rule, so a model's name is always a valid endpoint.

    Raises:
        InvalidNameError: naming the rule.
    """
    if not MODEL_NAME_PATTERN.fullmatch(name):
        raise InvalidNameError(f"Invalid endpoint name {name!r}: use {MODEL_NAME_RULE}.")
    return name


@dataclass(frozen=True, slots=True)
class EndpointRevision:
    """One state of an endpoint's traffic policy.

    Attributes:
        revision: 1 for the first deploy, then +1 for every change.
        policy: The traffic policy in force from this revision on.
        action: What made it: ``deploy``, ``traffic``, ``rollback``, ``ramp``,
            ``auto_rollback`` or ``complete``.
        actor: Who (a user or key name; ``controller`` for automated progressive delivery).
        at: When.
        reason: Why, in words (``None`` when not given).
    """

    revision: int
    policy: TrafficPolicy
    action: str
    actor: str
    at: datetime
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "revision": self.revision,
            "policy": self.policy.to_dict(),
            "action": self.action,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EndpointRevision:
        """Inverse of :meth:`to_dict`."""
        return cls(
            revision=int(data["revision"]),
            policy=TrafficPolicy.from_dict(data["policy"]),
            action=data["action"],
            actor=data["actor"],
            at=datetime.fromisoformat(data["at"]),
            reason=data.get("reason"),
        )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A named endpoint, the model it serves and its current revision (None before a deploy)."""

    name: str
    model: str
    description: str | None
    created_at: datetime
    created_by: str
    current: EndpointRevision | None

    @property
    def policy(self) -> TrafficPolicy | None:
        """The traffic policy in force, if any version is deployed."""
        return self.current.policy if self.current else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "model": self.model,
            "description": self.description,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "revision": self.current.revision if self.current else None,
            "current": self.current.to_dict() if self.current else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Endpoint:
        """Inverse of :meth:`to_dict` (extra keys, such as ``history``, are ignored)."""
        current = data.get("current")
        return cls(
            name=data["name"],
            model=data["model"],
            description=data.get("description"),
            created_at=datetime.fromisoformat(data["created_at"]),
            created_by=data["created_by"],
            current=EndpointRevision.from_dict(current) if current else None,
        )


class RolloutState(StrEnum):
    """Where an automated progressive rollout stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"


@dataclass(frozen=True, slots=True)
class Rollout:
    """An automated canary rollout on an endpoint: its plan and where it is.

    Attributes:
        id: Its number (unique across endpoints).
        endpoint: The endpoint it ramps.
        canary: The version being ramped up.
        stable: The version it replaces (and returns to on rollback).
        plan: Steps, timing and health tolerances.
        step: Index into ``plan.steps`` of the weight in force.
        step_started_at: When the current step began (the controller's clock survives restarts).
        state: Running, completed, rolled back (by the controller) or aborted (by a person).
        reason: Why it ended, or what it waits for.
        last_decision: The controller's latest decision with its checks, JSON-ready.
    """

    id: int
    endpoint: str
    canary: int
    stable: int
    plan: RolloutPlan
    step: int
    step_started_at: datetime
    state: RolloutState
    reason: str | None
    last_decision: dict[str, Any] | None
    started_by: str
    started_at: datetime
    updated_at: datetime

    @property
    def weight(self) -> float:
        """The canary's share of traffic at the current step."""
        return self.plan.steps[self.step]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "canary": self.canary,
            "stable": self.stable,
            "plan": self.plan.to_dict(),
            "step": self.step,
            "weight": self.weight,
            "step_started_at": self.step_started_at.isoformat(),
            "state": self.state.value,
            "reason": self.reason,
            "last_decision": self.last_decision,
            "started_by": self.started_by,
            "started_at": self.started_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rollout:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=int(data["id"]),
            endpoint=data["endpoint"],
            canary=int(data["canary"]),
            stable=int(data["stable"]),
            plan=RolloutPlan.from_dict(data["plan"]),
            step=int(data["step"]),
            step_started_at=datetime.fromisoformat(data["step_started_at"]),
            state=RolloutState(data["state"]),
            reason=data.get("reason"),
            last_decision=data.get("last_decision"),
            started_by=data["started_by"],
            started_at=datetime.fromisoformat(data["started_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
        )
