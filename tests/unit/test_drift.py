"""The drift engine: statistics equal SciPy's, Evidently's test selection, calibrated defaults."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring import drift
from shipyard.monitoring.drift import (
    DRIFT_TESTS,
    ColumnDrift,
    ColumnDriftOptions,
    DriftOptions,
    Method,
    column_drift,
    dataset_drift,
    wasserstein_1d,
)

Draw = Callable[[np.random.Generator, int], Any]


def categories(rng: np.random.Generator, n: int, k: int, shift: float = 0.0) -> np.ndarray:
    """``n`` draws of ``k`` string levels with unequal frequencies (``shift`` tilts them)."""
    weights = np.linspace(1.0, 2.0, k) + shift * np.linspace(1.0, -1.0, k)
    labels = np.array([f"level_{i}" for i in range(k)], dtype=object)
    return labels[rng.choice(k, size=n, p=weights / weights.sum())]


def counts(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current counts over the union of values, as Evidently aligns them."""
    keys = sorted(set(reference.tolist()) | set(current.tolist()))
    ref = np.array([np.sum(reference == key) for key in keys])
    cur = np.array([np.sum(current == key) for key in keys])
    return ref, cur


def evidently_shares(
    reference: np.ndarray, current: np.ndarray, *, numeric: bool, fill_zeroes: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's ``get_binned_data``, rewritten from its definition for the cross-check."""
    if numeric and len(np.unique(reference)) > 20:
        edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
        ref = np.histogram(reference, edges)[0] / len(reference)
        cur = np.histogram(current, edges)[0] / len(current)
    else:
        ref_counts, cur_counts = counts(reference, current)
        ref, cur = ref_counts / len(reference), cur_counts / len(current)
    if fill_zeroes:
        for shares in (ref, cur):
            smallest = shares[shares != 0].min()
            shares[shares == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return ref, cur


# --- Each statistic equals SciPy's on the same data -------------------------------------------


def test_ks_is_scipy_ks_2samp_p_value() -> None:
    rng = np.random.default_rng(1)
    reference, current = rng.normal(size=700), rng.normal(0.1, size=900)
    result = column_drift(reference, current)
    assert result.method is Method.KS
    assert result.statistic == stats.ks_2samp(reference, current).pvalue


def test_wasserstein_is_scipy_distance_over_the_reference_population_std() -> None:
    rng = np.random.default_rng(2)
    reference, current = rng.lognormal(size=3000), rng.lognormal(0.1, size=5000)
    result = column_drift(reference, current)
    expected = stats.wasserstein_distance(reference, current) / np.std(reference)
    assert result.method is Method.WASSERSTEIN
    assert result.statistic == pytest.approx(expected, rel=1e-12)


def test_wasserstein_floors_the_reference_std_at_0_001() -> None:
    rng = np.random.default_rng(3)
    reference, current = np.full(2000, 5.0), 5 + rng.normal(0, 1e-4, 2000)
    result = column_drift(reference, current, options=ColumnDriftOptions(Method.WASSERSTEIN))
    expected = stats.wasserstein_distance(reference, current) / 0.001
    assert result.statistic == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("n", "m", "discrete"),
    [(1, 1, False), (1, 7, False), (3, 5, True), (10, 10, False), (999, 1001, True),
     (1000, 7000, False), (4096, 3, True)],
)  # fmt: skip
def test_wasserstein_1d_equals_scipy(n: int, m: int, discrete: bool) -> None:
    rng = np.random.default_rng(n * m)
    u, v = rng.normal(size=n), rng.normal(0.3, 2.0, size=m)
    if discrete:  # ties within and across samples
        u, v = np.round(u), np.round(v)
    assert wasserstein_1d(u, v) == pytest.approx(stats.wasserstein_distance(u, v), rel=1e-12)


def test_chisquare_is_scipy_chi2_contingency_on_the_two_sample_table() -> None:
    rng = np.random.default_rng(4)
    reference = categories(rng, 600, 4)
    current = np.concatenate([categories(rng, 650, 4, shift=0.2), ["new"] * 5])
    result = column_drift(reference, current)
    table = np.vstack(counts(reference, current))
    assert result.method is Method.CHISQUARE
    expected = stats.chi2_contingency(table, correction=False).pvalue
    assert result.statistic == pytest.approx(expected, rel=1e-10)


def test_chisquare_gof_is_scipy_chisquare_with_evidently_expected_counts() -> None:
    rng = np.random.default_rng(5)
    reference, current = categories(rng, 800, 6), categories(rng, 500, 6, shift=0.1)
    result = column_drift(reference, current, evidently_compatible=True)
    ref, cur = counts(reference, current)
    expected = stats.chisquare(cur, ref * (len(current) / len(reference))).pvalue
    assert result.method is Method.CHISQUARE_GOF
    assert result.statistic == pytest.approx(expected, rel=1e-10)


def test_chisquare_gof_gives_p_zero_for_a_value_the_reference_never_had() -> None:
    # SciPy divides by the zero expected count: statistic inf, p-value 0 (Evidently's result).
    rng = np.random.default_rng(6)
    reference = categories(rng, 500, 3)
    current = np.concatenate([categories(rng, 500, 3), ["new"]])
    result = column_drift(reference, current, options=ColumnDriftOptions(Method.CHISQUARE_GOF))
    assert result.statistic == 0.0
    assert result.drifted is True


def test_z_test_is_the_pooled_two_proportion_test() -> None:
    rng = np.random.default_rng(7)
    reference, current = rng.random(400) < 0.30, rng.random(600) < 0.36
    result = column_drift(reference, current)
    assert (result.kind, result.method) == ("categorical", Method.Z)
    table = np.vstack(counts(reference, current))
    contingency = stats.chi2_contingency(table, correction=False).pvalue
    p1, p2 = reference.mean(), current.mean()
    pooled = (reference.sum() + current.sum()) / (len(reference) + len(current))
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / len(reference) + 1 / len(current)))
    evidently = 2 * (1 - stats.norm.cdf(abs(z)))
    assert result.statistic == pytest.approx(contingency, rel=1e-10)
    assert result.statistic == pytest.approx(evidently, rel=1e-10)


