"""SQL implementation of MonitoringSettingsRepository: a model's settings, one row per revision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shipyard.core.errors import ModelNotFoundError
from shipyard.core.monitoring_settings import MonitoringSettingsRecord
from shipyard.store.schema import models as m
from shipyard.store.schema import monitoring_settings as ms


class SqlMonitoringSettingsRepository:
    """MonitoringSettingsRepository over one SQLAlchemy connection (inside a transaction)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    def add(self, model: str, text: str, *, actor: str, at: datetime) -> MonitoringSettingsRecord:
        """See MonitoringSettingsRepository.add."""
        model_id = self._model_id(model)
        latest = self._c.execute(
            sa.select(sa.func.max(ms.c.revision)).where(ms.c.model_id == model_id)
        ).scalar()
        revision = int(latest or 0) + 1
        self._c.execute(
            sa.insert(ms).values(
                model_id=model_id, revision=revision, text=text, actor=actor, at=at
            )
        )
        return MonitoringSettingsRecord(model, revision, text, actor, at)

    def latest(self, model: str) -> MonitoringSettingsRecord | None:
        """See MonitoringSettingsRepository.latest."""
        rows = self._rows(model, limit=1)
        return rows[0] if rows else None

    def history(self, model: str) -> list[MonitoringSettingsRecord]:
        """See MonitoringSettingsRepository.history."""
        return self._rows(model, limit=None)

    def _rows(self, model: str, *, limit: int | None) -> list[MonitoringSettingsRecord]:
        query: Any = (
            sa.select(ms)
            .where(ms.c.model_id == self._model_id(model))
            .order_by(ms.c.revision.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            MonitoringSettingsRecord(model, r.revision, r.text, r.actor, r.at)
            for r in self._c.execute(query)
        ]

    def _model_id(self, name: str) -> int:
        found = self._c.execute(sa.select(m.c.id).where(m.c.name == name)).scalar_one_or_none()
        if found is None:
            raise ModelNotFoundError(
                f"No model named {name!r}. `shipyard models list` shows the registered models."
            )
        return int(found)
