"""Evaluation of a gate policy against the evidence about one model version.

``evaluate(policy, context)`` is a pure function: the caller loads the models, reads the data
and the pilot record and passes arrays in a ``GateContext``; this module only measures and
compares. A policy demands evidence, so a check whose evidence is missing fails (it is skipped
only when there is nothing to compare with, or the policy says so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipyard.core.errors import InvalidInputError
from shipyard.core.types import DType, Signature
from shipyard.gates.metrics import (
    KNOWN_METRICS,
    Task,
    compute_fairness,
    compute_metric,
)
from shipyard.gates.policy import (
    ChampionRule,
    FairnessRule,
    GatePolicy,
    LatencyBudget,
    MetricThreshold,
    SchemaMode,
)

MISSING_DATA = (
    "no evaluation data to measure {what}: pass --data FILE (with the label column) so the gate "
    "can check it"
)
NO_CHAMPION = "no version in production yet: nothing to compare with"
NO_PILOT = "no pilot load test on record for {ref}: run shipyard pilot {ref}"
NO_SENSITIVE = (
    "no sensitive column named for {metric}: list the columns under fairness.sensitive in the "
    "policy, or pass --sensitive COL"
)
MISSING_SENSITIVE = (
    "sensitive column {column!r} is not in the evaluation data: add it to the --data file or "
    "remove it from fairness.sensitive"
)

# Values a production caller may send for the champion's dtype that the candidate's dtype also
# accepts (serving/schema.py `_fits`): integers are valid doubles; ISO date-times are strings.
_WIDENINGS = frozenset({(DType.LONG, DType.DOUBLE), (DType.DATETIME, DType.STRING)})


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one gate check.

    Attributes:
        name: ``metric:accuracy``, ``champion:accuracy``,
            ``fairness:demographic_parity_difference[sex]``, ``latency:p99``, ``schema`` or
            ``integrity``.
        passed: True if the check passed (or was skipped).
        observed: The measured value, a short word for non-numeric checks, or None.
        limit: The bound as people read it (``>= 0.9``), or None.
        message: One sentence saying what was found and, on failure, what to do.
        skipped: True if there was nothing to check (no champion, check turned off).
    """

    name: str
    passed: bool
    observed: float | str | None
    limit: str | None
    message: str
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "passed": self.passed,
            "skipped": self.skipped,
            "observed": self.observed,
            "limit": self.limit,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=data["name"],
            passed=bool(data["passed"]),
            observed=data.get("observed"),
            limit=data.get("limit"),
            message=data["message"],
            skipped=bool(data.get("skipped", False)),
        )


