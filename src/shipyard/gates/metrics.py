"""Metrics a gate can demand, computed with scikit-learn and Fairlearn so the numbers match theirs.

Two explicit registries (``KNOWN_METRICS``, ``FAIRNESS_METRICS``): a descriptor per name and one
function that computes it. Pure functions over arrays; scikit-learn and Fairlearn are imported on
first use, so importing this module stays cheap and never needs the ``monitoring`` extra.
"""

from __future__ import annotations

import difflib
import importlib
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType, ModuleType
from typing import Any

import numpy as np

from shipyard.core.errors import InvalidInputError, MissingExtraError


class Task(StrEnum):
    """What kind of model a metric applies to."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """What the gate engine needs to know about one metric.

    Attributes:
        name: Registry name, as written in a policy.
        task: The kind of model the metric is defined for.
        higher_is_better: Direction of improvement (flips the champion comparison).
        needs_proba: True if computed from predicted probabilities, not labels.
        lower: Smallest possible value (None if unbounded); thresholds outside are refused.
        upper: Largest possible value (None if unbounded).
    """

    name: str
    task: Task
    higher_is_better: bool
    needs_proba: bool
    lower: float | None = 0.0
    upper: float | None = 1.0


KNOWN_METRICS: Mapping[str, MetricInfo] = MappingProxyType(
    {
        info.name: info
        for info in (
            MetricInfo("accuracy", Task.CLASSIFICATION, True, False),
            MetricInfo("balanced_accuracy", Task.CLASSIFICATION, True, False),
            MetricInfo("precision", Task.CLASSIFICATION, True, False),
            MetricInfo("recall", Task.CLASSIFICATION, True, False),
            MetricInfo("f1", Task.CLASSIFICATION, True, False),
            MetricInfo("roc_auc", Task.CLASSIFICATION, True, True),
            MetricInfo("log_loss", Task.CLASSIFICATION, False, True, upper=None),
            MetricInfo("mae", Task.REGRESSION, False, False, upper=None),
            MetricInfo("rmse", Task.REGRESSION, False, False, upper=None),
            MetricInfo("r2", Task.REGRESSION, True, False, lower=None),
        )
    }
)
"""Every metric a policy may name, by name."""


@dataclass(frozen=True, slots=True)
class FairnessMetricInfo:
    """A group-fairness metric, as Fairlearn defines it (binary classification only).

    Attributes:
        name: Registry name, as written in a policy (and in Fairlearn).
        description: One line for reports and error messages.
    """

    name: str
    description: str


FAIRNESS_METRICS: Mapping[str, FairnessMetricInfo] = MappingProxyType(
    {
        info.name: info
        for info in (
            FairnessMetricInfo(
                "demographic_parity_difference",
                "largest minus smallest selection rate P[prediction = positive] across groups",
            ),
            FairnessMetricInfo(
                "equalized_odds_difference",
                "the larger of the across-group spreads of true and false positive rates",
            ),
        )
    }
)
"""Every fairness metric a policy may name, by name (limits are upper bounds in [0, 1])."""


def suggest(name: str, known: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or an empty string."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def metric_info(name: str) -> MetricInfo:
    """The descriptor of metric ``name``.

    Raises:
        InvalidInputError: for an unknown name, listing the known ones.
    """
    try:
        return KNOWN_METRICS[name]
    except KeyError:
        raise InvalidInputError(
            f"Unknown metric {name!r}{suggest(name, list(KNOWN_METRICS))}; "
            f"known metrics: {', '.join(KNOWN_METRICS)}."
        ) from None


def infer_task(y_pred: Any, y_proba: Any = None, classes: Sequence[Any] | None = None) -> Task:
    """Guess whether predictions come from a classifier or a regressor.

    A model that reports classes or probabilities is a classifier; otherwise floating-point
    predictions mean a regressor and anything else (integers, strings, booleans) a classifier.
    Pass ``task`` explicitly to the compute functions where this guess can be wrong (a
    classifier without ``classes`` whose labels are floats).
    """
    if classes is not None or y_proba is not None:
        return Task.CLASSIFICATION
    kind = np.asarray(y_pred).dtype.kind
    return Task.REGRESSION if kind in "fc" else Task.CLASSIFICATION


def compute_metric(
    name: str,
    y_true: Any,
    y_pred: Any,
    y_proba: Any = None,
    classes: Sequence[Any] | None = None,
    *,
    task: Task | None = None,
) -> float:
    """Compute metric ``name`` exactly as scikit-learn does.

    Binary classification: precision, recall and f1 score the positive class, the second of
    the two classes in sorted order (``classes[1]`` for scikit-learn models, 1 for 0/1 labels),
    and roc_auc uses that class's probability column. Multiclass: precision, recall and f1 are
    macro averages and roc_auc is one-vs-rest macro.

    Args:
        name: A key of ``KNOWN_METRICS``.
        y_true: Ground-truth labels or targets.
        y_pred: The model's predictions on the same rows.
        y_proba: Class probabilities ``[rows, classes]`` (or ``[rows]`` for the positive class
            of a binary model), if the model produces them.
        classes: Labels of the probability columns, in column order.
        task: Classification or regression; inferred with :func:`infer_task` when None.

    Returns:
        The metric value.

    Raises:
        InvalidInputError: unknown metric, a metric of the other task, probabilities needed but
            absent, arrays of different lengths, or data on which the metric is undefined.
    """
    info = metric_info(name)
    task = task or infer_task(y_pred, y_proba, classes)
    truth, predicted = _aligned(y_true, y_pred)
    if info.task != task:
        use = [m.name for m in KNOWN_METRICS.values() if m.task == task]
        raise InvalidInputError(
            f"{name} is a {info.task} metric but the model is a {task} model; "
            f"use one of: {', '.join(use)}."
        )
    if task == Task.REGRESSION:
        return _regression(name, truth, predicted)
    labels = _class_labels(truth, predicted, classes)
    if info.needs_proba:
        if y_proba is None:
            raise InvalidInputError(
                f"{name} needs predicted probabilities, but the model does not produce them "
                "(no predict_proba); use a metric of predicted labels such as accuracy or f1."
            )
        return _from_proba(name, truth, _proba_matrix(y_proba, len(truth), labels), labels)
    return _from_labels(name, truth, predicted, labels)


def compute_fairness(
    name: str,
    y_true: Any,
    y_pred: Any,
    sensitive: Any,
    classes: Sequence[Any] | None = None,
    *,
    task: Task | None = None,
) -> float:
    """Compute a group-fairness metric with Fairlearn's own function.

    Labels are mapped to 1 for the positive class (as in :func:`compute_metric`) and 0
    otherwise before calling Fairlearn, whose selection rate counts predictions equal to 1.

    Args:
        name: A key of ``FAIRNESS_METRICS``.
        y_true: Ground-truth labels.
        y_pred: Predicted labels on the same rows.
        sensitive: The sensitive attribute of each row.
        classes: The model's class labels, if known.
        task: Classification or regression; inferred when None.

    Returns:
        The metric value, between 0 (parity) and 1.

    Raises:
        InvalidInputError: unknown metric, a regression or multiclass model (the metrics are
            defined for binary classification only), or arrays of different lengths.
        MissingExtraError: if Fairlearn (the ``monitoring`` extra) is not installed.
    """
    if name not in FAIRNESS_METRICS:
        raise InvalidInputError(
            f"Unknown fairness metric {name!r}{suggest(name, list(FAIRNESS_METRICS))}; "
            f"known fairness metrics: {', '.join(FAIRNESS_METRICS)}."
        )
    task = task or infer_task(y_pred, None, classes)
    truth, predicted = _aligned(y_true, y_pred)
    if task == Task.REGRESSION:
        raise InvalidInputError(
            f"{name} is defined for binary classification only, and this is a regression model."
        )
    labels = _class_labels(truth, predicted, classes)
    if len(labels) > 2:
        raise InvalidInputError(
            f"{name} is defined for binary classification only, and this model has "
            f"{len(labels)} classes; it is not defined for multiclass models."
        )
    groups = np.asarray(sensitive)
    if groups.ndim != 1 or len(groups) != len(truth):
        raise InvalidInputError(
            f"The sensitive column has {len(groups)} values for {len(truth)} labels; "
            "they must be one value per row of the evaluation data."
        )
    positive = positive_label(labels)
    fairlearn = _fairlearn_metrics()
    function = getattr(fairlearn, name)
    try:
        with _data_warnings_silenced():
            value = function(
                (truth == positive).astype(int),
                (predicted == positive).astype(int),
                sensitive_features=groups,
            )
    except ValueError as exc:
        raise InvalidInputError(f"{name} could not be computed: {exc}") from exc
    return _finite(name, float(value), "a group may lack positive or negative examples")


# -- classification ---------------------------------------------------------------------------


def _class_labels(
    truth: np.ndarray, predicted: np.ndarray, classes: Sequence[Any] | None
) -> list[Any]:
    """The model's classes, or the sorted labels seen; refuse labels the model never predicts."""
    try:
        seen = np.unique(np.concatenate([truth, predicted]))
    except TypeError:
        raise InvalidInputError(
            "The labels and the predictions hold values of different types (e.g. numbers and "
            "strings); read the label column with the type the model predicts."
        ) from None
    if classes is None:
        return list(seen)
    labels = list(classes)
    known = {_plain(c) for c in labels}
    unknown = [v for v in np.unique(truth) if _plain(v) not in known]
    if unknown:
        shown = ", ".join(repr(_plain(v)) for v in unknown[:5])
        raise InvalidInputError(
            f"The labels hold values the model never predicts: {shown} (its classes: "
            f"{', '.join(repr(_plain(c)) for c in labels[:10])}); check the label column."
        )
    return labels


