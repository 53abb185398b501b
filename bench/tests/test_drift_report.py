"""Medians, targets and the Markdown page of the drift benchmark, from made-up runs."""

import pytest
from drift import compare, report


def _run(tool, read_compute, rss, round_=1, ok=True):
    return {
        "round": round_,
        "tool": tool,
        "ok": ok,
        "error": None if ok else "exit code 1: boom",
        "wall_s": read_compute + 1,
        "cpu_s": read_compute + 0.5,
        "peak_rss_mb": rss,
        "peak_rss_self_mb": rss - 1,
        "rss_after_read_mb": rss / 2,
        "seconds": {
            "import": 1.0,
            "read": 0.5,
            "compute": read_compute - 0.5,
            "read_compute": read_compute,
            "extract": 0.0,
        },
    }


def test_summary_takes_medians_over_successful_rounds():
    runs = [_run("e", 40.0, 1400), _run("e", 60.0, 1500, 2), _run("e", 1.0, 10, 3, ok=False)]
    summary = report.summarise(runs)
    assert summary["rounds"] == 2
    assert summary["read_compute_s"] == 50.0
    assert summary["read_compute_s_range"] == [40.0, 60.0]
    assert summary["peak_rss_mb"] == 1450
    assert report.summarise([_run("e", 1.0, 10, ok=False)]) is None


def _targets(ev_time, sy_time, ev_rss, sy_rss, diff=1e-15):
    ev = report.summarise([_run("evidently", ev_time, ev_rss)])
    sy = report.summarise([_run("shipyard", sy_time, sy_rss)])
    pairs = compare.pair(
        [{"column": "a", "method": "wasserstein", "statistic": 0.3, "drifted": True}],
        [{"column": "a", "method": "wasserstein", "statistic": 0.3 + diff, "drifted": True}],
    )
    return {t["name"]: t for t in report.targets(ev, sy, compare.summarise(pairs))}


def test_targets_pass_at_the_boundaries():
    t = _targets(ev_time=40.0, sy_time=5.0, ev_rss=1400, sy_rss=700, diff=1e-10)
    assert t["speed"]["value"] == 8.0 and t["speed"]["passed"] is True
    assert t["memory"]["value"] == 0.5 and t["memory"]["passed"] is True
    assert t["statistics"]["passed"] is True


def test_targets_fail_just_past_them():
    t = _targets(ev_time=40.0, sy_time=5.1, ev_rss=1400, sy_rss=701, diff=2e-9)
    assert t["speed"]["passed"] is False
    assert t["memory"]["passed"] is False
    assert t["statistics"]["value"] == pytest.approx(2e-9)
    assert t["statistics"]["passed"] is False


def test_without_evidently_the_targets_are_not_measured_and_say_why():
    sy = report.summarise([_run("shipyard", 2.0, 300)])
    targets = report.targets(None, sy, None, why_not="evidently: pip install failed")
    assert [t["passed"] for t in targets] == [None, None, None]
    assert all(t["note"] == "evidently: pip install failed" for t in targets)


def _result(evidently_ok=True):
    runs = [_run("shipyard", 2.0, 300)]
    if evidently_ok:
        runs.insert(0, _run("evidently", 48.0, 1400))
    ev = report.summarise([r for r in runs if r["tool"] == "evidently"])
    sy = report.summarise([r for r in runs if r["tool"] == "shipyard"])
    comparison = None
    if evidently_ok:
        pairs = compare.pair(
            [{"column": "num_0", "method": "chisquare", "statistic": 0.01, "drifted": True}],
            [{"column": "num_0", "method": "chisquare", "statistic": 0.2, "drifted": False}],
        )
        comparison = {
            "pairs": [p.to_dict() for p in pairs],
            "summary": compare.summarise(pairs),
            "evidently_drifted": 1,
            "shipyard_drifted": 0,
            "evidently_spread": 1e-15,
            "shipyard_spread": 0.0,
        }
    why = None if evidently_ok else "could not install evidently==0.7.23: pip install failed"
    return {
        "date": "2026-01-01T00:00:00+00:00",
        "git": "abc1234",
        "evidently_version": "0.7.23",
        "options": {"quick": False, "rounds": 1},
        "machine": {
            "cpu_count": 2, "cpu_model": "CPU", "memory_gb": 24, "kernel": "6", "python": "3.11",
        },
        "data": {
            "rows": 1000, "reference_rows": 100, "columns": 1, "numeric": 1, "categorical": 0,
            "parquet_mb": 1.0,
            "plan": [{"name": "num_0", "shape": "normal", "injected": "mean +0.3 (0.3 sd)"}],
        },
        "versions": {"project venv": {"numpy": "2"}},
        "evidently": {"summary": ev, "unavailable": why},
        "shipyard": {"summary": sy, "unavailable": None},
        "comparison": comparison,
        "targets": report.targets(ev, sy, comparison and comparison["summary"], why or ""),
        "runs": runs,
        "elapsed_s": 60.0,
    }  # fmt: skip


def test_markdown_shows_ratios_targets_columns_and_method_differences():
    text = report.markdown(_result())
    assert "| read Parquet + compute, s | 48.00 (48.00-48.00) | 2.00 (2.00-2.00) | 24.0x |" in text
    assert "| Evidently / Shipyard read+compute time >= 8x | 24.0x | PASS" in text
    assert "| Shipyard / Evidently peak RSS <= 0.5 | 0.21 | PASS" in text
    assert "| num_0 | normal | mean +0.3 (0.3 sd) | chisquare | 0.01 | drift |" in text
    assert "**num_0**: Evidently `chisquare`, Shipyard `chisquare`." in text
    assert "differ on num_0" in text


def test_markdown_warns_when_the_machine_was_busy():
    result = _result()
    assert "busy" not in report.markdown(result)
    result["machine"]["loadavg_before"] = [2.5, 2.0, 1.0]
    assert "**The machine was busy** (1-minute load average 2.50 on 2 cores" in report.markdown(
        result
    )


def test_markdown_says_when_evidently_was_not_measured():
    text = report.markdown(_result(evidently_ok=False))
    assert "**Evidently not measured: could not install evidently==0.7.23" in text
    assert "| read Parquet + compute, s | - (-) | 2.00 (2.00-2.00) | - |" in text
    assert "not measured (could not install" in text
    assert "No comparison" in text
