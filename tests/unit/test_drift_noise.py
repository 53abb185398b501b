"""The default's noise check of count distances: calibrated, still powerful, Evidently's at scale.

Simulated columns: ``levels`` values with unequal frequencies (1 to 2), both windows of
1,001-2,000 rows drawn from one distribution (false alarms) or with ``moved`` of the mass
shifted from the first half of the values to the second (power).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from shipyard.monitoring.drift import ColumnDrift, ColumnDriftOptions, Method, column_drift
from shipyard.monitoring.drift_verdict import (
    MIN_EXPECTED,
    WITHIN_NOISE,
    pooled_table,
    sampling_p_value,
)


def shares(levels: int, moved: float = 0.0) -> np.ndarray:
    """Shares of ``levels`` values, ``moved`` of the mass moved from the first half on."""
    p = np.linspace(1.0, 2.0, levels)
    p /= p.sum()
    half = max(levels // 2, 1)
    low, high = p[:half].sum(), p[half:].sum()
    return np.concatenate([p[:half] * (low - moved) / low, p[half:] * (high + moved) / high])


def windows(
    seed: int, levels: int, moved: float = 0.0, rows: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current codes; sizes drawn in 1,001-2,000 unless ``rows`` are given."""
    rng = np.random.default_rng(seed)
    n_ref, n_cur = rows or tuple(int(n) for n in rng.integers(1001, 2001, size=2))
    reference = rng.choice(levels, size=n_ref, p=shares(levels))
    return reference, rng.choice(levels, size=n_cur, p=shares(levels, moved))


def both_modes(
    reference: np.ndarray, current: np.ndarray, method: Method | None = None
) -> tuple[ColumnDrift, ColumnDrift]:
    options = ColumnDriftOptions(method)
    default = column_drift(reference, current, kind="categorical", options=options)
    evidently = column_drift(
        reference, current, kind="categorical", options=options, evidently_compatible=True
    )
    return default, evidently


def flagged(levels: int, moved: float, draws: int, method: Method | None = None) -> list[float]:
    """Shares flagged by the default and by Evidently's rule, on the same draws."""
    hits = np.zeros(2)
    for seed in range(draws):
        default, evidently = both_modes(*windows(seed, levels, moved), method)
        assert default.statistic == evidently.statistic  # the distance is reported either way
        hits += (bool(default.drifted), bool(evidently.drifted))
    return list(hits / draws)


# --- False alarms, power, large windows --------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "method", "evidently_at_least"),
    [
        (3, Method.JENSENSHANNON, 0.0),
        (10, Method.JENSENSHANNON, 0.0),
        (50, Method.JENSENSHANNON, 0.15),
        (200, Method.JENSENSHANNON, 0.99),  # most values sparse: the pooling is exercised
        (200, Method.PSI, 0.99),
    ],
)
def test_undrifted_columns_of_1001_to_2000_rows_are_flagged_at_most_7_percent(
    levels: int, method: Method, evidently_at_least: float
) -> None:
    """Measured, 300 draws each: 0% with 3 and 10 values (Evidently's rule 0% too), 4.3% with
    50 (Evidently's rule 22.3%), 3.3% with 200 (100%); PSI with 200 values 3.3% (100%)."""
    default, evidently = flagged(levels, 0.0, draws=300, method=method)
    assert default <= 0.07, default
    assert evidently >= evidently_at_least, evidently


@pytest.mark.parametrize("levels", [3, 10, 50])
@pytest.mark.parametrize("moved", [0.15, 0.2])
def test_a_real_shift_is_still_detected(levels: int, moved: float) -> None:
    """Measured, 100 draws each: 100% with 3 and 50 values; with 10, 95% (15% moved, a true
    distance of 0.113, so some samples fall under 0.1) and 100% (20%); the same as Evidently's
    rule."""
    default, evidently = flagged(levels, moved, draws=100)
    assert default >= 0.9, default
    assert default >= evidently - 0.02, (default, evidently)


@pytest.mark.parametrize("levels", [3, 10, 50])
@pytest.mark.parametrize("moved", [0.0, 0.14, 0.2])
def test_large_windows_give_evidently_s_verdict(levels: int, moved: float) -> None:
    reference, current = windows(levels, levels, moved, rows=(100_000, 100_000))
    default, evidently = both_modes(reference, current)
    ref = np.bincount(reference, minlength=levels) / reference.size
    cur = np.bincount(current, minlength=levels) / current.size
    assert default.method is evidently.method is Method.JENSENSHANNON
    assert default.statistic == evidently.statistic == pytest.approx(jensenshannon(ref, cur))
    assert default.drifted is evidently.drifted is (moved > 0)
    assert (default.statistic >= 0.1) is (moved > 0)  # the moved columns are a real JS >= 0.1


