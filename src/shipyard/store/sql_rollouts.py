"""SQL implementation of RolloutRepository: the durable state of automated rollouts.

Several server workers run the rollout controller; each change is a compare-and-set on the
rollout's ``step`` and ``state`` (``advance``), so a step is applied once however many workers
decide it at the same moment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shipyard.core.endpoints import Rollout, RolloutState
from shipyard.core.rollout import RolloutPlan
from shipyard.store.schema import endpoints as e
from shipyard.store.schema import rollouts as r


class SqlRolloutRepository:
    """RolloutRepository over one SQLAlchemy connection (inside a transaction)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    def start(
        self,
        endpoint_id: int,
        *,
        canary: int,
        stable: int,
        plan: RolloutPlan,
        actor: str,
        at: datetime,
    ) -> Rollout:
        """See RolloutRepository.start."""
        rollout_id = self._c.execute(
            sa.insert(r)
            .values(
                endpoint_id=endpoint_id,
                canary_version=canary,
                stable_version=stable,
                plan=plan.to_dict(),
                step=0,
                step_started_at=at,
                state=RolloutState.RUNNING.value,
                started_by=actor,
                started_at=at,
                updated_at=at,
            )
            .returning(r.c.id)
        ).scalar_one()
        return self.get(int(rollout_id))

    def get(self, rollout_id: int) -> Rollout:
        """See RolloutRepository.get."""
        return _rollout(self._c.execute(self._query().where(r.c.id == rollout_id)).one())

    def running(self, endpoint: str | None = None) -> list[Rollout]:
        """See RolloutRepository.running."""
        query = self._query().where(r.c.state == RolloutState.RUNNING.value)
        if endpoint is not None:
            query = query.where(e.c.name == endpoint)
        return [_rollout(row) for row in self._c.execute(query.order_by(r.c.id))]

    def history(self, endpoint: str, *, limit: int = 20) -> list[Rollout]:
        """See RolloutRepository.history."""
        query = self._query().where(e.c.name == endpoint).order_by(r.c.id.desc()).limit(limit)
        return [_rollout(row) for row in self._c.execute(query)]

    def advance(
        self,
        rollout: Rollout,
        *,
        step: int | None = None,
        state: RolloutState | None = None,
        reason: str | None = None,
        last_decision: dict[str, Any] | None = None,
        at: datetime,
    ) -> Rollout | None:
        """See RolloutRepository.advance."""
        values: dict[str, Any] = {"updated_at": at, "last_decision": last_decision}
        if step is not None and step != rollout.step:
            values.update(step=step, step_started_at=at)
        if state is not None:
            values["state"] = state.value
        if reason is not None:
            values["reason"] = reason
        changed = self._c.execute(
            sa.update(r)
            .where(
                r.c.id == rollout.id,
                r.c.step == rollout.step,
                r.c.state == RolloutState.RUNNING.value,
            )
            .values(**values)
        ).rowcount
        return self.get(rollout.id) if changed else None

    def _query(self) -> sa.Select[Any]:
        return sa.select(r, e.c.name.label("endpoint")).select_from(
            r.join(e, e.c.id == r.c.endpoint_id)
        )


def _rollout(row: Any) -> Rollout:
    return Rollout(
        id=row.id,
        endpoint=row.endpoint,
        canary=row.canary_version,
        stable=row.stable_version,
        plan=RolloutPlan.from_dict(row.plan),
        step=row.step,
        step_started_at=row.step_started_at,
        state=RolloutState(row.state),
        reason=row.reason,
        last_decision=row.last_decision,
        started_by=row.started_by,
        started_at=row.started_at,
        updated_at=row.updated_at,
    )
