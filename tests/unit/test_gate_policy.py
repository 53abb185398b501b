"""Gate policies: the YAML shape, errors that name line and field, and exact round trips."""

from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.gates import (
    FAIRNESS_METRICS,
    KNOWN_METRICS,
    ChampionRule,
    FairnessLimit,
    FairnessRule,
    GatePolicy,
    GatePolicyError,
    LatencyBudget,
    MetricThreshold,
    SchemaMode,
)

FULL = """\
approvals: 1                 # approvals by people other than the requester
metrics:
  accuracy: {min: 0.9}
  log_loss: {max: 0.35}
champion:
  metric: accuracy
  max_regression: 0.01
fairness:
  sensitive: [sex]
  demographic_parity_difference: {max: 0.1}
  equalized_odds_difference: {max: 0.15}
latency:
  p99_ms: 50
  require_pilot: true
schema: compatible
integrity:
  require_signature: false
"""


def test_the_documented_example_parses_to_every_section() -> None:
    assert GatePolicy.parse(FULL) == GatePolicy(
        approvals=1,
        metrics=(MetricThreshold("accuracy", min=0.9), MetricThreshold("log_loss", max=0.35)),
        champion=ChampionRule("accuracy", 0.01),
        fairness=FairnessRule(
            ("sex",),
            (
                FairnessLimit("demographic_parity_difference", 0.1),
                FairnessLimit("equalized_odds_difference", 0.15),
            ),
        ),
        latency=LatencyBudget(50.0, require_pilot=True),
        schema=SchemaMode.COMPATIBLE,
        require_signature=False,
    )


@pytest.mark.parametrize("text", ["", "{}", "# nothing yet\n", "\n\n", "metrics:\nchampion:\n"])
def test_empty_documents_give_the_default_policy(text: str) -> None:
    assert GatePolicy.parse(text) == GatePolicy.default()


def test_default_policy_checks_only_schema_and_integrity() -> None:
    assert GatePolicy.default().to_dict() == {
        "approvals": 0,
        "metrics": {},
        "champion": None,
        "fairness": None,
        "latency": None,
        "schema": "compatible",
        "integrity": {"require_signature": False},
    }


def test_sections_take_their_defaults() -> None:
    policy = GatePolicy.parse(
        "champion: {metric: rmse}\nlatency: {p99_ms: 20}\nfairness: {sensitive: age}\n"
        "integrity: {}\nschema: ignore\nmetrics:\n  accuracy: {min: 0.8, max: 0.99}\n"
    )
    assert policy.champion == ChampionRule("rmse", 0.0)
    assert policy.latency == LatencyBudget(20.0, require_pilot=True)
    assert policy.fairness == FairnessRule(("age",), ())
    assert policy.schema is SchemaMode.IGNORE
    assert policy.require_signature is False
    assert policy.metrics == (MetricThreshold("accuracy", 0.8, 0.99),)
    assert policy.metrics[0].describe() == ">= 0.8 and <= 0.99"


# -- errors name the source, the line and the field path --------------------------------------