def test_evidently_compatible_keeps_the_0_1_verdict_on_the_noisy_case() -> None:
    """50 values at 1,050 vs 1,020 rows: the cut-off alone flags most undrifted columns
    (measured, 150 draws: 76.7%; the default 4.7%)."""
    evidently_hits = default_hits = 0
    for seed in range(150):
        reference, current = windows(seed, 50, rows=(1050, 1020))
        default, evidently = both_modes(reference, current)
        ref = np.bincount(reference, minlength=50) / reference.size
        cur = np.bincount(current, minlength=50) / current.size
        assert evidently.drifted is bool(jensenshannon(ref, cur) >= 0.1)
        assert evidently.detail.endswith("(drift when >= 0.1).")
        evidently_hits += bool(evidently.drifted)
        default_hits += bool(default.drifted)
    assert evidently_hits >= 0.6 * 150, evidently_hits
    assert default_hits <= 0.07 * 150, default_hits


# --- The chi-square and its pooling -------------------------------------------------------------


def long_tail(seed: int, levels: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, levels + 1)
    p /= p.sum()
    return rng.multinomial(1500, p), rng.multinomial(int(rng.integers(1001, 3000)), p)


@pytest.mark.parametrize("seed", range(5))
def test_the_p_value_is_scipy_chi2_contingency_on_the_pooled_table(seed: int) -> None:
    reference, current = long_tail(seed)
    table = pooled_table(reference, current)
    expected = stats.chi2_contingency(table, correction=False).pvalue
    assert sampling_p_value(reference, current) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_pooling_keeps_the_rows_and_leaves_every_cell_expected_5_times(seed: int) -> None:
    reference, current = long_tail(seed)
    table = pooled_table(reference, current)
    assert table.sum(axis=1).tolist() == [reference.sum(), current.sum()]
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    assert expected.min() >= MIN_EXPECTED
    assert 20 < table.shape[1] < np.count_nonzero(reference + current)  # pooled, not lumped


def test_pooling_by_hand() -> None:
    # Totals 1, 1, 3, 5 (expected 0.45 to 2.3 in the smaller window): one cell of 4.5 short
    # of 5, so it joins the rarest value that is not sparse (total 70).
    assert pooled_table(
        np.array([1, 0, 2, 30, 50, 3]), np.array([0, 1, 1, 40, 60, 2])
    ).tolist() == [
        [36, 50],
        [44, 60],
    ]
    # Five values expected 3 times: cells of 6 and 6, the last 3 joins the cell before.
    assert pooled_table(np.array([3] * 5), np.array([3] * 5)).tolist() == [[6, 9], [6, 9]]
    # Nothing sparse: only the columns absent from both windows go, rarest first.
    assert pooled_table(np.array([20, 0, 10]), np.array([20, 0, 10])).tolist() == [
        [10, 20],
        [10, 20],
    ]
    # All sparse and short of 5 together: one cell, nothing to compare (p 1).
    assert pooled_table(np.array([1, 1, 1]), np.array([1, 0, 1])).tolist() == [[3], [2]]
    assert sampling_p_value(np.array([1, 1, 1]), np.array([1, 0, 1])) == 1.0


# --- What the report says ------------------------------------------------------------------------


def test_a_distance_within_sampling_noise_says_so() -> None:
    for seed in range(100):  # the first undrifted column whose distance reaches 0.1
        reference, current = windows(seed, 50, rows=(1050, 1020))
        default, evidently = both_modes(reference, current)
        if evidently.drifted:
            break
    counts = [np.bincount(w, minlength=50) for w in (reference, current)]
    p = stats.chi2_contingency(pooled_table(*counts), correction=False).pvalue
    assert default.statistic == evidently.statistic
    assert default.statistic is not None and default.statistic >= 0.1
    assert p >= 0.05 and default.drifted is False
    assert default.detail == (
        f"No drift in the column: Jensen-Shannon distance {default.statistic:.3g} (drift when "
        f">= 0.1 and two-sample chi-square p < 0.05; p {p:.3g}). The distance is within "
        "sampling noise for 50 values at 1,050 vs 1,020 rows."
    )
    assert default.detail.endswith(
        WITHIN_NOISE.format(levels=50, noun="values", reference=1050, current=1020)
    )


def test_a_real_shift_reports_its_p_value_and_a_small_distance_its_rule_alone() -> None:
    reference, current = windows(1, 50, 0.2, rows=(1050, 1020))
    default, _ = both_modes(reference, current)
    counts = [np.bincount(w, minlength=50) for w in (reference, current)]
    p = stats.chi2_contingency(pooled_table(*counts), correction=False).pvalue
    assert p < 1e-4 and default.drifted is True
    assert default.detail.endswith(f"two-sample chi-square p < 0.05; p {p:.1e}).")
    calm = column_drift(*windows(2, 10, rows=(1050, 1020)), kind="categorical")
    assert calm.drifted is False
    assert calm.detail.endswith("(drift when >= 0.1).")
