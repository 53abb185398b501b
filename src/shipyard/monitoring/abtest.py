"""A/B analysis: compare an endpoint's versions on the outcomes (predictions with feedback).

Per version a metric with a confidence interval; per challenger its difference from the
baseline with an interval and a two-sided p-value; a plain verdict. Pure computation over
``Outcomes``: no I/O here, and SciPy is imported only when a statistic needs it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist
from types import MappingProxyType
from typing import Any

import numpy as np

from shipyard.core.errors import InvalidInputError, MissingExtraError
from shipyard.monitoring.outcomes import Outcomes

__all__ = [
    "METRICS",
    "ABReport",
    "Comparison",
    "MetricSpec",
    "VersionResult",
    "compare_versions",
    "newcombe_interval",
    "two_proportion_test",
    "welch_test",
    "wilson_interval",
]

MAX_CLASSES = 20  # more distinct integer labels than this reads as a regression target
# Verdicts: wording the CLI prints and tests check.
NO_PREDICTIONS = "Not enough data: no logged predictions of endpoint {endpoint!r} were found."
TOO_FEW = "Not enough data: {counts} with feedback, {needed} are needed per version."
ONE_VERSION = "Not enough data: only version {version} was served, so there is nothing to compare."
DIFFERENT = (
    "Version {version} is {direction} than version {baseline} on {metric} by {amount} "
    "({level} CI {low} to {high}, {p})."
)
NO_DIFFERENCE = (
    "No significant difference between version {version} and version {baseline} on {metric} ({p})."
)
# Names of the tests in ``Comparison.test`` (stable: part of the --json shape).
Z_TEST = "two_proportion_z"
FISHER = "fisher_exact"
WELCH = "welch_t"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A metric the A/B analysis knows.

    Attributes:
        name: Name used in the API and CLI.
        title: Name used in sentences.
        is_proportion: True for a share of rows (Wilson / Newcombe / z or Fisher), False for
            a mean of per-row errors (t-interval / Welch).
        higher_is_better: Direction of improvement.
        needs_numbers: True when predictions and labels must be numeric.
        per_row: ``(prediction, label) -> per-row value`` (0/1 for proportions).
    """

    name: str
    title: str
    is_proportion: bool
    higher_is_better: bool
    needs_numbers: bool
    per_row: Callable[[np.ndarray, np.ndarray], np.ndarray]


# RMSE is left out: it is not a mean of per-row values, so neither the t-interval nor Welch's
# test applies to it; MSE answers the same question with valid statistics.
METRICS: Mapping[str, MetricSpec] = MappingProxyType(
    {
        "accuracy": MetricSpec(
            "accuracy", "accuracy", True, True, False, lambda p, y: (p == y).astype(np.float64)
        ),
        "error_rate": MetricSpec(
            "error_rate", "error rate", True, False, False, lambda p, y: (p != y).astype(np.float64)
        ),
        "mae": MetricSpec("mae", "MAE", False, False, True, lambda p, y: np.abs(p - y)),
        "mse": MetricSpec("mse", "MSE", False, False, True, lambda p, y: (p - y) ** 2),
    }
)


@dataclass(frozen=True, slots=True)
class VersionResult:
    """One version's metric over its outcomes.

    Attributes:
        version: Model version.
        predictions: Rows logged for it, with or without feedback.
        n: Rows with feedback: the sample the metric is computed on.
        value: The metric, or None without feedback (or without a metric).
        ci_low: Lower end of the confidence interval, or None when it cannot be computed.
        ci_high: Upper end of the confidence interval, or None.
        is_baseline: True for the version the others are compared with.
    """

    version: int
    predictions: int
    n: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    is_baseline: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (no NaN: missing numbers are None)."""
        return {
            "version": self.version,
            "predictions": self.predictions,
            "n": self.n,
            "value": _finite(self.value),
            "ci_low": _finite(self.ci_low),
            "ci_high": _finite(self.ci_high),
            "is_baseline": self.is_baseline,
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """One challenger against the baseline: ``version - baseline`` on the metric.

    Attributes:
        version: The challenger.
        baseline: The version it is compared with.
        difference: Metric of ``version`` minus metric of ``baseline``, or None.
        ci_low: Lower end of the difference's confidence interval, or None.
        ci_high: Upper end of the difference's confidence interval, or None.
        p_value: Two-sided p-value of "no difference", or None when it cannot be computed.
        test: ``"two_proportion_z"``, ``"fisher_exact"``, ``"welch_t"`` or None.
        is_significant: True when there is enough data and ``p_value < 1 - confidence``.
    """

    version: int
    baseline: int
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    test: str | None
    is_significant: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (no NaN: missing numbers are None)."""
        return {
            "version": self.version,
            "baseline": self.baseline,
            "difference": _finite(self.difference),
            "ci_low": _finite(self.ci_low),
            "ci_high": _finite(self.ci_high),
            "p_value": _finite(self.p_value),
            "test": self.test,
            "is_significant": self.is_significant,
        }


