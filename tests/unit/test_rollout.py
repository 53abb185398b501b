"""Canary analysis as a pure function: plans, windows, p99 from buckets, the decision rules."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import shipyard.core.rollout as rollout
from shipyard.core.errors import InvalidInputError
from shipyard.core.rollout import (
    STEPS_MESSAGE,
    Check,
    Decision,
    RolloutPlan,
    VersionWindow,
    decide,
)

INF = math.inf
BOUNDS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
          2.5, 10.0, INF)  # fmt: skip
PLAN = RolloutPlan()
FAST = settings(max_examples=60, deadline=None)


def buckets(*per_bucket: int, bounds: tuple[float, ...] = BOUNDS) -> tuple[tuple[float, int], ...]:
    """Cumulative buckets from per-bucket counts (missing trailing buckets are empty)."""
    counts = list(per_bucket) + [0] * (len(bounds) - len(per_bucket))
    total, out = 0, []
    for le, n in zip(bounds, counts, strict=True):
        total += n
        out.append((le, total))
    return tuple(out)


def window(requests: int, errors: int = 0, **kw: object) -> VersionWindow:
    return VersionWindow(requests, errors, **kw)  # type: ignore[arg-type]


# --- plans ----------------------------------------------------------------------------------


def test_default_plan_and_parse_steps() -> None:
    assert PLAN.steps == (10, 25, 50, 100)
    assert RolloutPlan.parse_steps("10,25,50,100") == (10.0, 25.0, 50.0, 100.0)
    assert RolloutPlan.parse_steps(" 5, 100") == (5.0, 100.0)
    assert RolloutPlan(steps=(100,)).steps == (100.0,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10,50,25", STEPS_MESSAGE.format(steps="10, 50, 25")),
        ("10,25,50", STEPS_MESSAGE.format(steps="10, 25, 50")),
        ("10,10,100", STEPS_MESSAGE.format(steps="10, 10, 100")),
        ("0,50,100", "Canary step 0 is out of range"),
        ("10,150", "Canary step 150 is out of range"),
        ("10,nan,100", "Canary step nan is out of range"),
        ("10,abc,100", "must be percents separated by commas, like 10,25,50,100; got '10,abc,100'"),
        ("", "must be percents separated by commas"),
    ],
)
def test_bad_steps_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)) as caught:
        RolloutPlan.parse_steps(text)
    assert caught.value.code == "invalid_input"


def test_the_example_message() -> None:
    with pytest.raises(InvalidInputError) as caught:
        RolloutPlan(steps=(10, 50, 25))
    assert caught.value.message == "Canary steps must increase and end at 100; got 10, 50, 25."


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"interval_seconds": None, "min_requests": None}, "neither is set"),
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"interval_seconds": math.nan}, "interval_seconds"),
        ({"min_requests": 0}, "min_requests"),
        ({"min_samples": 0}, "min_samples"),
        ({"max_error_rate_increase": -0.01}, "max_error_rate_increase"),
        ({"max_error_rate_increase": 1.0}, "max_error_rate_increase"),
        ({"max_accuracy_drop": math.nan}, "max_accuracy_drop"),
        ({"max_p99_ratio": 0.9}, "max_p99_ratio"),
        ({"p99_slack_ms": -1}, "p99_slack_ms"),
        ({"significance": 0}, "significance"),
        ({"significance": 0.9}, "significance"),
    ],
)
def test_bad_settings_are_named(change: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidInputError, match=named):
        RolloutPlan(**change)  # type: ignore[arg-type]


def test_either_condition_alone_is_enough() -> None:
    assert RolloutPlan(interval_seconds=None).min_requests == 100
    assert RolloutPlan(min_requests=None).interval_seconds == 300


def test_plan_round_trips_through_json() -> None:
    plan = RolloutPlan(steps=(5, 20, 100), interval_seconds=None, min_requests=400, p99_slack_ms=2)
    assert RolloutPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    assert RolloutPlan.from_dict({}) == PLAN
    assert RolloutPlan.from_dict({"steps": "20,100"}).steps == (20.0, 100.0)
    for steps in ([50, 10], ["x"], 7):
        with pytest.raises(InvalidInputError):
            RolloutPlan.from_dict({"steps": steps})


# --- windows --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"requests": 3, "errors": 4},
        {"requests": -1},
        {"requests": 1, "feedback_n": 2, "feedback_correct": 3},
        {"requests": 1, "latency_buckets": ((0.1, 1), (0.5, 1))},  # no +Inf
        {"requests": 1, "latency_buckets": ((0.5, 1), (0.1, 1), (INF, 1))},
        {"requests": 1, "latency_buckets": ((0.1, -1), (INF, 1))},
    ],
)
def test_impossible_windows_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        VersionWindow(**kw)  # type: ignore[arg-type]


def test_delta_subtracts_snapshots() -> None:
    earlier = VersionWindow(100, 2, buckets(50, 50), 9.0, 10, 8)
    later = VersionWindow(150, 5, buckets(70, 70, 10), 12.0, 30, 25)
    assert VersionWindow.delta(later, earlier) == VersionWindow(
        50, 3, buckets(20, 20, 10), 12.0, 20, 17
    )


def test_delta_after_a_restart_counts_from_zero() -> None:
    before_restart = VersionWindow(1000, 10, buckets(600, 400), None, 50, 45)
    after_restart = VersionWindow(40, 1, buckets(30, 10), None, 60, 50)  # feedback lives in the DB
    got = VersionWindow.delta(after_restart, before_restart)
    assert (got.requests, got.errors, got.latency_buckets) == (40, 1, buckets(30, 10))
    assert (got.feedback_n, got.feedback_correct) == (10, 5)


def test_delta_when_the_histogram_appears_or_changes_shape() -> None:
    first = VersionWindow(0)
    later = VersionWindow(20, 0, buckets(20))
    assert VersionWindow.delta(later, first).latency_buckets == buckets(20)
    other_bounds = VersionWindow(30, 0, ((0.1, 30), (INF, 30)))
    assert VersionWindow.delta(other_bounds, later).latency_buckets == ((0.1, 30), (INF, 30))


@st.composite
def snapshots(draw: st.DrawFn) -> VersionWindow:
    requests = draw(st.integers(0, 10_000))
    per_bucket = draw(st.lists(st.integers(0, 500), min_size=len(BOUNDS), max_size=len(BOUNDS)))
    feedback = draw(st.integers(0, 1000))
    return VersionWindow(
        requests,
        draw(st.integers(0, requests)),
        draw(st.sampled_from([(), buckets(*per_bucket)])),
        None,
        feedback,
        draw(st.integers(0, feedback)),
    )


@FAST
@given(snapshots(), snapshots())
def test_delta_is_never_negative(later: VersionWindow, earlier: VersionWindow) -> None:
    got = VersionWindow.delta(later, earlier)  # constructing it validates 0 <= errors <= requests
    assert got.requests <= later.requests and got.feedback_n <= later.feedback_n
    assert all(count >= 0 for _, count in got.latency_buckets)
    assert got.latency_samples() >= 0
    if got.latency_buckets:
        assert got.p99_ms() is None or got.p99_ms() >= 0  # type: ignore[operator]
    assert VersionWindow.delta(later, later).requests == 0


def test_window_round_trips_through_json_with_inf() -> None:
    w = VersionWindow(10, 1, buckets(5, 5), None, 4, 3)
    text = json.dumps(w.to_dict(), allow_nan=False)
    assert '"+Inf"' in text
    assert VersionWindow.from_dict(json.loads(text)) == w


# --- p99 from buckets -----------------------------------------------------------------------


def test_p99_interpolates_inside_the_bucket() -> None:
    w = VersionWindow(100, 0, ((0.01, 50), (0.05, 90), (0.1, 100), (INF, 100)))
    # rank 99 is the 9th of the 10 observations in (0.05, 0.1]: 0.05 + 0.05 * 9/10 s.
    assert w.p99_ms() == pytest.approx(95.0)


def test_p99_in_the_first_bucket_starts_at_zero() -> None:
    w = VersionWindow(200, 0, ((0.002, 200), (INF, 200)))
    assert w.p99_ms() == pytest.approx(2.0 * 198 / 200)


def test_p99_in_inf_is_the_last_finite_bound() -> None:
    w = VersionWindow(100, 0, ((0.01, 90), (0.25, 98), (INF, 100)))
    assert w.p99_ms() == pytest.approx(250.0)


def test_p99_without_data() -> None:
    assert VersionWindow(0).p99_ms() is None
    assert VersionWindow(0, 0, buckets()).p99_ms() is None
    assert VersionWindow(0, 0, ((INF, 5),)).p99_ms() is None
    assert VersionWindow(9, 0, (), 12.5).p99_ms() == 12.5


def test_p99_from_a_real_prometheus_histogram() -> None:
    prometheus = pytest.importorskip("prometheus_client")
    metrics = pytest.importorskip("shipyard.serving.metrics")
    registry = prometheus.CollectorRegistry()
    hist = prometheus.Histogram("lat", "", buckets=metrics.LATENCY_BUCKETS, registry=registry)
    for i in range(1000):
        hist.observe(0.004 if i < 985 else 0.02)  # 15 slow ones land in (0.01, 0.025]
    pairs = tuple(
        (float(s.labels["le"]), int(s.value))
        for m in registry.collect()
        for s in m.samples
        if s.name == "lat_bucket"
    )
    got = VersionWindow(1000, 0, pairs).p99_ms()
    assert got == pytest.approx((0.01 + 0.015 * (990 - 985) / 15) * 1000)


@FAST
@given(
    st.lists(st.integers(0, 300), min_size=len(BOUNDS), max_size=len(BOUNDS)),
    st.integers(0, len(BOUNDS) - 2),
    st.integers(1, 500),
)
def test_p99_is_monotone_in_the_data(per_bucket: list[int], i: int, moved: int) -> None:
    assume(sum(per_bucket) > 0)
    base = VersionWindow(0, 0, buckets(*per_bucket)).p99_ms()
    assert base is not None
    # Moving observations to a slower bucket, or adding slower ones, never lowers the p99.
    slower = list(per_bucket)
    shift = min(moved, slower[i])
    slower[i] -= shift
    slower[i + 1] += shift
    assert VersionWindow(0, 0, buckets(*slower)).p99_ms() >= base  # type: ignore[operator]
    more = list(per_bucket)
    more[i + 1] += moved
    if all(n == 0 for n in per_bucket[i + 1 :]):  # only slower than everything counts for sure
        assert VersionWindow(0, 0, buckets(*more)).p99_ms() >= base  # type: ignore[operator]
    # Within the bounds of the bucket that holds it (the first bucket starts at 0).
    assert 0 <= base <= BOUNDS[-2] * 1000


# --- statistics -----------------------------------------------------------------------------


def test_incomplete_beta_and_bounds_match_scipy() -> None:
    special = pytest.importorskip("scipy.special")
    stats = pytest.importorskip("scipy.stats")
    for n in (1, 7, 50, 1000, 10**6):
        for k in {1, max(1, n // 3), n}:
            for p in (1e-6, 0.003, 0.2, 0.7, 0.999):
                assert rollout._binomial_tail(k, n, p) == pytest.approx(
                    stats.binom.sf(k - 1, n, p), rel=1e-8, abs=1e-12
                )
        assert rollout._betainc(2.5, n + 0.5, 0.01) == pytest.approx(
            special.betainc(2.5, n + 0.5, 0.01), rel=1e-8, abs=1e-14
        )
    for x, n in [(0, 10), (3, 500), (45, 9000), (999, 1000)]:
        assert rollout._upper_bound(x, n, 0.002) == pytest.approx(
            stats.beta.ppf(0.998, x + 1, n - x), rel=1e-7
        )


@pytest.mark.parametrize(
    ("x_c", "n_c", "x_s", "n_s", "tol"),
    [(30, 400, 20, 4000, 0.01), (9, 50, 1, 60, 0.0), (80, 100, 5, 10, 0.1)],
)
def test_restricted_mle_maximises_the_constrained_likelihood(
    x_c: int, n_c: int, x_s: int, n_s: int, tol: float
) -> None:
    p = rollout._restricted_mle(x_c, n_c, x_s, n_s, tol)

    def loglik(q: float) -> float:
        return (x_c * math.log(q + tol) + (n_c - x_c) * math.log(1 - q - tol)
                + x_s * math.log(q) + (n_s - x_s) * math.log(1 - q))  # fmt: skip

    grid = [i / 10_000 for i in range(1, int((1 - tol) * 10_000))]
    assert loglik(p) >= max(loglik(q) for q in grid) - 1e-9


def test_score_test_with_enough_counts() -> None:
    # 40/1000 vs 100/10000, tolerance 1 point: restricted MLE then the usual z.
    p_s = rollout._restricted_mle(40, 1000, 100, 10_000, 0.01)
    z = (0.04 - 0.01 - 0.01) / math.sqrt((p_s + 0.01) * (0.99 - p_s) / 1000 + p_s * (1 - p_s) / 1e4)
    got = rollout._excess_rate_p(40, 1000, 100, 10_000, 0.01, 0.05)
    assert got == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)))
    assert got < 0.01


def test_exact_test_when_counts_are_small() -> None:
    alpha = 0.05 / 3
    # Ten failures in the first ten requests against a clean stable: the smallest p it gives.
    assert rollout._excess_rate_p(10, 10, 0, 1000, 0.01, alpha) == pytest.approx(alpha / 10)
    # A single failed request is not enough on its own.
    assert rollout._excess_rate_p(1, 1, 0, 1000, 0.01, alpha) > alpha


# --- decisions ------------------------------------------------------------------------------


def test_hold_says_what_it_waits_for() -> None:
    got = decide(PLAN, 0, 1000.0, 1120.0, window(37), window(400, 1))
    assert got == Decision("hold", None, "waiting: 37/100 canary requests, 120 s of 300 s at 10%",
                           got.checks)  # fmt: skip
    assert [c.name for c in got.checks] == ["error_rate", "p99_latency", "accuracy"]


def test_a_failing_canary_rolls_back_within_its_first_requests() -> None:
    got = decide(PLAN, 0, 0.0, 5.0, window(10, 10), window(1000, 0))
    assert (got.action, got.next_weight) == ("rollback", 0.0)
    assert got.reason == (
        "canary error rate 100.0% (10/10) is significantly above stable 0.0% (0/1000) "
        "+ 1 point tolerance (p = 0.0017): rolling back"
    )
    assert not got.checks[0].passed and got.checks[0].outcome == "fail"


def test_a_worse_but_unproven_error_rate_holds_instead_of_advancing() -> None:
    got = decide(PLAN, 0, 0.0, 400.0, window(200, 8), window(1000, 5))
    assert got.action == "hold"
    assert got.checks[0].outcome == "inconclusive"
    assert "not significantly yet" in got.reason
    # Twice the evidence at the same rates settles it.
    assert decide(PLAN, 0, 0.0, 400.0, window(400, 16), window(4000, 20)).action == "rollback"


def test_healthy_canary_advances_then_completes() -> None:
    canary = window(500, 2, latency_buckets=buckets(0, 0, 0, 0, 400, 95, 5))
    stable = window(4500, 20, latency_buckets=buckets(0, 0, 0, 0, 3700, 760, 40))
    got = decide(PLAN, 0, 0.0, 301.0, canary, stable)
    assert (got.action, got.next_weight) == ("advance", 25.0)
    assert got.reason.startswith("canary healthy at 10% after 301 s and 500 requests (error rate")
    assert got.reason.endswith(": advancing to 25%")
    assert [c.outcome for c in got.checks] == ["pass", "pass", "skipped"]
    done = decide(PLAN, 3, 0.0, 301.0, canary, stable)
    assert (done.action, done.next_weight) == ("complete", None)
    assert done.reason.endswith(": rollout complete")


def test_no_traffic_holds() -> None:
    for plan in (PLAN, RolloutPlan(min_requests=None)):
        got = decide(plan, 0, 0.0, 10_000.0, window(0), window(0))
        assert got.action == "hold"
    assert "no canary requests" in decide(RolloutPlan(min_requests=None), 0, 0, 1e4,
                                          window(0), window(10)).reason  # fmt: skip


def test_without_a_stable_baseline_it_holds() -> None:
    got = decide(PLAN, 3, 0.0, 1000.0, window(500, 1), window(0))
    assert got.action == "hold"
    assert "no stable requests" in got.reason


def test_step_index_out_of_range() -> None:
    with pytest.raises(InvalidInputError, match="Step index 4 is outside"):
        decide(PLAN, 4, 0.0, 1.0, window(1), window(1))


def test_slow_canary_rolls_back_on_p99() -> None:
    stable = window(2000, 0, latency_buckets=buckets(0, 0, 0, 0, 1980, 20))  # p99 ~ 7.5 ms
    canary = window(300, 0, latency_buckets=buckets(0, 0, 0, 0, 280, 0, 0, 0, 20))  # 20 at ~50 ms
    got = decide(PLAN, 0, 0.0, 10.0, canary, stable)
    assert got.action == "rollback"
    check = got.checks[1]
    assert (check.name, check.outcome) == ("p99_latency", "fail")
    assert check.limit == pytest.approx(check.stable * 1.5 + 5)  # type: ignore[operator]
    assert "p99 latency" in got.reason and "significantly above the limit" in got.reason


def test_a_couple_of_cold_requests_do_not_fail_p99() -> None:
    stable = window(2000, 0, latency_buckets=buckets(0, 0, 0, 0, 1980, 20))
    canary = window(60, 0, latency_buckets=buckets(0, 0, 0, 0, 58, 0, 0, 0, 0, 0, 0, 0, 2))
    got = decide(PLAN, 0, 0.0, 10.0, canary, stable)
    assert got.checks[1].outcome == "inconclusive"
    assert got.action == "hold"


def test_p99_waits_for_min_samples_and_falls_back_to_reported_values() -> None:
    few = decide(PLAN, 0, 0.0, 10.0, window(10, 0, reported_p99_ms=900.0),
                 window(1000, 0, reported_p99_ms=10.0))  # fmt: skip
    assert few.checks[1].outcome == "skipped"
    many = decide(PLAN, 0, 0.0, 10.0, window(80, 0, reported_p99_ms=900.0),
                  window(1000, 0, reported_p99_ms=10.0))  # fmt: skip
    assert many.action == "rollback" and many.checks[1].p_value is None


def test_accuracy_drop_rolls_back_only_with_enough_feedback() -> None:
    stable = window(5000, 5, feedback_n=1000, feedback_correct=930)
    worse = window(500, 0, feedback_n=300, feedback_correct=255)  # 85% vs 93%
    got = decide(PLAN, 1, 0.0, 10.0, worse, stable)
    assert got.action == "rollback" and got.checks[2].outcome == "fail"
    assert "canary accuracy 85.0% (255/300) is significantly below stable 93.0%" in got.reason
    too_few = replace(worse, feedback_n=40, feedback_correct=20)
    assert decide(PLAN, 1, 0.0, 10.0, too_few, stable).checks[2].outcome == "skipped"


def test_decision_round_trips_through_json() -> None:
    got = decide(PLAN, 0, 0.0, 10.0, window(10, 10), window(1000, 0))
    again = Decision.from_dict(json.loads(json.dumps(got.to_dict())))
    assert again == got
    with pytest.raises(InvalidInputError):
        Decision.from_dict({**got.to_dict(), "action": "explode"})
    with pytest.raises(InvalidInputError):
        Check.from_dict({**got.checks[0].to_dict(), "outcome": "meh"})


# --- properties -----------------------------------------------------------------------------


@st.composite
def plans(draw: st.DrawFn) -> RolloutPlan:
    interval = draw(st.sampled_from([None, 60.0, 300.0]))
    return RolloutPlan(
        steps=draw(st.sampled_from([(10, 25, 50, 100), (1, 100), (100,), (5, 10, 20, 40, 100)])),
        interval_seconds=interval,
        min_requests=draw(st.sampled_from([1, 100, 1000] + ([None] if interval else []))),
        max_error_rate_increase=draw(st.sampled_from([0.0, 0.01, 0.05])),
        max_p99_ratio=draw(st.sampled_from([1.0, 1.5, 3.0])),
        p99_slack_ms=draw(st.sampled_from([0.0, 5.0])),
        min_samples=draw(st.sampled_from([1, 50, 200])),
    )


@st.composite
def windows(draw: st.DrawFn) -> VersionWindow:
    requests = draw(st.integers(0, 5000))
    per_bucket = draw(st.lists(st.integers(0, 400), min_size=len(BOUNDS), max_size=len(BOUNDS)))
    feedback = draw(st.integers(0, 2000))
    return VersionWindow(
        requests,
        draw(st.integers(0, requests)),
        draw(st.sampled_from([(), buckets(*per_bucket)])),
        draw(st.none() | st.floats(0.1, 5000)),
        feedback,
        draw(st.integers(0, feedback)),
    )


@st.composite
def situations(draw: st.DrawFn) -> tuple[RolloutPlan, int, float, float]:
    plan = draw(plans())
    return (
        plan,
        draw(st.integers(0, len(plan.steps) - 1)),
        1000.0,
        1000.0 + draw(st.floats(0, 1000)),
    )


@FAST
@given(situations(), windows(), windows())
def test_never_advances_before_the_step_is_done(
    where: tuple[RolloutPlan, int, float, float], canary: VersionWindow, stable: VersionWindow
) -> None:
    plan, index, started, now = where
    got = decide(plan, index, started, now, canary, stable)
    unmet = (plan.interval_seconds is not None and now - started < plan.interval_seconds) or (
        plan.min_requests is not None and canary.requests < plan.min_requests
    )
    if unmet:
        assert got.action in ("hold", "rollback")
    if got.action == "advance":
        assert index < len(plan.steps) - 1 and got.next_weight == plan.steps[index + 1]
    if got.action == "complete":
        assert index == len(plan.steps) - 1
    assert got.next_weight is None or got.next_weight in (0.0, *plan.steps)
    assert len(got.checks) == 3 and got.reason


@FAST
@given(situations(), windows())
def test_a_canary_identical_to_stable_never_rolls_back(
    where: tuple[RolloutPlan, int, float, float], same: VersionWindow
) -> None:
    plan, index, started, now = where
    got = decide(plan, index, started, now, same, same)
    assert got.action != "rollback", got.reason
    assert all(c.outcome in ("pass", "skipped") for c in got.checks)


@FAST
@given(situations(), st.integers(100, 5000), st.integers(100, 50_000))
def test_an_overwhelming_error_rate_rolls_back_at_once(
    where: tuple[RolloutPlan, int, float, float], n_canary: int, n_stable: int
) -> None:
    plan, index, started, now = where
    got = decide(plan, index, started, now, window(n_canary, n_canary // 2), window(n_stable, 0))
    assert got.action == "rollback" and got.next_weight == 0.0
    assert got.checks[0].outcome == "fail"


@FAST
@given(st.integers(1, 3), st.integers(0, 2))
def test_the_last_step_never_advances(extra: int, unused: int) -> None:
    steps = tuple(float(s) for s in range(100 - 10 * extra, 101, 10))
    plan = RolloutPlan(steps=steps, interval_seconds=1.0, min_requests=None)
    got = decide(plan, len(steps) - 1, 0.0, 10.0, window(1000, 1), window(1000, 1 + unused))
    assert got.action == "complete"


# --- the module itself ----------------------------------------------------------------------


def test_public_names_are_exported() -> None:
    public = {
        name
        for name, value in vars(rollout).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == rollout.__name__
    }
    assert public <= set(rollout.__all__)
    assert all(hasattr(rollout, name) for name in rollout.__all__)


def test_importing_it_stays_light() -> None:
    code = (
        "import json, sys, shipyard.core.rollout; "
        "print(json.dumps([m for m in sys.modules if m.split('.')[0] in "
        "{'scipy', 'numpy', 'shipyard'}]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    allowed = {"shipyard", "shipyard._version", "shipyard.core", "shipyard.core.errors"}
    assert loaded <= allowed | {"shipyard.core.rollout"}
