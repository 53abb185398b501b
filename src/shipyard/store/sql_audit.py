"""SQL implementation of AuditRepository: append-only, hash-chained.

Appends lock the single ``audit_head`` row first (``SELECT … FOR UPDATE`` on PostgreSQL; the
``BEGIN IMMEDIATE`` write lock on SQLite), so two processes never chain onto the same tip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from shipyard.core.auditchain import canonical_json, entry_hash
from shipyard.core.types import AuditEntry
from shipyard.store.schema import audit_head, audit_log

STREAM_CHUNK = 1000


class SqlAuditRepository:
    """AuditRepository over one SQLAlchemy connection (inside a transaction)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    def append(
        self, *, actor: str, action: str, target: str, details: dict[str, Any], at: datetime
    ) -> AuditEntry:
        """See AuditRepository.append."""
        head = self._c.execute(
            sa.select(audit_head.c.last_seq, audit_head.c.last_hash)
            .where(audit_head.c.id == 1)
            .with_for_update()
        ).one()
        seq = int(head.last_seq) + 1
        at = at.astimezone(UTC)
        text = canonical_json(details)
        details = json.loads(text)  # exactly what a reader will see
        digest = entry_hash(seq, at, actor, action, target, details, head.last_hash)
        entry = AuditEntry(seq, at, actor, action, target, details, head.last_hash, digest)
        self._c.execute(
            sa.insert(audit_log).values(
                seq=seq,
                at=at,
                actor=actor,
                action=action,
                target=target,
                details=text,
                prev_hash=head.last_hash,
                hash=digest,
            )
        )
        self._c.execute(
            sa.update(audit_head).where(audit_head.c.id == 1).values(last_seq=seq, last_hash=digest)
        )
        return entry

    def list(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        target: str | None = None,
        before_seq: int | None = None,
    ) -> list[AuditEntry]:
        """See AuditRepository.list."""
        query = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if action:
            query = query.where(audit_log.c.action == action)
        if target:
            query = query.where(audit_log.c.target.startswith(target, autoescape=True))
        if before_seq is not None:
            query = query.where(audit_log.c.seq < before_seq)
        return [_entry(r) for r in self._c.execute(query)]

    def lock(self) -> None:
        """See AuditRepository.lock."""
        self._c.execute(
            sa.select(audit_head.c.last_seq).where(audit_head.c.id == 1).with_for_update()
        ).one()

    def iter_all(self) -> Iterator[AuditEntry]:
        """See AuditRepository.iter_all."""
        after = 0
        while True:
            rows = self._c.execute(
                sa.select(audit_log)
                .where(audit_log.c.seq > after)
                .order_by(audit_log.c.seq)
                .limit(STREAM_CHUNK)
            ).all()
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            after = rows[-1].seq

    def head(self) -> tuple[int, str]:
        """See AuditRepository.head."""
        row = self._c.execute(
            sa.select(audit_head.c.last_seq, audit_head.c.last_hash).where(audit_head.c.id == 1)
        ).one()
        return int(row.last_seq), str(row.last_hash)


def _entry(row: sa.Row[Any]) -> AuditEntry:
    return AuditEntry(
        seq=int(row.seq),
        at=row.at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