def test_z_test_is_one_when_both_windows_hold_the_same_single_value() -> None:
    result = column_drift(np.zeros(100), np.zeros(200), kind="categorical")
    assert (result.method, result.statistic, result.drifted) == (Method.Z, 1.0, False)


def test_jensenshannon_on_categories_is_scipy_on_the_shares() -> None:
    rng = np.random.default_rng(8)
    reference, current = categories(rng, 3000, 7), categories(rng, 4000, 7, shift=0.3)
    result = column_drift(reference, current)
    ref, cur = evidently_shares(reference, current, numeric=False, fill_zeroes=False)
    assert result.method is Method.JENSENSHANNON
    assert result.statistic == pytest.approx(jensenshannon(ref, cur), rel=1e-12)


def test_jensenshannon_on_numbers_uses_sturges_bins_over_both_samples() -> None:
    rng = np.random.default_rng(9)
    reference, current = rng.normal(size=5000), rng.normal(0.2, 1.3, size=7000)
    result = column_drift(reference, current, options=ColumnDriftOptions(Method.JENSENSHANNON))
    ref, cur = evidently_shares(reference, current, numeric=True, fill_zeroes=False)
    assert len(ref) == 15  # ceil(log2(12000) + 1) Sturges bins
    assert result.statistic == pytest.approx(jensenshannon(ref, cur), rel=1e-12)


def test_jensenshannon_on_numbers_with_few_values_compares_value_by_value() -> None:
    rng = np.random.default_rng(10)
    reference, current = rng.integers(0, 4, 3000), rng.integers(0, 5, 3000)
    result = column_drift(reference, current)
    ref, cur = evidently_shares(reference, current, numeric=True, fill_zeroes=False)
    assert (result.kind, result.method) == ("numeric", Method.JENSENSHANNON)
    assert result.statistic == pytest.approx(jensenshannon(ref, cur), rel=1e-12)
    assert result.unseen_categories == (4,)


@pytest.mark.parametrize("numeric", [True, False])
def test_psi_is_the_hand_formula_on_evidently_bins(numeric: bool) -> None:
    rng = np.random.default_rng(11)
    if numeric:
        reference, current = rng.normal(size=4000), rng.normal(0.3, size=6000)
    else:  # a level absent from each side exercises both zero replacements
        reference = np.concatenate([categories(rng, 4000, 5), ["only_ref"] * 3])
        current = np.concatenate([categories(rng, 6000, 5, shift=0.3), ["only_cur"]])
    result = column_drift(reference, current, options=ColumnDriftOptions(Method.PSI))
    ref, cur = evidently_shares(reference, current, numeric=numeric, fill_zeroes=True)
    expected = float(np.sum((ref - cur) * np.log(ref / cur)))
    assert result.method is Method.PSI
    assert result.statistic == pytest.approx(expected, rel=1e-12)


