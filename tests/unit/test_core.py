"""Pure domain rules: names, references, lifecycle, settings, the audit chain."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.core.auditchain import GENESIS_HASH, entry_hash, verify_chain
from shipyard.core.errors import InvalidInputError, InvalidNameError, InvalidTransitionError
from shipyard.core.lifecycle import ALLOWED_MOVES, check_move
from shipyard.core.settings import Settings
from shipyard.core.types import AuditEntry, Signature, Status, validate_model_name
from shipyard.registry.refs import parse_ref

AT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


@pytest.mark.parametrize("name", ["a", "credit-risk", "m.v2_x", "a" * 64, "0abc"])
def test_valid_names(name: str) -> None:
    assert validate_model_name(name) == name


@pytest.mark.parametrize("name", ["", "A", "a b", "-a", "a-", "a" * 65, "a/b", "é"])
def test_invalid_names_explain_the_rule(name: str) -> None:
    with pytest.raises(InvalidNameError, match="lower-case letters"):
        validate_model_name(name)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("m", ("m", None)),
        ("m:3", ("m", "3")),
        ("m:03", ("m", "3")),
        ("m:latest", ("m", "latest")),
        ("m:production", ("m", "production")),
    ],
)
def test_refs(ref: str, expected: tuple[str, str | None]) -> None:
    assert parse_ref(ref) == expected


@pytest.mark.parametrize("ref", ["m:0", "m:-1", "m:staging", "m:", "m:1:2"])
def test_bad_refs(ref: str) -> None:
    with pytest.raises(InvalidInputError, match="Invalid model reference"):
        parse_ref(ref)


def test_lifecycle_rules() -> None:
    check_move("m:1", Status.REGISTERED, Status.PRODUCTION)
    check_move("m:1", Status.ARCHIVED, Status.PRODUCTION)  # rollback
    with pytest.raises(InvalidTransitionError, match="it is final"):
        check_move("m:1", Status.REJECTED, Status.STAGING)
    with pytest.raises(InvalidTransitionError, match="already in production"):
        check_move("m:1", Status.PRODUCTION, Status.PRODUCTION)
    assert Status.REGISTERED not in ALLOWED_MOVES[Status.PRODUCTION]
    assert set(ALLOWED_MOVES) == set(Status)


def test_settings_defaults_and_overrides(tmp_path: Path) -> None:
    default = Settings.from_env({"SHIPYARD_HOME": str(tmp_path)})
    assert default.database_url == f"sqlite:///{tmp_path / 'shipyard.db'}"
    assert default.artifact_uri == str(tmp_path / "artifacts")
    custom = Settings.from_env(
        {
            "SHIPYARD_HOME": str(tmp_path),
            "SHIPYARD_DATABASE_URL": "postgresql://h/db",
            "SHIPYARD_ARTIFACT_URI": "s3://b/p",
            "SHIPYARD_URL": "http://x",
            "SHIPYARD_API_KEY": "k",
        }
    )
    assert (custom.database_url, custom.artifact_uri, custom.url, custom.api_key) == (
        "postgresql://h/db",
        "s3://b/p",
        "http://x",
        "k",
    )


def test_signature_round_trips() -> None:
    data = {
        "inputs": [{"name": "a", "type": "double", "nullable": True}],
        "outputs": [{"name": "prediction", "type": "long", "nullable": False}],
        "classes": [0, 1],
    }
    assert Signature.from_dict(data).to_dict() == data


def chain(n: int) -> list[AuditEntry]:
    entries, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        details = {"n": seq, "nested": {"x": [1, 2.5, None]}}
        digest = entry_hash(seq, AT, "a", "act", f"t{seq}", details, prev)
        entries.append(AuditEntry(seq, AT, "a", "act", f"t{seq}", details, prev, digest))
        prev = digest
    return entries


def test_entry_hash_is_canonical() -> None:
    one = entry_hash(1, AT, "a", "x", "t", {"b": 1, "a": 2}, GENESIS_HASH)
    assert one == entry_hash(1, AT, "a", "x", "t", {"a": 2, "b": 1}, GENESIS_HASH)
    assert one != entry_hash(1, AT, "a", "x", "t", {"a": 2, "b": 2}, GENESIS_HASH)


@given(st.integers(min_value=1, max_value=12), st.data())
def test_any_single_tampering_is_found_at_its_position(n: int, data: st.DataObject) -> None:
    entries = chain(n)
    assert verify_chain(entries, n, entries[-1].hash).ok
    victim = data.draw(st.integers(min_value=0, max_value=n - 1))
    kind = data.draw(st.sampled_from(["edit", "delete", "swap"]))
    tampered = list(entries)
    if kind == "edit":
        tampered[victim] = replace(entries[victim], actor="mallory")
        expected = victim + 1
    elif kind == "delete":
        del tampered[victim]
        expected = victim + 1
    else:
        if n < 2:
            return
        other = (victim + 1) % n
        low, high = sorted((victim, other))
        # Reorder: swap contents, keep each position's sequence number.
        tampered[low] = replace(entries[high], seq=low + 1)
        tampered[high] = replace(entries[low], seq=high + 1)
        expected = low + 1
    result = verify_chain(tampered, n, entries[-1].hash)
    assert not result.ok and result.first_bad_seq == expected
