"""Automated progressive delivery (canary analysis): what to do next, as a pure function.

``decide`` reads what the canary and the stable version did since the current step began and
answers advance, hold, rollback or complete. The controller that reads metrics, stores state
and moves traffic lives in the server. No I/O here and only the standard library: the few
statistics needed are written out below, so deciding needs no optional extra.

Statistics (every health check is tested at ``significance / 3``, Bonferroni over the three):

* Error rate and accuracy ask whether the canary's bad-outcome rate (5xx, wrong answers) is
  above the stable one's plus a tolerance, one-sided. With enough counts that every expected
  cell under the null is at least 5, the Farrington-Manning score test (the usual
  non-inferiority test for a risk difference; its variance comes from the restricted MLE, so it
  works when one side saw no failures). With fewer counts, an exact test: the canary's binomial
  tail at the stable rate's Clopper-Pearson upper bound plus the tolerance, plus that bound's
  miss rate (Berger & Boos 1994). It holds its level at any sample size, so 10 failures in the
  canary's first 10 requests against 0 of 1000 on stable roll back at once (p ~ 0.002), and no
  minimum sample size is needed.
* p99 latency: the canary's p99 is above a limit exactly when more than 1% of its requests are
  above that limit, so the test is binomial (the share above the limit, read off the histogram,
  against 1%). The limit is ``stable p99 * max_p99_ratio + p99_slack_ms``. Stable's p99 counts
  as known: it usually has far more traffic, and the ratio and slack absorb its noise.
* A check fails (rollback) only when significant. A point estimate that is worse but not
  significant is inconclusive: the rollout holds for more data rather than advance on doubt.
* ``decide`` is called again and again while a step runs; each call is a new look. A healthy
  canary sits inside the null (its difference is 0, the tolerance is above it), so each look's
  false-rollback risk is far below ``significance``; a false rollback costs a retry, while a
  missed regression costs an outage.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shipyard.core.errors import InvalidInputError

__all__ = ["Action", "Check", "Decision", "Outcome", "RolloutPlan", "VersionWindow", "decide"]

Action = Literal["advance", "hold", "rollback", "complete"]
Outcome = Literal["pass", "fail", "inconclusive", "skipped"]
ACTIONS: tuple[Action, ...] = ("advance", "hold", "rollback", "complete")
OUTCOMES: tuple[Outcome, ...] = ("pass", "fail", "inconclusive", "skipped")
CHECK_NAMES = ("error_rate", "p99_latency", "accuracy")
STEPS_MESSAGE = "Canary steps must increase and end at 100; got {steps}."
STEPS_SYNTAX_MESSAGE = (
    "Canary steps must be percents separated by commas, like 10,25,50,100; got {text!r}."
)


@dataclass(frozen=True, slots=True)
class RolloutPlan:
    """How a canary ramps up and what counts as worse than stable.

    A step advances when its ``interval_seconds`` have elapsed AND the canary has answered
    ``min_requests`` requests there (a ``None`` condition is not required; one must be set).

    Attributes:
        steps: Canary traffic percents, strictly increasing, the last one 100.
        interval_seconds: Minimum time at a step before advancing.
        min_requests: Canary requests needed at a step before advancing.
        max_error_rate_increase: Tolerated absolute rise of the 5xx rate (0.01 = 1 point).
        max_p99_ratio: Canary p99 may be at most this multiple of stable p99 ...
        p99_slack_ms: ... plus this many milliseconds, so noise on fast models never fails.
        max_accuracy_drop: Tolerated absolute fall of accuracy on labelled feedback.
        significance: Chance of a false rollback per evaluation (split over three checks).
        min_samples: Requests (or feedback rows) per version before comparing p99 (accuracy).
    """

    steps: tuple[float, ...] = (10.0, 25.0, 50.0, 100.0)
    interval_seconds: float | None = 300.0
    min_requests: int | None = 100
    max_error_rate_increase: float = 0.01
    max_p99_ratio: float = 1.5
    p99_slack_ms: float = 5.0
    max_accuracy_drop: float = 0.02
    significance: float = 0.05
    min_samples: int = 50

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(float(s) for s in self.steps))
        self.validate()

    @staticmethod
    def parse_steps(text: str) -> tuple[float, ...]:
        """Steps from the CLI form ``"10,25,50,100"``.

        Raises:
            InvalidInputError: not a comma-separated list of numbers, or not valid steps.
        """
        try:
            steps = tuple(float(part) for part in text.split(","))
        except ValueError:
            raise InvalidInputError(STEPS_SYNTAX_MESSAGE.format(text=text)) from None
        _check_steps(steps)
        return steps

    def validate(self) -> None:
        """Raise unless the plan is usable (also run on construction).

        Raises:
            InvalidInputError: naming the setting that is wrong and what it should be.
        """
        _check_steps(self.steps)
        if self.interval_seconds is None and self.min_requests is None:
            raise InvalidInputError(
                "A rollout step needs a minimum time (interval_seconds), a minimum number of "
                "canary requests (min_requests), or both; neither is set."
            )
        if self.interval_seconds is not None and not 0 < self.interval_seconds < math.inf:
            raise _bad("interval_seconds", self.interval_seconds, "a positive number of seconds")
        if self.min_requests is not None and self.min_requests < 1:
            raise _bad("min_requests", self.min_requests, "at least 1")
        if self.min_samples < 1:
            raise _bad("min_samples", self.min_samples, "at least 1")
        for name in ("max_error_rate_increase", "max_accuracy_drop"):
            if not 0 <= getattr(self, name) < 1:
                raise _bad(name, getattr(self, name), "a fraction in [0, 1), e.g. 0.01 = 1 point")
        if not 1 <= self.max_p99_ratio < math.inf:
            raise _bad("max_p99_ratio", self.max_p99_ratio, "at least 1 (below 1 fails a copy)")
        if not 0 <= self.p99_slack_ms < math.inf:
            raise _bad("p99_slack_ms", self.p99_slack_ms, "zero or more milliseconds")
        if not 0 < self.significance <= 0.5:
            raise _bad("significance", self.significance, "in (0, 0.5], e.g. 0.05")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the rollout state stores)."""
        return {
            "steps": list(self.steps),
            "interval_seconds": self.interval_seconds,
            "min_requests": self.min_requests,
            "max_error_rate_increase": self.max_error_rate_increase,
            "max_p99_ratio": self.max_p99_ratio,
            "p99_slack_ms": self.p99_slack_ms,
            "max_accuracy_drop": self.max_accuracy_drop,
            "significance": self.significance,
            "min_samples": self.min_samples,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RolloutPlan:
        """Inverse of :meth:`to_dict`; missing keys take their defaults.

        Raises:
            InvalidInputError: the values do not make a valid plan.
        """
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        steps = known.get("steps")
        if isinstance(steps, str):
            known["steps"] = cls.parse_steps(steps)
        elif steps is not None:
            try:
                known["steps"] = tuple(float(s) for s in steps)
            except (TypeError, ValueError):
                raise InvalidInputError(STEPS_SYNTAX_MESSAGE.format(text=str(steps))) from None
        return cls(**known)


@dataclass(frozen=True, slots=True)
class VersionWindow:
    """What one version did in a window (usually: since the current step began).

    Attributes:
        requests: Requests answered.
        errors: Of those, server-side failures (HTTP 5xx).
        latency_buckets: Cumulative Prometheus histogram buckets ``(le_seconds, count)``,
            ascending, ``+Inf`` last; empty when unknown.
        reported_p99_ms: A p99 from elsewhere, used only when there are no buckets (it cannot
            be tested, only compared). Not cumulative: ``delta`` keeps the later one.
        feedback_n: Predictions with a ground-truth label.
        feedback_correct: Of those, predictions that were right.
    """

    requests: int = 0
    errors: int = 0
    latency_buckets: tuple[tuple[float, int], ...] = ()
    reported_p99_ms: float | None = None
    feedback_n: int = 0
    feedback_correct: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.errors <= self.requests:
            raise InvalidInputError(
                f"A window needs 0 <= errors <= requests; got {self.errors} of {self.requests}."
            )
        if not 0 <= self.feedback_correct <= self.feedback_n:
            raise InvalidInputError(
                "A window needs 0 <= feedback_correct <= feedback_n; "
                f"got {self.feedback_correct} of {self.feedback_n}."
            )
        bounds = [le for le, _ in self.latency_buckets]
        if self.latency_buckets and (
            bounds[-1] != math.inf
            or any(b <= a for a, b in itertools.pairwise(bounds))
            or any(count < 0 for _, count in self.latency_buckets)
        ):
            raise InvalidInputError(
                "Latency buckets must be (le_seconds, cumulative count) pairs with ascending "
                "bounds, counts of zero or more, and +Inf last (as Prometheus exposes them)."
            )

    @classmethod
    def delta(cls, later: VersionWindow, earlier: VersionWindow) -> VersionWindow:
        """What happened between two cumulative snapshots, never negative.

        Counters restart at zero when the server restarts. Each source is checked on its own
        (request counter, latency histogram, feedback): if any of its counts went down, or the
        histogram's bounds changed, ``earlier`` counts as zero for that source.
        """
        requests, errors = later.requests, later.errors
        if requests >= earlier.requests and errors >= earlier.errors:
            requests, errors = requests - earlier.requests, errors - earlier.errors
        buckets = later.latency_buckets
        if buckets and earlier.latency_buckets:
            same = [a[0] for a in buckets] == [b[0] for b in earlier.latency_buckets]
            diffs = [
                (le, n - m)
                for (le, n), (_, m) in zip(buckets, earlier.latency_buckets, strict=False)
            ]
            if same and all(d >= 0 for _, d in diffs):
                buckets = tuple(diffs)
        n, correct = later.feedback_n, later.feedback_correct
        if n >= earlier.feedback_n and correct >= earlier.feedback_correct:
            n, correct = n - earlier.feedback_n, correct - earlier.feedback_correct
        # Snapshots are not atomic: a scrape between two counters may skew them by a request.
        return cls(
            requests, min(errors, requests), buckets, later.reported_p99_ms, n, min(correct, n)
        )

    def latency_samples(self) -> int:
        """Observations behind :meth:`p99_ms`: the histogram's count, else ``requests``."""
        if self.latency_buckets:
            return int(_monotone(self.latency_buckets)[-1][1])
        return self.requests if self.reported_p99_ms is not None else 0

    def p99_ms(self) -> float | None:
        """The 99th percentile latency in milliseconds, ``None`` without data.

        From the buckets exactly as Prometheus' ``histogram_quantile`` computes it (linear
        inside the bucket, the first bucket starting at 0, the last finite bound when the
        quantile falls in ``+Inf``); without buckets, ``reported_p99_ms``.
        """
        if not self.latency_buckets:
            return self.reported_p99_ms
        buckets = _monotone(self.latency_buckets)
        total = buckets[-1][1]
        if total <= 0 or len(buckets) < 2:
            return None
        rank = 0.99 * total
        index = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
        if index == len(buckets) - 1:
            return buckets[-2][0] * 1000
        upper, count = buckets[index]
        lower, below = buckets[index - 1] if index > 0 else (0.0, 0.0)
        if index == 0 and upper <= 0:
            return upper * 1000
        return (lower + (upper - lower) * (rank - below) / (count - below)) * 1000

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``+Inf`` as the string ``"+Inf"``, as Prometheus writes it)."""
        return {
            "requests": self.requests,
            "errors": self.errors,
            "latency_buckets": [[_le_text(le), n] for le, n in self.latency_buckets],
            "reported_p99_ms": self.reported_p99_ms,
            "feedback_n": self.feedback_n,
            "feedback_correct": self.feedback_correct,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VersionWindow:
        """Inverse of :meth:`to_dict`; missing keys count as zero."""
        reported = data.get("reported_p99_ms")
        return cls(
            requests=int(data.get("requests", 0)),
            errors=int(data.get("errors", 0)),
            latency_buckets=tuple((float(le), int(n)) for le, n in data.get("latency_buckets", ())),
            reported_p99_ms=float(reported) if reported is not None else None,
            feedback_n=int(data.get("feedback_n", 0)),
            feedback_correct=int(data.get("feedback_correct", 0)),
        )


@dataclass(frozen=True, slots=True)
class Check:
    """One health comparison, for display and for the record of why.

    Attributes:
        name: ``error_rate``, ``p99_latency`` or ``accuracy``.
        outcome: ``pass``; ``fail`` (significantly worse: roll back); ``inconclusive`` (worse
            but not significantly yet: hold); ``skipped`` (not enough data to compare).
        canary: The canary's value (a fraction, or milliseconds for latency).
        stable: The stable version's value, same unit.
        limit: The worst canary value tolerated, same unit.
        p_value: One-sided p-value of "canary is worse than the limit", when tested.
        detail: One sentence with the numbers.
    """

    name: str
    outcome: Outcome
    canary: float | None
    stable: float | None
    limit: float | None
    p_value: float | None
    detail: str

    @property
    def passed(self) -> bool:
        """Whether the canary is within the limit."""
        return self.outcome == "pass"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Check:
        """Inverse of :meth:`to_dict`."""
        outcome = data["outcome"]
        if outcome not in OUTCOMES:
            raise InvalidInputError(f"Unknown check outcome {outcome!r}; one of {OUTCOMES}.")

        def number(key: str) -> float | None:
            value = data.get(key)
            return float(value) if value is not None else None

        return cls(
            str(data["name"]),
            outcome,
            number("canary"),
            number("stable"),
            number("limit"),
            number("p_value"),
            str(data.get("detail", "")),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """What the controller should do now, and why.

    Attributes:
        action: ``advance``, ``hold``, ``rollback`` or ``complete``.
        next_weight: Canary percent to set now (``0.0`` on rollback); ``None``: leave it.
        reason: One sentence with the numbers, for the CLI, the API and the alert.
        checks: Every health check, whatever its outcome, in ``CHECK_NAMES`` order.
    """

    action: Action
    next_weight: float | None
    reason: str
    checks: tuple[Check, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "action": self.action,
            "next_weight": self.next_weight,
            "reason": self.reason,
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """Inverse of :meth:`to_dict`."""
        action = data["action"]
        if action not in ACTIONS:
            raise InvalidInputError(f"Unknown rollout action {action!r}; one of {ACTIONS}.")
        weight = data.get("next_weight")
        return cls(
            action,
            float(weight) if weight is not None else None,
            str(data["reason"]),
            tuple(Check.from_dict(c) for c in data.get("checks", ())),
        )


def decide(
    plan: RolloutPlan,
    step_index: int,
    step_started_at: float,
    now: float,
    canary: VersionWindow,
    stable: VersionWindow,
) -> Decision:
    """What to do with a canary at ``plan.steps[step_index]``, from its step's windows.

    Rolls back as soon as a check fails significantly, even early in the step. Otherwise holds
    until the step's time and request count are reached, while there is no traffic to compare,
    or while a check is inconclusive; then advances to the next step, or completes at the last.

    At 100% the stable version gets no traffic: pass its window from the previous step as
    ``stable`` (its last observed behaviour), or the decision holds for lack of a baseline.

    Args:
        plan: The rollout plan.
        step_index: Index in ``plan.steps`` of the current canary weight.
        step_started_at: When the current step began (seconds, same clock as ``now``).
        now: The current time.
        canary: The canary's window since the step began (see :meth:`VersionWindow.delta`).
        stable: The stable version's window over the same time.

    Returns:
        The decision, with every check's outcome.

    Raises:
        InvalidInputError: ``step_index`` is not an index of ``plan.steps``.
    """
    if not 0 <= step_index < len(plan.steps):
        raise InvalidInputError(
            f"Step index {step_index} is outside the plan's {len(plan.steps)} steps."
        )
    weight = plan.steps[step_index]
    alpha = plan.significance / len(CHECK_NAMES)
    checks = (
        _error_check(plan, alpha, canary, stable),
        _latency_check(plan, alpha, canary, stable),
        _accuracy_check(plan, alpha, canary, stable),
    )
    failed = [c.detail for c in checks if c.outcome == "fail"]
    if failed:
        return Decision("rollback", 0.0, "; ".join(failed) + ": rolling back", checks)
    elapsed = max(0.0, now - step_started_at)
    awaited = []
    if plan.min_requests is not None and canary.requests < plan.min_requests:
        awaited.append(f"{canary.requests}/{plan.min_requests} canary requests")
    if plan.interval_seconds is not None and elapsed < plan.interval_seconds:
        awaited.append(f"{int(elapsed)} s of {plan.interval_seconds:g} s")
    if awaited:
        return Decision("hold", None, f"waiting: {', '.join(awaited)} at {weight:g}%", checks)
    unsure = [c.detail for c in checks if c.outcome == "inconclusive"]
    if checks[0].outcome == "skipped":  # p99 and accuracy may lack data; the error rate may not
        unsure.append(checks[0].detail)
    if unsure:
        return Decision("hold", None, f"waiting at {weight:g}%: {'; '.join(unsure)}", checks)
    shown = ", ".join(_summary(c) for c in checks if c.outcome == "pass")
    healthy = (
        f"canary healthy at {weight:g}% after {int(elapsed)} s and {canary.requests} "
        f"requests ({shown})"
    )
    if step_index == len(plan.steps) - 1:
        return Decision("complete", None, f"{healthy}: rollout complete", checks)
    following = plan.steps[step_index + 1]
    return Decision("advance", following, f"{healthy}: advancing to {following:g}%", checks)


# --- checks ---------------------------------------------------------------------------------


def _error_check(plan: RolloutPlan, alpha: float, c: VersionWindow, s: VersionWindow) -> Check:
    name, tol = "error_rate", plan.max_error_rate_increase
    if c.requests == 0 or s.requests == 0:
        why = (
            "no canary requests yet"
            if c.requests == 0
            else "no stable requests in this window to compare with"
        )
        return Check(name, "skipped", None, None, None, None, why)
    rc, rs = c.errors / c.requests, s.errors / s.requests
    said = (
        f"canary error rate {rc:.1%} ({c.errors}/{c.requests}) is {{}} stable {rs:.1%} "
        f"({s.errors}/{s.requests}) + {_points(tol)} tolerance"
    )
    counts = (c.errors, c.requests, s.errors, s.requests)
    return _rate_check(name, alpha, (rc, rs, rs + tol), said, "above", counts, tol)


def _accuracy_check(plan: RolloutPlan, alpha: float, c: VersionWindow, s: VersionWindow) -> Check:
    name, tol, need = "accuracy", plan.max_accuracy_drop, plan.min_samples
    if c.feedback_n < need or s.feedback_n < need:
        why = (
            f"accuracy needs {need} labelled predictions per version; "
            f"have {c.feedback_n} canary, {s.feedback_n} stable"
        )
        return Check(name, "skipped", None, None, None, None, why)
    ac, as_ = c.feedback_correct / c.feedback_n, s.feedback_correct / s.feedback_n
    said = (
        f"canary accuracy {ac:.1%} ({c.feedback_correct}/{c.feedback_n}) is {{}} stable "
        f"{as_:.1%} ({s.feedback_correct}/{s.feedback_n}) - {_points(tol)} tolerance"
    )
    # Accuracy falling by more than tol is the miss rate rising by more than tol.
    misses = (c.feedback_n - c.feedback_correct, c.feedback_n)
    counts = (*misses, s.feedback_n - s.feedback_correct, s.feedback_n)
    return _rate_check(name, alpha, (ac, as_, as_ - tol), said, "below", counts, tol)


def _rate_check(
    name: str,
    alpha: float,
    values: tuple[float, float, float],
    said: str,
    worse: str,
    counts: tuple[int, int, int, int],
    tol: float,
) -> Check:
    """Compare bad-outcome rates ``counts = (bad_c, n_c, bad_s, n_s)``; ``values`` are shown."""
    canary, stable, limit = values
    x_c, n_c, x_s, n_s = counts
    if x_c / n_c <= x_s / n_s + tol:
        return Check(name, "pass", canary, stable, limit, None, said.format("within"))
    p = _excess_rate_p(x_c, n_c, x_s, n_s, tol, alpha)
    if p < alpha:
        detail = said.format(f"significantly {worse}") + f" ({_p(p)})"
        return Check(name, "fail", canary, stable, limit, p, detail)
    detail = said.format(worse) + f", not significantly yet ({_p(p)}, needs p < {alpha:.2g})"
    return Check(name, "inconclusive", canary, stable, limit, p, detail)


def _latency_check(plan: RolloutPlan, alpha: float, c: VersionWindow, s: VersionWindow) -> Check:
    name, need = "p99_latency", plan.min_samples
    pc, ps = c.p99_ms(), s.p99_ms()
    nc, ns = c.latency_samples(), s.latency_samples()
    if pc is None or ps is None or nc < need or ns < need:
        why = f"p99 latency needs {need} timed requests per version; have {nc} canary, {ns} stable"
        return Check(name, "skipped", pc, ps, None, None, why)
    limit = ps * plan.max_p99_ratio + plan.p99_slack_ms
    said = (
        f"canary p99 latency {_ms(pc)} is {{}} the limit {plan.max_p99_ratio:g} x stable "
        f"{_ms(ps)} + {_ms(plan.p99_slack_ms)} = {_ms(limit)}"
    )
    if pc <= limit:
        return Check(name, "pass", pc, ps, limit, None, said.format("within"))
    above = _count_above(c.latency_buckets, limit / 1000) if c.latency_buckets else None
    if above is None:  # only a reported p99: nothing to test, compare as Flagger would
        detail = said.format("above") + " (a reported p99: no test possible)"
        return Check(name, "fail", pc, ps, limit, None, detail)
    p = _binomial_tail(above, nc, 0.01)
    if p < alpha:
        detail = said.format("significantly above") + f" ({above:.0f} of {nc} slower, {_p(p)})"
        return Check(name, "fail", pc, ps, limit, p, detail)
    detail = said.format("above") + f", not significantly yet ({_p(p)}, needs p < {alpha:.2g})"
    return Check(name, "inconclusive", pc, ps, limit, p, detail)


def _summary(check: Check) -> str:
    label = {"error_rate": "error rate", "p99_latency": "p99", "accuracy": "accuracy"}[check.name]
    show = _ms if check.name == "p99_latency" else (lambda v: f"{v:.1%}")
    return f"{label} {show(check.canary or 0.0)} vs {show(check.stable or 0.0)}"


def _le_text(le: float) -> float | str:
    return "+Inf" if le == math.inf else le


def _points(fraction: float) -> str:
    points = round(fraction * 100, 6)
    return f"{points:g} point{'' if points == 1 else 's'}"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.3g} ms"


def _p(p: float) -> str:
    return "p < 0.0001" if p < 0.0001 else f"p = {p:.2g}"


def _bad(name: str, value: object, wanted: str) -> InvalidInputError:
    return InvalidInputError(f"Rollout setting {name} must be {wanted}; got {value}.")


def _check_steps(steps: tuple[float, ...]) -> None:
    shown = ", ".join(f"{s:g}" for s in steps)
    for step in steps:
        if not 0 < step <= 100:
            raise InvalidInputError(
                f"Canary step {step:g} is out of range: each step is a percent of traffic "
                f"above 0 and at most 100 (got {shown})."
            )
    ordered = all(a < b for a, b in itertools.pairwise(steps))
    if not steps or not ordered or steps[-1] != 100:
        raise InvalidInputError(STEPS_MESSAGE.format(steps=shown or "nothing"))


# --- statistics (standard library only) -----------------------------------------------------


def _excess_rate_p(x_c: int, n_c: int, x_s: int, n_s: int, tol: float, alpha: float) -> float:
    """One-sided p-value of ``rate_c > rate_s + tol`` from x bad outcomes out of n."""
    p_s = _restricted_mle(x_c, n_c, x_s, n_s, tol)
    p_c = p_s + tol
    if min(n_c * p_c, n_c * (1 - p_c), n_s * p_s, n_s * (1 - p_s)) >= 5:
        # Farrington-Manning score test.
        spread = math.sqrt(p_c * (1 - p_c) / n_c + p_s * (1 - p_s) / n_s)
        z = (x_c / n_c - x_s / n_s - tol) / spread
        return 0.5 * math.erfc(z / math.sqrt(2))
    # Exact (Berger-Boos): the canary's tail at the worst stable rate in a 1 - gamma bound.
    gamma = alpha / 10
    worst = min(1.0, _upper_bound(x_s, n_s, gamma) + tol)
    return min(1.0, _binomial_tail(x_c, n_c, worst) + gamma)


def _restricted_mle(x_c: int, n_c: int, x_s: int, n_s: int, tol: float) -> float:
    """Stable rate maximising the likelihood under ``rate_c = rate_s + tol``."""

    def slope(p: float) -> float:  # derivative of the log-likelihood: decreasing in p
        q = p + tol
        return (
            (x_c / q if x_c else 0.0)
            - ((n_c - x_c) / (1 - q) if n_c - x_c else 0.0)
            + (x_s / p if x_s else 0.0)
            - ((n_s - x_s) / (1 - p) if n_s - x_s else 0.0)
        )

    lo, hi = 1e-12, 1 - tol - 1e-12
    if slope(lo) <= 0:
        return 0.0
    if slope(hi) >= 0:
        return 1.0 - tol
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if slope(mid) > 0 else (lo, mid)
    return (lo + hi) / 2


def _upper_bound(x: int, n: int, gamma: float) -> float:
    """One-sided ``1 - gamma`` Clopper-Pearson upper bound of a rate seen as x out of n."""
    if x >= n:
        return 1.0
    if x == 0:
        return 1 - float(gamma ** (1 / n))
    lo, hi = x / n, 1.0  # P(X <= x) falls from above gamma at x/n to 0 at 1
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _binomial_tail(x + 1, n, mid) < 1 - gamma else (lo, mid)
        if hi - lo < 1e-12:
            break
    return hi


def _binomial_tail(k: float, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p); continuous in k through the incomplete beta."""
    if k <= 0 or p >= 1:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    return _betainc(k, n - k + 1, p)


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) by Lentz's continued fraction."""
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1 - front * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 20_000 + int(10 * math.sqrt(max(a, b)))):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return result


def _monotone(buckets: tuple[tuple[float, int], ...]) -> list[tuple[float, float]]:
    """Buckets with counts made non-decreasing (Prometheus does the same for skewed scrapes)."""
    fixed, top = [], 0.0
    for le, count in buckets:
        top = max(top, float(count))
        fixed.append((le, top))
    return fixed


def _count_above(buckets: tuple[tuple[float, int], ...], limit: float) -> float | None:
    """Observations above ``limit`` seconds, interpolated; ``None`` past the last finite bound."""
    fixed = _monotone(buckets)
    if len(fixed) < 2 or limit >= fixed[-2][0]:
        return None
    lower, below = 0.0, 0.0
    for upper, count in fixed:
        if limit < upper:
            share = max(0.0, limit - lower) / (upper - lower)
            return fixed[-1][1] - (below + (count - below) * share)
        lower, below = upper, count
    return None  # unreachable: +Inf is last