@dataclass(frozen=True, slots=True)
class ABReport:
    """The comparison of an endpoint's versions, with a one-paragraph verdict.

    Attributes:
        endpoint: The endpoint analysed.
        metric: Name of the metric (a key of ``METRICS``), or None when none was asked for
            and there is no feedback to infer it from.
        higher_is_better: Direction of the metric, or None without a metric.
        confidence: Level of every interval, e.g. 0.95.
        min_samples: Rows with feedback each version needs before a verdict is given.
        baseline: The version challengers are compared with, or None without versions.
        versions: One result per version, ascending.
        comparisons: One per version other than the baseline, ascending.
        enough_data: False when a version has fewer than ``min_samples`` outcomes or fewer
            than two versions were served.
        verdict: Plain sentences for people: not enough data, or each comparison's outcome.
    """

    endpoint: str
    metric: str | None
    higher_is_better: bool | None
    confidence: float
    min_samples: int
    baseline: int | None
    versions: tuple[VersionResult, ...]
    comparisons: tuple[Comparison, ...]
    enough_data: bool
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        """The report as the ``--json`` / API shape (NaN-free)."""
        return {
            "endpoint": self.endpoint,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "confidence": self.confidence,
            "min_samples": self.min_samples,
            "baseline": self.baseline,
            "enough_data": self.enough_data,
            "verdict": self.verdict,
            "versions": [version.to_dict() for version in self.versions],
            "comparisons": [comparison.to_dict() for comparison in self.comparisons],
        }


def compare_versions(
    outcomes: Outcomes,
    *,
    metric: str | None = None,
    baseline: int | None = None,
    confidence: float = 0.95,
    min_samples: int = 30,
    versions: Sequence[int] | None = None,
) -> ABReport:
    """Compare the versions in ``outcomes`` on a metric, each challenger against a baseline.

    Without ``metric``, the task decides: string labels, or numbers that are all whole with
    at most ``MAX_CLASSES`` distinct labels, are classification (``"accuracy"``); anything
    else is regression (``"mae"``). ``"error_rate"`` and ``"mse"`` are available on request.

    Statistics:

    * accuracy / error rate: Wilson score interval per version; the difference's interval
      is Newcombe's hybrid score interval (method 10, built from the two Wilson intervals;
      unlike the Wald interval it stays within [-1, 1] and keeps its coverage near 0 and 1);
      the p-value is the pooled two-proportion z-test, or Fisher's exact test when an
      expected cell count is below 5.
    * MAE / MSE: Student t-interval of the per-row absolute / squared errors per version;
      Welch's t-test (unequal variances) on the per-row errors for the p-value and the
      difference's interval.

    Each challenger is tested on its own at ``1 - confidence``; with more than two versions
    no multiple-comparison correction is applied. Significance is read from the p-value.

    Args:
        outcomes: Predictions joined with feedback (``load_outcomes``).
        metric: A key of ``METRICS``, or None to choose from the task.
        baseline: Version to compare with. Default: the version with the most logged
            predictions (the stable one in a canary or A/B split), the lower on a tie.
        confidence: Level of the intervals, strictly between 0 and 1.
        min_samples: Outcomes with feedback each version needs (at least 2).
        versions: Versions to include (the baseline is always included); default every
            version in ``outcomes``.

    Returns:
        The report; ``enough_data`` and ``verdict`` say whether conclusions can be drawn.

    Raises:
        InvalidInputError: Unknown metric, a numeric metric on string labels, ``confidence``
            or ``min_samples`` out of range.
        MissingExtraError: SciPy (the ``monitoring`` extra) is not installed.
    """
    if not 0 < confidence < 1:
        raise InvalidInputError(
            f"confidence must be between 0 and 1 (e.g. 0.95), not {confidence}."
        )
    if min_samples < 2:
        raise InvalidInputError(f"min_samples must be at least 2, not {min_samples}.")
    spec = _metric_spec(outcomes, metric)
    totals = outcomes.predictions_total_by_version
    chosen = set(outcomes.versions if versions is None else versions)
    if baseline is not None:
        chosen.add(baseline)
    ordered = sorted(chosen)
    if baseline is None and ordered:
        baseline = max(ordered, key=lambda v: (totals.get(v, 0), -v))
    samples = {v: _sample(outcomes, spec, v) for v in ordered}
    results = tuple(
        _version_result(v, totals.get(v, 0), samples[v], spec, confidence, v == baseline)
        for v in ordered
    )
    short = [r for r in results if r.n < min_samples]
    enough = bool(ordered) and not short and len(ordered) >= 2
    comparisons: tuple[Comparison, ...] = ()
    if baseline is not None:
        comparisons = tuple(
            _compare(v, baseline, samples[v], samples[baseline], spec, confidence, enough)
            for v in ordered
            if v != baseline
        )
    report = ABReport(
        endpoint=outcomes.endpoint,
        metric=spec.name if spec else None,
        higher_is_better=spec.higher_is_better if spec else None,
        confidence=confidence,
        min_samples=min_samples,
        baseline=baseline,
        versions=results,
        comparisons=comparisons,
        enough_data=enough,
        verdict="",
    )
    return _with_verdict(report, short, spec)


