"""Fairness by group: per-group rates and disparities against Fairlearn, by hand, bad input."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from fairlearn import metrics as flm
from sklearn.metrics import accuracy_score

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.fairness import (
    ABSENT,
    COUNTED_AS_ZERO,
    DISPARITIES,
    MISSING_GROUP,
    NO_NEGATIVES,
    NO_POSITIVES,
    ONE_GROUP,
    ZERO_OVER_ZERO,
    FairnessReport,
    fairness,
)


def biased(seed: int = 7, n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, predictions and groups where the error rate and bias depend on the group."""
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(["north", "south", "east"]), n, p=[0.5, 0.3, 0.2])
    label = (rng.random(n) < np.where(group == "east", 0.3, 0.5)).astype(np.int64)
    flip = rng.random(n) < np.select([group == "north", group == "south"], [0.08, 0.2], 0.35)
    # South is pushed towards "no": its errors are mostly false negatives.
    predicted = np.where(flip, 1 - label, label)
    predicted = np.where((group == "south") & (rng.random(n) < 0.15), 0, predicted)
    return label, predicted, group


def fairlearn_numbers(y: Any, p: Any, s: Any) -> dict[str, float]:
    return {name: float(getattr(flm, name)(y, p, sensitive_features=s)) for name in DISPARITIES}


def values(report: FairnessReport) -> dict[str, float | None]:
    return {d.name: d.value for d in report.disparities}


# -- against Fairlearn ------------------------------------------------------------------------


def test_group_rates_and_disparities_match_fairlearn_on_a_group_dependent_error_pattern() -> None:
    y, p, s = biased()
    report = fairness(y, p, s, attribute="region")
    frame = flm.MetricFrame(
        metrics={
            "count": flm.count,
            "selection_rate": flm.selection_rate,
            "tpr": flm.true_positive_rate,
            "fpr": flm.false_positive_rate,
            "accuracy": accuracy_score,
        },
        y_true=y,
        y_pred=p,
        sensitive_features=s,
    )
    expected = frame.by_group
    assert [g.group for g in report.groups] == ["east", "north", "south"]
    for group in report.groups:
        row = expected.loc[group.group]
        assert group.count == row["count"]
        for rate in ("selection_rate", "tpr", "fpr", "accuracy"):
            assert getattr(group, rate) == pytest.approx(row[rate], abs=1e-15), (group, rate)
    assert values(report) == pytest.approx(fairlearn_numbers(y, p, s), abs=1e-15)
    # The pattern is real: south has the lowest TPR, east the highest FPR.
    odds = report.disparity("equalized_odds_difference")
    assert odds.value is not None and odds.value > 0.2
    assert report.is_reliable and report.notes == ()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_disparities_match_fairlearn_on_random_data_with_uneven_groups(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    s = rng.choice(np.array([1, 2, 3, 4]), n, p=[0.4, 0.3, 0.2, 0.1])
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < s / 10, 1 - y, y)
    assert values(fairness(y, p, s)) == pytest.approx(fairlearn_numbers(y, p, s), abs=1e-15)


def test_text_labels_use_the_positive_class_as_fairlearn_does_on_0_1() -> None:
    y, p, s = biased(seed=3, n=600)
    y_text = np.where(y == 1, "approved", "denied")
    p_text = np.where(p == 1, "approved", "denied")
    report = fairness(y_text, p_text, s, positive="approved")
    assert report.positive == "approved"
    assert values(report) == pytest.approx(fairlearn_numbers(y, p, s), abs=1e-15)
    # Without `positive` the second label in sorted order is positive, as in the gates.
    default = fairness(y_text, p_text, s)
    assert default.positive == "denied"
    assert values(default) == pytest.approx(fairlearn_numbers(1 - y, 1 - p, s), abs=1e-15)


# -- by hand: a wrong definition fails --------------------------------------------------------