def positive_label(labels: Sequence[Any]) -> Any:
    """The positive class of a binary problem: the second label in sorted order.

    With a single label seen, 0 or -1 means the positive class (1) never occurs.
    """
    ordered = sorted(labels)
    if len(ordered) >= 2:
        return ordered[1]
    return 1 if _plain(ordered[0]) in (0, -1) else ordered[0]


def _from_labels(name: str, truth: np.ndarray, predicted: np.ndarray, labels: list[Any]) -> float:
    skm = _sklearn_metrics()
    if name == "accuracy":
        return float(skm.accuracy_score(truth, predicted))
    if name == "balanced_accuracy":
        return _quiet(name, lambda: skm.balanced_accuracy_score(truth, predicted))
    function = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}
    if len(labels) <= 2:
        options: dict[str, Any] = {"average": "binary", "pos_label": positive_label(labels)}
    else:
        options = {"average": "macro"}
    return _quiet(name, lambda: function[name](truth, predicted, zero_division=0.0, **options))


def _proba_matrix(y_proba: Any, rows: int, labels: list[Any]) -> np.ndarray:
    """Probabilities as ``[rows, classes]``; a 1-D array is the positive class of a binary model."""
    proba = np.asarray(y_proba, dtype=np.float64)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    if proba.ndim != 2 or proba.shape[0] != rows:
        raise InvalidInputError(
            f"The probabilities have shape {proba.shape} for {rows} labels; expected one row "
            "of class probabilities per label."
        )
    if proba.shape[1] != max(len(labels), 2):
        raise InvalidInputError(
            f"The probabilities have {proba.shape[1]} columns but the model has "
            f"{len(labels)} classes; pass the classes in probability column order."
        )
    return proba