# --- Evidently's test selection and thresholds ------------------------------------------------


@pytest.mark.parametrize(
    ("draw", "rows", "kind", "method"),
    [
        (lambda rng, n: rng.normal(size=n), 1000, "numeric", Method.KS),
        (lambda rng, n: rng.normal(size=n), 1001, "numeric", Method.WASSERSTEIN),
        (lambda rng, n: categories(rng, n, 3), 1000, "categorical", Method.CHISQUARE),
        (lambda rng, n: categories(rng, n, 3), 1001, "categorical", Method.JENSENSHANNON),
        (lambda rng, n: categories(rng, n, 2), 1000, "categorical", Method.Z),
        (lambda rng, n: categories(rng, n, 2), 1001, "categorical", Method.JENSENSHANNON),
        (lambda rng, n: rng.integers(0, 5, n), 1000, "numeric", Method.CHISQUARE),
        (lambda rng, n: rng.integers(0, 5, n), 1001, "numeric", Method.JENSENSHANNON),
        (lambda rng, n: rng.integers(0, 6, n), 1000, "numeric", Method.KS),
        (lambda rng, n: rng.integers(0, 6, n), 1001, "numeric", Method.WASSERSTEIN),
        (lambda rng, n: rng.integers(0, 2, n) * 7.5, 1000, "categorical", Method.Z),
        (lambda rng, n: rng.random(n) < 0.5, 5000, "categorical", Method.JENSENSHANNON),
    ],
)
def test_method_follows_evidently_rules(draw: Draw, rows: int, kind: str, method: Method) -> None:
    rng = np.random.default_rng(12)
    result = column_drift(draw(rng, rows), draw(rng, 2000))
    assert (result.kind, result.method) == (kind, method)
    assert result.threshold == DRIFT_TESTS[method].default_threshold


def test_the_size_rule_counts_reference_values_that_are_not_missing() -> None:
    rng = np.random.default_rng(12)
    reference = np.concatenate([rng.normal(size=1000), np.full(500, np.nan)])
    assert column_drift(reference, rng.normal(size=2000)).method is Method.KS


def test_default_thresholds_and_drift_rules_are_evidently_s() -> None:
    table = {m: (t.default_threshold, t.rule) for m, t in DRIFT_TESTS.items()}
    assert table == {
        Method.KS: (0.05, "<="),
        Method.WASSERSTEIN: (0.1, ">="),
        Method.CHISQUARE: (0.05, "<"),
        Method.CHISQUARE_GOF: (0.05, "<"),
        Method.Z: (0.05, "<"),
        Method.JENSENSHANNON: (0.1, ">="),
        Method.PSI: (0.1, ">="),
    }
    assert DRIFT_TESTS[Method.KS].is_drift(0.05, 0.05)
    assert not DRIFT_TESTS[Method.CHISQUARE].is_drift(0.05, 0.05)
    assert DRIFT_TESTS[Method.WASSERSTEIN].is_drift(0.1, 0.1)


def test_a_given_kind_and_options_override_the_rules() -> None:
    rng = np.random.default_rng(13)
    reference, current = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    assert column_drift(reference, current).kind == "categorical"
    as_numbers = column_drift(reference, current, kind="numeric")
    assert (as_numbers.kind, as_numbers.method) == ("numeric", Method.Z)
    chosen = ColumnDriftOptions(Method.WASSERSTEIN, threshold=0.5)
    result = column_drift(reference, current, kind="numeric", options=chosen)
    assert (result.method, result.threshold) == (Method.WASSERSTEIN, 0.5)


# --- False alarms on undrifted data -----------------------------------------------------------


def flagged_share(
    draw: Draw, n_reference: int, n_current: int, *, draws: int = 300, **kwargs: Any
) -> tuple[float, set[Method | None]]:
    flagged, methods = 0, set()
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        result = column_drift(draw(rng, n_reference), draw(rng, n_current), **kwargs)
        flagged += bool(result.drifted)
        methods.add(result.method)
    return flagged / draws, methods


