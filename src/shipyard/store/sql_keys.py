"""SQL implementation of KeyRepository. Only SHA-256 digests of key secrets are stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shipyard.core.errors import KeyNotFoundError
from shipyard.core.types import ApiKey, Role
from shipyard.store.schema import api_keys


class SqlKeyRepository:
    """KeyRepository over one SQLAlchemy connection (inside a transaction)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    def add(self, key: ApiKey, secret_hash: str) -> None:
        """See KeyRepository.add."""
        self._c.execute(
            sa.insert(api_keys).values(
                id=key.id,
                name=key.name,
                role=key.role.value,
                secret_hash=secret_hash,
                created_at=key.created_at,
                created_by=key.created_by,
                expires_at=key.expires_at,
                revoked_at=key.revoked_at,
            )
        )

    def get(self, key_id: str) -> ApiKey:
        """See KeyRepository.get."""
        row = self._c.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).one_or_none()
        if row is None:
            raise KeyNotFoundError(
                f"No API key with id {key_id!r}. `shipyard keys list` shows the key ids."
            )
        return _key(row)

    def find_by_secret_hash(self, secret_hash: str) -> ApiKey | None:
        """See KeyRepository.find_by_secret_hash."""
        row = self._c.execute(
            sa.select(api_keys).where(api_keys.c.secret_hash == secret_hash)
        ).one_or_none()
        return _key(row) if row is not None else None

    def list(self) -> list[ApiKey]:
        """See KeyRepository.list."""
        rows = self._c.execute(sa.select(api_keys).order_by(api_keys.c.created_at.desc()))
        return [_key(r) for r in rows]

    def revoke(self, key_id: str, at: datetime) -> ApiKey:
        """See KeyRepository.revoke."""
        key = self.get(key_id)
        if key.revoked_at is None:
            self._c.execute(
                sa.update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=at)
            )
        return self.get(key_id)


def _key(row: sa.Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )
