"""Metadata persistence: the only package that knows SQL (SQLAlchemy Core + Alembic).

Public seam: the Protocols in ``protocols`` and ``open_store``; everything else is internal.
"""

from shipyard.store.engine import create_engine
from shipyard.store.migrate import current_revision, head_revision, upgrade
from shipyard.store.protocols import MetadataStore, NewVersion, StoreSession
from shipyard.store.sql_store import SqlMetadataStore


def open_store(url: str, *, check_schema: bool = True) -> MetadataStore:
    """Open the metadata store at ``url`` (see SqlMetadataStore.open)."""
    return SqlMetadataStore.open(url, check_schema=check_schema)


def upgrade_schema(url: str) -> tuple[str | None, str]:
    """Create or migrate the schema at ``url`` to the newest revision (idempotent).

    Returns:
        The revisions before and after.
    """
    engine = create_engine(url)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()


def schema_revision(url: str) -> tuple[str | None, str]:
    """(revision the database is at, newest revision this Shipyard ships)."""
    engine = create_engine(url)
    try:
        return current_revision(engine), head_revision()
    finally:
        engine.dispose()


__all__ = [
    "MetadataStore",
    "NewVersion",
    "SqlMetadataStore",
    "StoreSession",
    "open_store",
    "schema_revision",
    "upgrade_schema",
]
