"""Metadata persistence: the only package that knows SQL (SQLAlchemy Core + Alembic).

Public seam: the Protocols in ``protocols`` and ``open_store``; everything else is internal.
"""

from shipyard.store.protocols import MetadataStore, NewVersion, StoreSession
from shipyard.store.sql_store import SqlMetadataStore


def open_store(url: str, *, check_schema: bool = True) -> MetadataStore:
    """Open the metadata store at ``url`` (see SqlMetadataStore.open)."""
    return SqlMetadataStore.open(url, check_schema=check_schema)


__all__ = ["MetadataStore", "NewVersion", "SqlMetadataStore", "StoreSession", "open_store"]
