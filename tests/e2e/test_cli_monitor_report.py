"""`shipyard monitor report ENDPOINT --html FILE` as a user types it: on the local home, and
through a real `shipyard serve` as a viewer key, from real log segments and feedback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.core.settings import Settings
from shipyard.core.types import Role
from shipyard.monitoring.report_html import SECTIONS
from shipyard.registry import Registry
from shipyard.registry.setup import initialise
from tests.e2e.cli_runner import assert_clean_error, cli
from tests.e2e.server_process import ServerProcess, served_env
from tests.fixtures.html_pages import assert_self_contained
from tests.fixtures.monitoring_logs import write_logs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    """cancer v1 in production, 200 logged requests over 6 hours, labels for 80% of them."""
    home = tmp_path_factory.mktemp("report") / "home"
    settings = Settings.for_home(home)
    initialise(settings, actor="test:setup")
    with Registry.open(settings, actor="test:setup") as registry:
        registry.register(
            "cancer", model_dir / "model.skops", sample_data=model_dir / "sample.csv",
            target="target",
        )  # fmt: skip
        registry.promote("cancer:1", "production")
    write_logs(home / "logs", requests=200)
    return home


@pytest.fixture(scope="module")
def viewer_key(home: Path) -> str:
    with Registry.open(Settings.for_home(home), actor="test:setup") as registry:
        return registry.create_key(Role.VIEWER)[1]


@pytest.fixture(scope="module")
def server(home: Path, viewer_key: str) -> Iterator[ServerProcess]:
    with ServerProcess(served_env(home)) as process:
        yield process


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_local_report_writes_one_file_and_says_what_is_in_it(home: Path, tmp_path: Path) -> None:
    env = {**served_env(home), "COLUMNS": "200"}
    target = tmp_path / "report.html"
    target.write_text("an older report")  # replaced whole, never appended to
    done = cli(env, "monitor", "report", "cancer", "--html", str(target), "--sensitive", "group",
               "--window", "all", "--json")  # fmt: skip
    shown = json.loads(done.stdout)
    assert shown["path"] == str(target) and shown["bytes"] == target.stat().st_size
    assert [s["name"] for s in shown["sections"]] == list(SECTIONS)
    assert {s["status"] for s in shown["sections"]} == {"shown"}, shown["sections"]
    fairness = next(s for s in shown["sections"] if s["name"] == "fairness")
    assert fairness["summary"].startswith("group: parity gap ")
    page = assert_self_contained(target.read_text())
    assert "By group" in page.all_text() and "an older report" not in page.all_text()
    assert leftovers(tmp_path) == ["report.html"]  # no temporary file left behind


def test_errors_are_one_clear_line_and_write_nothing(home: Path, tmp_path: Path) -> None:
    env = {**served_env(home), "COLUMNS": "200"}
    target = tmp_path / "out.html"
    assert_clean_error(
        cli(env, "monitor", "report", "nope", "--html", str(target), ok=False),
        "No endpoint named 'nope'",
    )
    assert_clean_error(
        cli(env, "monitor", "report", "cancer", "--html", str(target), "--version", "9", ok=False),
        "logged no prediction of cancer:9 in this window",
    )
    missing = tmp_path / "no" / "such" / "dir" / "out.html"
    assert_clean_error(
        cli(env, "monitor", "report", "cancer", "--html", str(missing), ok=False),
        "does not exist",
    )
    assert_clean_error(
        cli(env, "monitor", "report", "cancer", "--html", str(tmp_path), ok=False),
        "is a directory",
    )
    done = cli(env, "monitor", "report", "cancer", "--html", str(target), "--window", "soon",
               ok=False)  # fmt: skip
    assert done.returncode == 2 and "positive duration" in done.stderr
    assert leftovers(tmp_path) == []


def test_remote_report_is_fetched_from_the_server_as_a_viewer(
    server: ServerProcess, viewer_key: str, tmp_path: Path
) -> None:
    # An empty local home: the page comes from the server's logs.
    env = served_env(tmp_path / "empty")
    env.update({"SHIPYARD_URL": server.url, "SHIPYARD_API_KEY": viewer_key, "COLUMNS": "200"})
    target = tmp_path / "remote.html"
    done = cli(env, "monitor", "report", "cancer", "--html", str(target))
    assert f"Wrote {target}" in " ".join(done.stdout.split())
    page = assert_self_contained(target.read_text())
    assert "Monitoring report: cancer" in page.all_text()
    for name in ("drift", "performance", "traffic"):
        assert page.in_section(name, "svg"), name
    assert_clean_error(
        cli(env, "monitor", "report", "nope", "--html", str(tmp_path / "x.html"), ok=False),
        "No endpoint named 'nope'",
    )
    assert leftovers(tmp_path) == ["remote.html"]  # no local home made, no temporary file
