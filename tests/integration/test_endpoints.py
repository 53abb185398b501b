"""Endpoint use cases on SQLite and PostgreSQL: deploy, canary, shadow, traffic, rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.core.errors import (
    ConflictError,
    EndpointNotFoundError,
    InvalidInputError,
    InvalidNameError,
    ModelNotFoundError,
    RevisionNotFoundError,
)
from shipyard.registry import Registry


@pytest.fixture
def sums(registry: Registry, model_dir: Path) -> Registry:
    """Model ``sum`` with v1 production, v2 staging, v3 registered; model ``other`` v1."""
    for _ in range(3):
        registry.register("sum", model_dir / "sum_model.py")
    registry.promote("sum:1", "production")
    registry.promote("sum:2", "staging")
    registry.register("other", model_dir / "sum_model.py")
    return registry


def test_deploy_creates_the_endpoint_and_every_change_is_a_revision(sums: Registry) -> None:
    endpoints = sums.endpoints
    first = endpoints.deploy("web", "sum:1", reason="launch")
    assert first.revision == 1 and first.policy.weights() == {1: 100.0}
    assert first.action == "deploy" and first.actor == "test:alice" and first.reason == "launch"
    assert endpoints.get("web").model == "sum"

    canary = endpoints.deploy("web", "sum:2", canary=10)
    assert canary.revision == 2 and canary.policy.weights() == {1: 90.0, 2: 10.0}
    shadow = endpoints.deploy("web", "sum:3", shadow=True)
    assert shadow.policy.shadows == (3,) and shadow.policy.weights() == {1: 90.0, 2: 10.0}
    ramp = endpoints.deploy("web", "sum:2", canary=50, sticky_key="customer")
    assert ramp.policy.weights() == {1: 50.0, 2: 50.0}
    assert ramp.policy.sticky_key == "customer" and ramp.policy.shadows == (3,)

    history = endpoints.history("web")
    assert [r.revision for r in history] == [4, 3, 2, 1]
    assert [r.action for r in history] == ["canary", "shadow", "canary", "deploy"]
    actions = [e.action for e in sums.audit_entries(target="web")]
    assert actions[:5] == [
        "endpoint.canary",
        "endpoint.shadow",
        "endpoint.canary",
        "endpoint.deploy",
        "endpoint.create",
    ]


def test_canary_moves_only_the_keys_it_must(sums: Registry) -> None:
    endpoints = sums.endpoints
    endpoints.deploy("web", "sum:1")
    ten = endpoints.deploy("web", "sum:2", canary=10).policy
    twenty_five = endpoints.deploy("web", "sum:2", canary=25).policy
    keys = [f"customer-{i}" for i in range(2000)]
    import random

    rng = random.Random(0)
    before = {k: ten.choose(k, rng) for k in keys}
    after = {k: twenty_five.choose(k, rng) for k in keys}
    assert all(after[k] == 2 for k in keys if before[k] == 2)  # canary keys stay on the canary


def test_rollback_restores_the_previous_revision_and_can_be_undone(sums: Registry) -> None:
    endpoints = sums.endpoints
    endpoints.deploy("web", "sum:1")
    endpoints.deploy("web", "sum:2", canary=20)
    back = endpoints.rollback("web")
    assert back.revision == 3 and back.action == "rollback"
    assert back.policy.weights() == {1: 100.0} and back.reason == "rolled back to revision 1"
    again = endpoints.rollback("web", to_revision=2, reason="retry the canary")
    assert again.policy.weights() == {1: 80.0, 2: 20.0} and again.reason == "retry the canary"
    entry = sums.audit_entries(action="endpoint.rollback", limit=1)[0]
    assert entry.details["restored_revision"] == 2 and entry.target == "web"


def test_rollback_refusals(sums: Registry) -> None:
    endpoints = sums.endpoints
    with pytest.raises(EndpointNotFoundError, match="No endpoint named 'web'"):
        endpoints.rollback("web")
    endpoints.deploy("web", "sum:1")
    with pytest.raises(InvalidInputError, match="at its first revision; there is nothing earlier"):
        endpoints.rollback("web")
    endpoints.deploy("web", "sum:2", canary=5)
    with pytest.raises(InvalidInputError, match="is the current revision"):
        endpoints.rollback("web", to_revision=2)
    with pytest.raises(InvalidInputError, match="before the first revision"):
        endpoints.rollback("web", to_revision=0)
    with pytest.raises(RevisionNotFoundError, match="has no revision 9"):
        endpoints.rollback("web", to_revision=9)
    endpoints.rollback("web")  # revision 3 = revision 1
    sums.promote("sum:2", "rejected")
    with pytest.raises(ConflictError, match="sum:2, which was rejected"):
        endpoints.rollback("web", to_revision=2)
    assert endpoints.get("web").current.revision == 3  # type: ignore[union-attr]


def test_deploy_refusals_change_nothing(sums: Registry) -> None:
    endpoints = sums.endpoints
    with pytest.raises(InvalidInputError, match="no stable version to take the rest"):
        endpoints.deploy("web", "sum:2", canary=10)
    with pytest.raises(InvalidInputError, match="sum:2 is staging; only the production version"):
        endpoints.deploy("web", "sum:2")
    endpoints.deploy("web", "sum:1")
    with pytest.raises(InvalidInputError, match="serves model 'sum'; 'other' is another model"):
        endpoints.deploy("web", "other:1", canary=10)
    with pytest.raises(InvalidInputError, match="sum:3 is registered; live traffic goes only"):
        endpoints.deploy("web", "sum:3", canary=10)
    with pytest.raises(InvalidInputError, match="--canary must be a percentage"):
        endpoints.deploy("web", "sum:2", canary=0)
    with pytest.raises(InvalidInputError, match="--canary must be a percentage"):
        endpoints.deploy("web", "sum:2", canary=150)
    with pytest.raises(InvalidInputError, match="Choose --canary or --shadow"):
        endpoints.deploy("web", "sum:2", canary=5, shadow=True)
    with pytest.raises(InvalidInputError, match="already takes live traffic"):
        endpoints.deploy("web", "sum:1", shadow=True)
    with pytest.raises(InvalidInputError, match="exact version to deploy"):
        endpoints.deploy("web", "sum:latest")
    with pytest.raises(ModelNotFoundError):
        endpoints.deploy("new", "nope:1")
    with pytest.raises(InvalidNameError, match="Invalid endpoint name 'Bad Name'"):
        endpoints.deploy("Bad Name", "sum:1")
    assert [r.revision for r in endpoints.history("web")] == [1]
    with pytest.raises(EndpointNotFoundError):
        endpoints.get("new")


def test_set_traffic_validates_weights_and_versions(sums: Registry) -> None:
    endpoints = sums.endpoints
    endpoints.deploy("web", "sum:1")
    with pytest.raises(InvalidInputError, match=r"Weights must sum to 100; 1: 80, 2: 10 sum to 90"):
        endpoints.set_traffic("web", {1: 80, 2: 10})
    with pytest.raises(InvalidInputError, match="has no version 7"):
        endpoints.set_traffic("web", {1: 50, 7: 50})
    with pytest.raises(InvalidInputError, match="weights must be positive"):
        endpoints.set_traffic("web", {1: 110, 2: -10})
    set_ = endpoints.set_traffic("web", {1: 70, 2: 30}, shadows=(3,), sticky_key="user")
    assert set_.policy.weights() == {1: 70.0, 2: 30.0} and set_.policy.shadows == (3,)
    assert set_.policy.sticky_key == "user" and set_.action == "traffic"
    cleared = endpoints.set_traffic("web", {1: 70, 2: 30}, sticky_key="")
    assert cleared.policy.sticky_key is None


def test_create_and_list(sums: Registry) -> None:
    created = sums.endpoints.create("api", "sum", description="public scoring")
    assert created.current is None and created.description == "public scoring"
    with pytest.raises(ConflictError, match="already exists"):
        sums.endpoints.create("api", "sum")
    with pytest.raises(ModelNotFoundError):
        sums.endpoints.create("x", "nope")
    sums.endpoints.deploy("web", "sum:1")
    listed = sums.endpoints.list()
    assert [e.name for e in listed] == ["api", "web"]
    assert listed[1].policy is not None and listed[1].policy.weights() == {1: 100.0}


def test_a_rejected_version_leaves_every_endpoint(sums: Registry) -> None:
    endpoints = sums.endpoints
    endpoints.deploy("web", "sum:1")
    endpoints.deploy("web", "sum:2", canary=25)
    endpoints.deploy("web", "sum:3", shadow=True)
    endpoints.deploy("solo", "sum:1")
    sums.promote("sum:2", "rejected")
    current = endpoints.get("web").current
    assert current is not None and current.policy.weights() == {1: 100.0}
    assert (
        current.action == "traffic"
        and current.reason == "sum:2 was rejected: it is never served again"
    )
    sums.promote("sum:3", "rejected")
    assert endpoints.get("web").policy.shadows == ()  # type: ignore[union-attr]
    sums.promote("sum:1", "staging")  # still deployed everywhere at 100%
    with pytest.raises(ConflictError, match="takes all the traffic of endpoint 'solo'"):
        sums.promote("sum:1", "rejected")
    assert sums.get_version("sum:1").status.value == "staging"  # nothing changed


def test_rejections_that_would_hand_traffic_to_the_wrong_version_are_refused(
    sums: Registry,
) -> None:
    from shipyard.core.rollout import RolloutPlan

    endpoints = sums.endpoints
    endpoints.deploy("web", "sum:1")
    sums.rollouts.start("web", "sum:2", RolloutPlan(steps=(10.0, 100.0)))
    sums.promote("sum:1", "staging")  # the rollout's stable version, no longer production
    with pytest.raises(ConflictError, match="stable version of rollout #1 on endpoint 'web'"):
        sums.promote("sum:1", "rejected")
    sums.rollouts.abort("web")
    sums.promote("sum:1", "production")
    endpoints.set_traffic("web", {1: 50, 2: 50})
    sums.promote("sum:1", "staging")
    with pytest.raises(ConflictError, match="to sum:2, which is staging; only a production"):
        sums.promote("sum:1", "rejected")
    assert endpoints.get("web").policy.weights() == {1: 50.0, 2: 50.0}  # type: ignore[union-attr]


def test_a_rollout_replaces_one_stable_version(sums: Registry) -> None:
    from shipyard.core.rollout import RolloutPlan

    sums.endpoints.deploy("web", "sum:1")
    sums.endpoints.set_traffic("web", {1: 70, 2: 30})
    sums.promote("sum:3", "staging")
    with pytest.raises(InvalidInputError, match=r"more than one version besides sum:3 \(also 2\)"):
        sums.rollouts.start("web", "sum:3", RolloutPlan(steps=(10.0, 100.0)))


def test_an_auto_rollout_cannot_start_at_full_traffic(sums: Registry) -> None:
    from shipyard.core.rollout import RolloutPlan

    sums.endpoints.deploy("web", "sum:1")
    with pytest.raises(InvalidInputError, match="sum:2 is staging; only the production version"):
        sums.rollouts.start("web", "sum:2", RolloutPlan(steps=(100.0,)))
