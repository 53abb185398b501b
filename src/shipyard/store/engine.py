"""Engine construction for both dialects: SQLite (WAL, foreign keys, busy timeout) and PostgreSQL.

Write transactions on SQLite start with ``BEGIN IMMEDIATE`` so concurrent writers queue on the
busy timeout instead of failing with "database is locked" when a read lock is upgraded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from shipyard.core.errors import ConfigurationError, DatabaseUnavailableError, MissingExtraError

SQLITE_BUSY_TIMEOUT_S = 60
POSTGRES_CONNECT_TIMEOUT_S = 5
WRITE = "shipyard_write"


def json_dumps(value: object) -> str:
    """JSON for JSON columns, refusing NaN and infinities on every dialect alike.

    PostgreSQL cannot store them; SQLite would, and read them back differently.
    """
    return json.dumps(value, allow_nan=False)


def safe_url(url: str | URL) -> str:
    """The URL with any password masked, fit for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def create_engine(url: str) -> Engine:
    """Create an engine for ``url`` with Shipyard's per-dialect settings.

    Raises:
        ConfigurationError: if the URL is malformed or names an unsupported database.
        MissingExtraError: if the PostgreSQL driver is not installed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"SHIPYARD_DATABASE_URL {url!r} is not a valid SQLAlchemy URL; expected e.g. "
            "sqlite:///path/shipyard.db or postgresql+psycopg://user@host:5432/db."
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return sa.create_engine(
                parsed,
                json_serializer=json_dumps,
                pool_pre_ping=True,
                connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
            )
        except (ModuleNotFoundError, NoSuchModuleError) as exc:
            raise MissingExtraError("A PostgreSQL database", "postgres", "psycopg") from exc
    raise ConfigurationError(
        f"Unsupported database {safe_url(parsed)}: Shipyard supports SQLite and PostgreSQL."
    )


def _sqlite_engine(url: URL) -> Engine:
    database = url.database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        json_serializer=json_dumps,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get(WRITE) else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def check_reachable(engine: Engine) -> None:
    """Open and close one connection.

    Raises:
        DatabaseUnavailableError: with the masked URL and the driver's reason.
    """
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailableError(
            f"Cannot connect to the database at {safe_url(engine.url)}: {reason}. "
            "Check SHIPYARD_DATABASE_URL and that the database server is running."
        ) from exc
