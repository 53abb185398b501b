"""A/B statistics: intervals and tests against published and SciPy values, verdicts, JSON."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
import scipy.stats

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.abtest import (
    FISHER,
    NO_PREDICTIONS,
    ONE_VERSION,
    WELCH,
    Z_TEST,
    compare_versions,
    newcombe_interval,
    two_proportion_test,
    welch_test,
    wilson_interval,
)
from shipyard.monitoring.outcomes import Outcomes


def outcomes_of(
    data: Mapping[int, tuple[Sequence[Any], Sequence[Any]]],
    *,
    totals: Mapping[int, int] | None = None,
) -> Outcomes:
    """Outcomes from ``{version: (predictions, labels)}``; totals default to the row counts."""
    versions = [v for v, (p, _) in data.items() for _ in p]
    predictions = [x for p, _ in data.values() for x in p]
    labels = [y for _, y in data.values() for y in y]
    is_numeric = not any(isinstance(x, str) for x in [*predictions, *labels])
    kind = np.float64 if is_numeric else object
    return Outcomes(
        endpoint="credit",
        version=np.array(versions, dtype=np.int64),
        prediction=np.array(predictions, dtype=kind),
        label=np.array(labels, dtype=kind),
        time=np.zeros(len(versions), dtype="datetime64[us]"),
        predictions_total_by_version=MappingProxyType(
            dict(totals) if totals is not None else {v: len(p) for v, (p, _) in data.items()}
        ),
        is_numeric=is_numeric,
    )


def classified(correct: int, n: int) -> tuple[list[int], list[int]]:
    """Predictions and labels of a classifier right ``correct`` times out of ``n``."""
    return [1] * correct + [0] * (n - correct), [1] * n


def simulated(rng: np.random.Generator, accuracy: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 2, n)
    right = rng.random(n) < accuracy
    return np.where(right, labels, 1 - labels), labels


# --- the statistics themselves ----------------------------------------------------------------


def test_wilson_interval_matches_hand_and_scipy() -> None:
    low, high = wilson_interval(7, 10, 0.95)
    # (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n) with z = 1.959964
    assert low == pytest.approx(0.396778, abs=1e-6)
    assert high == pytest.approx(0.892209, abs=1e-6)
    for successes, n, level in [(0, 12, 0.95), (12, 12, 0.9), (37, 412, 0.99), (1, 3, 0.8)]:
        expected = scipy.stats.binomtest(successes, n).proportion_ci(level, method="wilson")
        assert wilson_interval(successes, n, level) == pytest.approx(
            (expected.low, expected.high), abs=1e-12
        )


def test_newcombe_interval_matches_the_published_example() -> None:
    # Newcombe (1998), example (a): 56/70 - 48/80, method 10 -> 0.0524 to 0.3339.
    low, high = newcombe_interval(56, 70, 48, 80, 0.95)
    assert low == pytest.approx(0.0524, abs=5e-5)
    assert high == pytest.approx(0.3339, abs=5e-5)


def test_pooled_z_test_matches_hand_and_chi_square() -> None:
    p_value, test = two_proportion_test(60, 100, 45, 100)
    # pooled 0.525, se = sqrt(0.525 * 0.475 * 0.02) = 0.070622, z = 2.12398
    assert test == Z_TEST
    assert p_value == pytest.approx(0.033672, abs=1e-6)
    # The pooled z-test is the uncorrected chi-square test of the 2x2 table.
    chi2 = scipy.stats.chi2_contingency([[60, 40], [45, 55]], correction=False)
    assert p_value == pytest.approx(chi2.pvalue, rel=1e-9)


def test_fisher_exact_test_on_small_counts() -> None:
    p_value, test = two_proportion_test(2, 5, 4, 5)
    assert test == FISHER
    assert p_value == pytest.approx(scipy.stats.fisher_exact([[2, 3], [4, 1]]).pvalue)
    # One expected cell below 5 is enough: 99% vs 100% correct out of 200.
    assert two_proportion_test(198, 200, 200, 200)[1] == FISHER


def test_welch_test_equals_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 1.0, 40), rng.normal(1.5, 3.0, 55)
    difference, low, high, p_value = welch_test(a, b, 0.9)
    expected = scipy.stats.ttest_ind(a, b, equal_var=False)
    interval = expected.confidence_interval(0.9)
    assert difference == pytest.approx(a.mean() - b.mean())
    assert p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert (low, high) == pytest.approx((interval.low, interval.high), rel=1e-12)


def test_welch_test_on_constant_samples() -> None:
    same = welch_test(np.full(30, 0.1), np.full(30, 0.1), 0.95)
    assert same == (0.0, 0.0, 0.0, 1.0)
    apart = welch_test(np.full(30, 0.1), np.full(30, 0.3), 0.95)
    assert apart[3] == 0.0 and apart[0] == pytest.approx(-0.2)
    _, _, _, p_value = welch_test(np.full(30, 0.1), np.linspace(0, 1, 30), 0.95)
    assert 0 < p_value < 1


# --- reports ----------------------------------------------------------------------------------


def test_report_of_a_clearly_better_classifier() -> None:
    rng = np.random.default_rng(42)
    report = compare_versions(
        outcomes_of(
            {2: simulated(rng, 0.80, 1000), 3: simulated(rng, 0.90, 1000)},
            totals={2: 9000, 3: 1000},  # 2 is the stable version: it served the most
        )
    )

    assert report.metric == "accuracy" and report.higher_is_better is True
    assert report.baseline == 2 and report.enough_data
    stable, challenger = report.versions
    assert (stable.version, stable.predictions, stable.n, stable.is_baseline) == (
        2,
        9000,
        1000,
        True,
    )
    assert stable.ci_low is not None and stable.ci_high is not None and stable.value is not None
    assert stable.ci_low < stable.value < stable.ci_high
    (comparison,) = report.comparisons
    assert (comparison.version, comparison.baseline, comparison.test) == (3, 2, Z_TEST)
    assert comparison.p_value is not None and comparison.p_value < 0.01
    assert comparison.is_significant
    assert comparison.difference == pytest.approx(challenger.value - stable.value)  # type: ignore[operator]
    assert comparison.ci_low is not None and comparison.ci_low > 0
    assert report.verdict.startswith("Version 3 is better than version 2 on accuracy by ")
    assert "points (95% CI " in report.verdict and "p < 0.001" in report.verdict


def test_identical_versions_are_rarely_called_different() -> None:
    rng = np.random.default_rng(7)
    significant = 0
    for _ in range(200):
        report = compare_versions(
            outcomes_of({1: simulated(rng, 0.8, 300), 2: simulated(rng, 0.8, 300)})
        )
        significant += report.comparisons[0].is_significant
        if not report.comparisons[0].is_significant:
            assert report.verdict.startswith(
                "No significant difference between version 2 and version 1 on accuracy (p = "
            )
    # About 5% at a 95% level: 10 of 200 expected; fixed seed, so never flaky.
    assert 2 <= significant <= 20


def test_worse_challenger_on_a_lower_is_better_metric() -> None:
    report = compare_versions(
        outcomes_of({1: classified(180, 200), 2: classified(120, 200)}), metric="error_rate"
    )
    assert report.higher_is_better is False
    assert report.baseline == 1  # a tie in predictions goes to the lower version
    assert report.comparisons[0].difference == pytest.approx(0.3)
    assert report.verdict.startswith(
        "Version 2 is worse than version 1 on error rate by 30.0 points (95% CI "
    )


def test_regression_is_detected_and_compared_on_mae() -> None:
    rng = np.random.default_rng(11)
    labels_a, labels_b = rng.normal(50, 10, 400), rng.normal(50, 10, 400)
    report = compare_versions(
        outcomes_of(
            {
                1: (labels_a + rng.normal(0, 3, 400), labels_a),
                2: (labels_b + rng.normal(0, 1, 400), labels_b),
            },
            totals={1: 800, 2: 400},
        )
    )
    assert report.metric == "mae" and report.higher_is_better is False
    (comparison,) = report.comparisons
    assert comparison.test == WELCH and comparison.is_significant
    assert comparison.difference is not None and comparison.difference < 0
    assert report.verdict.startswith("Version 2 is better than version 1 on MAE by ")

    mse = compare_versions(outcomes_of({1: ([1.0, 2.0, 4.0], [1.0, 1.0, 1.0])}), metric="mse")
    assert mse.versions[0].value == pytest.approx((0 + 1 + 9) / 3)


def test_per_version_t_interval() -> None:
    errors = np.array([0.5, 1.5, 1.0, 2.0, 0.0])
    report = compare_versions(outcomes_of({1: (errors, np.zeros(5))}), metric="mae")
    interval = scipy.stats.t.interval(0.95, 4, loc=errors.mean(), scale=scipy.stats.sem(errors))
    version = report.versions[0]
    assert (version.ci_low, version.ci_high) == pytest.approx(interval)


@pytest.mark.parametrize(
    ("predictions", "labels", "metric"),
    [
        (["yes", "no"], ["yes", "yes"], "accuracy"),
        ([0.0, 2.0, 1.0], [0.0, 1.0, 1.0], "accuracy"),  # few whole classes
        ([float(i) for i in range(30)], [float(i) for i in range(30)], "mae"),  # many values
        ([0.2, 0.9], [0.0, 1.0], "mae"),  # fractional predictions
    ],
)
def test_metric_detection(predictions: list[Any], labels: list[Any], metric: str) -> None:
    assert compare_versions(outcomes_of({1: (predictions, labels)})).metric == metric


def test_not_enough_data() -> None:
    report = compare_versions(outcomes_of({2: classified(40, 50), 3: classified(10, 12)}))
    assert not report.enough_data
    assert report.verdict == (
        "Not enough data: version 3 has 12 outcomes with feedback, 30 are needed per version."
    )
    # The numbers are still there, but nothing is called significant.
    assert report.comparisons[0].p_value is not None
    assert not report.comparisons[0].is_significant

    two_short = compare_versions(
        outcomes_of({1: classified(1, 1), 2: classified(1, 1), 3: classified(40, 40)}),
        min_samples=5,
    )
    assert two_short.verdict == (
        "Not enough data: version 1 has 1 and version 2 has 1 outcome with feedback, "
        "5 are needed per version."
    )


def test_versions_without_feedback_are_short() -> None:
    report = compare_versions(outcomes_of({1: classified(40, 50)}, totals={1: 50, 2: 300}))
    assert report.baseline == 2  # the most predictions
    assert [(v.version, v.predictions, v.n, v.value) for v in report.versions] == [
        (1, 50, 50, 0.8),
        (2, 300, 0, None),
    ]
    assert report.verdict == (
        "Not enough data: version 2 has 0 outcomes with feedback, 30 are needed per version."
    )


def test_no_predictions_and_one_version() -> None:
    empty = compare_versions(Outcomes.empty("credit"))
    assert empty.verdict == NO_PREDICTIONS.format(endpoint="credit")
    assert (empty.metric, empty.baseline, empty.versions, empty.comparisons) == (None, None, (), ())
    assert not empty.enough_data

    alone = compare_versions(outcomes_of({4: classified(40, 50)}))
    assert alone.verdict == ONE_VERSION.format(version=4)
    assert not alone.enough_data and alone.baseline == 4


def test_explicit_baseline_and_versions() -> None:
    data = {1: classified(40, 50), 2: classified(45, 50), 3: classified(30, 50)}
    report = compare_versions(outcomes_of(data, totals={1: 50, 2: 500, 3: 50}), baseline=3)
    assert report.baseline == 3
    assert [(c.version, c.baseline) for c in report.comparisons] == [(1, 3), (2, 3)]
    assert report.verdict.count("Version") == 2  # one sentence per challenger

    picked = compare_versions(outcomes_of(data), versions=[1], baseline=2)
    assert [v.version for v in picked.versions] == [1, 2]


def test_to_dict_is_json_without_nan() -> None:
    report = compare_versions(
        outcomes_of({1: ([1.0], [1.0]), 2: ([0.5, 0.5], [0.0, 1.0])}, totals={1: 3, 2: 2}),
        metric="mae",
    )
    data = report.to_dict()
    json.dumps(data, allow_nan=False)
    assert set(data) == {
        "endpoint", "metric", "higher_is_better", "confidence", "min_samples", "baseline",
        "enough_data", "verdict", "versions", "comparisons",
    }  # fmt: skip
    assert data["versions"][0] == {
        "version": 1,
        "predictions": 3,
        "n": 1,
        "value": 0.0,
        "ci_low": None,  # one row: no t-interval
        "ci_high": None,
        "is_baseline": True,
    }
    assert data["comparisons"] == [
        {
            "version": 2,
            "baseline": 1,
            "difference": None,
            "ci_low": None,
            "ci_high": None,
            "p_value": None,
            "test": None,
            "is_significant": False,
        }
    ]
    nan = compare_versions(outcomes_of({1: ([math.nan, 1.0], [1.0, 1.0])}), metric="mae")
    assert nan.to_dict()["versions"][0]["value"] is None
    json.dumps(nan.to_dict(), allow_nan=False)


def test_bad_arguments_are_refused() -> None:
    outcomes = outcomes_of({1: (["a"], ["b"])})
    with pytest.raises(InvalidInputError, match="Unknown metric 'rmse'"):
        compare_versions(outcomes, metric="rmse")
    with pytest.raises(InvalidInputError, match="needs numeric labels"):
        compare_versions(outcomes, metric="mae")
    with pytest.raises(InvalidInputError, match="confidence"):
        compare_versions(outcomes, confidence=95)
    with pytest.raises(InvalidInputError, match="min_samples"):
        compare_versions(outcomes, min_samples=1)


def test_a_missing_scipy_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['scipy'] = None  # as if the monitoring extra were not installed\n"
        "import numpy as np\n"
        "from shipyard.core.errors import MissingExtraError\n"
        "from shipyard.monitoring.abtest import compare_versions\n"
        "from shipyard.monitoring.outcomes import Outcomes\n"
        "o = Outcomes('e', np.array([1, 1]), np.array([1.5, 2.5]), np.array([1.0, 2.0]),\n"
        "             np.zeros(2, dtype='datetime64[us]'), {1: 2})\n"
        "try:\n"
        "    compare_versions(o, metric='mae')\n"
        "except MissingExtraError as exc:\n"
        "    print(exc.message)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "pip install 'shipyard-ml[monitoring]'" in done.stdout
