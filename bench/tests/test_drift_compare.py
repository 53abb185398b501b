"""Pairing the two tools' columns, and agreement within tolerance, from made-up results."""

import pytest
from drift import compare


def _col(name, method, statistic, drifted=False):
    return {"column": name, "method": method, "statistic": statistic, "drifted": drifted}


def test_same_method_within_tolerance_passes():
    pairs = compare.pair(
        [_col("a", "wasserstein", 0.25, True), _col("b", "jensenshannon", 0.01)],
        [_col("a", "wasserstein", 0.25 + 1e-15, True), _col("b", "jensenshannon", 0.01)],
    )
    summary = compare.summarise(pairs)
    assert summary["compared"] == 2 and summary["same_method"] == 2
    assert summary["max_abs_diff"] == pytest.approx(1e-15, abs=1e-16)
    assert summary["max_abs_diff_column"] == "a"
    assert summary["is_within_tolerance"] is True
    assert summary["method_differences"] == [] and summary["verdict_differences"] == []


def test_a_difference_above_tolerance_fails_and_names_the_column():
    pairs = compare.pair(
        [_col("a", "wasserstein", 0.25), _col("b", "wasserstein", 0.5)],
        [_col("a", "wasserstein", 0.25), _col("b", "wasserstein", 0.5 + 2e-9)],
    )
    summary = compare.summarise(pairs)
    assert summary["is_within_tolerance"] is False
    assert summary["max_abs_diff_column"] == "b"


def test_evidently_chisquare_is_shipyards_chisquare_gof():
    same = compare.pair([_col("c", "chisquare", 0.2)], [_col("c", "chisquare_gof", 0.2)])[0]
    assert same.is_same_method and same.abs_diff == 0.0
    two_sample = compare.pair([_col("c", "chisquare", 0.2)], [_col("c", "chisquare", 0.3)])[0]
    assert not two_sample.is_same_method and two_sample.abs_diff is None


def test_method_differences_are_listed_with_a_reason_and_not_compared():
    pairs = compare.pair(
        [_col("c", "chisquare", 0.2), _col("x", "ks", 0.5)],
        [_col("c", "chisquare", 0.9), _col("x", "wasserstein", 0.01)],
    )
    summary = compare.summarise(pairs)
    assert summary["compared"] == 0 and summary["max_abs_diff"] is None
    assert summary["is_within_tolerance"] is False  # nothing compared is not a pass
    why = {d["column"]: d["why"] for d in summary["method_differences"]}
    assert "two-sample" in why["c"] and "evidently_compatible" in why["c"]
    assert "not compared" in why["x"]


def test_columns_only_one_tool_reported_and_verdict_differences():
    pairs = compare.pair(
        [_col("a", "wasserstein", 0.2, True), _col("only_e", "wasserstein", 0.1)],
        [_col("a", "wasserstein", 0.2, False), _col("only_s", "jensenshannon", 0.1)],
    )
    assert [p.column for p in pairs] == ["a", "only_s", "only_e"]
    summary = compare.summarise(pairs)
    assert summary["verdict_differences"] == ["a", "only_s", "only_e"]
    why = {d["column"]: d["why"] for d in summary["method_differences"]}
    assert why == {
        "only_s": "Evidently did not report this column.",
        "only_e": "Shipyard did not report this column.",
    }
    assert pairs[0].to_dict()["is_same_verdict"] is False


def test_spread_is_the_largest_change_between_rounds():
    assert compare.spread([[_col("a", "w", 0.1)]]) is None
    runs = [
        [_col("a", "w", 0.1), _col("b", "w", 0.5)],
        [_col("a", "w", 0.1 + 3e-15), _col("b", "w", 0.5)],
    ]
    assert compare.spread(runs) == pytest.approx(3e-15, abs=1e-16)