def test_a_small_example_computed_by_hand() -> None:
    # Group A: SR 2/4, TPR 2/3, FPR 0/1, accuracy 3/4.  Group B: SR 3/5, TPR 1/1, FPR 2/4, 3/5.
    y = [1, 1, 1, 0, 1, 0, 0, 0, 0]
    p = [1, 1, 0, 0, 1, 1, 1, 0, 0]
    s = ["A"] * 4 + ["B"] * 5
    report = fairness(y, p, s, min_group_rows=1)
    a, b = report.groups
    assert (a.count, a.positives, a.negatives) == (4, 3, 1)
    assert (a.selection_rate, a.tpr, a.fpr, a.accuracy) == pytest.approx((0.5, 2 / 3, 0.0, 0.75))
    assert (b.selection_rate, b.tpr, b.fpr, b.accuracy) == pytest.approx((0.6, 1.0, 0.5, 0.6))
    expected = {
        "demographic_parity_difference": 0.1,  # max - min, not max |SR - overall 5/9|
        "demographic_parity_ratio": 5 / 6,  # min / max
        "equalized_odds_difference": 0.5,  # max(TPR diff 1/3, FPR diff 1/2)
        "equalized_odds_ratio": 0.0,  # min(TPR ratio 2/3, FPR ratio 0)
    }
    assert values(report) == pytest.approx(expected)
    assert values(report) == pytest.approx(fairlearn_numbers(y, p, s))
    dp = report.disparity("demographic_parity_difference")
    assert (dp.rate, dp.lowest_group, dp.highest_group) == ("selection_rate", "A", "B")
    odds = report.disparity("equalized_odds_difference")
    assert (odds.rate, odds.lowest_group, odds.highest_group) == ("fpr", "A", "B")


# -- undefined rates --------------------------------------------------------------------------


def test_a_group_without_positive_labels_has_no_tpr_but_counts_as_zero_like_fairlearn() -> None:
    y = [1, 1, 0, 0, 0, 0]
    p = [1, 0, 0, 1, 0, 0]
    s = ["a", "a", "a", "b", "b", "b"]
    report = fairness(y, p, s, attribute="sex", min_group_rows=1)
    b = report.groups[1]
    assert b.tpr is None
    assert b.reasons == {"tpr": NO_POSITIVES.format(positive=1)}
    assert b.fpr == pytest.approx(1 / 3)
    assert values(report) == pytest.approx(fairlearn_numbers(y, p, s))
    assert not report.is_reliable
    assert report.notes == (COUNTED_AS_ZERO.format(rate="true positive rate", groups="'b'"),)


def test_a_group_of_positives_only_has_no_fpr() -> None:
    report = fairness([1, 1, 0, 1], [1, 0, 0, 1], ["a", "a", "b", "b"], min_group_rows=1)
    assert report.groups[0].fpr is None
    assert report.groups[0].reasons == {"fpr": NO_NEGATIVES.format(positive=1)}


def test_ratios_of_zero_over_zero_are_none_where_fairlearn_returns_nan() -> None:
    s = ["a", "a", "b", "b"]
    # Nothing is ever selected: every selection rate and TPR is 0.
    y, p = [1, 0, 1, 0], [0, 0, 0, 0]
    report = fairness(y, p, s)
    expected = fairlearn_numbers(y, p, s)
    assert math.isnan(expected["demographic_parity_ratio"])
    assert math.isnan(expected["equalized_odds_ratio"])
    ratio = report.disparity("demographic_parity_ratio")
    assert ratio.value is None
    assert ratio.reason == ZERO_OVER_ZERO.format(rate="selection rate")
    odds = report.disparity("equalized_odds_ratio")
    assert odds.value is None and odds.reason == ZERO_OVER_ZERO.format(rate="true positive rate")
    assert report.disparity("demographic_parity_difference").value == 0.0
    # Every FPR is 0 but TPRs differ: Fairlearn's min() skips the trailing NaN FPR ratio.
    y, p = [1, 0, 1, 0], [1, 0, 0, 0]
    report = fairness(y, p, s)
    assert fairlearn_numbers(y, p, s)["equalized_odds_ratio"] == 0.0
    assert report.disparity("equalized_odds_ratio").value == 0.0
    assert report.disparity("equalized_odds_ratio").rate == "tpr"
    json.dumps(report.to_dict(), allow_nan=False)


# -- groups -----------------------------------------------------------------------------------


