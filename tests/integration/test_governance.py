"""Gates and four-eyes approval on SQLite and PostgreSQL, with real models and data."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score

from shipyard.core.errors import (
    ConflictError,
    DataFileError,
    GatePolicyError,
    GatesFailedError,
    InvalidInputError,
    SelfApprovalError,
)
from shipyard.core.governance import CheckKind, RequestState
from shipyard.core.types import Status
from shipyard.registry import Registry
from tests.fixtures.models import FEATURES_SMALL

POLICY = """\
metrics:
  accuracy: {min: 0.8}
champion:
  metric: accuracy
  max_regression: 0.02
fairness:
  sensitive: [group]
  demographic_parity_difference: {max: 0.5}
"""


@pytest.fixture
def cancer(registry: Registry, model_dir: Path) -> Registry:
    """Model ``cancer``: v1 in production, v2 registered (same data, numpy-trained model)."""
    sample = model_dir / "sample_with_group.csv"
    registry.register("cancer", model_dir / "model.skops", sample_data=sample, target="target",
                      sensitive=["group"])  # fmt: skip
    registry.promote("cancer:1", "production")
    registry.register("cancer", model_dir / "model.skops", sample_data=sample, target="target",
                      sensitive=["group"])  # fmt: skip
    return registry


def test_policy_is_validated_stored_with_history_and_audited(cancer: Registry) -> None:
    gates = cancer.gates
    assert gates.policy("cancer").revision == 0  # the default applies
    with pytest.raises(GatePolicyError, match=r"policy.yaml line 3: metrics.accuracy.min"):
        gates.set_policy("cancer", "metrics:\n  accuracy:\n    min: high\n", source="policy.yaml")
    assert gates.policy_history("cancer") == []
    first = gates.set_policy("cancer", POLICY)
    second = gates.set_policy("cancer", "approvals: 1\n")
    assert (first.revision, second.revision) == (1, 2)
    current = gates.policy("cancer")
    assert current.revision == 2 and current.policy.approvals == 1
    assert [r.revision for r in gates.policy_history("cancer")] == [2, 1]
    entry = cancer.audit_entries(action="gate_policy.set", limit=1)[0]
    assert entry.target == "cancer" and entry.details["revision"] == 2


def test_gate_check_measures_candidate_and_champion_on_the_data(
    cancer: Registry, model_dir: Path
) -> None:
    import pandas as pd

    cancer.gates.set_policy("cancer", POLICY)
    data = model_dir / "sample_with_group.csv"
    report = cancer.gates.check("cancer:2", data=data)
    assert report.passed, [c.message for c in report.failed()]
    names = [c.name for c in report.checks]
    assert "metric:accuracy" in names and "champion:accuracy" in names
    assert any(n.startswith("fairness:demographic_parity_difference") for n in names)
    frame = pd.read_csv(data)
    predictor = cancer.load("cancer:2").predictor
    from shipyard.flavors import Batch

    expected = accuracy_score(
        frame["target"],
        predictor.predict(Batch({c: frame[c].to_numpy() for c in FEATURES_SMALL})),
    )
    accuracy = next(c for c in report.checks if c.name == "metric:accuracy")
    assert accuracy.observed == pytest.approx(expected)

    stored = cancer.gates.checks("cancer:2", CheckKind.GATE)[0]
    assert stored.passed and stored.result["policy_revision"] == 1
    assert (
        stored.result["data"]["rows"] == len(frame) and stored.result["data"]["target"] == "target"
    )

    strict = cancer.gates.check("cancer:2", data=data, min_metrics={"accuracy": 0.9999})
    assert not strict.passed and [c.name for c in strict.failed()] == ["metric:accuracy"]


def test_gate_check_errors(cancer: Registry, model_dir: Path, tmp_path: Path) -> None:
    cancer.gates.set_policy("cancer", POLICY)
    no_label = tmp_path / "no_label.csv"
    no_label.write_text("a,b\n1,2\n")
    with pytest.raises(DataFileError, match="no label column 'target'"):
        cancer.gates.check("cancer:2", data=no_label)
    with pytest.raises(GatePolicyError, match=r"ci\.yaml line 1: unknown field"):
        cancer.gates.check("cancer:2", policy_text="metricz: {}\n", policy_source="ci.yaml")
    without_data = cancer.gates.check("cancer:2")
    assert not without_data.passed
    assert all("--data" in c.message for c in without_data.failed())


def test_promotion_is_refused_until_the_gates_pass(cancer: Registry, model_dir: Path) -> None:
    cancer.gates.set_policy("cancer", POLICY)
    with pytest.raises(GatesFailedError, match=r"cancer:2 failed its gates.*metric:accuracy"):
        cancer.promote("cancer:2", "production")
    assert cancer.get_version("cancer:2").status == Status.REGISTERED
    cancer.gates.check("cancer:2", data=model_dir / "sample_with_group.csv")
    assert cancer.promote("cancer:2", "production").status == Status.PRODUCTION
    assert cancer.get_version("cancer:1").status == Status.ARCHIVED


def test_a_stale_report_does_not_count_after_the_policy_changes(
    cancer: Registry, model_dir: Path
) -> None:
    cancer.gates.check("cancer:2", data=model_dir / "sample_with_group.csv")  # default policy
    cancer.gates.set_policy("cancer", POLICY)
    with pytest.raises(GatesFailedError):
        cancer.promote("cancer:2", "production")


def test_four_eyes_approval(cancer: Registry) -> None:
    cancer.gates.set_policy("cancer", "approvals: 2\n")
    pending = cancer.promote("cancer:2", "production", reason="better recall")
    assert pending.status == Status.PENDING_APPROVAL
    with pytest.raises(ConflictError, match="already waiting for approval"):
        cancer.promote("cancer:2", "production")
    with pytest.raises(SelfApprovalError, match="test:alice requested the promotion"):
        cancer.approvals.approve("cancer:2")

    bob, carol = cancer.as_actor("test:bob"), cancer.as_actor("test:carol")
    version, request = bob.approvals.approve("cancer:2", comment="metrics look right")
    assert version.status == Status.PENDING_APPROVAL and request.approvals == 1
    with pytest.raises(ConflictError, match="test:bob has already decided"):
        bob.approvals.approve("cancer:2")
    assert [r.ref for r in cancer.approvals.requests()] == ["cancer:2"]

    version, request = carol.approvals.approve("cancer:2")
    assert version.status == Status.PRODUCTION and request.state == RequestState.APPROVED
    assert cancer.get_version("cancer:1").status == Status.ARCHIVED
    assert cancer.approvals.requests() == []
    actions = [e.action for e in cancer.audit_entries(target="cancer:2", limit=5)]
    assert actions[:4] == [
        "version.promote",
        "version.approve",
        "version.approve",
        "version.promotion_requested",
    ]
    promoted = cancer.audit_entries(action="version.promote", target="cancer:2", limit=1)[0]
    assert promoted.details["approved_by"] == ["test:bob", "test:carol"]
    assert promoted.details["requested_by"] == "test:alice"


def test_rejection_and_withdrawal(cancer: Registry, model_dir: Path) -> None:
    cancer.gates.set_policy("cancer", "approvals: 1\n")
    cancer.promote("cancer:2", "production")
    with pytest.raises(SelfApprovalError, match="withdraw it, run"):
        cancer.approvals.reject("cancer:2")
    staged = cancer.promote("cancer:2", "staging", reason="not yet")
    assert staged.status == Status.STAGING
    withdrawn = cancer.approvals.requests(state=RequestState.WITHDRAWN)
    assert [r.ref for r in withdrawn] == ["cancer:2"]
    with pytest.raises(ConflictError, match="no promotion request waiting"):
        cancer.as_actor("test:bob").approvals.approve("cancer:2")

    cancer.promote("cancer:2", "production")
    version, request = cancer.as_actor("test:bob").approvals.reject("cancer:2", comment="bias")
    assert version.status == Status.REJECTED and request.state == RequestState.REJECTED
    assert request.decisions[0].comment == "bias"
    with pytest.raises(InvalidInputError, match="exact version to approve"):
        cancer.approvals.approve("cancer")