@pytest.mark.parametrize(
    ("method", "draw"),
    [
        (Method.KS, lambda rng, n: rng.normal(size=n)),
        (Method.CHISQUARE, lambda rng, n: categories(rng, n, 3)),
        (Method.CHISQUARE, lambda rng, n: categories(rng, n, 50)),
        (Method.CHISQUARE, lambda rng, n: rng.integers(0, 4, n)),
        (Method.Z, lambda rng, n: rng.random(n) < 0.3),
    ],
)
@pytest.mark.parametrize(("n_reference", "n_current"), [(200, 1000), (1000, 1000)])
def test_default_tests_on_small_samples_flag_about_5_percent_of_undrifted_columns(
    method: Method, draw: Draw, n_reference: int, n_current: int
) -> None:
    share, methods = flagged_share(draw, n_reference, n_current)
    assert methods == {method}
    assert 0.01 <= share <= 0.10, share


@pytest.mark.parametrize(
    ("method", "draw"),
    [
        (Method.WASSERSTEIN, lambda rng, n: rng.normal(size=n)),
        (Method.WASSERSTEIN, lambda rng, n: rng.lognormal(size=n)),
        (Method.JENSENSHANNON, lambda rng, n: categories(rng, n, 3)),
        (Method.JENSENSHANNON, lambda rng, n: categories(rng, n, 20)),
        (Method.JENSENSHANNON, lambda rng, n: rng.integers(0, 4, n)),
    ],
)
def test_default_distances_on_large_samples_almost_never_flag_undrifted_columns(
    method: Method, draw: Draw
) -> None:
    share, methods = flagged_share(draw, 5000, 5000, draws=100)
    assert methods == {method}
    assert share <= 0.01, share


@pytest.mark.parametrize(("levels", "at_least"), [(3, 0.15), (50, 0.90)])
def test_evidently_goodness_of_fit_chisquare_overflags_undrifted_columns(
    levels: int, at_least: float
) -> None:
    """Why Shipyard's default differs: ~22% (3 levels) to ~98% (50 levels) false alarms."""
    draw: Draw = lambda rng, n: categories(rng, n, levels)  # noqa: E731
    share, methods = flagged_share(draw, 1000, 1000, evidently_compatible=True)
    assert methods == {Method.CHISQUARE_GOF}
    assert share >= at_least, share


def test_jensenshannon_at_0_1_overflags_many_levels_just_above_1000_rows() -> None:
    """Why Shipyard's default also asks the chi-square (``test_drift_noise.py``): with 50
    levels, the sampling noise of the distance at ~1,000 rows per window is about 0.1 itself."""
    draw: Draw = lambda rng, n: categories(rng, n, 50)  # noqa: E731
    share, methods = flagged_share(draw, 1001, 1001, draws=100, evidently_compatible=True)
    assert methods == {Method.JENSENSHANNON}
    assert share >= 0.5, share
    share, methods = flagged_share(draw, 1001, 1001, draws=100)
    assert methods == {Method.JENSENSHANNON}
    assert share <= 0.10, share


@pytest.mark.parametrize(
    ("method", "evidently_method", "draw", "evidently_at_least"),
    [
        (Method.KS, Method.WASSERSTEIN, lambda rng, n: rng.normal(size=n), 0.20),
        (Method.CHISQUARE, Method.JENSENSHANNON, lambda rng, n: categories(rng, n, 30), 0.20),
    ],
)
def test_a_small_window_against_a_large_reference_gets_a_statistical_test(
    method: Method, evidently_method: Method, draw: Draw, evidently_at_least: float
) -> None:
    """Evidently picks by the reference size alone: its distances then flag a third of
    undrifted columns of a 200-row window; Shipyard's choice by either size holds 5%."""
    share, methods = flagged_share(draw, 5000, 200, draws=200)
    assert methods == {method}
    assert share <= 0.10, share
    share, methods = flagged_share(draw, 5000, 200, draws=200, evidently_compatible=True)
    assert methods == {evidently_method}
    assert share >= evidently_at_least, share


# --- Injected drift is detected ---------------------------------------------------------------


@pytest.mark.parametrize("rows", [500, 20_000])
def test_a_shifted_mean_is_detected(rows: int) -> None:
    rng = np.random.default_rng(14)
    result = column_drift(rng.normal(size=rows), rng.normal(0.4, size=rows))
    assert result.method in {Method.KS, Method.WASSERSTEIN}
    assert result.drifted is True
    assert result.detail.startswith("Drift detected in the column:")


