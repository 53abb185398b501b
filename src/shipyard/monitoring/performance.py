"""Performance from late ground truth: each version's metrics on the predictions that got feedback.

Per version (and optionally per equal-width time bucket) the gate metrics of
``shipyard.gates.metrics`` (scikit-learn's definitions), the label coverage and the difference
from the registry's validation metrics. Pure computation over arrays: no I/O, no SQL here; the
report's dataclasses live in ``performance_report`` (re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from shipyard.core.errors import InvalidInputError
from shipyard.gates.metrics import KNOWN_METRICS, Task, compute_metric, infer_task, metric_info
from shipyard.gates.metrics import positive_label as positive_class
from shipyard.monitoring.abtest import MAX_CLASSES
from shipyard.monitoring.outcomes import Outcomes
from shipyard.monitoring.performance_report import (
    MetricValue,
    PerformanceReport,
    TimeBucket,
    VersionPerformance,
)

__all__ = [
    "DEFAULT_METRICS",
    "LabelledPredictions",
    "MetricValue",
    "PerformanceReport",
    "TimeBucket",
    "VersionPerformance",
    "ensure_comparable",
    "performance",
    "value_kind",
]

DEFAULT_METRICS: Mapping[Task, tuple[str, ...]] = MappingProxyType(
    {
        Task.CLASSIFICATION: ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"),
        Task.REGRESSION: ("mae", "rmse", "r2"),
    }
)
"""Metrics computed when none are asked for, by task."""
MAX_BUCKETS = 1000
# Wording that reports carry and tests check.
NO_ROWS = "no labelled predictions"
TOO_FEW = "not enough labelled predictions ({n} < {min_rows})"
NO_PROBABILITIES = "{metric} needs predicted probabilities, which were not logged"
ONE_CLASS = "only one class ({label!r}) among the labels; {metric} needs both classes"
NO_POSITIVE_LABELS = "no label is the positive class {positive!r}, so {metric} is undefined"
NO_POSITIVE_PREDICTIONS = (
    "no prediction is the positive class {positive!r}, so precision is undefined"
)
LABEL_TYPE_MISMATCH = (
    "The labels are {label_kind} (e.g. {label!r}) but the predictions are {prediction_kind} "
    "(e.g. {prediction!r}), so they cannot be compared; record feedback labels with the type "
    "the model predicts."
)
MIXED_TYPES = (
    "The {what} mix numbers and text (e.g. {first!r} and {second!r}); use one type per column."
)
NOT_NUMERIC = (
    "A regression model needs numeric labels and predictions, but the {what} are text "
    "(e.g. {example!r}); pass task='classification' if this is a classifier."
)

Kind = Literal["number", "text", "mixed", "empty"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, eq=False)
class LabelledPredictions:
    """Predictions that received feedback, as arrays of one entry per row.

    Attributes:
        version: Model version that made each prediction (integers).
        prediction: The predicted label or value of each row.
        label: The ground truth that arrived later for each row.
        time: When each prediction was made (``datetime64``, UTC), or None if unknown (no
            time buckets then).
        probabilities: Class probabilities ``[rows, classes]`` (or ``[rows]`` for the positive
            class of a binary model), or None when the model does not log them.
        classes: Labels of the probability columns in column order, or None (then the sorted
            labels and predictions seen).
        endpoint: The endpoint the rows were logged under, for the report.
    """

    version: np.ndarray
    prediction: np.ndarray
    label: np.ndarray
    time: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    classes: tuple[Any, ...] | None = None
    endpoint: str = ""

    @classmethod
    def from_outcomes(
        cls,
        outcomes: Outcomes,
        *,
        probabilities: np.ndarray | None = None,
        classes: Sequence[Any] | None = None,
    ) -> LabelledPredictions:
        """The rows of ``outcomes``, with the probabilities logged for them if any."""
        return cls(
            version=outcomes.version,
            prediction=outcomes.prediction,
            label=outcomes.label,
            time=outcomes.time,
            probabilities=probabilities,
            classes=tuple(classes) if classes is not None else None,
            endpoint=outcomes.endpoint,
        )


def performance(
    data: LabelledPredictions | Outcomes,
    *,
    task: Task | str | None = None,
    metrics: Sequence[str] | None = None,
    predictions_total: Mapping[int, int] | None = None,
    validation: Mapping[int, Mapping[str, float]] | None = None,
    buckets: int | None = None,
    min_rows: int = 30,
) -> PerformanceReport:
    """Compute each version's metrics on its labelled predictions.

    Metrics are ``shipyard.gates.metrics.compute_metric`` (scikit-learn's definitions, as in
    the gates) with the classes of the whole data, so every slice scores the same positive
    class. A value that cannot be computed is None with a reason: probabilities not logged,
    one class only (ROC AUC), no positive label (recall, F1) or prediction (precision) in a
    binary slice, too few rows. Slices with fewer than ``min_rows`` rows keep their numbers
    but are flagged unreliable.

    Without ``task``: probabilities, classes, text or integer values mean classification;
    floats are classification when labels and predictions are all whole numbers with at most
    ``MAX_CLASSES`` distinct labels (``Outcomes`` stores 0/1 labels as floats), else regression.

    Args:
        data: Labelled predictions, or ``Outcomes`` (no probabilities then).
        task: ``"classification"`` or ``"regression"``; inferred when None.
        metrics: Names from ``KNOWN_METRICS`` of the task; default ``DEFAULT_METRICS[task]``.
        predictions_total: Predictions logged per version with or without a label (for the
            coverage); default the totals of ``Outcomes``, else unknown.
        validation: The registry's validation metrics per version.
        buckets: Number of equal-width time buckets over the data's time range, or None.
        min_rows: Labelled predictions a slice needs to be reliable (at least 1).

    Returns:
        The report: per version, and per time bucket when asked.

    Raises:
        InvalidInputError: arrays of different lengths, labels that cannot be compared with
            the predictions, NaN values, a metric unknown or of the other task, probabilities
            that do not fit the classes, or bad ``buckets``/``min_rows``.
    """
    rows = (
        data if isinstance(data, LabelledPredictions) else LabelledPredictions.from_outcomes(data)
    )
    if predictions_total is None and isinstance(data, Outcomes):
        predictions_total = data.predictions_total_by_version
    if min_rows < 1:
        raise InvalidInputError(f"min_rows must be at least 1, not {min_rows}.")
    if buckets is not None and not 1 <= buckets <= MAX_BUCKETS:
        raise InvalidInputError(f"buckets must be between 1 and {MAX_BUCKETS}, not {buckets}.")
    version, prediction, label = _columns(rows)
    ensure_comparable(prediction, label)
    chosen_task, inferred = _task(task, rows, prediction, label)
    names = _metric_names(metrics, chosen_task)
    classes: list[Any] | None = None
    proba = None
    if chosen_task == Task.CLASSIFICATION:
        classes = _classes(rows.classes, prediction, label)
        proba = _probabilities(rows.probabilities, len(label), classes)
    else:
        prediction, label = _numbers(prediction, "predictions"), _numbers(label, "labels")
    scorer = _Scorer(chosen_task, names, prediction, label, proba, classes, min_rows)
    totals = dict(predictions_total or {})
    versions = sorted({int(v) for v in version} | {int(v) for v in totals})
    checks = {v: _validation(validation, v) for v in versions}
    entries = tuple(
        scorer.slice(
            v, version == v, totals.get(v) if predictions_total is not None else None, checks[v]
        )
        for v in versions
    )
    times = _times(rows.time, len(version), buckets)
    return PerformanceReport(
        endpoint=rows.endpoint,
        task=chosen_task,
        is_task_inferred=inferred,
        metrics=names,
        min_rows=min_rows,
        first_time=_instant(int(times.min())) if times is not None and len(times) else None,
        last_time=_instant(int(times.max())) if times is not None and len(times) else None,
        versions=entries,
        buckets=_buckets(scorer, version, versions, times, buckets, checks),
    )


def value_kind(values: np.ndarray) -> Kind:
    """Whether an array holds numbers (booleans included), text, a mix of both, or nothing."""
    if len(values) == 0:
        return "empty"
    if values.dtype.kind in "biuf":
        return "number"
    if values.dtype.kind in "US":
        return "text"
    texts = sum(isinstance(v, str | bytes) for v in values)
    if texts == 0:
        return "number"
    return "text" if texts == len(values) else "mixed"


def ensure_comparable(prediction: np.ndarray, label: np.ndarray) -> None:
    """Refuse labels and predictions of different types (numbers and text).

    Raises:
        InvalidInputError: one side mixes numbers and text, or the two sides differ.
    """
    for what, values in (("labels", label), ("predictions", prediction)):
        if value_kind(values) == "mixed":
            texts = [v for v in values if isinstance(v, str | bytes)]
            numbers = [v for v in values if not isinstance(v, str | bytes)]
            raise InvalidInputError(
                MIXED_TYPES.format(what=what, first=_plain(numbers[0]), second=texts[0])
            )
    label_kind, prediction_kind = value_kind(label), value_kind(prediction)
    if "empty" not in (label_kind, prediction_kind) and label_kind != prediction_kind:
        raise InvalidInputError(
            LABEL_TYPE_MISMATCH.format(
                label_kind=label_kind if label_kind == "text" else "numbers",
                label=_plain(label[0]),
                prediction_kind=prediction_kind if prediction_kind == "text" else "numbers",
                prediction=_plain(prediction[0]),
            )
        )


# -- one slice of rows ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class _Scorer:
    """The validated columns and options, scoring any subset of rows."""

    task: Task
    names: tuple[str, ...]
    prediction: np.ndarray
    label: np.ndarray
    proba: np.ndarray | None
    classes: list[Any] | None
    min_rows: int

    def slice(
        self, version: int, mask: np.ndarray, total: int | None, validation: Mapping[str, float]
    ) -> VersionPerformance:
        n = int(np.count_nonzero(mask))
        if total is not None:
            total = max(total, n)  # hand-built totals may miss rows; a labelled row was logged
        values = tuple(self._metric(name, mask, n, validation.get(name)) for name in self.names)
        note = None if n >= self.min_rows else TOO_FEW.format(n=n, min_rows=self.min_rows)
        return VersionPerformance(
            version=version,
            n=n,
            predictions_total=total,
            label_coverage=n / total if total else None,
            metrics=values,
            validation=validation,
            is_reliable=note is None,
            note=note,
        )

    def _metric(self, name: str, mask: np.ndarray, n: int, check: float | None) -> MetricValue:
        info = KNOWN_METRICS[name]
        value: float | None = None
        reason = self._undefined(name, mask, n)
        if reason is None:
            proba = self.proba[mask] if self.proba is not None else None
            try:
                value = compute_metric(
                    name,
                    self.label[mask],
                    self.prediction[mask],
                    proba,
                    self.classes,
                    task=self.task,
                )
            except InvalidInputError as exc:  # undefined on this slice (validated inputs)
                reason = exc.message
        difference = value - check if value is not None and check is not None else None
        return MetricValue(name, value, reason, info.higher_is_better, check, difference)

    def _undefined(self, name: str, mask: np.ndarray, n: int) -> str | None:
        """Why ``name`` cannot be computed on these rows, when that is known beforehand."""
        if n == 0:
            return NO_ROWS
        if KNOWN_METRICS[name].needs_proba and self.proba is None:
            return NO_PROBABILITIES.format(metric=name)
        if self.classes is None:
            return None
        labels = self.label[mask]
        seen = np.unique(labels)
        if name == "roc_auc" and len(seen) < 2:
            return ONE_CLASS.format(label=_plain(seen[0]), metric=name)
        if len(self.classes) > 2 or name not in ("precision", "recall", "f1"):
            return None
        # scikit-learn reports 0 here (zero_division=0), a number that would read as "bad".
        positive = _plain(positive_class(self.classes))
        has_positive_label = bool(np.any(labels == positive))
        has_positive_prediction = bool(np.any(self.prediction[mask] == positive))
        if name == "precision" and not has_positive_prediction:
            return NO_POSITIVE_PREDICTIONS.format(positive=positive)
        if name in ("recall", "f1") and not has_positive_label:
            if name == "f1" and has_positive_prediction:
                return None  # f1 is 0 then: false positives and no true positive, well defined
            return NO_POSITIVE_LABELS.format(positive=positive, metric=name)
        return None


# -- validation of the input ------------------------------------------------------------------


def _columns(rows: LabelledPredictions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    version = np.asarray(rows.version)
    prediction = np.asarray(rows.prediction)
    label = np.asarray(rows.label)
    if version.ndim != 1 or prediction.ndim != 1 or label.ndim != 1:
        raise InvalidInputError(
            "Versions, predictions and labels must be one value per row; multi-output models "
            "are not supported."
        )
    if not len(version) == len(prediction) == len(label):
        raise InvalidInputError(
            f"{len(version)} versions, {len(prediction)} predictions and {len(label)} labels: "
            "they must be one per row."
        )
    if len(version) and version.dtype.kind not in "iu":
        raise InvalidInputError(f"Versions must be integers, not {version.dtype}.")
    for what, values in (("labels", label), ("predictions", prediction)):
        missing = _missing(values)
        if missing:
            raise InvalidInputError(
                f"{missing} {what} are missing or not finite (NaN or infinity); "
                "keep only predictions that received a label."
            )
    return version, prediction, label


def _numbers(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as float64 for a regression metric."""
    if value_kind(values) == "text":
        raise InvalidInputError(NOT_NUMERIC.format(what=what, example=_plain(values[0])))
    return values.astype(np.float64)


