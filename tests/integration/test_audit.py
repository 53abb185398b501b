"""The audit log's hash chain detects edits, deletions and reordering, on both dialects."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from shipyard.core.settings import Settings
from shipyard.registry import Registry

# Tests tamper with the database directly, as an attacker with SQL access would.


@pytest.fixture
def audited(registry: Registry, model_dir) -> Registry:  # type: ignore[no-untyped-def]
    registry.register("m", model_dir / "model.skops")
    registry.promote("m:1", "staging")
    registry.create_key("viewer", name="dash")
    return registry


def execute(settings: Settings, sql: str, **params: object) -> None:
    engine = sa.create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(sa.text(sql), params)
    engine.dispose()


def test_intact_log_verifies(audited: Registry) -> None:
    result = audited.verify_audit()
    assert result.ok and result.entries_checked == 6  # key.create(init), system.init, 4 more
    actions = [e.action for e in reversed(audited.audit_entries())]
    assert actions == [
        "key.create",
        "system.init",
        "model.create",
        "version.register",
        "version.promote",
        "key.create",
    ]


def test_edited_entry_is_reported(audited: Registry, settings: Settings) -> None:
    execute(settings, "UPDATE audit_log SET actor = 'os:mallory' WHERE seq = 4")
    result = audited.verify_audit()
    assert not result.ok and result.first_bad_seq == 4 and result.problem == "edited"
    assert "entry 4 was edited" in result.message


def test_edited_details_are_reported(audited: Registry, settings: Settings) -> None:
    row = audited.audit_entries(action="version.promote")[0]
    details = json.dumps(dict(row.details, to="production"))
    execute(settings, "UPDATE audit_log SET details = :d WHERE seq = :s", d=details, s=row.seq)
    result = audited.verify_audit()
    assert (result.first_bad_seq, result.problem) == (row.seq, "edited")


def test_deleted_entry_is_reported(audited: Registry, settings: Settings) -> None:
    execute(settings, "DELETE FROM audit_log WHERE seq = 3")
    result = audited.verify_audit()
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 3, "deleted")


def test_deleted_tail_is_reported(audited: Registry, settings: Settings) -> None:
    execute(settings, "DELETE FROM audit_log WHERE seq = 6")
    result = audited.verify_audit()
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 6, "truncated")


def test_reordered_entries_are_reported(audited: Registry, settings: Settings) -> None:
    # Swap the contents of entries 4 and 5 but keep their sequence numbers and hashes:
    # each row now claims a position in the chain it does not hold.
    execute(settings, "UPDATE audit_log SET seq = 1000 WHERE seq = 4")
    execute(settings, "UPDATE audit_log SET seq = 4 WHERE seq = 5")
    execute(settings, "UPDATE audit_log SET seq = 5 WHERE seq = 1000")
    result = audited.verify_audit()
    assert not result.ok and result.first_bad_seq == 4
    assert result.problem in ("edited", "reordered")