@dataclass(frozen=True, slots=True)
class GateReport:
    """Every check of one evaluation; ``passed`` when no non-skipped check failed."""

    ref: str
    passed: bool
    checks: tuple[CheckResult, ...]

    @classmethod
    def of(cls, ref: str, checks: Sequence[CheckResult]) -> GateReport:
        """A report whose ``passed`` is derived from ``checks``."""
        checks = tuple(checks)
        return cls(ref, all(c.passed or c.skipped for c in checks), checks)

    def failed(self) -> list[CheckResult]:
        """The checks that failed, in report order."""
        return [c for c in self.checks if not c.passed and not c.skipped]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` shape of ``gate check``)."""
        return {
            "ref": self.ref,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateReport:
        """Inverse of :meth:`to_dict`."""
        return cls(
            ref=data["ref"],
            passed=bool(data["passed"]),
            checks=tuple(CheckResult.from_dict(c) for c in data.get("checks", [])),
        )


@dataclass(frozen=True, kw_only=True, eq=False)
class GateContext:
    """The evidence about a candidate version that a policy is checked against.

    Arrays are aligned row by row with ``labels``. ``labels`` is None when no evaluation data
    was given; every check that needs data then fails saying so.

    Attributes:
        ref: The candidate, ``name:version``.
        integrity_ok: The artifact's bytes hash to the recorded SHA-256.
        integrity_message: What the integrity verification found, in one sentence.
        labels: Ground truth of the evaluation data.
        predictions: The candidate's predictions on that data.
        probabilities: The candidate's ``predict_proba`` output ``[rows, classes]``, if any.
        classes: Class labels in probability column order (None for regressors or if unknown).
        sensitive: Sensitive column name to its values on the evaluation data.
        champion_ref: The production version, or None if there is none or it is the candidate.
        champion_predictions: The champion's predictions on the same data.
        champion_probabilities: The champion's probabilities on the same data.
        champion_classes: The champion's class labels (defaults to ``classes``).
        pilot_p99_ms: p99 latency of the candidate's last pilot load test, if any.
        signature: The candidate's signature, if recorded.
        champion_signature: The champion's signature, if recorded.
        signature_verified: True/False if the artifact's signature was checked, None if the
            artifact is unsigned.
        signature_message: What the signature check found (the signer, or why it failed).
        task: Classification or regression; inferred from the predictions when None.
    """

    ref: str
    integrity_ok: bool
    integrity_message: str
    labels: np.ndarray | None = None
    predictions: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    classes: Sequence[Any] | None = None
    sensitive: Mapping[str, np.ndarray] = field(default_factory=dict)
    champion_ref: str | None = None
    champion_predictions: np.ndarray | None = None
    champion_probabilities: np.ndarray | None = None
    champion_classes: Sequence[Any] | None = None
    pilot_p99_ms: float | None = None
    signature: Signature | None = None
    champion_signature: Signature | None = None
    signature_verified: bool | None = None
    signature_message: str | None = None
    task: Task | None = None


def evaluate(policy: GatePolicy, context: GateContext) -> GateReport:
    """Check ``context`` against every rule of ``policy``.

    Checks come in a fixed order: integrity, schema, metrics (in policy order), champion,
    fairness (per limit, per sensitive column), latency. Approvals are not a check of the
    version's evidence; promotion enforces them.

    Returns:
        The report; a metric that cannot be computed on the given data fails its check with
        the reason rather than raising.

    Raises:
        MissingExtraError: if the policy has fairness limits and Fairlearn is not installed.
    """
    checks = [_integrity(policy, context), _schema(policy, context)]
    measured: dict[str, float | InvalidInputError] = {}
    checks.extend(_metric(t, context, measured) for t in policy.metrics)
    if policy.champion is not None:
        checks.append(_champion(policy.champion, context, measured))
    if policy.fairness is not None:
        checks.extend(_fairness(policy.fairness, context))
    if policy.latency is not None:
        checks.append(_latency(policy.latency, context))
    return GateReport.of(context.ref, checks)


def signature_differences(candidate: Signature, champion: Signature) -> list[str]:
    """Why requests production accepts today could be refused or misread by the candidate.

    Callers send what the champion accepts: every input of the candidate must be one of the
    champion's, with a dtype that accepts the champion's values (the same, or long → double,
    or datetime → string) and nulls wherever the champion allows them. The serving layer
    refuses fields a model does not take, so an input the candidate drops breaks callers too,
    and a different order misreads positional rows.

    Returns:
        One phrase per difference, naming the feature; empty when compatible.
    """
    old = {c.name: c for c in champion.inputs}
    new = {c.name: c for c in candidate.inputs}
    problems = []
    for spec in candidate.inputs:
        before = old.get(spec.name)
        if before is None:
            problems.append(f"{spec.name!r} is new, and production callers do not send it")
            continue
        if before.dtype != spec.dtype and (before.dtype, spec.dtype) not in _WIDENINGS:
            problems.append(
                f"{spec.name!r} changed type {before.dtype} → {spec.dtype} (only widening "
                "long → double is compatible)"
            )
        if before.nullable and not spec.nullable:
            problems.append(f"{spec.name!r} no longer accepts nulls")
    dropped = [n for n in old if n not in new]
    problems.extend(
        f"{name!r} is dropped, and serving refuses the field production callers send"
        for name in dropped
    )
    if not problems and candidate.input_names != champion.input_names:
        problems.append(
            "the inputs are in a different order, so positional rows [v1, v2, …] would be "
            f"misread (production: {', '.join(champion.input_names)})"
        )
    return problems


# -- checks -----------------------------------------------------------------------------------


def _integrity(policy: GatePolicy, context: GateContext) -> CheckResult:
    if not context.integrity_ok:
        return CheckResult("integrity", False, "mismatch", "verified", context.integrity_message)
    if not policy.require_signature:
        return CheckResult("integrity", True, "verified", "verified", context.integrity_message)
    limit = "verified and signed"
    if context.signature_verified is None:
        message = (
            f"{context.ref} is not signed, and the policy requires a signature: register it "
            "with --sign-key FILE"
        )
        return CheckResult("integrity", False, "unsigned", limit, message)
    if not context.signature_verified:
        message = context.signature_message or (
            f"the signature of {context.ref} does not verify: the artifact or its signature "
            "was altered, or it was signed with another key"
        )
        return CheckResult("integrity", False, "bad signature", limit, message)
    message = f"{context.integrity_message}; {context.signature_message or 'signature verified'}"
    return CheckResult("integrity", True, "signed", limit, message)


def _schema(policy: GatePolicy, context: GateContext) -> CheckResult:
    def skipped(message: str) -> CheckResult:
        return CheckResult("schema", True, None, None, message, skipped=True)

    if policy.schema == SchemaMode.IGNORE:
        return skipped("schema check turned off by the policy (schema: ignore)")
    champion = context.champion_ref
    if champion is None:
        return skipped(NO_CHAMPION)
    if context.signature is None or context.champion_signature is None:
        which = context.ref if context.signature is None else champion
        return skipped(
            f"{which} has no recorded signature, so the schemas cannot be compared "
            "(register with --sample-data to record one)"
        )
    limit = f"compatible with {champion}"
    problems = signature_differences(context.signature, context.champion_signature)
    if problems:
        message = (
            f"{context.ref} would refuse or misread requests production ({champion}) accepts: "
            + "; ".join(problems)
        )
        return CheckResult("schema", False, "incompatible", limit, message)
    message = f"{context.ref} accepts every request production ({champion}) accepts"
    return CheckResult("schema", True, "compatible", limit, message)


def _metric(
    threshold: MetricThreshold,
    context: GateContext,
    measured: dict[str, float | InvalidInputError],
) -> CheckResult:
    name, limit = threshold.metric, threshold.describe()
    check = f"metric:{name}"
    missing = _missing_data(context, name)
    if missing:
        return CheckResult(check, False, None, limit, missing)
    value = _measure_candidate(name, context, measured)
    if isinstance(value, InvalidInputError):
        return CheckResult(check, False, None, limit, _sentence(value))
    if threshold.min is not None and value < threshold.min:
        shown, bound = _against_limit(value, threshold.min)
        return CheckResult(
            check, False, value, limit, f"{name} {shown} is below the minimum {bound}"
        )
    if threshold.max is not None and value > threshold.max:
        shown, bound = _against_limit(value, threshold.max)
        return CheckResult(
            check, False, value, limit, f"{name} {shown} is above the maximum {bound}"
        )
    nearest = threshold.min if threshold.min is not None else threshold.max
    shown, _ = _pair(value, nearest if nearest is not None else value)
    return CheckResult(check, True, value, limit, f"{name} {shown} {limit}")


def _champion(
    rule: ChampionRule, context: GateContext, measured: dict[str, float | InvalidInputError]
) -> CheckResult:
    name, champion = rule.metric, context.champion_ref
    check = f"champion:{name}"
    if champion is None:
        return CheckResult(check, True, None, None, NO_CHAMPION, skipped=True)
    missing = _missing_data(context, name)
    if missing:
        return CheckResult(check, False, None, None, missing)
    if context.champion_predictions is None:
        message = f"no predictions of the champion {champion} on the evaluation data to compare"
        return CheckResult(check, False, None, None, message)
    candidate = _measure_candidate(name, context, measured)
    if isinstance(candidate, InvalidInputError):
        return CheckResult(check, False, None, None, _sentence(candidate))
    try:
        incumbent = compute_metric(
            name,
            context.labels,
            context.champion_predictions,
            context.champion_probabilities,
            context.champion_classes if context.champion_classes is not None else context.classes,
            task=context.task,
        )
    except InvalidInputError as exc:
        return CheckResult(check, False, candidate, None, f"champion {champion}: {_sentence(exc)}")
    higher = KNOWN_METRICS[name].higher_is_better
    worse_by = incumbent - candidate if higher else candidate - incumbent
    allowed = rule.max_regression
    bound = incumbent - allowed if higher else incumbent + allowed
    limit = f"{'>=' if higher else '<='} {_pair(bound, bound)[0]}"
    shown, theirs = _pair(candidate, incumbent)
    head = f"{name} {shown} vs {theirs} for champion {champion}"
    tolerance = 1e-9 * max(1.0, abs(incumbent))  # float noise must not fail an exact tie
    if worse_by <= tolerance:
        return CheckResult(check, True, candidate, limit, f"{head}: no worse")
    margin = f"{_pair(worse_by, allowed)[0]} worse"
    if worse_by <= allowed + tolerance:
        message = f"{head}: {margin}, within the allowed regression {_pair(allowed, worse_by)[0]}"
        return CheckResult(check, True, candidate, limit, message)
    message = f"{head}: {margin}, more than the allowed regression {_pair(allowed, worse_by)[0]}"
    return CheckResult(check, False, candidate, limit, message)


def _fairness(rule: FairnessRule, context: GateContext) -> list[CheckResult]:
    results = []
    for limit in rule.limits:
        bound = f"<= {_pair(limit.max, limit.max)[0]}"
        if not rule.sensitive:
            message = NO_SENSITIVE.format(metric=limit.metric)
            results.append(CheckResult(f"fairness:{limit.metric}", False, None, bound, message))
            continue
        for column in rule.sensitive:
            check = f"fairness:{limit.metric}[{column}]"
            missing = _missing_data(context, limit.metric)
            if missing:
                results.append(CheckResult(check, False, None, bound, missing))
                continue
            if column not in context.sensitive:
                message = MISSING_SENSITIVE.format(column=column)
                results.append(CheckResult(check, False, None, bound, message))
                continue
            try:
                value = compute_fairness(
                    limit.metric,
                    context.labels,
                    context.predictions,
                    context.sensitive[column],
                    context.classes,
                    task=context.task,
                )
            except InvalidInputError as exc:
                results.append(CheckResult(check, False, None, bound, _sentence(exc)))
                continue
            shown, top = _against_limit(value, limit.max)
            what = f"{limit.metric} across {column}"
            if value > limit.max:
                message = f"{what} {shown} is above the maximum {top}"
                results.append(CheckResult(check, False, value, bound, message))
            else:
                results.append(CheckResult(check, True, value, bound, f"{what} {shown} {bound}"))
    return results


def _latency(budget: LatencyBudget, context: GateContext) -> CheckResult:
    limit = f"<= {_pair(budget.p99_ms, budget.p99_ms)[0]} ms"
    observed = context.pilot_p99_ms
    if observed is None:
        if budget.require_pilot:
            message = NO_PILOT.format(ref=context.ref)
            return CheckResult("latency:p99", False, None, limit, message)
        message = "no pilot load test on record: latency not checked (require_pilot: false)"
        return CheckResult("latency:p99", True, None, limit, message, skipped=True)
    shown, top = _pair(observed, budget.p99_ms)
    if observed > budget.p99_ms:
        message = f"p99 latency {shown} ms is above the budget {top} ms"
        return CheckResult("latency:p99", False, observed, limit, message)
    return CheckResult("latency:p99", True, observed, limit, f"p99 latency {shown} ms {limit}")


# -- helpers ----------------------------------------------------------------------------------


def _missing_data(context: GateContext, what: str) -> str | None:
    if context.labels is None:
        return MISSING_DATA.format(what=what)
    if context.predictions is None:
        return f"no predictions of {context.ref} on the evaluation data to measure {what}"
    return None


def _measure_candidate(
    name: str, context: GateContext, measured: dict[str, float | InvalidInputError]
) -> float | InvalidInputError:
    """The candidate's value of ``name``, or the error explaining why there is none (cached)."""
    if name not in measured:
        try:
            measured[name] = compute_metric(
                name,
                context.labels,
                context.predictions,
                context.probabilities,
                context.classes,
                task=context.task,
            )
        except InvalidInputError as exc:
            measured[name] = exc
    return measured[name]


def _sentence(error: InvalidInputError) -> str:
    """An error message as a check message: one sentence without the final period."""
    return error.message.rstrip(".")


def _pair(value: float, other: float) -> tuple[str, str]:
    """``value`` and ``other`` shown with 4 significant digits, or more if needed to differ."""
    for digits in range(4, 18):
        left, right = f"{value:.{digits}g}", f"{other:.{digits}g}"
        if left != right or value == other or math.isclose(value, other, rel_tol=1e-15):
            return left, right
    return repr(value), repr(other)


def _against_limit(value: float, limit: float) -> tuple[str, str]:
    """A measured ``value`` rounded for reading, and a ``limit`` exactly as the user wrote it.

    0.99999 must not read as 1, and a value just below the limit must not be rounded up to
    or past it: the value gets more digits until it sits on the right side of the limit.
    """
    right = f"{limit:.12g}"
    for digits in range(4, 18):
        left = f"{value:.{digits}g}"
        shown = float(left)
        same_side = (shown < limit) == (value < limit) and (shown > limit) == (value > limit)
        if same_side or math.isclose(value, limit, rel_tol=1e-15):
            return left, right
    return repr(value), right