def _from_proba(name: str, truth: np.ndarray, proba: np.ndarray, labels: list[Any]) -> float:
    skm = _sklearn_metrics()
    if name == "log_loss":
        return _quiet(name, lambda: skm.log_loss(truth, proba, labels=labels))
    if len(labels) <= 2:
        positive = positive_label(labels)
        column = labels.index(positive) if positive in labels else 1
        return _quiet(name, lambda: skm.roc_auc_score(truth == positive, proba[:, column]))
    return _quiet(
        name,
        lambda: skm.roc_auc_score(truth, proba, multi_class="ovr", average="macro", labels=labels),
    )


# -- regression -------------------------------------------------------------------------------


def _regression(name: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    try:
        y = truth.astype(np.float64)
        p = predicted.astype(np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"{name} needs numeric targets and predictions; the label column is not numeric."
        ) from None
    skm = _sklearn_metrics()
    function = {
        "mae": skm.mean_absolute_error,
        "rmse": skm.root_mean_squared_error,
        "r2": skm.r2_score,
    }[name]
    return _quiet(name, lambda: function(y, p))


# -- shared -----------------------------------------------------------------------------------


def _aligned(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(y_true)
    predicted = np.asarray(y_pred)
    if truth.ndim != 1 or predicted.ndim != 1:
        raise InvalidInputError(
            "Labels and predictions must be one value per row; multi-output models are not "
            "supported by gates."
        )
    if len(truth) != len(predicted):
        raise InvalidInputError(
            f"{len(truth)} labels but {len(predicted)} predictions; they must be one per row."
        )
    if len(truth) == 0:
        raise InvalidInputError("The evaluation data has no rows; pass a file with some.")
    return truth, predicted


def _quiet(name: str, compute: Any) -> float:
    """Run a scikit-learn metric; its errors and undefined results become InvalidInputError."""
    with _data_warnings_silenced():
        try:
            value = float(compute())
        except ValueError as exc:
            raise InvalidInputError(f"{name} could not be computed on this data: {exc}") from exc
    return _finite(name, value, "too few rows or classes")


@contextmanager
def _data_warnings_silenced() -> Iterator[None]:
    """Silence warnings about the data (undefined metrics, empty groups, division by zero).

    Undefined results come back as NaN and are reported as errors by ``_finite``; deprecation
    and future warnings still show, so an upgrade of scikit-learn or Fairlearn is noticed.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _finite(name: str, value: float, why: str) -> float:
    if not math.isfinite(value):
        raise InvalidInputError(f"{name} is undefined on this evaluation data ({why}).")
    return value


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (for messages and set membership)."""
    return value.item() if isinstance(value, np.generic) else value


def _sklearn_metrics() -> ModuleType:
    return importlib.import_module("sklearn.metrics")


def _fairlearn_metrics() -> ModuleType:
    try:
        return importlib.import_module("fairlearn.metrics")
    except ImportError as exc:
        raise MissingExtraError("Fairness gates", "monitoring", "fairlearn") from exc
