"""Fairness by group: per-group rates of a binary classifier and Fairlearn's disparity metrics.

Counts, selection rate, TPR, FPR and accuracy per value of a sensitive attribute, and the
demographic parity and equalized odds differences and ratios with Fairlearn's definitions
(``method="between_groups"``, ``agg="worst_case"``). Pure NumPy over arrays: no I/O, and
Fairlearn itself is not needed (the tests check the numbers against it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.core.errors import InvalidInputError
from shipyard.gates.metrics import positive_label as positive_class
from shipyard.monitoring.performance import ensure_comparable

__all__ = [
    "DISPARITIES",
    "MISSING_GROUP",
    "Disparity",
    "FairnessReport",
    "GroupRates",
    "fairness",
]

DISPARITIES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
)
"""The aggregate metrics of a report, in order (Fairlearn's names)."""
MISSING_GROUP = "(missing)"
# Wording that reports and errors carry and tests check.
ABSENT = (
    "The sensitive attribute {attribute} is absent: none of the {n} labelled predictions has a "
    "value for it; check the feature or metadata field name."
)
NOT_BINARY = (
    "Fairness metrics (selection rate, TPR, FPR and the parity differences) are defined for "
    "binary classification only, and {why}."
)
PROBABILITIES = (
    "The predictions look like probabilities or scores (e.g. {example!r}), not labels: the "
    "selection rate is the share of predictions equal to the positive label, which a score "
    "never is; threshold the scores first (e.g. predicted = score >= 0.5)."
)
NO_POSITIVES = "no label in the group is the positive class {positive!r}"
NO_NEGATIVES = "every label in the group is the positive class {positive!r}"
NO_ROWS = "no labelled predictions"
ONE_GROUP = "only one group ({group!r}): there is nothing to compare"
ZERO_OVER_ZERO = "every group's {rate} is 0, so the ratio is 0/0"
SMALL_GROUPS = "groups with fewer than {min_rows} rows, whose rates are noisy: {groups}"
COUNTED_AS_ZERO = (
    "the {rate} of {groups} is undefined; as in Fairlearn it counts as 0 in the equalized odds "
    "metrics, which then overstate the disparity"
)
_RATE_TITLES = {
    "selection_rate": "selection rate",
    "tpr": "true positive rate",
    "fpr": "false positive rate",
}


@dataclass(frozen=True, slots=True)
class GroupRates:
    """The rates of one group (one value of the sensitive attribute).

    Attributes:
        group: The attribute's value as text, or ``"(missing)"`` for rows without one.
        count: Labelled predictions in the group.
        positives: Rows whose label is the positive class.
        negatives: Rows whose label is not the positive class.
        selection_rate: Share of predictions equal to the positive class.
        tpr: True positive rate ``P[prediction = positive | label = positive]``, or None.
        fpr: False positive rate ``P[prediction = positive | label = negative]``, or None.
        accuracy: Share of predictions equal to their label.
        is_small: True when ``count`` is below the report's ``min_group_rows``.
        reasons: Why a rate is None, by rate name (``"tpr"``, ``"fpr"``).
    """

    group: str
    count: int
    positives: int
    negatives: int
    selection_rate: float
    tpr: float | None
    fpr: float | None
    accuracy: float
    is_small: bool
    reasons: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (no NaN: missing numbers are None)."""
        return {
            "group": self.group,
            "count": self.count,
            "positives": self.positives,
            "negatives": self.negatives,
            "selection_rate": _finite(self.selection_rate),
            "tpr": _finite(self.tpr),
            "fpr": _finite(self.fpr),
            "accuracy": _finite(self.accuracy),
            "is_small": self.is_small,
            "reasons": dict(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class Disparity:
    """One of Fairlearn's aggregate fairness metrics.

    Attributes:
        name: A name of ``DISPARITIES``.
        value: The metric (0 is parity for a difference, 1 for a ratio), or None.
        reason: Why ``value`` is None (None when there is a value).
        rate: The per-group rate that decided the value (``"selection_rate"``, ``"tpr"`` or
            ``"fpr"``), or None.
        lowest_group: Group with the smallest value of ``rate``, or None.
        highest_group: Group with the largest value of ``rate``, or None.
    """

    name: str
    value: float | None
    reason: str | None
    rate: str | None = None
    lowest_group: str | None = None
    highest_group: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (no NaN: missing numbers are None)."""
        return {
            "name": self.name,
            "value": _finite(self.value),
            "reason": self.reason,
            "rate": self.rate,
            "lowest_group": self.lowest_group,
            "highest_group": self.highest_group,
        }


@dataclass(frozen=True, slots=True)
class FairnessReport:
    """Per-group rates and disparity metrics for one sensitive attribute.

    Attributes:
        attribute: Name of the sensitive attribute ("" when not given).
        positive: The positive class (the "selected" outcome).
        n: Labelled predictions analysed.
        min_group_rows: Rows a group needs not to be flagged small.
        groups: One entry per group, in value order, ``"(missing)"`` last.
        disparities: One entry per name of ``DISPARITIES``, in that order.
        is_reliable: False when there are fewer than two groups, a group is small, or a rate
            the equalized odds metrics use is undefined in some group.
        notes: Plain sentences saying why the report is not reliable.
    """

    attribute: str
    positive: Any
    n: int
    min_group_rows: int
    groups: tuple[GroupRates, ...]
    disparities: tuple[Disparity, ...]
    is_reliable: bool
    notes: tuple[str, ...]

    def disparity(self, name: str) -> Disparity:
        """The entry of disparity metric ``name``.

        Raises:
            KeyError: ``name`` is not one of ``DISPARITIES``.
        """
        for entry in self.disparities:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The report as the ``--json`` / API shape (NaN-free)."""
        return {
            "attribute": self.attribute,
            "positive": self.positive,
            "n": self.n,
            "min_group_rows": self.min_group_rows,
            "is_reliable": self.is_reliable,
            "notes": list(self.notes),
            "groups": [g.to_dict() for g in self.groups],
            "disparities": {d.name: d.to_dict() for d in self.disparities},
        }


def fairness(
    y_true: Any,
    y_pred: Any,
    sensitive: Any,
    *,
    positive: Any = None,
    attribute: str = "",
    min_group_rows: int = 30,
) -> FairnessReport:
    """Per-group rates and Fairlearn's disparity metrics of a binary classifier.

    Definitions (Fairlearn's, with ``method="between_groups"`` and ``agg="worst_case"``):
    demographic parity difference = max - min of the group selection rates, ratio = min / max;
    equalized odds difference = the larger of the TPR and FPR differences, ratio = the
    smaller of the TPR and FPR ratios. Where a group has no positive (negative) label its
    TPR (FPR) is reported as None, but Fairlearn counts it as 0, and so do the equalized
    odds metrics here: the report then says so and is not reliable. A ratio of 0/0 is None
    (Fairlearn returns NaN). With fewer than two groups every disparity is None.

    Args:
        y_true: Ground-truth labels.
        y_pred: Predicted labels (not probabilities) on the same rows.
        sensitive: The sensitive attribute of each row; None, NaN or NaT values form the
            group ``"(missing)"``. None for an attribute that was not found at all.
        positive: The positive ("selected") class; default the second of the two labels in
            sorted order (1 for 0/1 labels), as the gates do.
        attribute: Name of the attribute, for the report and messages.
        min_group_rows: Rows below which a group is flagged small (it is still reported).

    Returns:
        The report.

    Raises:
        InvalidInputError: arrays of different lengths, missing labels, labels and
            predictions of different types, probabilities instead of labels, more than two
            classes, a positive class that is not a label, or an absent attribute.
    """
    truth, predicted = _labels(y_true, y_pred)
    n = len(truth)
    named = repr(attribute) if attribute else "(unnamed)"
    if sensitive is None:
        raise InvalidInputError(ABSENT.format(attribute=named, n=n))
    values = np.asarray(sensitive)
    if values.ndim != 1 or len(values) != n:
        raise InvalidInputError(
            f"The sensitive attribute has {values.size} values for {n} labels; it must be one "
            "value per labelled prediction."
        )
    if min_group_rows < 1:
        raise InvalidInputError(f"min_group_rows must be at least 1, not {min_group_rows}.")
    chosen = _positive(truth, predicted, positive)
    codes, names = _groups(values)
    if n and names == [MISSING_GROUP]:
        raise InvalidInputError(ABSENT.format(attribute=named, n=n))
    is_positive = truth == chosen
    selected = predicted == chosen
    groups = _group_rates(
        codes, names, is_positive, selected, truth == predicted, chosen, min_group_rows
    )
    disparities = _disparities(groups)
    notes = _notes(groups, disparities, min_group_rows)
    return FairnessReport(
        attribute=attribute,
        positive=chosen,
        n=n,
        min_group_rows=min_group_rows,
        groups=groups,
        disparities=disparities,
        is_reliable=not notes,
        notes=notes,
    )


# -- input ------------------------------------------------------------------------------------


def _labels(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    truth, predicted = np.asarray(y_true), np.asarray(y_pred)
    if truth.ndim != 1 or predicted.ndim != 1 or len(truth) != len(predicted):
        raise InvalidInputError(
            f"{truth.size} labels but {predicted.size} predictions; they must be one per row."
        )
    for what, column in (("labels", truth), ("predictions", predicted)):
        if _is_missing(column).any():
            raise InvalidInputError(
                f"Some {what} are missing (None or NaN); keep only predictions that received "
                "a label."
            )
    if predicted.dtype.kind == "f":
        fractional = predicted[predicted != np.round(predicted)]
        if len(fractional):
            example = float(fractional[0])
            if np.all((predicted >= 0) & (predicted <= 1)):
                raise InvalidInputError(PROBABILITIES.format(example=example))
            raise InvalidInputError(
                NOT_BINARY.format(why=f"the predictions are continuous values (e.g. {example!r})")
            )
    ensure_comparable(predicted, truth)
    return truth, predicted


def _positive(truth: np.ndarray, predicted: np.ndarray, positive: Any) -> Any:
    seen = [_plain(v) for v in np.unique(np.concatenate([truth, predicted]))]
    if len(seen) > 2:
        shown = ", ".join(repr(v) for v in seen[:5])
        raise InvalidInputError(
            NOT_BINARY.format(
                why=f"the labels and predictions hold {len(seen)} classes ({shown}); it is not "
                "defined for multiclass models or regression"
            )
        )
    if positive is None:
        return _plain(positive_class(seen)) if seen else 1
    positive = _plain(positive)
    is_text = isinstance(positive, str)
    if positive not in seen and (
        len(seen) == 2 or any(isinstance(v, str) != is_text for v in seen)
    ):
        raise InvalidInputError(
            f"The positive class {positive!r} is not one of the labels "
            f"({', '.join(repr(v) for v in seen)}); name one of them."
        )
    return positive


def _is_missing(values: np.ndarray) -> np.ndarray:
    """True where a value is None, NaN or NaT."""
    if values.dtype.kind == "f":
        return np.asarray(np.isnan(values), dtype=bool)
    if values.dtype.kind in "mM":
        return np.asarray(np.isnat(values), dtype=bool)
    if values.dtype.kind != "O":
        return np.zeros(len(values), dtype=bool)
    return np.fromiter((_missing_value(v) for v in values), dtype=bool, count=len(values))


def _missing_value(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT differ from themselves
    except (TypeError, ValueError):  # pandas.NA has no truth value
        return True


def _groups(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """A group index per row and the group names; missing values form the last group."""
    missing = _is_missing(values)
    present = values[~missing]
    if values.dtype.kind == "O":
        distinct = list({_plain(v): None for v in present})
        if all(isinstance(v, int | float) for v in distinct):
            distinct.sort()
        else:
            distinct.sort(key=str)
        position = {v: i for i, v in enumerate(distinct)}
        inner = np.fromiter(
            (position[_plain(v)] for v in present), dtype=np.int64, count=len(present)
        )
    else:
        uniques, inner = np.unique(present, return_inverse=True)
        distinct = [_plain(v) for v in uniques]
    names = [str(v) for v in distinct]
    codes = np.full(len(values), len(names), dtype=np.int64)
    codes[~missing] = inner.reshape(-1)
    if missing.any():
        names.append(MISSING_GROUP)
    return codes, names


# -- rates ------------------------------------------------------------------------------------


def _group_rates(
    codes: np.ndarray,
    names: list[str],
    is_positive: np.ndarray,
    selected: np.ndarray,
    is_correct: np.ndarray,
    positive: Any,
    min_rows: int,
) -> tuple[GroupRates, ...]:
    size = len(names)

    def total(mask: np.ndarray) -> list[int]:
        return [int(x) for x in np.bincount(codes[mask], minlength=size)]

    everyone = np.ones(len(codes), dtype=bool)
    count, positives, chosen = total(everyone), total(is_positive), total(selected)
    true_pos, false_pos = total(is_positive & selected), total(~is_positive & selected)
    correct = total(is_correct)
    result = []
    for i, name in enumerate(names):
        negatives = count[i] - positives[i]
        reasons: dict[str, str] = {}
        if not positives[i]:
            reasons["tpr"] = NO_POSITIVES.format(positive=positive)
        if not negatives:
            reasons["fpr"] = NO_NEGATIVES.format(positive=positive)
        result.append(
            GroupRates(
                group=name,
                count=count[i],
                positives=positives[i],
                negatives=negatives,
                selection_rate=chosen[i] / count[i],
                tpr=true_pos[i] / positives[i] if positives[i] else None,
                fpr=false_pos[i] / negatives if negatives else None,
                accuracy=correct[i] / count[i],
                is_small=count[i] < min_rows,
                reasons=reasons,
            )
        )
    return tuple(result)


@dataclass(frozen=True, slots=True)
class _Spread:
    """Max - min and min / max of one rate across groups (undefined rates count as 0)."""

    rate: str
    difference: float
    ratio: float  # NaN for 0/0, as Fairlearn
    lowest: str
    highest: str


def _spread(groups: tuple[GroupRates, ...], rate: str) -> _Spread:
    values = [getattr(g, rate) or 0.0 for g in groups]  # Fairlearn: an undefined rate is 0
    low, high = int(np.argmin(values)), int(np.argmax(values))
    ratio = values[low] / values[high] if values[high] else math.nan
    return _Spread(rate, values[high] - values[low], ratio, groups[low].group, groups[high].group)


def _disparities(groups: tuple[GroupRates, ...]) -> tuple[Disparity, ...]:
    if len(groups) < 2:
        reason = NO_ROWS if not groups else ONE_GROUP.format(group=groups[0].group)
        return tuple(Disparity(name, None, reason) for name in DISPARITIES)
    selection, tpr, fpr = (_spread(groups, r) for r in ("selection_rate", "tpr", "fpr"))
    # Fairlearn takes Python's max/min over (tpr, fpr), in that order: the second wins only
    # when strictly better, so a tie picks TPR, and min() keeps a NaN TPR ratio but skips a
    # NaN FPR ratio (NaN compares false).
    odds_difference = fpr if fpr.difference > tpr.difference else tpr
    odds_ratio = fpr if fpr.ratio < tpr.ratio else tpr
    return (
        _disparity("demographic_parity_difference", selection, selection.difference),
        _disparity("demographic_parity_ratio", selection, selection.ratio),
        _disparity("equalized_odds_difference", odds_difference, odds_difference.difference),
        _disparity("equalized_odds_ratio", odds_ratio, odds_ratio.ratio),
    )


def _disparity(name: str, spread: _Spread, value: float) -> Disparity:
    if math.isnan(value):
        reason = ZERO_OVER_ZERO.format(rate=_RATE_TITLES[spread.rate])
        return Disparity(name, None, reason, spread.rate)
    return Disparity(name, value, None, spread.rate, spread.lowest, spread.highest)


def _notes(
    groups: tuple[GroupRates, ...], disparities: tuple[Disparity, ...], min_rows: int
) -> tuple[str, ...]:
    notes: list[str] = []
    if len(groups) < 2 and disparities[0].reason is not None:  # no rows, or one group
        notes.append(disparities[0].reason)
    small = [g.group for g in groups if g.is_small]
    if small:
        notes.append(SMALL_GROUPS.format(min_rows=min_rows, groups=_listed(small)))
    if len(groups) >= 2:
        for rate in ("tpr", "fpr"):
            undefined = [g.group for g in groups if rate in g.reasons]
            if undefined:
                notes.append(
                    COUNTED_AS_ZERO.format(rate=_RATE_TITLES[rate], groups=_listed(undefined))
                )
    return tuple(notes)


def _listed(groups: Sequence[str]) -> str:
    shown = ", ".join(repr(g) for g in groups[:10])
    return shown if len(groups) <= 10 else f"{shown} and {len(groups) - 10} more"


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (for messages, JSON and comparisons)."""
    return value.item() if isinstance(value, np.generic) else value


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
