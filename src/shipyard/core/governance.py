"""Governance records: gate policies, evidence stored on versions, promotion requests.

A model's gate policy is YAML text kept with its history; a version carries the evidence that
was gathered about it (gate reports, pilot load tests); a promotion to production that needs
approvals waits as a ``PromotionRequest`` until enough approvers other than the requester say
yes. Plain data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class CheckKind(StrEnum):
    """What a piece of evidence on a version is."""

    GATE = "gate"
    PILOT = "pilot"


class RequestState(StrEnum):
    """Where a promotion request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class GatePolicyRecord:
    """One revision of a model's gate policy, as the YAML text its author wrote."""

    model: str
    revision: int
    text: str
    actor: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "revision": self.revision,
            "text": self.text,
            "actor": self.actor,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GatePolicyRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(
            model=data["model"],
            revision=int(data["revision"]),
            text=data["text"],
            actor=data["actor"],
            at=datetime.fromisoformat(data["at"]),
        )


@dataclass(frozen=True, slots=True)
class VersionCheck:
    """Evidence stored on a version: a gate report or a pilot result (``result``)."""

    model: str
    version: int
    kind: CheckKind
    passed: bool | None
    result: dict[str, Any]
    actor: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "version": self.version,
            "kind": self.kind.value,
            "passed": self.passed,
            "result": self.result,
            "actor": self.actor,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VersionCheck:
        """Inverse of :meth:`to_dict`."""
        return cls(
            model=data["model"],
            version=int(data["version"]),
            kind=CheckKind(data["kind"]),
            passed=data.get("passed"),
            result=dict(data["result"]),
            actor=data["actor"],
            at=datetime.fromisoformat(data["at"]),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """One approver's answer to a promotion request."""

    actor: str
    approve: bool
    comment: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "actor": self.actor,
            "decision": "approve" if self.approve else "reject",
            "comment": self.comment,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """Inverse of :meth:`to_dict`."""
        return cls(
            actor=data["actor"],
            approve=data["decision"] == "approve",
            comment=data.get("comment"),
            at=datetime.fromisoformat(data["at"]),
        )


@dataclass(frozen=True, slots=True)
class PromotionRequest:
    """A request to move a version to production, waiting for approvals."""

    id: int
    model: str
    version: int
    from_status: str
    required_approvals: int
    state: RequestState
    requested_by: str
    requested_at: datetime
    reason: str | None
    closed_at: datetime | None
    decisions: tuple[Decision, ...] = ()

    @property
    def ref(self) -> str:
        """``name:version`` of the version waiting."""
        return f"{self.model}:{self.version}"

    @property
    def approvals(self) -> int:
        """Approvals given so far."""
        return sum(1 for d in self.decisions if d.approve)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "from_status": self.from_status,
            "required_approvals": self.required_approvals,
            "approvals": self.approvals,
            "state": self.state.value,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat(),
            "reason": self.reason,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "decisions": [d.to_dict() for d in self.decisions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromotionRequest:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=int(data["id"]),
            model=data["model"],
            version=int(data["version"]),
            from_status=data["from_status"],
            required_approvals=int(data["required_approvals"]),
            state=RequestState(data["state"]),
            requested_by=data["requested_by"],
            requested_at=datetime.fromisoformat(data["requested_at"]),
            reason=data.get("reason"),
            closed_at=datetime.fromisoformat(data["closed_at"]) if data.get("closed_at") else None,
            decisions=tuple(Decision.from_dict(d) for d in data.get("decisions", [])),
        )
