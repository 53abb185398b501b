"""SqlMetadataStore: the unit of work over one SQLAlchemy engine (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shipyard.core.errors import ConflictError, DatabaseUnavailableError
from shipyard.store.engine import WRITE, create_engine, safe_url
from shipyard.store.migrate import require_current
from shipyard.store.sql_alerts import SqlAlertRepository, SqlLeaseRepository
from shipyard.store.sql_audit import SqlAuditRepository
from shipyard.store.sql_endpoints import SqlEndpointRepository
from shipyard.store.sql_governance import SqlGovernanceRepository
from shipyard.store.sql_keys import SqlKeyRepository
from shipyard.store.sql_models import SqlModelRepository
from shipyard.store.sql_monitoring_settings import SqlMonitoringSettingsRepository
from shipyard.store.sql_rollouts import SqlRolloutRepository


class SqlSession:
    """The repositories bound to one open transaction."""

    def __init__(self, connection: sa.Connection) -> None:
        self._models = SqlModelRepository(connection)
        self._audit = SqlAuditRepository(connection)
        self._keys = SqlKeyRepository(connection)
        self._endpoints = SqlEndpointRepository(connection)
        self._governance = SqlGovernanceRepository(connection)
        self._rollouts = SqlRolloutRepository(connection)
        self._alerts = SqlAlertRepository(connection)
        self._leases = SqlLeaseRepository(connection)
        self._monitoring_settings = SqlMonitoringSettingsRepository(connection)

    @property
    def models(self) -> SqlModelRepository:
        """See StoreSession.models."""
        return self._models

    @property
    def audit(self) -> SqlAuditRepository:
        """See StoreSession.audit."""
        return self._audit

    @property
    def keys(self) -> SqlKeyRepository:
        """See StoreSession.keys."""
        return self._keys

    @property
    def endpoints(self) -> SqlEndpointRepository:
        """See StoreSession.endpoints."""
        return self._endpoints

    @property
    def governance(self) -> SqlGovernanceRepository:
        """See StoreSession.governance."""
        return self._governance

    @property
    def rollouts(self) -> SqlRolloutRepository:
        """See StoreSession.rollouts."""
        return self._rollouts

    @property
    def alerts(self) -> SqlAlertRepository:
        """See StoreSession.alerts."""
        return self._alerts

    @property
    def leases(self) -> SqlLeaseRepository:
        """See StoreSession.leases."""
        return self._leases

    @property
    def monitoring_settings(self) -> SqlMonitoringSettingsRepository:
        """See StoreSession.monitoring_settings."""
        return self._monitoring_settings


class SqlMetadataStore:
    """MetadataStore over SQLAlchemy."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, check_schema: bool = True) -> SqlMetadataStore:
        """Connect to ``url``; by default refuse a missing or out-of-date schema.

        Raises:
            DatabaseUnavailableError, SchemaOutOfDateError, ConfigurationError.
        """
        engine = create_engine(url)
        if check_schema:
            try:
                require_current(engine)
            except BaseException:
                engine.dispose()
                raise
        return cls(engine)

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[SqlSession]:
        """See MetadataStore.session."""
        try:
            connection = self.engine.connect()
        except sa.exc.OperationalError as exc:
            raise DatabaseUnavailableError(
                f"Cannot connect to the database at {safe_url(self.engine.url)}: {exc.orig}. "
                "Check SHIPYARD_DATABASE_URL and that the database server is running."
            ) from exc
        with connection:
            if write:
                connection = connection.execution_options(**{WRITE: True})
            try:
                with connection.begin():
                    yield SqlSession(connection)
            except sa.exc.IntegrityError as exc:
                # Constraint races the use case could not foresee (e.g. two promotions at once
                # on a database without row locks) surface as a conflict, never a crash.
                raise ConflictError(
                    "The change conflicts with a concurrent change; retry the command. "
                    f"({exc.orig})"
                ) from exc

    def close(self) -> None:
        """See MetadataStore.close."""
        self.engine.dispose()
