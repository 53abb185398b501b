"""SQL implementation of GovernanceRepository: gate policies, version evidence, approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shipyard.core.errors import ModelNotFoundError, VersionNotFoundError
from shipyard.core.governance import (
    CheckKind,
    Decision,
    GatePolicyRecord,
    PromotionRequest,
    RequestState,
    VersionCheck,
)
from shipyard.store.schema import approvals as ap
from shipyard.store.schema import gate_policies as gp
from shipyard.store.schema import model_versions as mv
from shipyard.store.schema import models as m
from shipyard.store.schema import promotion_requests as pr
from shipyard.store.schema import version_checks as vc


class SqlGovernanceRepository:
    """GovernanceRepository over one SQLAlchemy connection (inside a transaction)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    # -- gate policies --------------------------------------------------------------------

    def add_policy(self, model: str, text: str, *, actor: str, at: datetime) -> GatePolicyRecord:
        """See GovernanceRepository.add_policy."""
        model_id = self._model_id(model)
        latest = self._c.execute(
            sa.select(sa.func.max(gp.c.revision)).where(gp.c.model_id == model_id)
        ).scalar()
        revision = int(latest or 0) + 1
        self._c.execute(
            sa.insert(gp).values(
                model_id=model_id, revision=revision, text=text, actor=actor, at=at
            )
        )
        return GatePolicyRecord(model, revision, text, actor, at)

    def policies(self, model: str) -> list[GatePolicyRecord]:
        """See GovernanceRepository.policies."""
        model_id = self._model_id(model)
        rows = self._c.execute(
            sa.select(gp).where(gp.c.model_id == model_id).order_by(gp.c.revision.desc())
        )
        return [GatePolicyRecord(model, r.revision, r.text, r.actor, r.at) for r in rows]

    # -- evidence on versions -------------------------------------------------------------

    def add_check(
        self,
        model: str,
        version: int,
        kind: CheckKind,
        *,
        passed: bool | None,
        result: dict[str, Any],
        actor: str,
        at: datetime,
    ) -> VersionCheck:
        """See GovernanceRepository.add_check."""
        self._c.execute(
            sa.insert(vc).values(
                version_id=self._version_id(model, version),
                kind=kind.value,
                passed=passed,
                result=result,
                actor=actor,
                at=at,
            )
        )
        return VersionCheck(model, version, kind, passed, result, actor, at)

    def checks(
        self, model: str, version: int, kind: CheckKind | None = None, *, limit: int = 20
    ) -> list[VersionCheck]:
        """See GovernanceRepository.checks."""
        query = sa.select(vc).where(vc.c.version_id == self._version_id(model, version))
        if kind is not None:
            query = query.where(vc.c.kind == kind.value)
        rows = self._c.execute(query.order_by(vc.c.id.desc()).limit(limit))
        return [
            VersionCheck(model, version, CheckKind(r.kind), r.passed, r.result, r.actor, r.at)
            for r in rows
        ]

    # -- promotion requests ---------------------------------------------------------------

    def open_request(
        self,
        model: str,
        version: int,
        *,
        from_status: str,
        required_approvals: int,
        actor: str,
        at: datetime,
        reason: str | None,
    ) -> PromotionRequest:
        """See GovernanceRepository.open_request."""
        request_id = self._c.execute(
            sa.insert(pr)
            .values(
                version_id=self._version_id(model, version),
                from_status=from_status,
                required_approvals=required_approvals,
                state=RequestState.PENDING.value,
                requested_by=actor,
                requested_at=at,
                reason=reason,
            )
            .returning(pr.c.id)
        ).scalar_one()
        return self._request(int(request_id))

    def pending_request(self, model: str, version: int) -> PromotionRequest | None:
        """See GovernanceRepository.pending_request."""
        found = self._c.execute(
            sa.select(pr.c.id).where(
                pr.c.version_id == self._version_id(model, version),
                pr.c.state == RequestState.PENDING.value,
            )
        ).scalar_one_or_none()
        return self._request(int(found)) if found is not None else None

    def requests(
        self, *, state: RequestState | None = None, model: str | None = None, limit: int = 100
    ) -> list[PromotionRequest]:
        """See GovernanceRepository.requests."""
        query = sa.select(pr.c.id).select_from(
            pr.join(mv, mv.c.id == pr.c.version_id).join(m, m.c.id == mv.c.model_id)
        )
        if state is not None:
            query = query.where(pr.c.state == state.value)
        if model is not None:
            query = query.where(m.c.name == model)
        ids = self._c.execute(query.order_by(pr.c.id.desc()).limit(limit)).scalars().all()
        return [self._request(int(i)) for i in ids]

    def add_decision(
        self, request_id: int, *, actor: str, approve: bool, comment: str | None, at: datetime
    ) -> PromotionRequest:
        """See GovernanceRepository.add_decision."""
        self._c.execute(
            sa.insert(ap).values(
                request_id=request_id,
                actor=actor,
                decision="approve" if approve else "reject",
                comment=comment,
                at=at,
            )
        )
        return self._request(request_id)

    def close_request(self, request_id: int, state: RequestState, at: datetime) -> PromotionRequest:
        """See GovernanceRepository.close_request."""
        self._c.execute(
            sa.update(pr).where(pr.c.id == request_id).values(state=state.value, closed_at=at)
        )
        return self._request(request_id)

    # -- helpers --------------------------------------------------------------------------

    def _request(self, request_id: int) -> PromotionRequest:
        row = self._c.execute(
            sa.select(pr, mv.c.version, m.c.name.label("model"))
            .select_from(pr.join(mv, mv.c.id == pr.c.version_id).join(m, m.c.id == mv.c.model_id))
            .where(pr.c.id == request_id)
        ).one()
        decisions = self._c.execute(
            sa.select(ap).where(ap.c.request_id == request_id).order_by(ap.c.id)
        )
        return PromotionRequest(
            id=row.id,
            model=row.model,
            version=row.version,
            from_status=row.from_status,
            required_approvals=row.required_approvals,
            state=RequestState(row.state),
            requested_by=row.requested_by,
            requested_at=row.requested_at,
            reason=row.reason,
            closed_at=row.closed_at,
            decisions=tuple(
                Decision(d.actor, d.decision == "approve", d.comment, d.at) for d in decisions
            ),
        )

    def _model_id(self, name: str) -> int:
        found = self._c.execute(sa.select(m.c.id).where(m.c.name == name)).scalar_one_or_none()
        if found is None:
            raise ModelNotFoundError(
                f"No model named {name!r}. `shipyard models list` shows the registered models."
            )
        return int(found)

    def _version_id(self, model: str, version: int) -> int:
        found = self._c.execute(
            sa.select(mv.c.id).where(
                mv.c.model_id == self._model_id(model), mv.c.version == version
            )
        ).scalar_one_or_none()
        if found is None:
            raise VersionNotFoundError(
                f"Model {model!r} has no version {version}. `shipyard models show {model}` lists "
                "its versions."
            )
        return int(found)
