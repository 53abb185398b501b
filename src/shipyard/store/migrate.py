"""Schema migrations with Alembic: upgrade, and the refusal to run on an out-of-date schema.

Every command checks the schema revision before it runs, so that check must be cheap: it reads
``alembic_version`` with one query and compares it with ``HEAD_REVISION``. Alembic itself (an
import and a parse of every migration script, a few hundred milliseconds) loads only to
upgrade, or to explain a mismatch. A test keeps ``HEAD_REVISION`` equal to the scripts' head.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shipyard.core.errors import SchemaOutOfDateError
from shipyard.store.engine import WRITE, check_reachable, safe_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LOCK = 0x5348_4950  # "SHIP": the advisory lock key migrations take on PostgreSQL
HEAD_REVISION = "0005"
"""The newest migration under ``migrations/versions`` (bump it with each new migration)."""


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest migration this Shipyard ships."""
    return HEAD_REVISION


def script_revisions() -> tuple[str | None, set[str]]:
    """(head, every revision) as the migration scripts say — reads and imports all of them."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(_config())
    return scripts.get_current_head(), {s.revision for s in scripts.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it has no Shipyard schema."""
    check_reachable(engine)
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; idempotent.

    Returns:
        The revisions before and after.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    check_reachable(engine)
    config = _config()
    with engine.connect() as plain:
        connection = plain.execution_options(**{WRITE: True})  # SQLite: BEGIN IMMEDIATE
        with connection.begin():
            if connection.dialect.name == "postgresql":
                # Replicas starting together must not race to create the same tables.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK})
            before = MigrationContext.configure(connection).get_current_revision()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return before, head_revision()


def require_current(engine: Engine) -> None:
    """Refuse to run on a missing, older or unknown schema.

    Raises:
        SchemaOutOfDateError: naming the command that fixes it.
        DatabaseUnavailableError: if the database cannot be reached.
    """
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    where = safe_url(engine.url)
    if current is None:
        raise SchemaOutOfDateError(
            f"The database at {where} has no Shipyard schema yet. "
            "Run `shipyard init` (new installation) or `shipyard db upgrade`."
        )
    _, known = script_revisions()
    if current in known:
        raise SchemaOutOfDateError(
            f"The database at {where} is at schema revision {current}; this Shipyard needs "
            f"{head}. Run `shipyard db upgrade` (back up the database first)."
        )
    raise SchemaOutOfDateError(
        f"The database at {where} is at schema revision {current}, which this Shipyard does not "
        "know: it was written by a newer Shipyard. Upgrade Shipyard."
    )
