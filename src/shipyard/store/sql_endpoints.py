"""SQL implementation of EndpointRepository: endpoints and their revision history.

Revision numbers come from ``endpoints.revision``, incremented with ``UPDATE … RETURNING`` in the
transaction that inserts the revision: concurrent changes to one endpoint queue on the row lock,
so revisions are gap-free and the newest always describes the whole policy in force.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shipyard.core.endpoints import Endpoint, EndpointRevision
from shipyard.core.errors import (
    ConflictError,
    EndpointNotFoundError,
    ModelNotFoundError,
    RevisionNotFoundError,
)
from shipyard.core.traffic import TrafficPolicy
from shipyard.store.schema import endpoint_revisions as er
from shipyard.store.schema import endpoints as e
from shipyard.store.schema import models as m


class SqlEndpointRepository:
    """EndpointRepository over one SQLAlchemy connection (inside a transaction)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    def create(
        self, name: str, *, model: str, description: str | None, actor: str, at: datetime
    ) -> Endpoint:
        """See EndpointRepository.create."""
        model_id = self._c.execute(sa.select(m.c.id).where(m.c.name == model)).scalar()
        if model_id is None:
            raise ModelNotFoundError(
                f"No model named {model!r}. `shipyard models list` shows the registered models."
            )
        exists = self._c.execute(sa.select(e.c.id).where(e.c.name == name)).first()
        if exists is not None:
            raise ConflictError(
                f"Endpoint {name!r} already exists; `shipyard endpoints show {name}` shows it."
            )
        self._c.execute(
            sa.insert(e).values(
                name=name,
                model_id=model_id,
                description=description,
                created_at=at,
                created_by=actor,
                revision=0,
            )
        )
        return self.get(name)

    def get(self, name: str) -> Endpoint:
        """See EndpointRepository.get."""
        rows = self._c.execute(self._query().where(e.c.name == name)).all()
        if not rows:
            raise EndpointNotFoundError(
                f"No endpoint named {name!r}. `shipyard endpoints list` shows them; "
                f"`shipyard deploy {name} MODEL:VERSION` creates it."
            )
        return _endpoint(rows[0])

    def list_all(self) -> list[Endpoint]:
        """See EndpointRepository.list_all."""
        return [_endpoint(r) for r in self._c.execute(self._query().order_by(e.c.name))]

    def add_revision(
        self,
        name: str,
        policy: TrafficPolicy,
        *,
        action: str,
        actor: str,
        at: datetime,
        reason: str | None,
    ) -> EndpointRevision:
        """See EndpointRepository.add_revision."""
        row = self._c.execute(
            sa.update(e)
            .where(e.c.name == name)
            .values(revision=e.c.revision + 1)
            .returning(e.c.id, e.c.revision)
        ).one_or_none()
        if row is None:
            self.get(name)
        endpoint_id, number = int(row[0]), int(row[1])  # type: ignore[index]
        self._c.execute(
            sa.insert(er).values(
                endpoint_id=endpoint_id,
                revision=number,
                policy=policy.to_dict(),
                action=action,
                actor=actor,
                at=at,
                reason=reason,
            )
        )
        return EndpointRevision(number, policy, action, actor, at, reason)

    def revisions(self, name: str) -> list[EndpointRevision]:
        """See EndpointRepository.revisions."""
        endpoint_id = self._id(name)
        rows = self._c.execute(
            sa.select(er).where(er.c.endpoint_id == endpoint_id).order_by(er.c.revision.desc())
        )
        return [_revision(r) for r in rows]

    def revision(self, name: str, number: int) -> EndpointRevision:
        """See EndpointRepository.revision."""
        endpoint_id = self._id(name)
        row = self._c.execute(
            sa.select(er).where(er.c.endpoint_id == endpoint_id, er.c.revision == number)
        ).one_or_none()
        if row is None:
            raise RevisionNotFoundError(
                f"Endpoint {name!r} has no revision {number}; `shipyard endpoints show {name}` "
                "lists its revisions."
            )
        return _revision(row)

    def lock(self, name: str) -> None:
        """See EndpointRepository.lock."""
        query = sa.select(e.c.id).where(e.c.name == name).with_for_update()
        if self._c.execute(query).scalar_one_or_none() is None:
            self.get(name)

    def endpoint_id(self, name: str) -> int:
        """See EndpointRepository.endpoint_id."""
        return self._id(name)

    def _id(self, name: str) -> int:
        found = self._c.execute(sa.select(e.c.id).where(e.c.name == name)).scalar_one_or_none()
        if found is None:
            self.get(name)
        return int(found)  # type: ignore[arg-type]

    def _query(self) -> sa.Select[Any]:
        current = sa.and_(er.c.endpoint_id == e.c.id, er.c.revision == e.c.revision)
        return sa.select(
            e.c.name,
            e.c.description,
            e.c.created_at,
            e.c.created_by,
            m.c.name.label("model"),
            er.c.revision,
            er.c.policy,
            er.c.action,
            er.c.actor,
            er.c.at,
            er.c.reason,
        ).select_from(e.join(m, m.c.id == e.c.model_id).outerjoin(er, current))


def _revision(row: Any) -> EndpointRevision:
    return EndpointRevision(
        revision=row.revision,
        policy=TrafficPolicy.from_dict(row.policy),
        action=row.action,
        actor=row.actor,
        at=row.at,
        reason=row.reason,
    )


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        name=row.name,
        model=row.model,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        current=_revision(row) if row.revision is not None else None,
    )