def wilson_interval(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n`` (n >= 1)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(
    successes: int, n: int, base_successes: int, base_n: int, confidence: float
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of ``successes/n - base_successes/base_n``.

    Method 10 of Newcombe (1998), Statistics in Medicine 17:873-890: the difference minus and
    plus the distances to the two Wilson intervals' ends, combined in quadrature.
    """
    p1, p0 = successes / n, base_successes / base_n
    low1, high1 = wilson_interval(successes, n, confidence)
    low0, high0 = wilson_interval(base_successes, base_n, confidence)
    difference = p1 - p0
    return (
        difference - math.hypot(p1 - low1, high0 - p0),
        difference + math.hypot(high1 - p1, p0 - low0),
    )


def two_proportion_test(
    successes: int, n: int, base_successes: int, base_n: int
) -> tuple[float, str]:
    """Two-sided p-value of "equal proportions", and the test used.

    The pooled two-proportion z-test, or Fisher's exact test when an expected count of the
    2x2 table under the pooled proportion is below 5 (where the normal approximation fails).

    Returns:
        ``(p_value, test)`` with ``test`` one of ``"two_proportion_z"``, ``"fisher_exact"``.
    """
    pooled = (successes + base_successes) / (n + base_n)
    expected = [m * q for m in (n, base_n) for q in (pooled, 1 - pooled)]
    if min(expected) < 5:
        table = [[successes, n - successes], [base_successes, base_n - base_successes]]
        p_value = float(_stats().fisher_exact(table, alternative="two-sided").pvalue)
        return min(1.0, p_value), FISHER
    se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / base_n))
    z = (successes / n - base_successes / base_n) / se
    return math.erfc(abs(z) / math.sqrt(2)), Z_TEST


def welch_test(
    values: np.ndarray, base_values: np.ndarray, confidence: float
) -> tuple[float, float, float, float]:
    """Welch's t-test of ``mean(values) - mean(base_values)`` (each at least 2 values).

    Uses ``scipy.stats.ttest_ind(equal_var=False)``. When both samples are constant the
    difference is exact: p is 1 if the means are equal, else 0. NaN values give NaN results.

    Returns:
        ``(difference, ci_low, ci_high, p_value)``.
    """
    difference = float(np.mean(values) - np.mean(base_values))
    if np.ptp(values) == 0 and np.ptp(base_values) == 0:  # zero standard error: exact
        return difference, difference, difference, 1.0 if difference == 0 else 0.0
    with warnings.catch_warnings():
        # SciPy warns of "precision loss" on a nearly constant sample (e.g. every error is
        # 0.1); the variance it then uses is ~0, which is the right answer here.
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        result = _stats().ttest_ind(values, base_values, equal_var=False)
        interval = result.confidence_interval(confidence_level=confidence)
    return difference, float(interval.low), float(interval.high), float(result.pvalue)


def _metric_spec(outcomes: Outcomes, metric: str | None) -> MetricSpec | None:
    if metric is not None:
        spec = METRICS.get(metric)
        if spec is None:
            raise InvalidInputError(
                f"Unknown metric {metric!r}: use one of {', '.join(sorted(METRICS))}."
            )
        if spec.needs_numbers and not outcomes.is_numeric:
            raise InvalidInputError(
                f"The metric {metric!r} needs numeric labels and predictions, but endpoint "
                f"{outcomes.endpoint!r} has string ones: use 'accuracy' or 'error_rate'."
            )
        return spec
    if len(outcomes) == 0:
        return None
    if not outcomes.is_numeric:
        return METRICS["accuracy"]
    labels, predictions = outcomes.label, outcomes.prediction
    both = np.concatenate([labels, predictions])
    is_whole = bool(np.all(np.isfinite(both)) and np.all(both == np.round(both)))
    if is_whole and len(np.unique(labels)) <= MAX_CLASSES:
        return METRICS["accuracy"]
    return METRICS["mae"]


def _sample(outcomes: Outcomes, spec: MetricSpec | None, version: int) -> np.ndarray:
    """Per-row metric values of one version (empty without a metric)."""
    if spec is None:
        return np.empty(0, dtype=np.float64)
    mask = outcomes.version == version
    values = spec.per_row(outcomes.prediction[mask], outcomes.label[mask])
    return np.asarray(values, dtype=np.float64)


def _version_result(
    version: int,
    predictions: int,
    sample: np.ndarray,
    spec: MetricSpec | None,
    confidence: float,
    is_baseline: bool,
) -> VersionResult:
    n = len(sample)
    value = low = high = None
    if spec is not None and n:
        value = float(np.mean(sample))
        if spec.is_proportion:
            low, high = wilson_interval(int(sample.sum()), n, confidence)
        elif n >= 2:
            t = float(_stats().t.ppf(0.5 + confidence / 2, n - 1))
            half = t * float(np.std(sample, ddof=1)) / math.sqrt(n)
            low, high = value - half, value + half
    # max(): hand-built Outcomes may omit totals; a row with feedback was logged all the same.
    return VersionResult(version, max(predictions, n), n, value, low, high, is_baseline)


def _compare(
    version: int,
    baseline: int,
    sample: np.ndarray,
    base: np.ndarray,
    spec: MetricSpec | None,
    confidence: float,
    enough: bool,
) -> Comparison:
    smallest = 1 if spec is not None and spec.is_proportion else 2
    if spec is None or len(sample) < smallest or len(base) < smallest:
        return Comparison(version, baseline, None, None, None, None, None, False)
    if spec.is_proportion:
        x1, n1, x0, n0 = int(sample.sum()), len(sample), int(base.sum()), len(base)
        difference = x1 / n1 - x0 / n0
        low, high = newcombe_interval(x1, n1, x0, n0, confidence)
        p_value, test = two_proportion_test(x1, n1, x0, n0)
    else:
        difference, low, high, p_value = welch_test(sample, base, confidence)
        test = WELCH
    significant = enough and p_value < 1 - confidence
    return Comparison(version, baseline, difference, low, high, p_value, test, significant)


def _with_verdict(
    report: ABReport, short: list[VersionResult], spec: MetricSpec | None
) -> ABReport:
    if not report.versions:
        verdict = NO_PREDICTIONS.format(endpoint=report.endpoint)
    elif short:
        parts = [f"version {r.version} has {r.n}" for r in short]
        listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
        noun = "outcome" if short[-1].n == 1 else "outcomes"
        verdict = TOO_FEW.format(counts=f"{listed} {noun}", needed=report.min_samples)
    elif len(report.versions) < 2 or spec is None:  # no metric implies no outcomes: short
        verdict = ONE_VERSION.format(version=report.versions[0].version)
    else:
        level = f"{report.confidence * 100:g}%"
        verdict = " ".join(_sentence(c, spec, level) for c in report.comparisons)
    return replace(report, verdict=verdict)


def _sentence(comparison: Comparison, spec: MetricSpec, level: str) -> str:
    fields = {"version": comparison.version, "baseline": comparison.baseline}
    difference, low, high = comparison.difference, comparison.ci_low, comparison.ci_high
    p_value = comparison.p_value
    if not comparison.is_significant or difference is None or low is None or high is None:
        return NO_DIFFERENCE.format(**fields, metric=spec.title, p=_p(p_value))
    # Speak of the gain (or loss) in the metric's good direction, with its interval.
    if spec.higher_is_better:
        gain, gain_low, gain_high = difference, low, high
    else:
        gain, gain_low, gain_high = -difference, -high, -low
    is_better = gain > 0
    if not is_better:
        gain, gain_low, gain_high = -gain, -gain_high, -gain_low
    return DIFFERENT.format(
        **fields,
        direction="better" if is_better else "worse",
        metric=spec.title,
        amount=_amount(gain, spec, unit=True),
        level=level,
        low=_amount(gain_low, spec),
        high=_amount(gain_high, spec),
        p=_p(p_value),
    )


def _amount(value: float, spec: MetricSpec, *, unit: bool = False) -> str:
    if spec.is_proportion:  # percentage points
        return f"{value * 100:.1f} points" if unit else f"{value * 100:.1f}"
    return f"{value:.3g}"


def _p(p_value: float | None) -> str:
    if p_value is None or math.isnan(p_value):
        return "p not computable"
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.2g}"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _stats() -> Any:
    try:
        import scipy.stats  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingExtraError("A/B statistics", "monitoring", "scipy") from exc
    return scipy.stats
