"""One contract suite for the metadata store, run on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shipyard.core.auditchain import verify_chain
from shipyard.core.errors import (
    ConflictError,
    KeyNotFoundError,
    ModelNotFoundError,
    VersionNotFoundError,
)
from shipyard.core.types import ApiKey, ArtifactRef, Lineage, ModelCard, Role, Status
from shipyard.store import NewVersion, SqlMetadataStore, open_store, upgrade_schema

NOW = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)


def new_version(sha: str = "ab" * 32) -> NewVersion:
    return NewVersion(
        flavor="sklearn",
        artifact=ArtifactRef(sha, 10, "m.skops"),
        signature=None,
        lineage=Lineage(data_version="v1", params={"C": "1"}, metrics={"auc": 0.9}),
        card=ModelCard(description="d", intended_use="u", limitations="l", notes="n"),
        owner="team",
        created_by="test:alice",
        created_at=NOW,
        reference_profile={"rows": 3},
        reference_sample=None,
        trust_pickle=False,
        trusted_types=("x.Y",),
    )


@pytest.fixture
def store(db_url: str):
    upgrade_schema(db_url)
    s = open_store(db_url)
    yield s
    s.close()


def test_versions_round_trip_with_every_field(store) -> None:
    with store.session(write=True) as s:
        assert s.models.ensure_model("m", owner="team", description=None, actor="a", at=NOW)
        assert not s.models.ensure_model("m", owner="other", description=None, actor="a", at=NOW)
        first = s.models.add_version("m", new_version())
        second = s.models.add_version("m", new_version("cd" * 32))
    assert (first.version, second.version) == (1, 2)
    assert second.previous_version == 1
    with store.session() as s:
        got = s.models.get_version("m", 1)
        model = s.models.get_model("m")
    assert got.created_at == NOW  # microseconds and UTC survive both dialects
    assert got.lineage.metrics == {"auc": 0.9}
    assert got.card.limitations == "l"
    assert got.trusted_types == ("x.Y",)
    assert got.status == Status.REGISTERED
    assert model.owner == "team" and model.latest_version == 2


def test_missing_model_and_version_errors_name_them(store) -> None:
    with store.session() as s, pytest.raises(ModelNotFoundError, match="No model named 'nope'"):
        s.models.get_model("nope")
    with store.session(write=True) as s:
        s.models.ensure_model("m", owner=None, description=None, actor="a", at=NOW)
        s.models.add_version("m", new_version())
    with store.session() as s, pytest.raises(VersionNotFoundError, match="no version 7"):
        s.models.get_version("m", 7)


def test_failed_transaction_leaves_nothing(store) -> None:
    with pytest.raises(RuntimeError), store.session(write=True) as s:
        s.models.ensure_model("m", owner=None, description=None, actor="a", at=NOW)
        s.models.add_version("m", new_version())
        s.audit.append(actor="a", action="x", target="m:1", details={}, at=NOW)
        raise RuntimeError("crash mid-registration")
    with store.session() as s:
        assert s.models.list_models() == []
        assert s.audit.head() == (0, "0" * 64)


def test_status_changes_and_single_production(store) -> None:
    with store.session(write=True) as s:
        s.models.ensure_model("m", owner=None, description=None, actor="a", at=NOW)
        s.models.add_version("m", new_version())
        s.models.add_version("m", new_version())
        s.models.set_status("m", 1, Status.PRODUCTION, actor="a", at=NOW, reason="go")
    with store.session() as s:
        prod = s.models.production_version("m")
        assert prod is not None and prod.version == 1 and prod.production_since == NOW
        assert s.models.get_model("m").production_version == 1
    # The database itself refuses a second production version (partial unique index).
    with pytest.raises(ConflictError), store.session(write=True) as s:
        s.models.set_status("m", 2, Status.PRODUCTION, actor="a", at=NOW, reason="oops")
    with store.session() as s:
        history = s.models.status_history("m", 1)
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, Status.REGISTERED),
        (Status.REGISTERED, Status.PRODUCTION),
    ]


def test_audit_chain_appends_and_filters(store) -> None:
    with store.session(write=True) as s:
        for i in range(3):
            s.audit.append(
                actor="a",
                action=f"act.{i % 2}",
                target=f"m:{i}",
                details={"i": i, "f": 0.1},
                at=NOW + timedelta(seconds=i),
            )
    with store.session() as s:
        entries = list(s.audit.iter_all())
        assert [e.seq for e in entries] == [1, 2, 3]
        assert entries[1].prev_hash == entries[0].hash
        assert s.audit.head() == (3, entries[-1].hash)
        assert [e.seq for e in s.audit.list(action="act.0")] == [3, 1]
        assert [e.seq for e in s.audit.list(limit=1)] == [3]
        assert [e.seq for e in s.audit.list(target="m:1")] == [2]


def test_audit_details_hash_the_same_after_a_round_trip(store) -> None:
    # Values a JSONB column would renormalise, non-ASCII text, and a non-UTC timestamp.
    awkward = {
        "big": 1e16,
        "neg_zero": -0.0,
        "tiny": 1e-300,
        "int": 2**60,
        "text": "Zoë ✓",
        "nested": {"b": [1, 2.5], "a": None},
    }
    local = NOW.astimezone(timezone(timedelta(hours=5)))
    with store.session(write=True) as s:
        written = s.audit.append(actor="ü", action="x", target="t", details=awkward, at=local)
    with store.session() as s:
        (read,) = list(s.audit.iter_all())
        assert verify_chain([read], *s.audit.head()).ok
    assert read == written and read.at == NOW


def test_keys_store_only_digests(store) -> None:
    key = ApiKey("k1", "ci", Role.DEPLOYER, NOW, "a", None, None)
    with store.session(write=True) as s:
        s.keys.add(key, "f" * 64)
    with store.session(write=True) as s:
        assert s.keys.find_by_secret_hash("f" * 64) == key
        revoked = s.keys.revoke("k1", NOW)
        assert revoked.revoked_at == NOW
        with pytest.raises(KeyNotFoundError):
            s.keys.get("nope")


def test_upgrade_is_idempotent(db_url: str) -> None:
    assert upgrade_schema(db_url)[0] is None
    before, after = upgrade_schema(db_url)
    assert before == after


def test_store_is_a_metadata_store(store) -> None:
    assert isinstance(store, SqlMetadataStore)
