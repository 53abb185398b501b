"""Analyses of an endpoint's prediction log: A/B, performance, fairness (``shipyard ab|monitor``).

Each joins the endpoint's prediction log with the feedback that arrived for it (or reads a
window of the log) and hands arrays to the pure engines of ``shipyard.monitoring``. Shadow
answers are left out: they were never returned, so they have no outcome of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import (
    EndpointNotFoundError,
    InvalidInputError,
    ModelNotFoundError,
    VersionNotFoundError,
)
from shipyard.monitoring.outcomes import PROBABILITIES

if TYPE_CHECKING:
    from shipyard.monitoring import ABReport, Outcomes
    from shipyard.monitoring.drift import DriftReport
    from shipyard.monitoring.fairness import FairnessReport
    from shipyard.monitoring.performance import PerformanceReport
    from shipyard.registry.service import Registry


def ab_report(
    registry: Registry,
    endpoint: str,
    *,
    metric: str | None = None,
    confidence: float = 0.95,
    min_samples: int = 30,
    since: datetime | None = None,
    until: datetime | None = None,
    log_root: Path | None = None,
) -> ABReport:
    """Compare ``endpoint``'s versions on feedback: per-version metric, CI, difference, p-value.

    Args:
        registry: Where the endpoint is defined (its home holds the logs by default).
        endpoint: An endpoint, or a model served under its own name.
        metric: ``accuracy``, ``error_rate``, ``mae`` or ``mse`` (default: from the labels).
        confidence: Level of the intervals, e.g. 0.95.
        min_samples: Outcomes per version below which the report says there is not enough data.
        since: Only predictions made at or after this time.
        until: Only predictions made before this time.
        log_root: The prediction log directory (default ``$SHIPYARD_HOME/logs``).

    Raises:
        EndpointNotFoundError: neither an endpoint nor a model of that name.
        InvalidInputError: bad ``confidence``/``min_samples``/window.
        MissingExtraError: the ``monitoring`` extra is not installed.
    """
    if not 0.5 <= confidence < 1:
        raise InvalidInputError(f"--confidence must be in [0.5, 1), e.g. 0.95; got {confidence}.")
    model_of(registry, endpoint)
    from shipyard.monitoring import compare_versions, load_outcomes

    root = log_root or registry.settings.home / "logs"
    outcomes = load_outcomes(root, endpoint, since=since, until=until)
    return compare_versions(outcomes, metric=metric, confidence=confidence, min_samples=min_samples)


def performance_report(
    registry: Registry,
    endpoint: str,
    *,
    version: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    metrics: list[str] | None = None,
    buckets: int | None = None,
    min_rows: int | None = None,
    log_root: Path | None = None,
) -> PerformanceReport:
    """How each version's predictions hold up against the labels that arrived for them.

    Per version: labelled rows, label coverage, each metric, and the difference from the
    metrics recorded at registration (``--metric``); ``buckets`` splits the window in time.
    ``min_rows`` None takes the model's monitoring settings (``performance.min_rows``).

    Raises:
        EndpointNotFoundError, InvalidInputError, MissingExtraError.
    """
    from shipyard.monitoring import load_outcomes
    from shipyard.monitoring.performance import LabelledPredictions, performance

    model = model_of(registry, endpoint)
    if min_rows is None:
        min_rows = registry.monitoring_settings.settings(model).performance_min_rows
    root = log_root or registry.settings.home / "logs"
    outcomes = load_outcomes(root, endpoint, since=since, until=until, columns=[PROBABILITIES])
    if version is not None:
        outcomes = outcomes.of_version(version)
    validation = {v: _validation_metrics(registry, model, v) for v in outcomes.versions}
    matrix, classes = _probabilities(registry, model, outcomes)
    data = LabelledPredictions.from_outcomes(outcomes, probabilities=matrix, classes=classes)
    return performance(
        data,
        predictions_total=outcomes.predictions_total_by_version,
        metrics=metrics,
        validation=validation,
        buckets=buckets,
        min_rows=min_rows,
    )


def _probabilities(
    registry: Registry, model: str, outcomes: Outcomes
) -> tuple[np.ndarray | None, list[Any] | None]:
    """The logged class probabilities as a matrix, when every row has them in one class order.

    Rows of a request that did not ask for probabilities have none; then ROC AUC and log loss
    say so rather than being computed on part of the window.
    """
    rows = outcomes.extra.get(PROBABILITIES)
    if rows is None or len(rows) == 0 or any(r is None for r in rows):
        return None, None
    orders = set()
    for number in outcomes.versions:
        try:
            signature = registry.get_version(model, number).signature
        except VersionNotFoundError:
            return None, None
        orders.add(tuple(signature.classes) if signature and signature.classes else None)
    if len(orders) != 1 or None in orders:
        return None, None  # versions disagree on the classes: columns are not comparable
    classes = list(next(iter(orders)))  # type: ignore[arg-type]
    widths = {len(r) for r in rows}
    if widths != {len(classes)}:
        return None, None
    return np.vstack([np.asarray(r, dtype=np.float64) for r in rows]), classes


def fairness_report(
    registry: Registry,
    endpoint: str,
    sensitive: str,
    *,
    version: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_group_rows: int | None = None,
    log_root: Path | None = None,
) -> FairnessReport:
    """Outcomes by group of a sensitive attribute: rates per group and Fairlearn's gaps.

    ``sensitive`` names an input feature, or a request metadata field (``metadata.<field>``,
    or a bare name that is not a feature). Only predictions with feedback count.
    ``min_group_rows`` None takes the model's monitoring settings (``fairness.min_group_rows``).

    Raises:
        EndpointNotFoundError, InvalidInputError (absent attribute, not binary), MissingExtraError.
    """
    from shipyard.monitoring import load_outcomes
    from shipyard.monitoring.fairness import fairness

    model = model_of(registry, endpoint)
    if min_group_rows is None:
        min_group_rows = registry.monitoring_settings.settings(model).fairness_min_group_rows
    root = log_root or registry.settings.home / "logs"
    column = sensitive
    outcomes = load_outcomes(root, endpoint, since=since, until=until, columns=[column])
    values = outcomes.extra[column]
    if len(values) and all(v is None for v in values) and not column.startswith("metadata."):
        column = f"metadata.{sensitive}"  # not a feature: look in the request metadata
        outcomes = load_outcomes(root, endpoint, since=since, until=until, columns=[column])
        values = outcomes.extra[column]
    if len(outcomes) == 0:
        raise InvalidInputError(
            f"No prediction of endpoint {endpoint!r} has feedback in this window, so outcomes "
            "by group cannot be compared yet. Send labels to /v1/feedback (or `shipyard "
            "feedback`), or widen the window."
        )
    if version is not None:
        outcomes = outcomes.of_version(version)
        values = outcomes.extra[column]
    return fairness(
        outcomes.label,
        outcomes.prediction,
        values if len(values) else None,
        attribute=sensitive,
        min_group_rows=min_group_rows,
    )


@dataclass(frozen=True, slots=True)
class EndpointDrift:
    """A drift report of one endpoint's version against that version's reference data."""

    endpoint: str
    model: str
    version: int
    report: DriftReport

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the report, with what was compared."""
        return {
            "endpoint": self.endpoint,
            "model": self.model,
            "version": self.version,
            **self.report.to_dict(),
        }


