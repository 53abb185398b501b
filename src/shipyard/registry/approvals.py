"""Four-eyes approval of production promotions.

When a model's gate policy asks for N approvals, ``promote … --to production`` (after the gates
pass) opens a promotion request and parks the version in ``pending_approval``. Approvers other
than the requester approve or reject it; the N-th approval moves the version to production (the
previous one is archived), a rejection rejects the version. Every step is audited, in the same
transaction as the change it records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.core.errors import ConflictError, SelfApprovalError
from shipyard.core.governance import PromotionRequest, RequestState
from shipyard.core.lifecycle import check_move
from shipyard.core.types import ModelVersion, Status
from shipyard.registry.promotion import apply_move
from shipyard.registry.refs import parse_exact_ref

if TYPE_CHECKING:
    from datetime import datetime

    from shipyard.registry.service import Registry
    from shipyard.store import StoreSession


class Approvals:
    """Promotion requests of one registry, decided as the registry's actor."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def requests(
        self, *, state: RequestState | None = RequestState.PENDING, model: str | None = None
    ) -> list[PromotionRequest]:
        """Promotion requests (by default the pending ones), newest first."""
        with self._registry.store.session() as s:
            if model is not None:
                s.models.get_model(model)
            return s.governance.requests(state=state, model=model)

    def request(
        self, version: ModelVersion, required: int, reason: str | None
    ) -> tuple[ModelVersion, PromotionRequest]:
        """Park ``version`` in ``pending_approval`` until ``required`` approvals arrive."""
        registry = self._registry
        now = registry.now()
        with registry.store.session(write=True) as s:
            s.models.lock_model(version.model)
            current = s.models.get_version(version.model, version.version)
            check_move(current.ref, current.status, Status.PENDING_APPROVAL)
            request = s.governance.open_request(
                current.model,
                current.version,
                from_status=current.status.value,
                required_approvals=required,
                actor=registry.actor,
                at=now,
                reason=reason,
            )
            moved = s.models.set_status(
                current.model,
                current.version,
                Status.PENDING_APPROVAL,
                actor=registry.actor,
                at=now,
                reason=reason or "production requested",
            )
            s.audit.append(
                actor=registry.actor,
                action="version.promotion_requested",
                target=current.ref,
                details={
                    "request": request.id,
                    "from": current.status.value,
                    "required_approvals": required,
                    "reason": reason,
                },
                at=now,
            )
        return moved, request

    def approve(
        self, ref: str, *, comment: str | None = None
    ) -> tuple[ModelVersion, PromotionRequest]:
        """Approve ``ref``'s pending request; the last approval needed moves it to production.

        Raises:
            SelfApprovalError: the caller requested the promotion.
            ConflictError: nothing is pending, or the caller already decided.
        """
        return self._decide(ref, approve=True, comment=comment)

    def reject(
        self, ref: str, *, comment: str | None = None
    ) -> tuple[ModelVersion, PromotionRequest]:
        """Reject ``ref``'s pending request: the version becomes ``rejected``.

        Raises:
            SelfApprovalError: the caller requested it (withdraw it instead).
            ConflictError: nothing is pending, or the caller already decided.
        """
        return self._decide(ref, approve=False, comment=comment)

    def _decide(
        self, ref: str, *, approve: bool, comment: str | None
    ) -> tuple[ModelVersion, PromotionRequest]:
        name, number = parse_exact_ref(ref, "approve" if approve else "reject")
        registry = self._registry
        actor = registry.actor
        now = registry.now()
        with registry.store.session(write=True) as s:
            s.models.lock_model(name)
            version = s.models.get_version(name, number)
            request = s.governance.pending_request(name, version.version)
            if request is None or version.status != Status.PENDING_APPROVAL:
                raise ConflictError(
                    f"{version.ref} is {version.status.value}, with no promotion request waiting "
                    f"for a decision. Request one with `shipyard promote {version.ref} --to "
                    "production`."
                )
            if actor == request.requested_by:
                withdraw = f" To withdraw it, run `shipyard promote {version.ref} --to staging`."
                raise SelfApprovalError(
                    f"{actor} requested the promotion of {version.ref}, so {actor} cannot "
                    f"{'approve' if approve else 'reject'} it: another approver must decide."
                    + ("" if approve else withdraw)
                )
            if any(d.actor == actor for d in request.decisions):
                raise ConflictError(f"{actor} has already decided on {version.ref}'s request.")
            request = s.governance.add_decision(
                request.id, actor=actor, approve=approve, comment=comment, at=now
            )
            s.audit.append(
                actor=actor,
                action="version.approve" if approve else "version.reject",
                target=version.ref,
                details={
                    "request": request.id,
                    "comment": comment,
                    "approvals": request.approvals,
                    "required_approvals": request.required_approvals,
                },
                at=now,
            )
            if not approve:
                request = s.governance.close_request(request.id, RequestState.REJECTED, now)
                version, _ = apply_move(
                    s,
                    name,
                    version.version,
                    Status.REJECTED,
                    actor=actor,
                    at=now,
                    reason=comment or "promotion rejected",
                )
            elif request.approvals >= request.required_approvals:
                request = s.governance.close_request(request.id, RequestState.APPROVED, now)
                version = _to_production(s, version, request, actor, now)
        return version, request


def _to_production(
    s: StoreSession, version: ModelVersion, request: PromotionRequest, actor: str, now: datetime
) -> ModelVersion:
    approvers = [d.actor for d in request.decisions if d.approve]
    moved, replaced = apply_move(
        s,
        version.model,
        version.version,
        Status.PRODUCTION,
        actor=actor,
        at=now,
        reason=f"approved by {', '.join(approvers)}",
    )
    s.audit.append(
        actor=actor,
        action="version.promote",
        target=version.ref,
        details={
            "from": Status.PENDING_APPROVAL.value,
            "to": Status.PRODUCTION.value,
            "reason": request.reason,
            "requested_by": request.requested_by,
            "approved_by": approvers,
            "replaced_version": replaced.version if replaced else None,
        },
        at=now,
    )
    return moved
