"""Monitoring settings: the YAML shape, errors naming file, line and field, and the options made."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
import yaml

from shipyard.client import Client
from shipyard.core.errors import InvalidInputError, MonitoringSettingsError
from shipyard.core.monitoring_settings import MonitoringSettingsRecord
from shipyard.monitoring.drift import ColumnDriftOptions, DriftOptions, Method
from shipyard.monitoring.settings import MonitoringSettings, methods_for, settings_document

FULL = """\
drift:
  drift_share: 0.3          # dataset drift threshold
  min_rows: 50
  evidently: true           # Evidently's exact tests
  numeric: {method: wasserstein, threshold: 0.2}
  categorical: {method: jensenshannon}
  columns:
    mean radius: {method: psi, threshold: 0.25}
    prediction: {method: chisquare, threshold: 0.01}
performance:
  min_rows: 40
fairness:
  min_group_rows: 20
"""
COLUMNS = ("mean radius", "mean texture", "prediction")
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def parse(text: str, **kwargs: object) -> MonitoringSettings:
    return MonitoringSettings.parse(text, source="settings.yaml", **kwargs)  # type: ignore[arg-type]


def error(text: str, **kwargs: object) -> str:
    with pytest.raises(MonitoringSettingsError) as caught:
        parse(text, **kwargs)
    assert caught.value.code == "invalid_monitoring_settings"
    assert isinstance(caught.value, InvalidInputError) and caught.value.http_status == 422
    return caught.value.message


def test_every_field_parses_into_the_drift_options_and_row_counts() -> None:
    settings = parse(FULL, columns=COLUMNS, model="cancer")
    assert settings == MonitoringSettings(
        drift=DriftOptions(
            drift_share=0.3,
            per_column={
                "mean radius": ColumnDriftOptions(Method.PSI, 0.25),
                "prediction": ColumnDriftOptions(Method.CHISQUARE, 0.01),
            },
            default_numeric=ColumnDriftOptions(Method.WASSERSTEIN, 0.2),
            default_categorical=ColumnDriftOptions(Method.JENSENSHANNON),
            evidently_compatible=True,
            min_rows=50,
        ),
        performance_min_rows=40,
        fairness_min_group_rows=20,
    )
    assert settings.drift_options() == settings.drift


@pytest.mark.parametrize(
    "text", ["", "# nothing set\n", "{}", "drift:\nperformance:\nfairness:\n", "drift: {}\n"]
)
def test_an_empty_document_gives_every_report_default(text: str) -> None:
    settings = parse(text)
    assert settings == MonitoringSettings.default()
    assert settings.drift == DriftOptions()
    assert (settings.performance_min_rows, settings.fairness_min_group_rows) == (30, 30)


def test_null_kind_sections_and_thresholds_mean_automatic_and_the_method_default() -> None:
    settings = parse("drift:\n  numeric:\n  categorical: {method: z, threshold: null}\n")
    assert settings.drift.default_numeric == ColumnDriftOptions()
    assert settings.drift.default_categorical == ColumnDriftOptions(Method.Z, None)


def test_to_yaml_reads_back_to_equal_settings() -> None:
    for text in (FULL, "", "drift:\n  columns:\n    a: {method: ks}\n"):
        settings = parse(text)
        assert MonitoringSettings.parse(settings.to_yaml()) == settings
        assert yaml.safe_load(settings.to_yaml()) == settings.to_dict()


def test_to_dict_shows_every_setting_in_force() -> None:
    assert MonitoringSettings().to_dict() == {
        "drift": {
            "drift_share": 0.5,
            "min_rows": 30,
            "evidently": False,
            "numeric": None,
            "categorical": None,
            "columns": {},
        },
        "performance": {"min_rows": 30},
        "fairness": {"min_group_rows": 30},
    }
    drift = parse(FULL).to_dict()["drift"]
    assert drift["numeric"] == {"method": "wasserstein", "threshold": 0.2}
    assert drift["categorical"] == {"method": "jensenshannon", "threshold": None}
    assert drift["columns"]["mean radius"] == {"method": "psi", "threshold": 0.25}


def test_an_explicit_evidently_argument_wins_over_the_setting() -> None:
    on = parse("drift:\n  evidently: true\n")
    assert on.drift_options().evidently_compatible is True
    assert on.drift_options(evidently_compatible=False).evidently_compatible is False
    off = parse("drift:\n  evidently: false\n")
    assert off.drift_options(evidently_compatible=True).evidently_compatible is True
    assert MonitoringSettings().drift_options().evidently_compatible is False


def test_per_column_settings_for_columns_not_compared_are_left_out() -> None:
    settings = parse(FULL)
    kept = settings.drift_options(columns={"prediction", "mean texture"})
    assert dict(kept.per_column) == {"prediction": ColumnDriftOptions(Method.CHISQUARE, 0.01)}
    assert kept.drift_share == 0.3 and kept.min_rows == 50  # everything else stays
    assert settings.drift_options(columns=COLUMNS) == settings.drift


# -- errors: each names the file, the line and the field, and what is valid ------------------

ERRORS = [
    (
        "drift:\n  drif_share: 0.4\n",
        "settings.yaml line 2: drift.drif_share: unknown field (did you mean 'drift_share'?); "
        "expected one of: drift_share, min_rows, evidently, numeric, categorical, columns",
    ),
    (
        "drift: {}\nalerts: {}\n",
        "settings.yaml line 2: alerts: unknown field; expected one of: drift, performance, "
        "fairness",
    ),
    (
        "performance:\n  min_row: 10\n",
        "settings.yaml line 2: performance.min_row: unknown field (did you mean 'min_rows'?); "
        "expected one of: min_rows",
    ),
    (
        "drift:\n  numeric: {method: wasserstien}\n",
        "settings.yaml line 2: drift.numeric.method: unknown method 'wasserstien' (did you mean "
        "'wasserstein'?); methods: ks, wasserstein, chisquare, chisquare_gof, z, jensenshannon, "
        "psi",
    ),
    (
        "drift:\n  categorical: {method: ks}\n",
        "settings.yaml line 2: drift.categorical.method: ks does not apply to categorical "
        "columns; use one of: chisquare, chisquare_gof, z, jensenshannon, psi",
    ),
    (
        "drift:\n  numeric: {threshold: 0.2}\n",
        "settings.yaml line 2: drift.numeric.method: a threshold needs a method: a p-value "
        "threshold (drift when small) and a distance threshold (drift when large) mean "
        "opposite things; add method: one of ks, wasserstein, chisquare, chisquare_gof, z, "
        "jensenshannon, psi",
    ),
    (
        "drift:\n  columns:\n    mean radius: {method: ks, threshold: 1.5}\n",
        "settings.yaml line 3: drift.columns.mean radius.threshold: ks gives a p-value (drift "
        "when <= the threshold): expected a number above 0 and below 1, e.g. 0.05, got 1.5",
    ),
    (
        "drift:\n  columns:\n    mean radius:\n      method: psi\n      threshold: 0\n",
        "settings.yaml line 5: drift.columns.mean radius.threshold: psi gives a distance (drift "
        "when >= the threshold): expected a number above 0, e.g. 0.1, got 0",
    ),
    (
        "drift:\n  columns:\n    mean radius: {method: psi, threshold: high}\n",
        "settings.yaml line 3: drift.columns.mean radius.threshold: expected a number, got 'high'",
    ),
    (
        "drift:\n  columns:\n    mean radius: {method: psi, bins: 10}\n",
        "settings.yaml line 3: drift.columns.mean radius.bins: unknown field; expected one of: "
        "method, threshold",
    ),
    (
        "drift:\n  columns:\n    mean radius:\n",
        "settings.yaml line 3: drift.columns.mean radius: expected {method, threshold}, got "
        "nothing (null)",
    ),
    (
        "drift:\n  columns:\n    mean radus: {method: psi}\n",
        "settings.yaml line 3: drift.columns.mean radus: unknown column 'mean radus' (did you "
        "mean 'mean radius'?); the columns cancer takes: mean radius, mean texture, prediction",
    ),
    (
        "drift:\n  columns:\n    7: {method: psi}\n",
        "settings.yaml line 3: drift.columns: expected names (quote names YAML reads as "
        "numbers, dates or booleans), got '7'",
    ),
    (
        "drift:\n  columns: [mean radius]\n",
        "settings.yaml line 2: drift.columns: expected a mapping of column names to {method, "
        "threshold}, got a list",
    ),
    (
        "drift:\n  drift_share: 0\n",
        "settings.yaml line 2: drift.drift_share: expected a share above 0 and at most 1 (0.5: "
        "half the tested columns), got 0",
    ),
    (
        "drift:\n  drift_share: half\n",
        "settings.yaml line 2: drift.drift_share: expected a number, got 'half'",
    ),
    (
        "drift:\n  evidently: 1\n",
        "settings.yaml line 2: drift.evidently: expected true or false, got '1'",
    ),
    (
        "drift:\n  min_rows: 0\n",
        "settings.yaml line 2: drift.min_rows: expected at least 1 row, got 0",
    ),
    (
        "performance:\n  min_rows: 2.5\n",
        "settings.yaml line 2: performance.min_rows: expected a whole number of rows, got '2.5'",
    ),
    (
        "fairness:\n  min_group_rows: true\n",
        "settings.yaml line 2: fairness.min_group_rows: expected a whole number of rows, got "
        "'true'",
    ),
    (
        "drift:\n  min_rows: 5\n  min_rows: 6\n",
        "settings.yaml line 3: drift.min_rows: given twice; keep one",
    ),
    ("drift: 3\n", "settings.yaml line 1: drift: expected a mapping, got '3'"),
    ("- drift\n", "settings.yaml line 1: settings: expected a mapping of sections, got a list"),
    (
        "drift:\n  numeric: {method: ks\n",
        "settings.yaml line 3: invalid YAML: expected ',' or '}', but got '<stream end>'. Fix "
        "the syntax; settings are one YAML mapping of sections (drift, performance, fairness).",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_each_mistake_is_named_with_its_line_field_and_the_valid_choices(
    text: str, message: str
) -> None:
    assert error(text, columns=COLUMNS, model="cancer") == message


def test_any_column_name_is_accepted_when_the_columns_are_unknown() -> None:
    settings = parse("drift:\n  columns:\n    anything: {method: psi}\n")
    assert set(settings.drift.per_column) == {"anything"}


def test_tags_that_construct_no_value_are_refused_with_their_line() -> None:
    message = error("drift:\n  drift_share: !!float oops\n")
    assert message.startswith("settings.yaml line 2: drift.drift_share: expected a number, got")


def test_the_methods_of_each_kind_come_from_the_drift_registry() -> None:
    assert methods_for("numeric") == [m.value for m in Method]
    assert methods_for("categorical") == ["chisquare", "chisquare_gof", "z", "jensenshannon", "psi"]


def test_the_document_names_the_revision_in_force_or_the_defaults() -> None:
    assert settings_document("cancer", []) == {
        "model": "cancer",
        "revision": 0,
        "text": None,
        "settings": MonitoringSettings().to_dict(),
        "history": [],
    }
    older = MonitoringSettingsRecord("cancer", 1, "drift: {min_rows: 10}\n", "os:alice", AT)
    newer = MonitoringSettingsRecord("cancer", 2, FULL, "key:abc", AT)
    document = settings_document("cancer", [newer, older])
    assert (document["revision"], document["text"]) == (2, FULL)
    assert document["settings"] == parse(FULL).to_dict()
    assert document["history"] == [newer.to_dict(), older.to_dict()]
    assert MonitoringSettingsRecord.from_dict(newer.to_dict()) == newer


def test_the_client_reads_and_sets_settings_on_the_model_route() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "PUT":
            return httpx.Response(200, json={"model": "a/b", "revision": 1})
        return httpx.Response(
            422,
            json={"error": {"code": "invalid_monitoring_settings", "message": "line 1: drift"}},
        )

    with Client("http://shipyard.test", "sy_x_y", transport=httpx.MockTransport(answer)) as client:
        assert client.set_monitoring_settings("a/b", "drift: {}\n")["revision"] == 1
        with pytest.raises(MonitoringSettingsError, match="line 1: drift"):
            client.monitoring_settings("a/b")
    assert [(r.method, r.url.raw_path) for r in seen] == [
        ("PUT", b"/api/v1/models/a%2Fb/monitoring-settings"),
        ("GET", b"/api/v1/models/a%2Fb/monitoring-settings"),
    ]
    assert seen[0].content == b'{"text":"drift: {}\\n"}'
