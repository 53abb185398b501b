"""The drift benchmark end to end on small data, without Evidently (skipped or failing)."""

import json

import pytest
from drift import cli, venv
from serving.peers import PeerUnavailableError

SMALL = ["--rows", "3000", "--reference-rows", "1500", "--rounds", "2"]


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "RESULTS_DIR", tmp_path / "results")
    return tmp_path / "results"


def test_without_evidently_shipyard_is_still_measured_and_recorded(results_dir, capsys):
    assert cli.main([*SMALL, "--no-evidently", "--output", "t"]) == 0
    result = json.loads((results_dir / "t.json").read_text())
    assert result["evidently"] == {"summary": None, "unavailable": "skipped (--no-evidently)"}
    assert result["shipyard"]["summary"]["rounds"] == 2
    assert [r["tool"] for r in result["runs"]] == ["shipyard", "shipyard"]
    assert result["comparison"] is None
    assert [t["passed"] for t in result["targets"]] == [None, None, None]
    assert result["data"]["rows"] == 3000 and len(result["data"]["plan"]) == 20
    text = (results_dir / "t.md").read_text()
    assert "**Evidently not measured: skipped (--no-evidently)**" in text
    assert "written to" in capsys.readouterr().out


def test_a_failed_evidently_install_is_reported_not_faked(results_dir, monkeypatch):
    def fail(log_dir, root=None):
        raise PeerUnavailableError("pip install failed (exit 1): no matching distribution")

    monkeypatch.setattr(venv, "ensure", fail)
    assert cli.main([*SMALL, "--rounds", "1"]) == 0
    result = json.loads((results_dir / "drift.json").read_text())
    why = result["evidently"]["unavailable"]
    assert why.startswith("could not install evidently==0.7.23: pip install failed")
    assert result["evidently"]["summary"] is None
    assert result["shipyard"]["summary"]["read_compute_s"] > 0
    assert all(t["value"] is None and "pip install failed" in t["note"] for t in result["targets"])


def test_options_quick_sizes_and_bad_rounds():
    quick = cli.spec_of(cli.parse_args(["--quick"]))
    assert (quick.rows, quick.reference_rows) == (100_000, 10_000)
    full = cli.spec_of(cli.parse_args([]))
    assert (full.rows, full.reference_rows, full.numeric, full.categorical) == (
        1_000_000, 100_000, 14, 6,
    )  # fmt: skip
    with pytest.raises(SystemExit):
        cli.parse_args(["--rounds", "0"])