ERRORS = [
    pytest.param(
        "approvals: 1\nmetrics:\n  log_loss: {max: 0.35}\n  accuracy:\n    min: high\n",
        "policy.yaml line 5: metrics.accuracy.min: expected a number, got 'high'",
        id="bad-type",
    ),
    pytest.param(
        "approvals: 1\nmetrics:\n  accuracy: {min: 0.9}\n\n\n\nfairnes:\n  sensitive: [sex]\n",
        "policy.yaml line 7: unknown field 'fairnes' (did you mean 'fairness'?)",
        id="unknown-field",
    ),
    pytest.param(
        "metrics:\n  accuracy:\n    min: 0.9\n    mx: 1.0\n",
        "policy.yaml line 4: unknown field 'metrics.accuracy.mx' (did you mean 'max'?)",
        id="unknown-nested-field",
    ),
    pytest.param(
        "latency:\n  p99_ms: 50\n  warmup: 3\n",
        "policy.yaml line 3: unknown field 'latency.warmup' (expected one of: p99_ms, "
        "require_pilot)",
        id="unknown-field-no-suggestion",
    ),
    pytest.param(
        "approvals: 1\nmetrics:\n  accuracy: {min: 0.9\nchampion:\n  metric: accuracy\n",
        "policy.yaml line 4: invalid YAML: expected ',' or '}', but got ':' (while parsing a "
        "flow mapping on line 3)",
        id="yaml-syntax",
    ),
    pytest.param(
        "metrics:\n\taccuracy: {min: 0.9}\n",
        "policy.yaml line 2: invalid YAML: found character '\\t' that cannot start any token",
        id="yaml-tab",
    ),
    pytest.param(
        "approvals: 0\nmetrics:\n  f1: {min: 0.5}\n  acuracy: {min: 0.9}\n",
        "policy.yaml line 4: metrics.acuracy: unknown metric 'acuracy' (did you mean "
        "'accuracy'?); known metrics: " + ", ".join(KNOWN_METRICS),
        id="unknown-metric",
    ),
    pytest.param(
        "champion:\n  metric: auc\n",
        "policy.yaml line 2: champion.metric: unknown metric 'auc'",
        id="unknown-champion-metric",
    ),
    pytest.param(
        "approvals: 1\nchampion:\n  metric: accuracy\n  max_regression: -0.01\n",
        "policy.yaml line 4: champion.max_regression: expected a number >= 0",
        id="negative-max-regression",
    ),
    pytest.param(
        "# who must sign off\n\napprovals: -1\n",
        "policy.yaml line 3: approvals: expected a non-negative integer, got -1",
        id="negative-approvals",
    ),
    pytest.param(
        "approvals: 1.5\n",
        "policy.yaml line 1: approvals: expected a non-negative integer, got '1.5'",
        id="fractional-approvals",
    ),
    pytest.param(
        "approvals: true\n",
        "policy.yaml line 1: approvals: expected a non-negative integer, got 'true'",
        id="boolean-approvals",
    ),
    pytest.param(
        "metrics:\n  accuracy: 0.9\n",
        "policy.yaml line 2: metrics.accuracy: expected a mapping with min and/or max, got '0.9'",
        id="bare-threshold",
    ),
    pytest.param(
        "metrics:\n  accuracy: {}\n",
        "policy.yaml line 2: metrics.accuracy: give min, max or both",
        id="empty-threshold",
    ),
    pytest.param(
        "metrics:\n  accuracy: {min: 0.95, max: 0.9}\n",
        "policy.yaml line 2: metrics.accuracy: min 0.95 is greater than max 0.9",
        id="min-above-max",
    ),
    pytest.param(
        "metrics:\n  accuracy:\n    min: 90\n",
        "policy.yaml line 3: metrics.accuracy.min: accuracy lies between 0 and 1, got 90",
        id="percent-instead-of-fraction",
    ),
    pytest.param(
        "metrics:\n  accuracy: {min: '0.9'}\n",
        "policy.yaml line 2: metrics.accuracy.min: expected a number, got '0.9'",
        id="quoted-number",
    ),
    pytest.param(
        "approvals: 1\napprovals: 2\n",
        "policy.yaml line 2: approvals: given twice; keep one",
        id="duplicate-key",
    ),
    pytest.param(
        "fairness:\n  sensitive: [sex]\n  demographic_parity: {max: 0.1}\n",
        "policy.yaml line 3: fairness.demographic_parity: unknown fairness metric "
        "'demographic_parity' (did you mean 'demographic_parity_difference'?); known fairness "
        "metrics: " + ", ".join(FAIRNESS_METRICS),
        id="unknown-fairness-metric",
    ),
    pytest.param(
        "fairness:\n  sensitive: [sex]\n  equalized_odds_difference:\n    min: 0.1\n",
        "policy.yaml line 4: unknown field 'fairness.equalized_odds_difference.min' "
        "(expected one of: max)",
        id="fairness-min",
    ),
    pytest.param(
        "fairness:\n  sensitive: [sex, age, sex]\n",
        "policy.yaml line 2: fairness.sensitive[2]: column 'sex' is listed twice",
        id="duplicate-sensitive",
    ),
    pytest.param(
        "fairness:\n  sensitive: [sex]\n  demographic_parity_difference: {max: 10}\n",
        "policy.yaml line 3: fairness.demographic_parity_difference.max: expected 0 to 1, got 10",
        id="fairness-out-of-range",
    ),
    pytest.param(
        "latency:\n  require_pilot: false\n",
        "policy.yaml line 2: latency.p99_ms: required",
        id="latency-without-budget",
    ),
    pytest.param(
        "latency:\n  p99_ms: 0\n",
        "policy.yaml line 2: latency.p99_ms: expected a number > 0, got 0",
        id="zero-budget",
    ),
    pytest.param(
        "latency:\n  p99_ms: 50\n  require_pilot: maybe\n",
        "policy.yaml line 3: latency.require_pilot: expected true or false, got 'maybe'",
        id="non-boolean",
    ),
    pytest.param(
        "champion:\n  max_regression: 0.1\n",
        "policy.yaml line 2: champion.metric: required",
        id="champion-without-metric",
    ),
    pytest.param(
        "schema: strict\n",
        "policy.yaml line 1: schema: expected compatible or ignore, got 'strict'",
        id="schema-mode",
    ),
    pytest.param(
        "- metrics\n- champion\n",
        "policy.yaml line 1: policy: expected a mapping of policy sections, got a list",
        id="not-a-mapping",
    ),
    pytest.param(
        "approvals: 1\n---\napprovals: 2\n",
        "policy.yaml line 2: invalid YAML: expected a single document in the stream, but found "
        "another document",
        id="two-documents",
    ),
    pytest.param(
        "approvals: !!python/object/apply:os.system ['true']\n",
        "policy.yaml line 1: approvals: expected a non-negative integer, got a list",
        id="python-tag-on-sequence",
    ),
    pytest.param(
        "approvals: !!python/name:os.system ''\n",
        "policy.yaml line 1: approvals: expected a non-negative integer, got a value tagged",
        id="python-tag-on-scalar",
    ),
    pytest.param(
        "approvals: !!int oops\n",
        "policy.yaml line 1: approvals: expected a non-negative integer, got a value tagged",
        id="int-tag-on-a-word",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_errors_name_line_and_field(text: str, message: str) -> None:
    with pytest.raises(GatePolicyError) as caught:
        GatePolicy.parse(text, source="policy.yaml")
    assert caught.value.message.startswith(message), caught.value.message
    assert isinstance(caught.value, InvalidInputError)
    assert caught.value.code == "invalid_gate_policy"


def test_default_source_name() -> None:
    with pytest.raises(GatePolicyError, match=r"^gate policy line 1: approvals: "):
        GatePolicy.parse("approvals: many\n")


def test_yaml_syntax_errors_say_how_to_fix() -> None:
    with pytest.raises(GatePolicyError, match="Fix the syntax"):
        GatePolicy.parse("metrics: [accuracy\n")


# -- derived policies -------------------------------------------------------------------------


def test_with_min_metrics_adds_and_overrides_without_touching_the_original() -> None:
    policy = GatePolicy.parse("metrics:\n  accuracy: {min: 0.9, max: 0.99}\n  r2: {min: 0.1}\n")
    derived = policy.with_min_metrics({"accuracy": 0.95, "f1": 0.8})
    assert derived.metrics == (
        MetricThreshold("accuracy", 0.95, 0.99),
        MetricThreshold("r2", 0.1),
        MetricThreshold("f1", 0.8),
    )
    assert policy.metrics[0] == MetricThreshold("accuracy", 0.9, 0.99)


@pytest.mark.parametrize(
    ("minimums", "message"),
    [
        ({"acc": 0.9}, "Unknown metric 'acc'"),
        ({"accuracy": 1.5}, "accuracy lies between 0 and 1, got 1.5"),
        ({"log_loss": 0.5}, "above the policy's maximum 0.35"),
        ({"f1": float("nan")}, "expected a finite number"),
    ],
)
def test_with_min_metrics_refuses_impossible_minimums(
    minimums: dict[str, float], message: str
) -> None:
    policy = GatePolicy.parse("metrics:\n  log_loss: {max: 0.35}\n")
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        policy.with_min_metrics(minimums)


def test_with_sensitive_adds_columns_once() -> None:
    policy = GatePolicy.parse(FULL).with_sensitive(["age", "sex", "age"])
    assert policy.fairness is not None
    assert policy.fairness.sensitive == ("sex", "age")
    assert len(policy.fairness.limits) == 2
    bare = GatePolicy.default().with_sensitive(["sex"])
    assert bare.fairness == FairnessRule(("sex",), ())


# -- round trip -------------------------------------------------------------------------------


def test_yaml_round_trip_of_the_example_is_plain_safe_yaml() -> None:
    policy = GatePolicy.parse(FULL)
    text = policy.to_yaml()
    assert "!!" not in text
    assert yaml.safe_load(text) == policy.to_dict()
    assert GatePolicy.parse(text) == policy


def _bounded(metric: str) -> st.SearchStrategy[float]:
    info = KNOWN_METRICS[metric]
    low = info.lower if info.lower is not None else -1e6
    high = info.upper if info.upper is not None else 1e6
    return st.floats(low, high, allow_nan=False)


@st.composite
def thresholds(draw: st.DrawFn) -> tuple[MetricThreshold, ...]:
    names = draw(st.lists(st.sampled_from(sorted(KNOWN_METRICS)), max_size=4, unique=True))
    result = []
    for name in names:
        bounds = sorted(draw(st.lists(_bounded(name), min_size=1, max_size=2)))
        kind = draw(st.sampled_from(["min", "max", "both"]))
        if kind == "both" and len(bounds) == 2:
            result.append(MetricThreshold(name, bounds[0], bounds[1]))
        elif kind == "max":
            result.append(MetricThreshold(name, max=bounds[0]))
        else:
            result.append(MetricThreshold(name, min=bounds[0]))
    return tuple(result)


COLUMN_NAMES = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=12,
)

POLICIES = st.builds(
    GatePolicy,
    approvals=st.integers(0, 5),
    metrics=thresholds(),
    champion=st.none()
    | st.builds(
        ChampionRule,
        st.sampled_from(sorted(KNOWN_METRICS)),
        st.floats(0, 1, allow_nan=False),
    ),
    fairness=st.none()
    | st.builds(
        FairnessRule,
        st.lists(COLUMN_NAMES, max_size=3, unique=True).map(tuple),
        st.lists(st.sampled_from(sorted(FAIRNESS_METRICS)), max_size=2, unique=True).flatmap(
            lambda names: st.tuples(
                *(st.builds(FairnessLimit, st.just(n), st.floats(0, 1)) for n in names)
            )
        ),
    ),
    latency=st.none()
    | st.builds(LatencyBudget, st.floats(0.001, 1e5, allow_nan=False), st.booleans()),
    schema=st.sampled_from(SchemaMode),
    require_signature=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(POLICIES)
def test_to_yaml_then_parse_gives_an_equal_policy(policy: GatePolicy) -> None:
    assert GatePolicy.parse(policy.to_yaml()) == policy