@pytest.mark.parametrize("rows", [500, 20_000])
def test_changed_category_frequencies_are_detected(rows: int) -> None:
    rng = np.random.default_rng(15)
    result = column_drift(categories(rng, rows, 4), categories(rng, rows, 4, shift=0.9))
    assert result.method in {Method.CHISQUARE, Method.JENSENSHANNON}
    assert result.drifted is True


# --- Missing values, unseen categories, too little data ----------------------------------------


def test_missing_values_are_counted_and_left_out_of_the_statistic() -> None:
    rng = np.random.default_rng(16)
    reference, current = rng.normal(size=600), rng.normal(size=800)
    holes = current.copy()
    holes[:40], holes[40:45] = np.nan, np.inf
    result = column_drift(np.append(reference, np.nan), holes, name="x")
    assert (result.reference_rows, result.reference_missing) == (601, 1)
    assert (result.current_rows, result.current_missing) == (800, 45)
    assert result.statistic == stats.ks_2samp(reference, current[45:]).pvalue
    assert "Missing values: 0.2% of reference rows, 5.6% of current rows." in result.detail


def test_missing_categories_none_nan_and_arrow_nulls_are_counted() -> None:
    reference = np.array(["a", "b", None, np.nan] * 25, dtype=object)
    current = pa.array(["a", "b", None] * 30)
    assert column_drift(reference, reference).reference_missing == 50
    infinite = np.array(["a", "b", np.inf, -np.inf] * 25, dtype=object)
    assert column_drift(infinite, reference).reference_missing == 50  # as Evidently drops them
    result = column_drift(pa.array(reference, from_pandas=True), current)
    assert (result.reference_missing, result.current_missing) == (50, 30)


def test_unseen_categories_are_reported_most_frequent_first_and_capped() -> None:
    rng = np.random.default_rng(17)
    reference = categories(rng, 500, 3)
    new = [f"new_{i}" for i in range(25) for _ in range(i + 1)]  # new_24 the most frequent
    result = column_drift(reference, np.concatenate([categories(rng, 500, 3), new]), name="c")
    assert result.unseen_count == 25
    assert result.unseen_rows == len(new)
    assert result.unseen_categories == tuple(f"new_{i}" for i in range(24, 4, -1))
    assert f"25 values are not in the reference ({len(new)} current rows): 'new_24'" in (
        result.detail
    )


def test_too_few_rows_give_no_verdict_and_say_so() -> None:
    rng = np.random.default_rng(18)
    reference = rng.normal(size=500)
    current = np.concatenate([rng.normal(5.0, size=12), np.full(40, np.nan)])
    result = column_drift(reference, current, name="age")
    assert (result.drifted, result.statistic) == (None, None)
    assert result.detail.startswith(
        "Not enough data in 'age': 500 reference and 12 current values that are not missing; "
        "at least 30 of each are needed."
    )
    assert column_drift(reference, current, min_rows=10).drifted is True


def test_to_dict_is_json_without_nan() -> None:
    rng = np.random.default_rng(19)
    gof = column_drift(
        categories(rng, 200, 3),
        np.concatenate([categories(rng, 200, 3), np.array([np.nan, "new"], dtype=object)]),
        options=ColumnDriftOptions(Method.CHISQUARE_GOF),
    )
    short = column_drift(np.array([np.nan] * 5), np.array([1.0, np.nan]))
    for result in (gof, short):
        encoded = json.dumps(result.to_dict(), allow_nan=False)
        assert json.loads(encoded)["column"] == ""
    assert gof.to_dict()["statistic_kind"] == "p_value"
    assert gof.to_dict()["unseen_categories"] == ["new"]


# --- Datasets ---------------------------------------------------------------------------------


def two_windows(rows: int = 2000) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(20)
    reference = {
        "a": rng.normal(size=rows),
        "b": rng.normal(size=rows),
        "c": categories(rng, rows, 4),
        "prediction": rng.random(rows) < 0.3,
    }
    current = {
        "a": rng.normal(1.0, size=rows),
        "b": rng.normal(size=rows),
        "c": categories(rng, rows, 4, shift=0.9),
        "prediction": rng.random(rows) < 0.3,
    }
    return reference, current


