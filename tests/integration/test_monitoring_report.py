"""The HTML monitoring report from real prediction logs and feedback, and its API route.

Logs are written by the server's own ``PredictionLogSink`` and ``FeedbackStore``; the page is
read back with ``html.parser`` as a browser would, never matched against a stored copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.core.errors import EndpointNotFoundError, InvalidInputError
from shipyard.core.settings import Settings
from shipyard.core.types import Role
from shipyard.monitoring.report_html import CSP, NO_FEEDBACK, NO_SENSITIVE, SECTIONS, sections
from shipyard.registry.reporting import NO_PREDICTIONS, monitoring_report_html
from tests.fixtures.html_pages import assert_self_contained
from tests.fixtures.models import FEATURES_SMALL
from tests.fixtures.monitoring_logs import DRIFTED, write_logs
from tests.fixtures.serving import Served, running_app, served_registry


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Served]:
    """The served models, cancer v2 registered with the sensitive column ``group``, and logs
    of both cancer versions (read-only for the tests)."""
    root = tmp_path_factory.mktemp("report")
    settings = Settings(
        home=root / "home",
        database_url=f"sqlite:///{root / 'shipyard.db'}",
        artifact_uri=str(root / "artifacts"),
    )
    served = served_registry(settings, model_dir)
    served.registry.register(
        "cancer",
        model_dir / "model.skops",
        sample_data=model_dir / "sample_with_group.csv",
        target="target",
        sensitive=["group"],
    )
    write_logs(settings.home / "logs", versions=(1, 1, 2))
    yield served
    served.registry.close()


def test_report_plots_every_section_from_the_logs(two_versions: Served) -> None:
    page = monitoring_report_html(two_versions.registry, "cancer")
    parsed = assert_self_contained(page)
    found = sections(page)
    assert [s["name"] for s in found] == list(SECTIONS)
    assert {s["status"] for s in found} == {"shown"}, found
    for name in SECTIONS:
        assert parsed.in_section(name, "svg"), f"no plot in section {name}"
    assert f'content="{CSP}"' in page
    assert "http://" not in page and "https://" not in page  # not even a namespace URI

    # The drift table and the plots put the drifted feature first.
    rows = [attrs.get("class") for attrs in parsed.in_section("drift", "tr")[1:]]
    assert rows[0] == "drift" and "drift" not in rows[rows.index(None) :]
    plots = [a["aria-label"] for a in parsed.in_section("drift", "svg")]
    assert plots.index(f"distribution of {DRIFTED}") < plots.index(
        f"distribution of {FEATURES_SMALL[0]}"
    )
    assert plots[0] == f"distribution of {DRIFTED}" or "prediction" in plots[0]

    # Fairness by the sensitive column registered with v2, without asking for it.
    text = parsed.all_text()
    assert "By group" in text and "north" in text and "south" in text
    assert "v1" in text and "v2" in text and "latency p99" in text


def test_report_without_feedback_or_sensitive_attribute_says_so(
    two_versions: Served, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    write_logs(logs, labelled=0.0, requests=120)  # v1 only: registered without sensitive columns
    page = monitoring_report_html(two_versions.registry, "cancer", log_root=logs)
    parsed = assert_self_contained(page)
    status = {s["name"]: s["status"] for s in sections(page)}
    assert status == {"drift": "shown", "performance": "empty", "fairness": "empty",
                      "traffic": "shown"}  # fmt: skip
    assert NO_FEEDBACK in parsed.all_text() and NO_SENSITIVE in parsed.all_text()
    assert not parsed.in_section("performance", "svg") and not parsed.in_section("fairness", "svg")


def test_report_errors_name_the_problem(two_versions: Served) -> None:
    with pytest.raises(EndpointNotFoundError, match="No endpoint named 'nope'"):
        monitoring_report_html(two_versions.registry, "nope")
    with pytest.raises(InvalidInputError) as raised:
        monitoring_report_html(two_versions.registry, "sum")  # served, but nothing logged
    assert raised.value.message == NO_PREDICTIONS.format(endpoint="sum", of="")


@pytest.mark.anyio
async def test_report_route_returns_html_to_a_viewer_and_json_errors(two_versions: Served) -> None:
    viewer = two_versions.headers(Role.VIEWER)
    async with running_app(two_versions.settings) as client:
        answer = await client.get(
            "/api/v1/monitoring/cancer/report",
            params={"window": "1d", "version": 1, "sensitive": "group"},
            headers=viewer,
        )
        unknown = await client.get("/api/v1/monitoring/nope/report", headers=viewer)
        empty = await client.get("/api/v1/monitoring/sum/report", headers=viewer)
        bad = await client.get("/api/v1/monitoring/cancer/report?window=soon", headers=viewer)
        anonymous = await client.get("/api/v1/monitoring/cancer/report")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == CSP
    parsed = assert_self_contained(answer.text)
    assert "only v1 asked for" in parsed.all_text() and "By group" in parsed.all_text()
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "endpoint_not_found"
    assert empty.status_code == 422 and "logged no prediction" in empty.json()["error"]["message"]
    assert bad.status_code == 422 and "window" in bad.json()["error"]["message"]
    assert anonymous.status_code == 401
