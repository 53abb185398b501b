"""The HTML monitoring report's pieces: shares per bin, traffic buckets, SVG made inline, the
page escaping every user string, and matplotlib loaded only when a report is drawn."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from shipyard.monitoring.drift import dataset_drift
from shipyard.monitoring.fairness import fairness
from shipyard.monitoring.report_data import (
    OTHER,
    ReportData,
    distribution,
    traffic,
)
from shipyard.monitoring.report_data import (
    FairnessSection as Section,
)
from shipyard.monitoring.report_html import NO_FEEDBACK, SECTIONS, render, sections
from shipyard.monitoring.report_plots import distribution_svg
from tests.fixtures.html_pages import assert_self_contained

EVIL = '<script>alert("x")</script><img src="https://evil.example/x.png" onerror=alert(1)>'
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def test_numeric_distribution_shares_shared_bins_with_outliers_in_the_end_bins() -> None:
    reference = np.arange(100, dtype=np.float64)
    current = np.concatenate([np.arange(50, 150, dtype=np.float64), [1e9, np.nan, np.inf]])
    d = distribution("x", reference, current, kind="numeric", drifted=True, test="K-S 0.001")
    assert (d.kind, d.reference_count, d.current_count) == ("numeric", 100, 101)
    assert len(d.edges) == len(d.reference) + 1 == len(d.current) + 1
    assert sum(d.reference) == pytest.approx(1) and sum(d.current) == pytest.approx(1)
    assert d.current[-1] > 0 and d.reference[-1] < d.current[-1]  # 1e9 lands in the last bin
    assert d.edges[-1] < 200  # ... rather than stretching the axis to 1e9


def test_categorical_distribution_keeps_the_top_ten_and_pools_the_rest() -> None:
    reference = pa.chunked_array([[f"c{i % 15}" for i in range(300)] + [None]])
    current = [f"c{i % 12}" for i in range(120)]
    d = distribution("city", reference, current, kind="categorical")
    assert len(d.labels) == 11 and d.labels[-1] == OTHER
    assert (d.reference_count, d.current_count) == (300, 120)
    assert sum(d.reference) == pytest.approx(1) and sum(d.current) == pytest.approx(1)


def test_traffic_counts_and_percentiles_per_version_and_aligned_bucket() -> None:
    times = np.array([micros(START + timedelta(minutes=m)) for m in range(0, 180, 2)])
    versions = np.array([1 if i % 3 else 2 for i in range(len(times))])
    latency = np.arange(len(times), dtype=np.float64)
    result = traffic(times, versions, latency, np.full(len(times), 2))
    assert result.width == timedelta(minutes=5) and result.start == START  # 3 h in 5-min buckets
    assert result.versions == (1, 2) and result.total_requests == 90 and result.total_rows == 180
    assert sum(result.requests[1]) == 60 and sum(result.requests[2]) == 30
    first = latency[(versions == 1) & (times < micros(START + timedelta(minutes=5)))]
    assert result.p50_ms[1][0] == pytest.approx(np.percentile(first, 50))
    assert result.latency_p99_ms[2] == pytest.approx(np.percentile(latency[versions == 2], 99))


def test_an_explicit_window_spans_the_buckets_even_where_nothing_was_logged() -> None:
    times = np.array([micros(START + timedelta(hours=23))])
    result = traffic(
        times, np.array([1]), np.array([5.0]), np.array([1]),
        since=START, until=START + timedelta(days=1),
    )  # fmt: skip
    assert result.width == timedelta(minutes=30) and result.buckets == 48
    assert result.requests[1][:46] == (0,) * 46 and result.requests[1][46:] == (1, 0)
    assert result.p50_ms[1][0] is None


def test_two_inline_figures_share_no_id_and_reference_nothing_outside() -> None:
    d = distribution("x", np.arange(50.0), np.arange(10.0, 60.0), kind="numeric")
    first, second = distribution_svg(d, "f1"), distribution_svg(d, "f2")
    assert first.startswith('<svg class="plot" viewBox=') and "<?xml" not in first
    ids = [set(re.findall(r' id="([^"]+)"', svg)) for svg in (first, second)]
    assert ids[0] and not ids[0] & ids[1]
    assert "http" not in first and "DOCTYPE" not in first


def test_the_page_escapes_every_user_string_and_fetches_nothing() -> None:
    reference = {EVIL: np.arange(100.0), "prediction": np.tile([0, 1], 50)}
    current = {EVIL: np.arange(100.0) + 60, "prediction": np.tile([0, 1], 50)}
    drift = dataset_drift(reference, current)
    groups = np.array([EVIL, "https://evil.example/a.css"] * 50)
    labels = np.tile([0, 1, 1, 0], 25)
    report = fairness(labels, labels[::-1], groups, attribute=EVIL)
    times = np.array([micros(START + timedelta(minutes=i)) for i in range(100)])
    data = ReportData(
        endpoint=EVIL,
        model=EVIL,
        generated_at=START,
        since=None,
        until=None,
        version=None,
        traffic=traffic(times, np.ones(100, dtype=np.int64), np.ones(100), np.ones(100)),
        drift=drift,
        drift_version=1,
        distributions=tuple(
            distribution(c.column, reference[c.column], current[c.column], kind=c.kind)
            for c in drift.columns
        ),
        fairness=(Section(EVIL, report), Section(f"{EVIL}2", None, f"No {EVIL} here.")),
    )
    page = render(data)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and "onerror=alert(1)&gt;" in page  # text, not markup
    parsed = assert_self_contained(page)
    assert EVIL in parsed.all_text()  # shown as text, exactly as given
    assert [s["name"] for s in sections(page)] == list(SECTIONS)
    assert NO_FEEDBACK in parsed.all_text()  # no performance report: said plainly


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_matplotlib_loads_only_for_a_report_and_its_absence_names_the_extra() -> None:
    done = python(
        "import sys\n"
        "import shipyard, shipyard.cli.main, shipyard.cli.monitor\n"
        "import shipyard.registry.reporting, shipyard.monitoring.report_html\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
        "sys.modules['matplotlib'] = None  # as on a machine without the report extra\n"
        "from shipyard.core.errors import MissingExtraError\n"
        "from shipyard.monitoring.report_plots import require_matplotlib\n"
        "try:\n"
        "    require_matplotlib()\n"
        "except MissingExtraError as e:\n"
        "    print(e.message)\n"
        "sys.argv = ['shipyard', 'monitor', 'report', '--help']\n"
        "from shipyard.cli.main import run\n"
        "run()\n"
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'shipyard-ml[report]'" in done.stdout
    assert "--html" in done.stdout and "--sensitive" in done.stdout