def test_dataset_drift_when_the_drifted_share_reaches_the_threshold() -> None:
    reference, current = two_windows()
    report = dataset_drift(reference, current)
    assert [c.column for c in report.columns if c.drifted] == ["a", "c"]
    assert (report.drifted_share, report.dataset_drift) == (0.5, True)
    assert report.summary == "Dataset drift: 2 of 4 columns drifted (50%, threshold 50%)."
    stricter = dataset_drift(reference, current, options=DriftOptions(drift_share=0.6))
    assert stricter.dataset_drift is False
    assert stricter.summary.startswith("No dataset drift: 2 of 4 columns drifted")
    assert json.loads(json.dumps(report.to_dict(), allow_nan=False))["drifted_columns"] == 2


def test_columns_in_one_window_only_are_reported_not_tested() -> None:
    reference, current = two_windows()
    reference["gone"] = np.arange(2000)
    current["new"] = np.array(["x"] * 10, dtype=object)
    report = dataset_drift(reference, current)
    gone, new = report.column("gone"), report.column("new")
    assert (gone.drifted, gone.kind, gone.reference_rows, gone.current_rows) == (
        None, "numeric", 2000, 0,
    )  # fmt: skip
    assert gone.detail == "Column 'gone' is in the reference data but not in the current data."
    assert (new.drifted, new.kind, new.current_rows) == (None, "categorical", 10)
    current["holes"] = np.array([1.5, np.nan, 2.5, np.inf, 3.5])
    holes = dataset_drift(reference, current).column("holes")
    assert (holes.kind, holes.current_rows, holes.current_missing) == ("numeric", 5, 2)
    assert report.evaluated_columns == 4
    assert report.summary.endswith("Not tested: 'gone', 'new'.")


def test_no_tested_column_gives_no_dataset_verdict() -> None:
    report = dataset_drift({"x": np.ones(5)}, {"x": np.ones(5)})
    assert (report.dataset_drift, report.drifted_share) == (None, None)
    assert report.summary == "Not enough data: no column could be tested. Not tested: 'x'."


def test_per_column_options_replace_the_kind_defaults() -> None:
    reference, current = two_windows()
    options = DriftOptions(
        per_column={"a": ColumnDriftOptions(Method.PSI, threshold=50.0)},
        default_numeric=ColumnDriftOptions(Method.KS),
        default_categorical=ColumnDriftOptions(Method.CHISQUARE_GOF, threshold=0.01),
    )
    report = dataset_drift(reference, current, kinds={"prediction": "numeric"}, options=options)
    chosen = {c.column: (c.method, c.threshold) for c in report.columns}
    assert chosen == {
        "a": (Method.PSI, 50.0),
        "b": (Method.KS, 0.05),
        "c": (Method.CHISQUARE_GOF, 0.01),
        "prediction": (Method.KS, 0.05),
    }
    assert report.column("a").drifted is False


def test_evidently_compatible_uses_the_goodness_of_fit_chisquare() -> None:
    rng = np.random.default_rng(21)
    window = {"c": categories(rng, 500, 3)}
    report = dataset_drift(window, window, options=DriftOptions(evidently_compatible=True))
    assert report.column("c").method is Method.CHISQUARE_GOF


def test_a_pyarrow_table_gives_the_numpy_numbers() -> None:
    reference, current = two_windows()
    reference["a"][:10] = np.nan
    from_numpy = dataset_drift(reference, current)
    to_table = lambda window: pa.table(  # noqa: E731
        {name: pa.array(values, from_pandas=True) for name, values in window.items()}
    )
    from_arrow = dataset_drift(to_table(reference), to_table(current))
    assert from_arrow.to_dict() == from_numpy.to_dict()
    assert from_arrow.column("a").reference_missing == 10


def test_dictionary_and_chunked_arrow_columns() -> None:
    values = ["x", "y", "z", None] * 50
    reference = pa.chunked_array([pa.array(values[:100]), pa.array(values[100:])])
    current = pa.array(values).dictionary_encode()
    result = column_drift(reference, current)
    assert (result.kind, result.method, result.statistic) == ("categorical", Method.CHISQUARE, 1.0)
    assert result.current_missing == 50


