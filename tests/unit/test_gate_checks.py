"""Gate evaluation with real models and real numbers: sklearn metrics, Fairlearn fairness."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import shipyard.gates
from shipyard.core.errors import InvalidInputError
from shipyard.core.types import ColumnSpec, DType, Signature
from shipyard.gates import (
    KNOWN_METRICS,
    MISSING_DATA,
    NO_CHAMPION,
    CheckResult,
    GateContext,
    GatePolicy,
    GateReport,
    Task,
    compute_fairness,
    compute_metric,
    evaluate,
    infer_task,
    signature_differences,
)

# -- tiny real models on bundled data ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Fitted:
    labels: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray | None
    classes: list[Any] | None
    champion_predictions: np.ndarray
    champion_probabilities: np.ndarray | None
    features: np.ndarray


@pytest.fixture(scope="module")
def cancer() -> Fitted:
    """Breast cancer with string labels: candidate = logistic regression, champion = stump."""
    data = load_breast_cancer()
    x, y = data.data, data.target_names[data.target]  # 'benign' / 'malignant'
    train, test = slice(0, None, 2), slice(1, None, 2)
    candidate = make_pipeline(StandardScaler(), LogisticRegression()).fit(x[train], y[train])
    champion = DecisionTreeClassifier(max_depth=1, random_state=0).fit(x[train], y[train])
    return Fitted(
        y[test],
        candidate.predict(x[test]),
        candidate.predict_proba(x[test]),
        list(candidate.classes_),
        champion.predict(x[test]),
        champion.predict_proba(x[test]),
        x[test],
    )


@pytest.fixture(scope="module")
def iris() -> Fitted:
    x, y = load_iris(return_X_y=True)
    train, test = slice(0, None, 2), slice(1, None, 2)
    candidate = make_pipeline(StandardScaler(), LogisticRegression()).fit(x[train], y[train])
    champion = DecisionTreeClassifier(max_depth=2, random_state=0).fit(x[train], y[train])
    return Fitted(
        y[test],
        candidate.predict(x[test]),
        candidate.predict_proba(x[test]),
        list(candidate.classes_),
        champion.predict(x[test]),
        champion.predict_proba(x[test]),
        x[test],
    )


@pytest.fixture(scope="module")
def diabetes() -> Fitted:
    x, y = load_diabetes(return_X_y=True)
    train, test = slice(0, None, 2), slice(1, None, 2)
    candidate = LinearRegression().fit(x[train], y[train])
    champion = DecisionTreeRegressor(max_depth=2, random_state=0).fit(x[train], y[train])
    return Fitted(
        y[test],
        candidate.predict(x[test]),
        None,
        None,
        champion.predict(x[test]),
        None,
        x[test],
    )


def context(fitted: Fitted, **changes: Any) -> GateContext:
    base = GateContext(
        ref="credit:2",
        integrity_ok=True,
        integrity_message="artifact sha256 verified",
        labels=fitted.labels,
        predictions=fitted.predictions,
        probabilities=fitted.probabilities,
        classes=fitted.classes,
        champion_ref="credit:1",
        champion_predictions=fitted.champion_predictions,
        champion_probabilities=fitted.champion_probabilities,
    )
    return dataclasses.replace(base, **changes)


def only(report: GateReport, name: str) -> CheckResult:
    [check] = [c for c in report.checks if c.name == name]
    return check


# -- metrics match scikit-learn ---------------------------------------------------------------


def test_binary_metrics_match_sklearn_with_the_second_class_positive(cancer: Fitted) -> None:
    y, p, proba, classes = cancer.labels, cancer.predictions, cancer.probabilities, cancer.classes
    assert proba is not None
    assert classes == ["benign", "malignant"]
    positive = {"pos_label": "malignant"}
    expected = {
        "accuracy": skm.accuracy_score(y, p),
        "balanced_accuracy": skm.balanced_accuracy_score(y, p),
        "precision": skm.precision_score(y, p, **positive),
        "recall": skm.recall_score(y, p, **positive),
        "f1": skm.f1_score(y, p, **positive),
        "roc_auc": skm.roc_auc_score(y == "malignant", proba[:, 1]),
        "log_loss": skm.log_loss(y, proba, labels=classes),
    }
    for name, value in expected.items():
        assert compute_metric(name, y, p, proba, classes) == value, name
    # The positive class matters: precision of 'benign' is a different number.
    assert compute_metric("precision", y, p, proba, classes) != skm.precision_score(
        y, p, pos_label="benign"
    )


def test_binary_positive_class_by_hand() -> None:
    y = np.array(["no", "yes", "yes", "no", "yes"])
    p = np.array(["yes", "yes", "no", "no", "yes"])
    # positive 'yes': TP=2, FP=1, FN=1 -> precision 2/3, recall 2/3
    assert compute_metric("precision", y, p, classes=["no", "yes"]) == pytest.approx(2 / 3)
    assert compute_metric("recall", y, p) == pytest.approx(2 / 3)
    proba_yes = np.array([0.6, 0.9, 0.4, 0.1, 0.8])
    # yes-scores 0.9, 0.4, 0.8 vs no-scores 0.6, 0.1: 5 of 6 pairs ranked right.
    assert compute_metric("roc_auc", y, p, proba_yes, ["no", "yes"]) == pytest.approx(5 / 6)


def test_multiclass_metrics_are_macro_and_one_vs_rest(iris: Fitted) -> None:
    y, p, proba, classes = iris.labels, iris.predictions, iris.probabilities, iris.classes
    expected = {
        "accuracy": skm.accuracy_score(y, p),
        "balanced_accuracy": skm.balanced_accuracy_score(y, p),
        "precision": skm.precision_score(y, p, average="macro"),
        "recall": skm.recall_score(y, p, average="macro"),
        "f1": skm.f1_score(y, p, average="macro"),
        "roc_auc": skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"),
        "log_loss": skm.log_loss(y, proba),
    }
    for name, value in expected.items():
        assert compute_metric(name, y, p, proba, classes) == value, name


def test_regression_metrics_match_sklearn(diabetes: Fitted) -> None:
    y, p = diabetes.labels, diabetes.predictions
    assert compute_metric("mae", y, p) == skm.mean_absolute_error(y, p)
    assert compute_metric("rmse", y, p) == skm.root_mean_squared_error(y, p)
    assert compute_metric("r2", y, p) == skm.r2_score(y, p)
    assert compute_metric("rmse", [3.0, 5.0], [4.0, 3.0]) == pytest.approx(np.sqrt(2.5))


def test_task_inference() -> None:
    assert infer_task(np.array([0.3, 1.2])) is Task.REGRESSION
    assert infer_task(np.array([0, 1])) is Task.CLASSIFICATION
    assert infer_task(np.array(["a", "b"])) is Task.CLASSIFICATION
    assert infer_task(np.array([0.0, 1.0]), classes=[0.0, 1.0]) is Task.CLASSIFICATION


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda f: compute_metric("log_loss", f.labels, f.predictions, None, f.classes),
            "log_loss needs predicted probabilities, but the model does not produce them",
        ),
        (
            lambda f: compute_metric("mae", f.labels, f.predictions, None, f.classes),
            "mae is a regression metric but the model is a classification model",
        ),
        (
            lambda f: compute_metric("accuracy", f.labels, f.predictions[:-1], None, f.classes),
            "284 labels but 283 predictions",
        ),
        (
            lambda f: compute_metric("accuracy", f.labels, f.predictions, None, ["b", "m"]),
            "The labels hold values the model never predicts: 'benign', 'malignant'",
        ),
        (
            lambda f: compute_metric("accuray", f.labels, f.predictions),
            "Unknown metric 'accuray' (did you mean 'accuracy'?); known metrics: accuracy,",
        ),
        (
            lambda f: compute_metric("accuracy", [], []),
            "The evaluation data has no rows",
        ),
        (
            lambda f: compute_metric("roc_auc", ["a", "a"], ["a", "b"], [0.2, 0.7], ["a", "b"]),
            "roc_auc is undefined on this evaluation data",
        ),
    ],
)
def test_metric_errors_say_what_is_wrong(cancer: Fitted, call: Any, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        call(cancer)
    assert message in caught.value.message


def test_classification_metric_refused_for_a_regressor(diabetes: Fitted) -> None:
    with pytest.raises(InvalidInputError, match="accuracy is a classification metric but the"):
        compute_metric("accuracy", diabetes.labels, diabetes.predictions)


# -- fairness matches Fairlearn ---------------------------------------------------------------


def test_fairness_matches_fairlearn_on_real_predictions(cancer: Fitted) -> None:
    big = np.where(cancer.features[:, 0] > np.median(cancer.features[:, 0]), "large", "small")
    y01 = (cancer.labels == "malignant").astype(int)
    p01 = (cancer.predictions == "malignant").astype(int)
    for name, function in [
        ("demographic_parity_difference", demographic_parity_difference),
        ("equalized_odds_difference", equalized_odds_difference),
    ]:
        value = compute_fairness(name, cancer.labels, cancer.predictions, big, cancer.classes)
        assert value == function(y01, p01, sensitive_features=big)
        assert 0 < value < 1


def test_fairness_by_hand() -> None:
    #              group a            group b
    y = np.array(["yes", "yes", "no", "no", "yes", "no", "no", "no"])
    p = np.array(["yes", "no", "no", "no", "yes", "yes", "yes", "no"])
    group = np.array(["a"] * 4 + ["b"] * 4)
    # selection rates: a 1/4, b 3/4 -> DP difference 0.5
    # TPR: a 1/2, b 1/1 -> 0.5;  FPR: a 0/2, b 2/3 -> 2/3;  EO difference = max = 2/3
    dp = compute_fairness("demographic_parity_difference", y, p, group, ["no", "yes"])
    eo = compute_fairness("equalized_odds_difference", y, p, group, ["no", "yes"])
    assert dp == pytest.approx(0.5)
    assert eo == pytest.approx(2 / 3)


# -- evaluation -------------------------------------------------------------------------------


def test_default_policy_runs_only_integrity_and_schema(cancer: Fitted) -> None:
    report = evaluate(GatePolicy.default(), context(cancer))
    assert [c.name for c in report.checks] == ["integrity", "schema"]
    assert report.passed


def test_full_policy_on_real_models(cancer: Fitted) -> None:
    policy = GatePolicy.parse(
        "metrics:\n  accuracy: {min: 0.9}\n  log_loss: {max: 0.35}\n"
        "champion: {metric: accuracy, max_regression: 0.01}\n"
        "fairness:\n  sensitive: [size]\n  demographic_parity_difference: {max: 0.9}\n"
        "  equalized_odds_difference: {max: 0.9}\n"
        "latency: {p99_ms: 50}\n"
    )
    size = np.where(cancer.features[:, 0] > 14, "large", "small")
    report = evaluate(policy, context(cancer, sensitive={"size": size}, pilot_p99_ms=12.5))
    assert [c.name for c in report.checks] == [
        "integrity",
        "schema",
        "metric:accuracy",
        "metric:log_loss",
        "champion:accuracy",
        "fairness:demographic_parity_difference[size]",
        "fairness:equalized_odds_difference[size]",
        "latency:p99",
    ]
    assert report.passed, report.failed()
    accuracy = skm.accuracy_score(cancer.labels, cancer.predictions)
    check = only(report, "metric:accuracy")
    assert check.observed == accuracy
    assert check.limit == ">= 0.9"
    assert check.message == f"accuracy {accuracy:.4g} >= 0.9"
    assert only(report, "latency:p99").message == "p99 latency 12.5 ms <= 50 ms"
    assert report.failed() == []


def test_metric_below_minimum_and_above_maximum_fail(cancer: Fitted) -> None:
    policy = GatePolicy.parse("metrics:\n  accuracy: {min: 0.99}\n  log_loss: {max: 0.01}\n")
    report = evaluate(policy, context(cancer))
    accuracy = skm.accuracy_score(cancer.labels, cancer.predictions)
    assert not report.passed
    assert [c.name for c in report.failed()] == ["metric:accuracy", "metric:log_loss"]
    assert only(report, "metric:accuracy").message == (
        f"accuracy {accuracy:.4g} is below the minimum 0.99"
    )
    assert "is above the maximum 0.01" in only(report, "metric:log_loss").message


def test_message_shows_enough_digits_to_differ_from_the_limit() -> None:
    labels = np.ones(100_000, dtype=int)
    predictions = labels.copy()
    predictions[:10_004] = 0  # accuracy 0.89996, which 4 digits would show as 0.9
    ctx = GateContext(
        ref="m:1", integrity_ok=True, integrity_message="ok", labels=labels, predictions=predictions
    )
    report = evaluate(GatePolicy.parse("metrics: {accuracy: {min: 0.9}}"), ctx)
    assert only(report, "metric:accuracy").message == "accuracy 0.89996 is below the minimum 0.9"


def test_metric_that_cannot_be_computed_fails_with_the_reason(cancer: Fitted) -> None:
    policy = GatePolicy.parse("metrics:\n  roc_auc: {min: 0.5}\n")
    report = evaluate(policy, context(cancer, probabilities=None))
    check = only(report, "metric:roc_auc")
    assert not check.passed
    assert check.message.startswith("roc_auc needs predicted probabilities")


def test_min_metric_override_is_evaluated(cancer: Fitted) -> None:
    policy = GatePolicy.default().with_min_metrics({"f1": 0.999})
    assert not only(evaluate(policy, context(cancer)), "metric:f1").passed


# champion


def _binary(correct: int, total: int = 10) -> tuple[np.ndarray, np.ndarray]:
    labels = np.array([0, 1] * (total // 2))
    predictions = labels.copy()
    predictions[correct:] = 1 - predictions[correct:]
    return labels, predictions


@pytest.mark.parametrize(
    ("candidate_correct", "champion_correct", "max_regression", "passed", "tail"),
    [
        (10, 9, 0.0, True, "accuracy 1 vs 0.9 for champion m:1: no worse"),
        (9, 9, 0.0, True, "accuracy 0.9 vs 0.9 for champion m:1: no worse"),
        (8, 9, 0.1, True, "0.1 worse, within the allowed regression 0.1"),
        (8, 9, 0.05, False, "0.1 worse, more than the allowed regression 0.05"),
        (5, 9, 0.0, False, "accuracy 0.5 vs 0.9 for champion m:1: 0.4 worse"),
    ],
)
def test_champion_higher_is_better(
    candidate_correct: int, champion_correct: int, max_regression: float, passed: bool, tail: str
) -> None:
    labels, candidate = _binary(candidate_correct)
    _, champion = _binary(champion_correct)
    ctx = GateContext(
        ref="m:2",
        integrity_ok=True,
        integrity_message="ok",
        labels=labels,
        predictions=candidate,
        champion_ref="m:1",
        champion_predictions=champion,
    )
    policy = GatePolicy.parse(f"champion: {{metric: accuracy, max_regression: {max_regression}}}")
    check = only(evaluate(policy, ctx), "champion:accuracy")
    assert check.passed is passed
    assert tail in check.message
    assert check.limit == f">= {0.9 - max_regression:.4g}"


@pytest.mark.parametrize(
    ("candidate_error", "champion_error", "max_regression", "passed"),
    [
        (1.0, 2.0, 0.0, True),  # lower rmse is better: candidate wins
        (2.0, 1.0, 0.0, False),  # candidate is worse by 1.0
        (2.0, 1.0, 1.0, True),  # exactly the allowed regression
        (2.5, 2.0, 0.25, False),
    ],
)
def test_champion_lower_is_better_flips_the_direction(
    candidate_error: float, champion_error: float, max_regression: float, passed: bool
) -> None:
    labels = np.linspace(0.0, 10.0, 20)
    signs = np.where(np.arange(20) % 2 == 0, 1.0, -1.0)
    ctx = GateContext(
        ref="m:2",
        integrity_ok=True,
        integrity_message="ok",
        labels=labels,
        predictions=labels + candidate_error * signs,  # rmse == candidate_error
        champion_ref="m:1",
        champion_predictions=labels + champion_error * signs,
    )
    policy = GatePolicy.parse(f"champion: {{metric: rmse, max_regression: {max_regression}}}")
    check = only(evaluate(policy, ctx), "champion:rmse")
    assert check.passed is passed, check.message
    assert check.observed == pytest.approx(candidate_error)
    assert check.limit == f"<= {champion_error + max_regression:g}"
    assert KNOWN_METRICS["rmse"].higher_is_better is False


def test_champion_log_loss_on_real_models(cancer: Fitted) -> None:
    policy = GatePolicy.parse("champion: {metric: log_loss}")
    check = only(evaluate(policy, context(cancer)), "champion:log_loss")
    # the stump is far less calibrated than logistic regression
    assert check.passed, check.message
    swapped = context(
        cancer,
        predictions=cancer.champion_predictions,
        probabilities=cancer.champion_probabilities,
        champion_predictions=cancer.predictions,
        champion_probabilities=cancer.probabilities,
    )
    assert not only(evaluate(policy, swapped), "champion:log_loss").passed


def test_champion_skipped_when_nothing_is_in_production(cancer: Fitted) -> None:
    policy = GatePolicy.parse("champion: {metric: accuracy}")
    report = evaluate(policy, context(cancer, champion_ref=None, champion_predictions=None))
    check = only(report, "champion:accuracy")
    assert (check.skipped, check.passed, check.message) == (True, True, NO_CHAMPION)
    assert report.passed


# missing evidence


def test_without_evaluation_data_every_data_check_fails(cancer: Fitted) -> None:
    policy = GatePolicy.parse(
        "metrics: {accuracy: {min: 0.5}}\nchampion: {metric: accuracy}\n"
        "fairness: {sensitive: [sex], demographic_parity_difference: {max: 0.2}}\n"
    )
    report = evaluate(policy, context(cancer, labels=None, predictions=None, sensitive={}))
    assert not report.passed
    failed = {c.name: c.message for c in report.failed()}
    assert failed == {
        "metric:accuracy": MISSING_DATA.format(what="accuracy"),
        "champion:accuracy": MISSING_DATA.format(what="accuracy"),
        "fairness:demographic_parity_difference[sex]": MISSING_DATA.format(
            what="demographic_parity_difference"
        ),
    }
    assert "pass --data FILE" in failed["metric:accuracy"]


def test_missing_sensitive_column_fails_naming_it(cancer: Fitted) -> None:
    policy = GatePolicy.parse(
        "fairness: {sensitive: [sex, age], equalized_odds_difference: {max: 1}}"
    )
    age = np.where(cancer.features[:, 1] > 19, "old", "young")
    report = evaluate(policy, context(cancer, sensitive={"age": age}))
    assert only(report, "fairness:equalized_odds_difference[age]").passed
    sex = only(report, "fairness:equalized_odds_difference[sex]")
    assert not sex.passed
    assert sex.message.startswith("sensitive column 'sex' is not in the evaluation data")


def test_fairness_without_any_sensitive_column_fails(cancer: Fitted) -> None:
    policy = GatePolicy.parse("fairness: {demographic_parity_difference: {max: 0.1}}")
    check = only(evaluate(policy, context(cancer)), "fairness:demographic_parity_difference")
    assert not check.passed
    assert "--sensitive COL" in check.message


def test_fairness_limit_exceeded(cancer: Fitted) -> None:
    big = np.where(cancer.features[:, 0] > np.median(cancer.features[:, 0]), "large", "small")
    policy = GatePolicy.parse(
        "fairness: {sensitive: [radius], demographic_parity_difference: {max: 0.1}}"
    )
    check = only(
        evaluate(policy, context(cancer, sensitive={"radius": big})),
        "fairness:demographic_parity_difference[radius]",
    )
    assert not check.passed
    assert check.message.startswith("demographic_parity_difference across radius 0.")
    assert check.message.endswith("is above the maximum 0.1")


def test_fairness_refused_for_multiclass_and_regression(iris: Fitted, diabetes: Fitted) -> None:
    policy = GatePolicy.parse("fairness: {sensitive: [g], demographic_parity_difference: {max: 1}}")
    name = "fairness:demographic_parity_difference[g]"
    groups = {"g": np.arange(len(iris.labels)) % 2}
    multiclass = only(evaluate(policy, context(iris, sensitive=groups)), name)
    assert not multiclass.passed
    assert "not defined for multiclass models" in multiclass.message
    groups = {"g": np.arange(len(diabetes.labels)) % 2}
    regression = only(evaluate(policy, context(diabetes, sensitive=groups)), name)
    assert not regression.passed
    assert "this is a regression model" in regression.message


# latency


@pytest.mark.parametrize(
    ("p99", "require", "passed", "skipped", "message"),
    [
        (42.0, True, True, False, "p99 latency 42 ms <= 50 ms"),
        (61.3, True, False, False, "p99 latency 61.3 ms is above the budget 50 ms"),
        (
            None,
            True,
            False,
            False,
            "no pilot load test on record for credit:2: run shipyard pilot credit:2",
        ),
        (
            None,
            False,
            True,
            True,
            "no pilot load test on record: latency not checked (require_pilot: false)",
        ),
    ],
)
def test_latency_budget(
    cancer: Fitted, p99: float | None, require: bool, passed: bool, skipped: bool, message: str
) -> None:
    policy = GatePolicy.parse(f"latency: {{p99_ms: 50, require_pilot: {str(require).lower()}}}")
    check = only(evaluate(policy, context(cancer, pilot_p99_ms=p99)), "latency:p99")
    assert (check.passed, check.skipped, check.message) == (passed, skipped, message)


# schema

LONG, DOUBLE, STRING = DType.LONG, DType.DOUBLE, DType.STRING


def sig(*columns: tuple[str, DType] | tuple[str, DType, bool]) -> Signature:
    return Signature(tuple(ColumnSpec(*c) for c in columns))


@pytest.mark.parametrize(
    ("champion", "candidate", "problems"),
    [
        (sig(("age", LONG), ("income", DOUBLE)), sig(("age", LONG), ("income", DOUBLE)), []),
        (sig(("age", LONG), ("income", DOUBLE)), sig(("age", DOUBLE), ("income", DOUBLE)), []),
        (sig(("when", DType.DATETIME)), sig(("when", STRING)), []),
        (sig(("x", DOUBLE, False)), sig(("x", DOUBLE, True)), []),
        (
            sig(("age", DOUBLE), ("income", DOUBLE)),
            sig(("age", LONG), ("income", DOUBLE)),
            ["'age' changed type double → long (only widening long → double is compatible)"],
        ),
        (
            sig(("age", LONG)),
            sig(("age", LONG), ("score", DOUBLE)),
            ["'score' is new, and production callers do not send it"],
        ),
        (
            sig(("age", LONG), ("zip", STRING)),
            sig(("age", LONG)),
            ["'zip' is dropped, and serving refuses the field production callers send"],
        ),
        (sig(("x", DOUBLE, True)), sig(("x", DOUBLE, False)), ["'x' no longer accepts nulls"]),
        (
            sig(("a", DOUBLE), ("b", DOUBLE)),
            sig(("b", DOUBLE), ("a", DOUBLE)),
            [
                "the inputs are in a different order, so positional rows [v1, v2, …] would be "
                "misread (production: a, b)"
            ],
        ),
    ],
)
def test_signature_differences(
    champion: Signature, candidate: Signature, problems: list[str]
) -> None:
    assert signature_differences(candidate, champion) == problems


def test_schema_check(cancer: Fitted) -> None:
    old = sig(("age", LONG), ("income", DOUBLE))
    policy = GatePolicy.default()
    new = sig(("age", DOUBLE), ("income", DOUBLE))
    compatible = context(cancer, signature=new, champion_signature=old)
    check = only(evaluate(policy, compatible), "schema")
    assert (check.passed, check.skipped) == (True, False)
    assert check.message == "credit:2 accepts every request production (credit:1) accepts"

    bad = sig(("age", STRING), ("income", DOUBLE))
    broken = context(cancer, signature=bad, champion_signature=old)
    check = only(evaluate(policy, broken), "schema")
    assert not check.passed
    assert "'age' changed type long → string" in check.message

    ignored = evaluate(GatePolicy.parse("schema: ignore"), broken)
    assert only(ignored, "schema").skipped
    assert ignored.passed


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"champion_ref": None}, NO_CHAMPION),
        ({"signature": None}, "credit:2 has no recorded signature"),
        ({"champion_signature": None}, "credit:1 has no recorded signature"),
    ],
)
def test_schema_skipped_without_something_to_compare(
    cancer: Fitted, changes: dict[str, Any], message: str
) -> None:
    base = {"signature": sig(("a", LONG)), "champion_signature": sig(("b", LONG))}
    check = only(evaluate(GatePolicy.default(), context(cancer, **{**base, **changes})), "schema")
    assert check.skipped and check.passed
    assert check.message.startswith(message)


# integrity


@pytest.mark.parametrize(
    ("integrity_ok", "require", "verified", "passed", "observed"),
    [
        (True, False, None, True, "verified"),
        (False, False, None, False, "mismatch"),
        (False, True, True, False, "mismatch"),
        (True, True, None, False, "unsigned"),
        (True, True, False, False, "bad signature"),
        (True, True, True, True, "signed"),
    ],
)
def test_integrity_and_signature(
    cancer: Fitted,
    integrity_ok: bool,
    require: bool,
    verified: bool | None,
    passed: bool,
    observed: str,
) -> None:
    policy = GatePolicy.parse(f"integrity: {{require_signature: {str(require).lower()}}}")
    message = "sha256 ok" if integrity_ok else "sha256 mismatch"
    ctx = context(
        cancer, integrity_ok=integrity_ok, signature_verified=verified, integrity_message=message
    )
    report = evaluate(policy, ctx)
    check = only(report, "integrity")
    assert (check.passed, check.observed) == (passed, observed)
    assert report.passed is passed


# report and package


def test_report_round_trips_through_dict(cancer: Fitted) -> None:
    policy = GatePolicy.parse("metrics: {accuracy: {min: 0.99}}\nchampion: {metric: f1}")
    report = evaluate(policy, context(cancer, champion_ref=None))
    again = GateReport.from_dict(report.to_dict())
    assert again == report
    assert report.to_dict()["checks"][2] == {
        "name": "metric:accuracy",
        "passed": False,
        "skipped": False,
        "observed": report.checks[2].observed,
        "limit": ">= 0.99",
        "message": report.checks[2].message,
    }
    assert [c.name for c in report.failed()] == ["metric:accuracy"]


def test_public_api_is_complete() -> None:
    public = {n for n in vars(shipyard.gates) if not n.startswith("_")}
    modules = {"checks", "metrics", "policy", "annotations"}
    assert set(shipyard.gates.__all__) == public - modules


def test_importing_gates_does_not_load_the_monitoring_extra() -> None:
    code = (
        "import sys, shipyard.gates; "
        "print(sorted(m for m in ('fairlearn', 'scipy', 'sklearn') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_limit_reads_as_written() -> None:
    from shipyard.gates.checks import _against_limit

    assert _against_limit(0.8981234, 0.99999) == ("0.8981", "0.99999")
    assert _against_limit(0.899996, 0.9) == ("0.899996", "0.9")
    assert _against_limit(0.99998, 0.99999) == ("0.99998", "0.99999")  # not "1"
    assert _against_limit(0.95, 0.9) == ("0.95", "0.9")