def test_missing_sensitive_values_form_their_own_group_last() -> None:
    y, p, s = biased(seed=5, n=500)
    holes = s.astype(object)
    holes[::7] = None
    holes[3::11] = float("nan")
    report = fairness(y, p, holes)
    assert [g.group for g in report.groups] == ["east", "north", "south", MISSING_GROUP]
    filled = np.where(np.array([v is None or v != v for v in holes]), MISSING_GROUP, holes)
    assert report.groups[-1].count == int(np.sum(filled == MISSING_GROUP))
    assert values(report) == pytest.approx(fairlearn_numbers(y, p, filled), abs=1e-15)


def test_numeric_groups_sort_by_value_and_small_groups_are_flagged_but_kept() -> None:
    y = [1, 0] * 20 + [1, 0, 1]
    p = [1, 1] * 20 + [0, 0, 1]
    s = [10] * 40 + [2, 2, 2]
    report = fairness(y, p, s, min_group_rows=30)
    assert [(g.group, g.count, g.is_small) for g in report.groups] == [
        ("2", 3, True),
        ("10", 40, False),
    ]
    assert not report.is_reliable
    assert any("fewer than 30 rows" in note and "'2'" in note for note in report.notes)
    assert values(report) == pytest.approx(fairlearn_numbers(y, p, s))


def test_one_group_or_no_rows_gives_no_disparity_and_says_why() -> None:
    report = fairness([1, 0, 1], [1, 0, 0], ["x", "x", "x"], min_group_rows=1)
    assert all(d.value is None for d in report.disparities)
    assert report.disparities[0].reason == ONE_GROUP.format(group="x")
    assert report.notes == (ONE_GROUP.format(group="x"),)
    empty = fairness(np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([]))
    assert empty.n == 0 and empty.groups == () and not empty.is_reliable
    json.dumps(empty.to_dict(), allow_nan=False)


def test_report_json_shape_is_nan_free_and_stable() -> None:
    report = fairness([1, 1, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0], ["a", "a", "a", "b", "b", "b"])
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert set(data) == {
        "attribute",
        "positive",
        "n",
        "min_group_rows",
        "is_reliable",
        "notes",
        "groups",
        "disparities",
    }
    assert list(data["disparities"]) == list(DISPARITIES)
    assert data["groups"][1]["tpr"] is None
    assert data["groups"][1]["reasons"]["tpr"].startswith("no label in the group")


# -- bad input --------------------------------------------------------------------------------


def test_an_absent_attribute_is_refused_by_name() -> None:
    expected = ABSENT.format(attribute="'age_band'", n=3)
    with pytest.raises(InvalidInputError) as error:
        fairness([1, 0, 1], [1, 0, 0], None, attribute="age_band")
    assert error.value.message == expected
    with pytest.raises(InvalidInputError) as error:
        fairness([1, 0, 1], [1, 0, 0], np.array([None, None, None]), attribute="age_band")
    assert error.value.message == expected


@pytest.mark.parametrize(
    ("y", "p", "fragment"),
    [
        ([0, 1, 2], [0, 1, 2], "binary classification only"),
        ([0, 1, 2], [0, 1, 2], "3 classes"),
        ([1.5, 2.0], [1.2, 3.7], "continuous values"),
        ([0, 1], [0.2, 0.9], "look like probabilities"),
        ([0, 1], [0.2, 0.9], "threshold the scores first"),
        (["yes", "no"], [1, 0], "cannot be compared"),
        ([1, None], [1, 0], "labels are missing"),
        ([1, 0, 1], [1, 0], "3 labels but 2 predictions"),
    ],
)
def test_bad_labels_and_predictions_are_refused_with_a_reason(
    y: list[Any], p: list[Any], fragment: str
) -> None:
    with pytest.raises(InvalidInputError, match=fragment) as error:
        fairness(y, p, ["a"] * len(y))
    assert error.value.code == "invalid_input"


def test_a_positive_class_that_is_not_a_label_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="'yes' is not one of the labels"):
        fairness([0, 1], [1, 1], ["a", "b"], positive="yes")
    with pytest.raises(InvalidInputError, match="positive class 2 is not one of the labels"):
        fairness([0, 1], [1, 1], ["a", "b"], positive=2)


def test_a_sensitive_column_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="2 values for 3 labels"):
        fairness([1, 0, 1], [1, 0, 0], ["a", "b"])