def drift_report(
    registry: Registry,
    endpoint: str,
    *,
    version: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    last: int | None = None,
    evidently_compatible: bool | None = None,
    log_root: Path | None = None,
) -> EndpointDrift:
    """Which inputs and outputs of ``endpoint`` drifted from the version's reference data.

    Compares the logged inputs and predictions of one version (default: the one with most
    of the endpoint's traffic) in the window with the reference sample stored at its
    registration, column by column (``shipyard.monitoring.drift``), with the model's monitoring
    settings (methods, thresholds, ``drift_share``, ``min_rows``; per-column settings for
    columns this version lacks are left out). ``evidently_compatible`` None takes the
    settings' ``evidently``; True or False overrides it.

    Raises:
        EndpointNotFoundError, InvalidInputError (no reference data), MissingExtraError.
    """
    from shipyard.monitoring.drift import dataset_drift
    from shipyard.monitoring.window import load_window

    model = model_of(registry, endpoint)
    number = version if version is not None else _serving_version(registry, endpoint, model)
    reference = registry.reference_table(registry.get_version(model, number))
    root = log_root or registry.settings.home / "logs"
    window = load_window(root, endpoint, version=number, since=since, until=until, last=last)
    if len(window) == 0:
        raise InvalidInputError(
            f"Endpoint {endpoint!r} logged no prediction of {model}:{number} in this window, "
            "so there is nothing to compare with its reference data yet. Widen the window "
            "(--window), or pick another --version."
        )
    inputs = set(_inputs(registry, model, number)) | set(window.features)
    names = [c for c in reference.column_names if c in inputs]
    columns = [*names, "prediction"]
    current = {c: window.table.column(c) for c in columns if c in window.table.column_names}
    expected = {c: reference.column(c) for c in columns if c in reference.column_names}
    options = registry.monitoring_settings.settings(model).drift_options(
        evidently_compatible=evidently_compatible, columns=set(expected) | set(current)
    )
    return EndpointDrift(endpoint, model, number, dataset_drift(expected, current, options=options))


def model_of(registry: Registry, endpoint: str) -> str:
    """The model an endpoint serves (an endpoint, or a model served under its own name).

    Raises:
        EndpointNotFoundError: neither exists.
    """
    try:
        return registry.endpoints.get(endpoint).model
    except EndpointNotFoundError:
        try:
            return registry.get_model(endpoint).name  # a model served under its own name
        except ModelNotFoundError:
            raise EndpointNotFoundError(
                f"No endpoint named {endpoint!r}. `shipyard endpoints list` shows them."
            ) from None


def _serving_version(registry: Registry, endpoint: str, model: str) -> int:
    """The version with most of the endpoint's traffic, or the model's production version."""
    try:
        policy = registry.endpoints.get(endpoint).policy
    except EndpointNotFoundError:
        policy = None
    if policy is not None:
        weights = policy.weights()
        return max(weights, key=lambda v: (weights[v], v))
    production = registry.get_model(model).production_version
    if production is None:
        raise InvalidInputError(
            f"Endpoint {endpoint!r} serves no version now; name the one to check with --version."
        )
    return production


def _inputs(registry: Registry, model: str, version: int) -> list[str]:
    signature = registry.get_version(model, version).signature
    return signature.input_names if signature else []


def _validation_metrics(registry: Registry, model: str, version: int) -> dict[str, float]:
    try:
        return dict(registry.get_version(model, version).lineage.metrics)
    except VersionNotFoundError:  # logged by a version deleted since: nothing to compare
        return {}