def _missing(values: np.ndarray) -> int:
    """How many values are None, NaN or infinite."""
    if values.dtype.kind == "f":
        return int(np.count_nonzero(~np.isfinite(values)))
    if values.dtype.kind != "O":
        return 0
    return sum(
        v is None or (isinstance(v, float | np.floating) and not math.isfinite(v)) for v in values
    )


def _task(
    task: Task | str | None, rows: LabelledPredictions, prediction: np.ndarray, label: np.ndarray
) -> tuple[Task, bool]:
    if task is not None:
        try:
            return Task(task), False
        except ValueError:
            raise InvalidInputError(
                f"Unknown task {task!r}: use 'classification' or 'regression'."
            ) from None
    guess = infer_task(prediction, rows.probabilities, rows.classes)
    if guess == Task.REGRESSION and prediction.dtype.kind == "f" and label.dtype.kind in "fiub":
        # Outcomes hold 0/1 labels as floats: whole numbers with few labels mean classes.
        both = np.concatenate([prediction, label.astype(np.float64)])
        if np.all(both == np.round(both)) and len(np.unique(label)) <= MAX_CLASSES:
            guess = Task.CLASSIFICATION
    return guess, True


def _metric_names(metrics: Sequence[str] | None, task: Task) -> tuple[str, ...]:
    if metrics is None:
        return DEFAULT_METRICS[task]
    names = tuple(dict.fromkeys(metrics))
    if not names:
        raise InvalidInputError("No metric asked for: name at least one, or pass None.")
    for name in names:
        info = metric_info(name)
        if info.task != task:
            use = ", ".join(m.name for m in KNOWN_METRICS.values() if m.task == task)
            raise InvalidInputError(
                f"{name} is a {info.task} metric but this is a {task} model; use one of: {use}."
            )
    return names


