"""Core types rebuilt from their JSON form (what the remote CLI receives) are the same values,
so the CLI's text and ``--json`` output cannot depend on which side answered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shipyard.core.auditchain import ChainVerification
from shipyard.core.types import (
    ApiKey,
    ArtifactRef,
    AuditEntry,
    ColumnSpec,
    DType,
    Lineage,
    Model,
    ModelCard,
    ModelVersion,
    Role,
    Signature,
    Status,
    StatusChange,
)

AT = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC)
LATER = AT + timedelta(days=3, microseconds=7)


def full_version() -> ModelVersion:
    return ModelVersion(
        model="credit-risk",
        version=3,
        flavor="sklearn",
        artifact=ArtifactRef("a" * 64, 1234, "model.skops"),
        signature=Signature(
            inputs=(ColumnSpec("income", DType.DOUBLE), ColumnSpec("city", DType.STRING, True)),
            outputs=(ColumnSpec("prediction", DType.LONG),),
            classes=(0, 1),
        ),
        lineage=Lineage(
            data_version="v7",
            data_sha256="b" * 64,
            data_path="/data/train.csv",
            code_commit="abc123",
            code_dirty=True,
            code_repository="git@example.com:ml.git",
            params={"C": "1.0"},
            metrics={"auc": 0.91, "accuracy": 1.0},
            trained_at=AT.astimezone(timezone(timedelta(hours=2))),
            source={"mlflow_run": "r1"},
        ),
        card=ModelCard("d", "scoring loans", "not for minors", None),
        owner="risk-team",
        created_by="os:alice",
        created_at=AT,
        status=Status.PRODUCTION,
        status_changed_at=LATER,
        production_since=LATER,
        previous_version=2,
        reference_profile={"rows": 10, "columns": {"income": {"mean": 1.5, "missing": 0}}},
        reference_sample=ArtifactRef("c" * 64, 99, "reference.parquet"),
        trust_pickle=False,
        trusted_types=("sklearn.tree.Tree",),
    )


def values() -> list[Any]:
    return [
        full_version(),
        ModelVersion(
            **{
                **{f: getattr(full_version(), f) for f in ModelVersion.__slots__},
                "signature": None,
                "production_since": None,
                "previous_version": None,
                "reference_profile": None,
                "reference_sample": None,
                "lineage": Lineage(),
                "card": ModelCard(),
                "status": Status.REGISTERED,
            }
        ),
        Model("credit-risk", "risk", "loans", AT, "os:alice", 3, 2),
        Model("credit-risk", None, None, AT, "os:alice", 1, None),
        StatusChange("credit-risk", 3, Status.STAGING, Status.PRODUCTION, "key:ab", LATER, "ok"),
        StatusChange("credit-risk", 1, None, Status.REGISTERED, "os:alice", AT, None),
        AuditEntry(
            7,
            AT,
            "key:ab",
            "version.promote",
            "credit-risk:3",
            {"to": "x", "n": None},
            "0" * 64,
            "f" * 64,
        ),
        ApiKey("0123456789ab", "ci", Role.DEPLOYER, AT, "os:alice", LATER, None),
        ApiKey("0123456789ab", "ci", Role.ADMIN, AT, "key:cd", None, LATER),
        ChainVerification(True, 12),
        ChainVerification(False, 5, 4, "edited", "Audit entry 4 was edited."),
    ]


@pytest.mark.parametrize("value", values(), ids=lambda v: type(v).__name__)
def test_from_dict_inverts_to_dict_through_json(value: Any) -> None:
    wire = json.loads(json.dumps(value.to_dict()))
    rebuilt = type(value).from_dict(wire)
    assert rebuilt == value
    assert rebuilt.to_dict() == value.to_dict()


def test_extra_keys_of_the_api_answers_are_ignored() -> None:
    model = Model("m", None, None, AT, "os:a", 2, None)
    assert Model.from_dict({**model.to_dict(), "versions": [{"version": 2}]}) == model
    key = ApiKey("0123456789ab", "ci", Role.VIEWER, AT, "os:a", None, None)
    assert ApiKey.from_dict({**key.to_dict(), "secret": "sy_x_y"}) == key
    version = full_version()
    assert ModelVersion.from_dict({**version.to_dict(), "history": []}) == version
