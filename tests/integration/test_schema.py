"""Schema management: migrations match the tables, and out-of-date schemas are refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from shipyard.core.errors import DatabaseUnavailableError, SchemaOutOfDateError
from shipyard.core.settings import Settings
from shipyard.registry import Registry
from shipyard.store import open_store, schema_revision, upgrade_schema
from shipyard.store.schema import metadata


def test_migrations_build_exactly_the_declared_tables(db_url: str) -> None:
    upgrade_schema(db_url)
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


def test_the_head_constant_and_the_quick_revision_read_agree_with_alembic(db_url: str) -> None:
    from shipyard.store import migrate

    head, known = migrate.script_revisions()
    assert head == migrate.HEAD_REVISION, "bump HEAD_REVISION in store/migrate.py"
    assert {"0001", head} <= known
    engine = sa.create_engine(db_url)
    try:
        assert migrate.current_revision(engine) is None  # no schema yet
        upgrade_schema(db_url)
        with engine.connect() as connection:
            by_alembic = MigrationContext.configure(connection).get_current_revision()
        assert migrate.current_revision(engine) == by_alembic == head
    finally:
        engine.dispose()


def test_empty_database_is_refused_with_the_command_to_run(db_url: str) -> None:
    with pytest.raises(SchemaOutOfDateError, match=r"has no Shipyard schema yet.*shipyard init"):
        open_store(db_url)


def test_older_schema_asks_for_db_upgrade(db_url: str) -> None:
    upgrade_schema(db_url)
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        # Pretend the database predates the newest migration.
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'base0'"))
    engine.dispose()
    with pytest.raises(SchemaOutOfDateError, match="newer Shipyard"):
        open_store(db_url)


def test_unknown_older_revision_message(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    upgrade_schema(db_url)
    from shipyard.store import migrate

    head = migrate.head_revision()
    monkeypatch.setattr(migrate, "head_revision", lambda: "0099")
    with pytest.raises(
        SchemaOutOfDateError, match=rf"revision {head}; this Shipyard needs 0099.*db upgrade"
    ):
        open_store(db_url)
    assert schema_revision(db_url) == (head, head)


def test_unreachable_database_names_the_url_without_password(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        home=tmp_path,
        database_url="postgresql+psycopg://shipyard:s3cret@127.0.0.1:1/shipyard",
        artifact_uri=str(tmp_path / "a"),
    )
    with pytest.raises(DatabaseUnavailableError) as caught:
        Registry.open(settings)
    message = caught.value.message
    assert (
        "Cannot connect to the database at postgresql+psycopg://shipyard:***@127.0.0.1:1" in message
    )
    assert "s3cret" not in message and "SHIPYARD_DATABASE_URL" in message


def test_downgrade_and_upgrade_keep_versions_and_indexes(db_url: str) -> None:
    """0003 adds a column in place: rows and the one-production index survive both ways."""
    from alembic import command

    from shipyard.store.migrate import _config

    upgrade_schema(db_url)
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO models (name, created_at, created_by, latest_version) "
                "VALUES ('m', CURRENT_TIMESTAMP, 'test', 0)"
            )
        )
    for target in ("0002", "head"):
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            (command.downgrade if target == "0002" else command.upgrade)(config, target)
        columns = {c["name"] for c in sa.inspect(engine).get_columns("model_versions")}
        assert ("artifact_signature" in columns) == (target == "head")
        indexes = {i["name"] for i in sa.inspect(engine).get_indexes("model_versions")}
        assert "uq_model_versions_one_production" in indexes
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT name FROM models")).scalars().all() == ["m"]
    engine.dispose()