def _classes(classes: Sequence[Any] | None, prediction: np.ndarray, label: np.ndarray) -> list[Any]:
    seen = [_plain(v) for v in np.unique(np.concatenate([label, prediction]))]
    if classes is None:
        return seen
    known = [_plain(c) for c in classes]
    unknown = [v for v in seen if v not in set(known)]
    if unknown:
        shown = ", ".join(repr(v) for v in unknown[:5])
        raise InvalidInputError(
            f"The labels or predictions hold values that are not among the model's classes: "
            f"{shown} (classes: {', '.join(repr(c) for c in known[:10])}); check the label column."
        )
    return known


def _probabilities(proba: np.ndarray | None, rows: int, classes: list[Any]) -> np.ndarray | None:
    if proba is None:
        return None
    matrix = np.asarray(proba, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = np.column_stack([1.0 - matrix, matrix])
    if matrix.ndim != 2 or matrix.shape[0] != rows:
        raise InvalidInputError(
            f"The probabilities have shape {np.shape(proba)} for {rows} labelled predictions; "
            "expected one row of class probabilities per prediction."
        )
    if matrix.shape[1] != max(len(classes), 2):
        raise InvalidInputError(
            f"The probabilities have {matrix.shape[1]} columns but {len(classes)} classes are "
            "known; pass the model's classes in probability column order."
        )
    if not np.all(np.isfinite(matrix)):
        raise InvalidInputError(
            "Some probabilities are missing (NaN); pass probabilities for every row or none."
        )
    return matrix


def _validation(
    validation: Mapping[int, Mapping[str, Any]] | None, version: int
) -> Mapping[str, float]:
    """The registry's finite numeric validation metrics of ``version``."""
    found = (validation or {}).get(version) or {}
    numbers = {
        str(name): float(value)
        for name, value in found.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }
    return MappingProxyType(dict(sorted(numbers.items())))


# -- time buckets -----------------------------------------------------------------------------


def _times(time: np.ndarray | None, rows: int, buckets: int | None) -> np.ndarray | None:
    """Prediction times as int64 microseconds since the epoch, or None when unknown."""
    if time is None:
        if buckets is not None:
            raise InvalidInputError("Time buckets need the time of each prediction; none given.")
        return None
    values = np.asarray(time)
    if values.dtype.kind != "M" or values.shape != (rows,):
        raise InvalidInputError(
            f"Times must be one datetime64 per row ({rows}), not {values.dtype} of shape "
            f"{values.shape}."
        )
    if np.any(np.isnat(values)):
        raise InvalidInputError("Some prediction times are missing (NaT).")
    return values.astype("datetime64[us]").astype(np.int64)


def _buckets(
    scorer: _Scorer,
    version: np.ndarray,
    versions: list[int],
    times: np.ndarray | None,
    count: int | None,
    checks: Mapping[int, Mapping[str, float]],
) -> tuple[TimeBucket, ...]:
    """Equal-width buckets over [first, last] time; bucket i is [start_i, start_i+1)."""
    if count is None or times is None or len(times) == 0:
        return ()
    first, span = int(times.min()), int(times.max() - times.min())
    count = count if span > 0 else 1  # all rows at one instant: one bucket
    # Bucket i holds i <= (t - first) * count / span < i + 1, i.e. t >= first + ceil(span*i/count)
    index = np.minimum((times - first) * count // max(span, 1), count - 1)
    edges = [first - (-span * i // count) for i in range(count)] + [first + span]
    result = []
    for i in range(count):
        in_bucket = index == i
        entries = tuple(
            scorer.slice(v, in_bucket & (version == v), None, checks[v]) for v in versions
        )
        result.append(TimeBucket(_instant(edges[i]), _instant(edges[i + 1]), entries))
    return tuple(result)


# -- shared -----------------------------------------------------------------------------------


def _instant(microseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=microseconds)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (for messages, JSON and comparisons)."""
    return value.item() if isinstance(value, np.generic) else value
