"""Traffic policies as a pure function: weights honoured, sticky keys stable, minimal moves."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.core.traffic import BUCKETS, TrafficPolicy

KEYS = [f"customer-{i}" for i in range(10_000)]


@st.composite
def weights(draw: st.DrawFn) -> dict[int, float]:
    """1-4 versions with weights in whole percent summing to 100."""
    versions = draw(st.lists(st.integers(1, 50), min_size=1, max_size=4, unique=True))
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=len(versions) - 1,
                                max_size=len(versions) - 1, unique=True)))  # fmt: skip
    bounds = [0, *cuts, 100]
    return {v: float(bounds[i + 1] - bounds[i]) for i, v in enumerate(versions)}


def shares(policy: TrafficPolicy) -> dict[int, float]:
    counts: dict[int, int] = {}
    for key in KEYS:
        version = policy.choose(key, random.Random(0))
        counts[version] = counts.get(version, 0) + 1
    return {v: 100 * n / len(KEYS) for v, n in counts.items()}


@settings(max_examples=40, deadline=None)
@given(weights())
def test_each_version_gets_its_weight_within_two_points(w: dict[int, float]) -> None:
    policy = TrafficPolicy.of(w)
    assert policy.weights() == pytest.approx(w)
    seen = shares(policy)
    for version, weight in w.items():
        assert abs(seen.get(version, 0.0) - weight) <= 2.0, (w, seen)


@settings(max_examples=40, deadline=None)
@given(weights(), weights())
def test_changing_weights_moves_only_the_keys_it_must(
    before: dict[int, float], after: dict[int, float]
) -> None:
    old = TrafficPolicy.of(before)
    new = old.reweighted(after)
    assert new.weights() == pytest.approx(after)
    rng = random.Random(0)
    moved = 0
    for key in KEYS:
        a, b = old.choose(key, rng), new.choose(key, rng)
        if a != b:
            moved += 1
            assert after.get(a, 0) < before.get(a, 0), f"{key} left {a}, which did not shrink"
            assert after.get(b, 0) > before.get(b, 0), f"{key} joined {b}, which did not grow"
    must = sum(max(0.0, before.get(v, 0) - after.get(v, 0)) for v in set(before) | set(after))
    assert abs(100 * moved / len(KEYS) - must) <= 2.0


def test_sticky_keys_are_stable_and_random_traffic_follows_the_weights() -> None:
    policy = TrafficPolicy.of({1: 90, 2: 10}, sticky_key="customer_id")
    assert {policy.choose("alice", random.Random(seed)) for seed in range(20)} == {
        policy.choose("alice", random.Random(0))
    }
    rng = random.Random(7)
    picks = [policy.choose(None, rng) for _ in range(20_000)]
    assert abs(100 * picks.count(2) / len(picks) - 10) <= 1.0


def test_a_canary_ramp_only_ever_adds_keys_to_the_canary() -> None:
    policy = TrafficPolicy.of({1: 100})
    on_canary: set[str] = set()
    for pct in (10, 25, 50, 100):
        policy = policy.reweighted({1: 100 - pct, 2: pct} if pct < 100 else {2: 100})
        now = {k for k in KEYS if policy.choose(k, random.Random(0)) == 2}
        assert on_canary <= now  # nobody bounces back to the stable version mid-ramp
        on_canary = now
    assert len(on_canary) == len(KEYS)


def test_round_trip_and_shadows() -> None:
    policy = TrafficPolicy.of({3: 75, 4: 25}, shadows=(5,), sticky_key="user").reweighted(
        {3: 60, 4: 40}
    )
    again = TrafficPolicy.from_dict(policy.to_dict())
    assert again == policy and again.shadows == (5,) and again.sticky_key == "user"
    assert [again.choose(k, random.Random(0)) for k in KEYS[:500]] == [
        policy.choose(k, random.Random(0)) for k in KEYS[:500]
    ]


@pytest.mark.parametrize(
    ("weights_", "shadows", "phrase"),
    [
        ({1: 90, 2: 20}, (), "sum to 100; 1: 90, 2: 20 sum to 110"),
        ({1: 100, 2: 0}, (), "weights must be positive"),
        ({1: -10, 2: 110}, (), "weights must be positive"),
        ({}, (), "at least one version"),
        ({1: 99.999, 2: 0.001}, (), "cannot be honoured"),
        ({1: 100}, (1,), "both live and a shadow"),
    ],
)
def test_bad_policies_are_refused_clearly(
    weights_: dict[int, float], shadows: tuple[int, ...], phrase: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        TrafficPolicy.of(weights_, shadows=shadows)
    assert phrase in caught.value.message


def test_resolution_is_a_hundredth_of_a_point() -> None:
    assert TrafficPolicy.of({1: 99.99, 2: 0.01}).weights() == {1: 99.99, 2: 0.01}
    assert BUCKETS == 10_000