def test_arrow_string_and_large_string_columns_are_compared() -> None:
    values = ["x", "y", "z"] * 40
    result = column_drift(pa.array(values), pa.array([*values, "w"], type=pa.large_string()))
    assert (result.statistic, result.unseen_categories) == (
        stats.chi2_contingency([[40, 40, 40, 0], [40, 40, 40, 1]], correction=False).pvalue,
        ("w",),
    )


def test_mixed_types_in_an_object_column_are_categories() -> None:
    reference = np.array([1, "a", 2.5, None] * 30, dtype=object)
    current = np.array([1, "a", "b", np.nan] * 30, dtype=object)
    result = column_drift(reference, current)
    assert (result.kind, result.reference_missing, result.current_missing) == (
        "categorical",
        30,
        30,
    )
    assert result.unseen_categories == ("b",)


def test_numbers_in_an_object_column_can_be_tested_as_numbers() -> None:
    rng = np.random.default_rng(22)
    reference = np.array([*rng.normal(size=200), None], dtype=object)
    result = column_drift(reference, rng.normal(size=200), kind="numeric")
    assert (result.method, result.reference_missing) == (Method.KS, 1)


def test_the_z_test_on_more_than_two_values_gives_no_verdict() -> None:
    rng = np.random.default_rng(23)
    reference, current = categories(rng, 300, 3), categories(rng, 300, 3)
    result = column_drift(reference, current, options=ColumnDriftOptions(Method.Z), name="c")
    assert result.drifted is None
    assert result.detail.startswith("The z-test needs at most two distinct values, and 'c' has 3")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ColumnDriftOptions(threshold=0), "positive number"),
        (lambda: ColumnDriftOptions("anova"), "Unknown drift method 'anova'"),  # type: ignore[arg-type]
        (lambda: DriftOptions(drift_share=0), "drift_share"),
        (lambda: DriftOptions(min_rows=0), "min_rows"),
        (lambda: DriftOptions(per_column={"a": {"method": "ks"}}), "ColumnDriftOptions"),  # type: ignore[dict-item]
        (
            lambda: column_drift(["a"] * 50, ["b"] * 50, options=ColumnDriftOptions(Method.KS)),
            "ks applies to numeric columns",
        ),
        (
            lambda: column_drift(
                np.arange(50.0), np.arange(50.0), options=ColumnDriftOptions(Method.KS, threshold=2)
            ),
            "below 1",
        ),
        (lambda: column_drift(np.ones((5, 2)), np.ones(5)), "one-dimensional"),
        (lambda: column_drift(np.ones(5, "datetime64[s]"), np.ones(5)), "convert it"),
        (lambda: column_drift(["a"], ["b"], kind="numeric"), "not numbers"),
        (lambda: column_drift([1.0], [2.0], kind="text"), "Unknown column kind"),  # type: ignore[arg-type]
        (lambda: dataset_drift({"a": [1]}, {"a": [1]}, kinds={"b": "numeric"}), "neither"),
        (lambda: dataset_drift([1, 2], {"a": [1]}), "mapping of column name"),
    ],
)
def test_invalid_options_and_inputs_raise_invalid_input(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as raised:
        call()
    assert raised.value.code == "invalid_input"


def test_result_shape_is_the_same_for_every_outcome() -> None:
    results: list[ColumnDrift] = [
        column_drift(np.ones(5), np.ones(5)),
        column_drift(np.arange(100.0), np.arange(100.0)),
        *dataset_drift({"a": np.ones(5)}, {"b": np.ones(5)}).columns,
    ]
    assert len({tuple(r.to_dict()) for r in results}) == 1


def test_import_is_light_and_a_missing_scipy_names_the_extra() -> None:
    code = (
        "import sys\n"
        "import shipyard.monitoring.drift as drift\n"
        "print(sorted(m for m in ('scipy', 'pandas') if m in sys.modules))\n"
        "sys.modules['scipy'] = None  # as if the monitoring extra were not installed\n"
        "import numpy as np\n"
        "from shipyard.core.errors import MissingExtraError\n"
        "try:\n"
        "    drift.column_drift(np.arange(100.0), np.arange(100.0))\n"
        "except MissingExtraError as exc:\n"
        "    print(exc.message)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("[]\n")
    assert "pip install 'shipyard-ml[monitoring]'" in done.stdout


def test_public_names_are_exported() -> None:
    assert all(hasattr(drift, name) for name in drift.__all__)
    assert set(DRIFT_TESTS) == set(Method)
