"""Performance from late ground truth: metrics against scikit-learn, coverage, time buckets."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from shipyard.core.errors import InvalidInputError
from shipyard.gates.metrics import Task, compute_metric
from shipyard.monitoring.outcomes import Outcomes
from shipyard.monitoring.performance import (
    DEFAULT_METRICS,
    NO_POSITIVE_LABELS,
    NO_POSITIVE_PREDICTIONS,
    NO_PROBABILITIES,
    NO_ROWS,
    ONE_CLASS,
    TOO_FEW,
    LabelledPredictions,
    PerformanceReport,
    performance,
)

START = np.datetime64("2026-03-01T00:00:00", "us")
HOUR = np.timedelta64(3600 * 10**6, "us")


def binary(seed: int = 0, n: int = 600) -> LabelledPredictions:
    """Two versions of a binary classifier; version 2 is worse. Labels are 0.0/1.0 floats."""
    rng = np.random.default_rng(seed)
    version = rng.choice(np.array([1, 2]), n)
    label = rng.integers(0, 2, n).astype(np.float64)
    score = np.clip(label * 0.5 + 0.25 + rng.normal(0, np.where(version == 1, 0.2, 0.35)), 0, 1)
    prediction = (score >= 0.5).astype(np.float64)
    time = START + rng.integers(0, 48, n) * HOUR + rng.integers(0, 3600, n) * 10**6
    return LabelledPredictions(
        version=version,
        prediction=prediction,
        label=label,
        time=time.astype("datetime64[us]"),
        probabilities=np.column_stack([1 - score, score]),
        classes=(0, 1),
        endpoint="credit",
    )


def sklearn_binary(y: np.ndarray, p: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": skm.accuracy_score(y, p),
        "precision": skm.precision_score(y, p, pos_label=1),
        "recall": skm.recall_score(y, p, pos_label=1),
        "f1": skm.f1_score(y, p, pos_label=1),
        "roc_auc": skm.roc_auc_score(y, proba[:, 1]),
        "log_loss": skm.log_loss(y, proba, labels=[0, 1]),
    }


def values(entry: Any) -> dict[str, float | None]:
    return {m.name: m.value for m in entry.metrics}


# -- numbers match scikit-learn ---------------------------------------------------------------


def test_binary_metrics_per_version_match_sklearn_and_the_gates() -> None:
    data = binary()
    assert data.probabilities is not None
    report = performance(data, predictions_total={1: 400, 2: 500})
    assert report.task == Task.CLASSIFICATION and report.is_task_inferred
    assert report.metrics == DEFAULT_METRICS[Task.CLASSIFICATION]
    for version in (1, 2):
        mask = data.version == version
        y, p, proba = data.label[mask], data.prediction[mask], data.probabilities[mask]
        entry = report.version(version)
        assert entry.n == int(mask.sum())
        assert values(entry) == pytest.approx(sklearn_binary(y, p, proba), abs=1e-12)
        for name in report.metrics:
            assert entry.metric(name).value == compute_metric(name, y, p, proba, [0, 1])
        assert entry.is_reliable and entry.note is None
    assert report.version(1).metric("roc_auc").value > report.version(2).metric("roc_auc").value


def test_multiclass_metrics_are_macro_and_one_vs_rest_like_sklearn() -> None:
    rng = np.random.default_rng(4)
    n = 300
    label = rng.choice(np.array(["cat", "dog", "eel"]), n)
    raw = rng.random((n, 3)) + 2 * (label[:, None] == np.array(["cat", "dog", "eel"]))
    proba = raw / raw.sum(axis=1, keepdims=True)
    prediction = np.array(["cat", "dog", "eel"])[proba.argmax(axis=1)]
    data = LabelledPredictions(np.ones(n, dtype=np.int64), prediction, label, None, proba)
    entry = performance(data).version(1)
    expected = {
        "accuracy": skm.accuracy_score(label, prediction),
        "precision": skm.precision_score(label, prediction, average="macro"),
        "recall": skm.recall_score(label, prediction, average="macro"),
        "f1": skm.f1_score(label, prediction, average="macro"),
        "roc_auc": skm.roc_auc_score(label, proba, multi_class="ovr", average="macro"),
        "log_loss": skm.log_loss(label, proba),
    }
    assert values(entry) == pytest.approx(expected, abs=1e-12)


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(2)
    n = 200
    label = rng.normal(100, 20, n)
    prediction = label + rng.normal(0, 5, n)
    data = LabelledPredictions(np.full(n, 3, dtype=np.int64), prediction, label)
    report = performance(data)
    assert report.task == Task.REGRESSION
    assert values(report.version(3)) == pytest.approx(
        {
            "mae": skm.mean_absolute_error(label, prediction),
            "rmse": skm.root_mean_squared_error(label, prediction),
            "r2": skm.r2_score(label, prediction),
        },
        abs=1e-12,
    )


def test_a_small_example_computed_by_hand() -> None:
    one = np.ones(5, dtype=np.int64)
    data = LabelledPredictions(one, np.array([1, 0, 0, 1, 1]), np.array([1, 1, 0, 0, 1]))
    entry = performance(data, metrics=["accuracy", "precision", "recall", "f1"]).version(1)
    assert values(entry) == pytest.approx(
        {"accuracy": 3 / 5, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3}
    )
    regression = LabelledPredictions(one[:2], np.array([4.0, 3.0]), np.array([3.0, 5.0]))
    entry = performance(regression, task="regression").version(1)
    # MAE (1 + 2) / 2; RMSE sqrt((1 + 4) / 2); R2 1 - 5 / ((3 - 4)^2 + (5 - 4)^2).
    assert values(entry) == pytest.approx({"mae": 1.5, "rmse": math.sqrt(2.5), "r2": -1.5})


# -- coverage, validation, reliability --------------------------------------------------------


def outcomes(
    predictions: list[Any], labels: list[Any], versions: list[int], totals: dict[int, int]
) -> Outcomes:
    is_numeric = not any(isinstance(x, str) for x in [*predictions, *labels])
    kind = np.float64 if is_numeric else object
    return Outcomes(
        endpoint="credit",
        version=np.array(versions, dtype=np.int64),
        prediction=np.array(predictions, dtype=kind),
        label=np.array(labels, dtype=kind),
        time=START + np.arange(len(versions)) * HOUR,
        predictions_total_by_version=MappingProxyType(totals),
        is_numeric=is_numeric,
    )


def test_outcomes_give_coverage_and_validation_differences() -> None:
    # Version 1: 40 labelled of 100 logged, 30 right. Version 2: logged only, no feedback yet.
    data = outcomes([1.0] * 30 + [0.0] * 10, [1.0] * 40, [1] * 40, {1: 100, 2: 25})
    validation = {1: {"accuracy": 0.9, "f1": 0.8, "auc": 0.93, "note": "text"}}
    report = performance(data, validation=validation)
    assert report.endpoint == "credit" and report.task == Task.CLASSIFICATION
    first, second = report.versions
    assert (first.n, first.predictions_total, first.label_coverage) == (40, 100, 0.4)
    accuracy = first.metric("accuracy")
    assert accuracy.value == 0.75 and accuracy.validation == 0.9
    assert accuracy.difference == pytest.approx(0.75 - 0.9)
    # Precision 1, recall 3/4: F1 = 2 * 3/4 / (1 + 3/4) = 6/7.
    assert first.metric("f1").difference == pytest.approx(6 / 7 - 0.8)
    assert dict(first.validation) == {"accuracy": 0.9, "auc": 0.93, "f1": 0.8}
    assert first.metric("precision").validation is None
    assert first.metric("precision").difference is None
    # Outcomes carry no probabilities.
    assert first.metric("roc_auc").reason == NO_PROBABILITIES.format(metric="roc_auc")
    assert (second.n, second.predictions_total, second.label_coverage) == (0, 25, 0.0)
    assert {m.reason for m in second.metrics} == {NO_ROWS}
    assert not second.is_reliable


def test_too_few_labels_are_flagged_not_passed_off_as_reliable() -> None:
    data = outcomes([1.0, 0.0] * 6, [1.0, 1.0] * 6, [7] * 12, {7: 12})
    entry = performance(data, metrics=["accuracy"]).version(7)
    assert entry.note == "not enough labelled predictions (12 < 30)"
    assert entry.note == TOO_FEW.format(n=12, min_rows=30)
    assert not entry.is_reliable
    assert entry.metric("accuracy").value == 0.5  # still shown, flagged
    assert performance(data, metrics=["accuracy"], min_rows=12).version(7).is_reliable


def test_undefined_metrics_are_none_with_a_reason() -> None:
    rng = np.random.default_rng(1)
    score = rng.random(40)
    data = LabelledPredictions(
        np.ones(40, dtype=np.int64),
        np.zeros(40),
        np.zeros(40),
        probabilities=score,
        classes=(0.0, 1.0),
    )
    entry = performance(data).version(1)
    assert entry.metric("accuracy").value == 1.0
    assert entry.metric("roc_auc").reason == ONE_CLASS.format(label=0.0, metric="roc_auc")
    assert entry.metric("precision").reason == NO_POSITIVE_PREDICTIONS.format(positive=1.0)
    assert entry.metric("recall").reason == NO_POSITIVE_LABELS.format(positive=1.0, metric="recall")
    assert entry.metric("log_loss").value == pytest.approx(
        skm.log_loss(np.zeros(40), score, labels=[0, 1])
    )
    # One row: R2 is undefined; scikit-learn's reason comes through the gates.
    single = LabelledPredictions(np.ones(1, dtype=np.int64), np.array([1.5]), np.array([2.0]))
    r2 = performance(single, metrics=["r2"]).version(1).metric("r2")
    assert r2.value is None and r2.reason is not None and "undefined" in r2.reason


def test_text_labels_are_classification_with_the_second_class_positive() -> None:
    data = outcomes(["yes", "no", "yes", "no"], ["yes", "yes", "no", "no"], [1] * 4, {1: 8})
    entry = performance(data, metrics=["precision", "recall"], min_rows=1).version(1)
    assert values(entry) == {"precision": 0.5, "recall": 0.5}
    assert entry.label_coverage == 0.5


# -- performance over time --------------------------------------------------------------------


def as_numpy(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.replace(tzinfo=None), "us")


def test_equal_width_time_buckets_hold_every_version_and_match_sklearn() -> None:
    data = binary(seed=3)
    assert data.time is not None and data.probabilities is not None
    report = performance(data, buckets=4, metrics=["accuracy", "roc_auc"])
    assert len(report.buckets) == 4
    assert report.first_time is not None and report.last_time is not None
    assert as_numpy(report.first_time) == data.time.min()
    assert as_numpy(report.last_time) == data.time.max()
    assert report.buckets[0].start == report.first_time
    assert report.buckets[-1].end == report.last_time
    width = (report.last_time - report.first_time) / 4
    for i, bucket in enumerate(report.buckets):
        assert bucket.end - bucket.start == pytest.approx(width, abs=timedelta(microseconds=1))
        assert [v.version for v in bucket.versions] == [1, 2]
        start, end = as_numpy(bucket.start), as_numpy(bucket.end)
        in_time = (data.time >= start) & ((data.time < end) if i < 3 else (data.time <= end))
        for entry in bucket.versions:
            mask = in_time & (data.version == entry.version)
            assert entry.n == int(mask.sum()) and entry.predictions_total is None
            expected = skm.roc_auc_score(data.label[mask], data.probabilities[mask, 1])
            assert entry.metric("roc_auc").value == pytest.approx(expected, abs=1e-12)
    assert sum(v.n for b in report.buckets for v in b.versions) == len(data.version)


def test_bucket_edges_are_consistent_with_the_rows_they_hold() -> None:
    # 10 microseconds in 4 buckets: true edges 2.5, 5 and 7.5 us; a row at 2 us is in the
    # first bucket, so the second starts at 3 us (rounded up), not 2.
    offsets = np.array([0, 2, 3, 7, 8, 10])
    data = LabelledPredictions(
        np.ones(6, dtype=np.int64),
        np.ones(6),
        np.ones(6),
        time=START + offsets.astype("timedelta64[us]"),
    )
    report = performance(data, buckets=4, metrics=["accuracy"], min_rows=1)
    starts = [as_numpy(b.start) - START for b in report.buckets]
    ends = [as_numpy(b.end) - START for b in report.buckets]
    assert [int(x / np.timedelta64(1, "us")) for x in starts] == [0, 3, 5, 8]
    assert [int(x / np.timedelta64(1, "us")) for x in ends] == [3, 5, 8, 10]
    assert [b.versions[0].n for b in report.buckets] == [2, 1, 1, 2]


def test_rows_at_one_instant_make_one_bucket() -> None:
    data = outcomes([1.0, 0.0], [1.0, 0.0], [1, 1], {1: 2})
    same = dataclasses.replace(data, time=np.full(2, START))
    report = performance(same, buckets=5, metrics=["accuracy"])
    assert len(report.buckets) == 1 and report.buckets[0].versions[0].n == 2


# -- JSON -------------------------------------------------------------------------------------


def test_report_json_is_nan_free() -> None:
    data = outcomes([1.0, 0.0], [1.0, 1.0], [1, 1], {1: 2, 2: 0})
    report: PerformanceReport = performance(data, buckets=2, validation={1: {"accuracy": 0.7}})
    text = json.dumps(report.to_dict(), allow_nan=False)
    shape = json.loads(text)
    assert set(shape) == {
        "endpoint",
        "task",
        "is_task_inferred",
        "metrics",
        "min_rows",
        "first_time",
        "last_time",
        "versions",
        "buckets",
    }
    assert shape["versions"][1]["label_coverage"] is None  # 0 logged: no coverage
    assert shape["versions"][0]["metrics"][0]["difference"] == pytest.approx(-0.2)


# -- bad input --------------------------------------------------------------------------------


def rows(prediction: Any, label: Any, **extra: Any) -> LabelledPredictions:
    n = len(label)
    return LabelledPredictions(
        np.ones(n, dtype=np.int64), np.asarray(prediction), np.asarray(label), **extra
    )


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [
        (
            rows([1.0, 0.0], ["yes", "no"]),
            {},
            "labels are text (e.g. 'yes') but the predictions are numbers",
        ),
        (rows([1, 0], np.array(["yes", 0], dtype=object)), {}, "labels mix numbers and text"),
        (
            rows(["a", "b"], ["a", "b"]),
            {"task": "regression"},
            "needs numeric labels and predictions",
        ),
        (rows([1, 0], [1, 0]), {"metrics": ["auc"]}, "Unknown metric 'auc'"),
        (rows([1, 0], [1, 0]), {"metrics": ["mae"]}, "mae is a regression metric"),
        (rows([1, 0], [1, 0]), {"metrics": []}, "No metric asked for"),
        (rows([1, 0], [1, 0]), {"task": "ranking"}, "Unknown task 'ranking'"),
        (rows([1.0, 0.0], [1.0, np.nan]), {}, "1 labels are missing"),
        (rows([1, 0], [1, 0], probabilities=np.ones((2, 3))), {}, "3 columns but 2 classes"),
        (rows([1, 0], [1, 0], probabilities=np.ones((3, 2))), {}, "shape (3, 2) for 2"),
        (rows([1, 0], [1, 2], classes=(0, 1)), {}, "not among the model's classes: 2"),
        (rows([1, 0], [1, 0]), {"buckets": 3}, "need the time of each prediction"),
        (rows([1, 0], [1, 0]), {"buckets": 0}, "buckets must be between 1"),
        (rows([1, 0], [1, 0]), {"min_rows": 0}, "min_rows must be at least 1"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    data: LabelledPredictions, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError) as error:
        performance(data, **options)
    assert message in error.value.message
    assert error.value.code == "invalid_input"


def test_arrays_of_different_lengths_are_refused() -> None:
    data = LabelledPredictions(np.ones(3, dtype=np.int64), np.zeros(3), np.zeros(2))
    with pytest.raises(InvalidInputError, match="3 predictions and 2 labels"):
        performance(data)
