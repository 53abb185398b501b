"""One column's statistic and verdict, and the default's check of distances against sampling noise.

Internal to :mod:`shipyard.monitoring.drift`: import from there. The count distances
(Jensen-Shannon, PSI) of two samples of one distribution are not 0, and their noise grows with
the number of values; by default a distance past its threshold is drift only when the
two-sample chi-square on the same counts also rejects (see :func:`judge`). Pure NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shipyard.monitoring.drift_columns import Column
from shipyard.monitoring.drift_methods import DRIFT_TESTS, DriftTest, Method

NOISE_CHECKED = frozenset({Method.JENSENSHANNON, Method.PSI})  # distances on counts
SIGNIFICANCE = 0.05  # the chi-square's level in the noise check
MIN_EXPECTED = 5.0  # Cochran's rule: pool values expected fewer times than this

# Wording that reports carry and tests check.
DRIFTED = "Drift detected in {column}: {title} {value} ({rule})."
NOT_DRIFTED = "No drift in {column}: {title} {value} ({rule})."
RULE = "drift when {rule} {threshold:g}"
CHECKED_RULE = RULE + " and two-sample chi-square p < {significance:g}; p {p}"
WITHIN_NOISE = (
    " The distance is within sampling noise for {levels} {noun} at {reference:,} vs "
    "{current:,} rows."
)


def judge(
    test: DriftTest, data: Column, threshold: float, label: str, *, check_noise: bool
) -> tuple[float, bool, str]:
    """A column's statistic, verdict and sentence by ``test`` at ``threshold``.

    With ``check_noise`` (Shipyard's default; off when ``evidently_compatible``), a distance
    of :data:`NOISE_CHECKED` that reaches its threshold is drift only if the two-sample
    chi-square on the same counts, sparse values pooled (:func:`pooled_table`), has
    p < 0.05: the difference must be both large enough to matter and more than sampling
    noise. The statistic is the distance either way, so it still equals Evidently's; the
    sentence gives the chi-square p-value, and says so when only the p-value kept the
    column from drifting. Under no drift this flags at most about 5% of columns whatever
    their number of values; with large windows any distance past 0.1 is significant, and the
    verdict is Evidently's.

    Returns:
        The statistic, whether it means drift, and a sentence for people.
    """
    counts = None
    if test.needs == "values":
        assert data.reference is not None and data.current is not None
        statistic = test.statistic(data.reference, data.current)
    else:
        counts = data.value_counts() if test.needs == "counts" else data.bins()
        statistic = test.statistic(counts.reference, counts.current)
    drifted = test.is_drift(statistic, threshold)
    rule = RULE.format(rule=test.rule, threshold=threshold)
    note = ""
    if drifted and check_noise and test.method in NOISE_CHECKED and counts is not None:
        p_value = sampling_p_value(counts.reference, counts.current)
        drifted = p_value < SIGNIFICANCE
        rule = CHECKED_RULE.format(
            rule=test.rule, threshold=threshold, significance=SIGNIFICANCE, p=number(p_value)
        )
        if not drifted:
            note = WITHIN_NOISE.format(
                levels=int(np.count_nonzero(counts.reference + counts.current)),
                noun="values" if counts.labels is not None else "bins",
                reference=data.n_reference,
                current=data.n_current,
            )
    sentence = (DRIFTED if drifted else NOT_DRIFTED).format(
        column=label, title=test.title, value=number(statistic), rule=rule
    )
    return statistic, drifted, sentence + note


def sampling_p_value(reference: NDArray[Any], current: NDArray[Any]) -> float:
    """Pearson's two-sample chi-square p-value on the pooled table of two windows' counts.

    ``scipy.stats.chi2_contingency(pooled_table(reference, current), correction=False)``;
    1 when pooling leaves a single cell (no value is seen often enough to compare).
    """
    table = pooled_table(reference, current)
    return DRIFT_TESTS[Method.CHISQUARE].statistic(table[0], table[1])


def pooled_table(reference: NDArray[Any], current: NDArray[Any]) -> NDArray[np.float64]:
    """The 2 x k table of counts per value (or bin), sparse values pooled for the chi-square.

    A value is sparse when its expected count in the smaller window, ``total of the value *
    min(n_ref, n_cur) / (n_ref + n_cur)``, is below 5. Sparse values are pooled rarest first
    (by total, ties in their order) into cells each expected at least 5 times; a remainder
    short of 5 joins the last such cell or, when there is none, the rarest value that is not
    sparse. Values absent from both windows are dropped; columns come rarest first. Pooling
    reads only the totals per value, never how they split between the windows, so the test
    keeps its level; pooling all sparse values into one cell would lose the power of a long
    tail, and not pooling makes sparse tables flag too often.
    """
    table = np.vstack([reference, current]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    totals = table.sum(axis=0)
    order = np.argsort(totals, kind="stable")
    table = table[:, order]
    expected = totals[order] * (table.sum(axis=1).min() / max(totals.sum(), 1.0))
    sparse = int(np.searchsorted(expected, MIN_EXPECTED))  # sorted: the sparse come first
    if sparse == 0:
        return table
    reach = np.cumsum(expected[:sparse])
    starts = [0]  # first value of each cell
    while True:  # a cell ends at the first value that brings it to MIN_EXPECTED
        end = int(np.searchsorted(reach, _filled(reach, starts[-1]) + MIN_EXPECTED)) + 1
        if end >= sparse:
            break
        starts.append(end)
    cells = np.add.reduceat(table[:, :sparse], starts, axis=1)
    rest = table[:, sparse:]
    if reach[-1] - _filled(reach, starts[-1]) < MIN_EXPECTED:  # the last cell falls short
        if cells.shape[1] > 1:
            cells[:, -2] += cells[:, -1]
            cells = cells[:, :-1]
        elif rest.shape[1]:
            rest[:, 0] += cells[:, 0]
            cells = cells[:, :0]
    return np.hstack([cells, rest])


def number(value: float) -> str:
    """A statistic for sentences: three significant digits, exponent below 1e-4."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.1e}" if abs(value) < 1e-4 else f"{value:.3g}"


def _filled(reach: NDArray[np.float64], start: int) -> float:
    """Expected count of the sparse values before ``start`` (``reach`` is their cumsum)."""
    return float(reach[start - 1]) if start else 0.0
