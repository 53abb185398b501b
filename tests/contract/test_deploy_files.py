"""The files under deploy/ against the metrics a real server exports.

The Grafana dashboard, the Prometheus alert rules and the example scrape config are parsed and
checked for structure; every metric their PromQL names must be a series a freshly started
server puts on ``/metrics``, every label they match, group or template on must exist on it, and
the ``metric`` label values of the performance and fairness gauges must be names Shipyard
computes. The checker is a small PromQL tokenizer, not a full parser: it knows selectors,
matchers, ranges, ``offset``, aggregations with ``by``/``without`` and vector matching.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from shipyard.core.settings import Settings
from shipyard.core.types import Role
from shipyard.gates.metrics import KNOWN_METRICS
from shipyard.monitoring.fairness import DISPARITIES
from shipyard.registry import Registry
from shipyard.registry.setup import initialise
from tests.fixtures.serving import fast_options, running_app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "shipyard-dashboard.json"
RULES = DEPLOY / "prometheus" / "alert-rules.yml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"

# Labels Prometheus attaches to every scraped series, and the synthetic series it writes.
TARGET_LABELS = frozenset({"job", "instance"})
SYNTHETIC = {"up": TARGET_LABELS}
# Label values the checker knows: the performance and fairness gauges' ``metric`` label.
KNOWN_VALUES = {
    ("shipyard_model_performance", "metric"): frozenset(KNOWN_METRICS),
    ("shipyard_fairness_gap", "metric"): frozenset(DISPARITIES),
}
GRAFANA_VARIABLES = frozenset(
    {"__rate_interval", "__interval", "__range", "__range_s", "__interval_ms"}
)

AGGREGATIONS = frozenset({
    "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk",
    "quantile", "count_values",
})  # fmt: skip
FUNCTIONS = AGGREGATIONS | frozenset({
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp",
    "clamp_max", "clamp_min", "count_over_time", "day_of_month", "day_of_week", "delta",
    "deriv", "exp", "floor", "histogram_quantile", "holt_winters", "idelta", "increase",
    "irate", "label_join", "label_replace", "last_over_time", "ln", "log2", "log10",
    "max_over_time", "min_over_time", "predict_linear", "quantile_over_time", "rate", "resets",
    "round", "scalar", "sort", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time",
    "sum_over_time", "time", "timestamp", "vector",
})  # fmt: skip
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "atan2"})

DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<range>\[[^\]]*\])
  | (?P<variable>\$\{\w+\}|\$\w+)
  | (?P<duration>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*\b)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>==|!=|=~|!~|>=|<=|[-+*/%^<>=(){},])
    """,
    re.VERBOSE,
)
LABELS_TEMPLATE = re.compile(r"\$labels\.([a-zA-Z_]\w*)")


def is_duration(text: str) -> bool:
    """A Prometheus duration like ``5m``, ``1h30m`` or ``90s`` (not empty, no fractions)."""
    return bool(text) and DURATION.match(text) is not None


# -- what a real server exports ----------------------------------------------------------


@dataclass(frozen=True)
class Family:
    name: str
    type: str
    labels: frozenset[str]

    def series(self) -> set[str]:
        """The series names Prometheus stores for the family."""
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_sum", "_count", "_created"),
            "summary": ("", "_sum", "_count", "_created"),
        }.get(self.type, ("",))
        return {self.name + suffix for suffix in suffixes}


@dataclass(frozen=True)
class Exported:
    """The families of one scrape, by the series names a query can use."""

    families: dict[str, Family]
    sample_labels: dict[str, set[frozenset[str]]]
    declared: frozenset[str]  # the families ServingMetrics defines

    def family_of(self, series: str) -> Family | None:
        for family in self.families.values():
            if series in family.series():
                return family
        return None

    def labels_of(self, series: str) -> frozenset[str] | None:
        if series in SYNTHETIC:
            return SYNTHETIC[series]
        family = self.family_of(series)
        if family is None:
            return None
        extra = {"le"} if series.endswith("_bucket") and family.type == "histogram" else set()
        return family.labels | TARGET_LABELS | extra


SUM_MODEL = """
class SumModel:
    feature_names = ["a", "b"]

    def predict(self, batch):
        return batch.matrix().sum(axis=1)


def load_model(artifact_dir):
    return SumModel()
"""


async def _scrape(
    settings: Settings, viewer: str, predictor: str
) -> tuple[str, dict[str, frozenset[str]]]:
    async with running_app(settings, fast_options()) as client:
        # One answer, so that the labelled serving families carry real samples too.
        r = await client.post(
            "/v1/endpoints/sum/predict",
            json={"instances": [[1, 2]]},
            headers={"Authorization": f"Bearer {predictor}"},
        )
        assert r.status_code == 200, r.text
        # Scraped as Prometheus would be: with a viewer key (deploy/README.md).
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {viewer}"})
        assert response.status_code == 200, response.text
        metrics = client.app.state.shipyard.metrics  # type: ignore[attr-defined]
        # prometheus-client keeps a metric's label names private, and no line of the scrape
        # shows them for a labelled family nobody has observed yet, so they are read here and
        # checked against every sample the scrape did carry
        # (test_label_names_agree_with_the_samples).
        labelnames = {
            m._name: frozenset(m._labelnames)
            for m in vars(metrics).values()
            if isinstance(m, MetricWrapperBase)
        }
        return response.text, labelnames


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """One scrape of a real server (SQLite home, one Python model served, a viewer key)."""
    root = tmp_path_factory.mktemp("deploy")
    settings = Settings(
        home=root / "home",
        database_url=f"sqlite:///{root / 'shipyard.db'}",
        artifact_uri=str(root / "artifacts"),
    )
    initialise(settings, actor="test:setup")
    model = root / "sum_model.py"
    model.write_text(SUM_MODEL)
    with Registry.open(settings, actor="test:alice") as registry:
        registry.register("sum", model)
        registry.promote("sum:1", "production")
        _, viewer = registry.create_key(Role.VIEWER, name="prometheus")
        _, predictor = registry.create_key(Role.PREDICTOR, name="caller")
    text, labelnames = anyio.run(_scrape, settings, viewer, predictor)
    families: dict[str, Family] = {}
    sample_labels: dict[str, set[frozenset[str]]] = {}
    for parsed in text_string_to_metric_families(text):
        base = parsed.name.removesuffix("_created")
        if parsed.type == "gauge" and base != parsed.name and base in families:
            # The text format writes a counter's or histogram's creation time as a separate
            # gauge family; it is a series of the family before it.
            sample_labels.setdefault(parsed.name, set()).update(
                frozenset(sample.labels) for sample in parsed.samples
            )
            continue
        families[parsed.name] = Family(
            parsed.name, parsed.type, labelnames.get(parsed.name, frozenset())
        )
        for sample in parsed.samples:
            sample_labels.setdefault(sample.name, set()).add(frozenset(sample.labels))
    return Exported(families, sample_labels, frozenset(labelnames))


# -- a small PromQL checker ---------------------------------------------------------------


@dataclass
class Selector:
    name: str
    at: int  # token index
    matchers: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Aggregation:
    op: str
    start: int  # token index of the argument's "("
    end: int  # token index of its ")"
    grouping: str | None = None  # "by" or "without"
    labels: tuple[str, ...] = ()


@dataclass
class Query:
    selectors: list[Selector] = field(default_factory=list)
    aggregations: list[Aggregation] = field(default_factory=list)
    matching: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def tokenize(expr: str) -> tuple[list[tuple[str, str]], list[str]]:
    tokens: list[tuple[str, str]] = []
    errors: list[str] = []
    at = 0
    while at < len(expr):
        match = TOKEN.match(expr, at)
        if match is None:
            errors.append(f"cannot read {expr[at : at + 20]!r}")
            break
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append((kind, match.group()))
        at = match.end()
    return tokens, errors


def _closing(tokens: list[tuple[str, str]], opening: int) -> int:
    depth = 0
    for i in range(opening, len(tokens)):
        if tokens[i] == ("op", "("):
            depth += 1
        elif tokens[i] == ("op", ")"):
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced parentheses")


def _label_list(tokens: list[tuple[str, str]], opening: int) -> tuple[tuple[str, ...], int]:
    close = _closing(tokens, opening)
    labels = tuple(text for kind, text in tokens[opening + 1 : close] if kind == "ident")
    return labels, close


def parse(expr: str) -> Query:
    """Selectors, aggregations and vector matching of a PromQL expression."""
    tokens, errors = tokenize(expr)
    query = Query(errors=errors)
    if errors:
        return query
    try:
        _walk(tokens, query)
    except (ValueError, IndexError) as exc:
        query.errors.append(f"cannot parse {expr!r}: {exc}")
    return query


def _walk(tokens: list[tuple[str, str]], query: Query) -> None:
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "range":
            parts = text[1:-1].split(":")
            if not all(is_duration(p) or p.startswith("$") or p == "" for p in parts):
                query.errors.append(f"bad range {text}")
        elif kind == "ident" and text in GROUPING:
            labels: tuple[str, ...] = ()
            if following == ("op", "("):
                labels, i = _label_list(tokens, i + 1)
            if text in ("on", "ignoring", "group_left", "group_right"):
                query.matching.append((text, labels))
        elif kind == "ident" and text in AGGREGATIONS and following != ("op", "("):
            if following[1] not in ("by", "without"):
                query.errors.append(f"{text} without an argument")
            else:
                labels, close = _label_list(tokens, i + 2)
                start = close + 1
                query.aggregations.append(
                    Aggregation(text, start, _closing(tokens, start), following[1], labels)
                )
                i = close
        elif kind == "ident" and following == ("op", "("):
            if text not in FUNCTIONS:
                query.errors.append(f"unknown function {text}()")
            if text in AGGREGATIONS:
                end = _closing(tokens, i + 1)
                after = tokens[end + 1][1] if end + 1 < len(tokens) else ""
                labels = ()
                if after in ("by", "without"):
                    labels, _ = _label_list(tokens, end + 2)
                query.aggregations.append(
                    Aggregation(text, i + 1, end, after if labels else None, labels)
                )
        elif kind == "ident" and text == "offset":
            if following[0] not in ("duration", "variable"):
                query.errors.append(f"offset needs a duration, not {following[1]!r}")
        elif kind == "ident" and text not in KEYWORDS:
            selector = Selector(text, i)
            if following == ("op", "{"):
                i = _matchers(tokens, i + 1, selector, query)
            query.selectors.append(selector)
        elif (kind, text) == ("op", "{"):
            query.errors.append("selectors without a metric name are not checked; name one")
        i += 1


def _matchers(tokens: list[tuple[str, str]], i: int, selector: Selector, query: Query) -> int:
    i += 1
    while tokens[i] != ("op", "}"):
        (label_kind, label), (_, op), (value_kind, value) = tokens[i : i + 3]
        if label_kind != "ident" or op not in ("=", "!=", "=~", "!~") or value_kind != "string":
            query.errors.append(f"bad matcher in {selector.name}: {label} {op} {value}")
            return i
        selector.matchers.append((label, op, value[1:-1]))
        i += 3
        if tokens[i] == ("op", ","):
            i += 1
    return i


def output_labels(query: Query, exported: Exported) -> set[str]:
    """Labels an alert built on the query can carry (for ``$labels.X`` in annotations)."""
    outermost = [
        a
        for a in query.aggregations
        if not any(o is not a and o.start < a.start and a.end < o.end for o in query.aggregations)
    ]
    labels: set[str] = set()
    for a in outermost:
        inside = {s.name for s in query.selectors if a.start < s.at < a.end}
        if a.grouping == "by":
            labels |= set(a.labels)
        elif a.grouping == "without":
            for name in inside:
                labels |= set(exported.labels_of(name) or ()) - set(a.labels)
    for s in query.selectors:
        if not any(a.start < s.at < a.end for a in outermost):
            labels |= set(exported.labels_of(s.name) or ())
    return labels - {"le"}


def check_expr(expr: str, exported: Exported, variables: frozenset[str] = frozenset()) -> Query:
    """Parse ``expr`` and record in ``.errors`` every name, label or value it gets wrong."""
    query = parse(expr)
    problems = query.errors
    for reference in re.findall(r"\$\{?(\w+)\}?", expr):
        if reference not in variables | GRAFANA_VARIABLES:
            problems.append(f"undefined variable ${reference}")
    everything: set[str] | None = None
    for s in query.selectors:
        known = exported.labels_of(s.name)
        if known is None:
            problems.append(f"{s.name} is not exported by the server")
            continue
        everything = set(known) if everything is None else everything & known
        for label, op, value in s.matchers:
            if label not in known:
                problems.append(f"{s.name} has no label {label!r}")
            if op in ("=~", "!~") and "$" not in value:
                try:
                    re.compile(value)
                except re.error:
                    problems.append(f"{s.name}: bad regex {value!r}")
            family = exported.family_of(s.name)
            allowed = KNOWN_VALUES.get((family.name if family else "", label))
            if allowed is not None and "$" not in value:
                problems += _value_problems(s.name, label, op, value, allowed)
    for a in query.aggregations:
        for name in {s.name for s in query.selectors if a.start < s.at < a.end}:
            known = exported.labels_of(name)
            for label in set(a.labels) - set(known or a.labels):
                problems.append(f"{a.op} {a.grouping} ({label}) but {name} has no such label")
    for keyword, labels in query.matching:
        for label in set(labels) - (everything or set(labels)):
            problems.append(f"{keyword} ({label}): not a label of every metric in the query")
    return query


def _value_problems(
    name: str, label: str, op: str, value: str, allowed: frozenset[str]
) -> list[str]:
    if op in ("=", "!="):
        hits = {value} & allowed
        alternatives = [value]
    else:
        hits = {v for v in allowed if re.fullmatch(value, v)}
        alternatives = value.split("|") if re.fullmatch(r"[\w|]+", value) else []
    unknown = [v for v in alternatives if v not in allowed]
    if unknown or not hits:
        return [f"{name}{{{label}{op}{value!r}}}: unknown values {unknown or [value]}"]
    return []


# -- the files ----------------------------------------------------------------------------


def load_dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return document


def load_rules(text: str | None = None) -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text() if text is None else text)
    assert set(document) == {"groups"}, "a rules file holds only `groups`"
    rules: list[dict[str, Any]] = []
    for group in document["groups"]:
        assert group["name"] and group["rules"], group
        rules += group["rules"]
    return rules


def dashboard_variables(dashboard: dict[str, Any]) -> frozenset[str]:
    return frozenset(v["name"] for v in dashboard["templating"]["list"])


def dashboard_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        assert variable.get("definition", text) == text, f"variable {variable['name']}"
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", text)
        assert match, f"variable {variable['name']}: expected label_values(selector, label)"
        selector, label = match.groups()
        yield f"variable {variable['name']}", f"group by ({label}) ({selector})"


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # panels of collapsed rows


def rule_problems(rules: list[dict[str, Any]], exported: Exported) -> list[str]:
    problems: list[str] = []
    for rule in rules:
        name = rule.get("alert", "?")
        query = check_expr(str(rule.get("expr", "")), exported)
        problems += [f"{name}: {p}" for p in query.errors]
        carried = output_labels(query, exported)
        for text in rule.get("annotations", {}).values():
            for label in set(LABELS_TEMPLATE.findall(text)) - carried:
                problems.append(f"{name}: $labels.{label} is not a label of its result")
    return problems


# -- tests --------------------------------------------------------------------------------


def test_label_names_agree_with_the_samples(exported: Exported) -> None:
    """The label names used below are those the server's samples really carry."""
    assert exported.sample_labels, "the scrape carried no sample"
    checked = 0
    for series, label_sets in exported.sample_labels.items():
        family = exported.family_of(series)
        assert family is not None, series
        extra = {"le"} if series.endswith("_bucket") else set()
        for labels in label_sets:
            assert labels == family.labels | extra, (series, labels, family.labels)
            checked += bool(labels)
    assert checked, "no labelled sample: the label check would be vacuous"
    assert "shipyard_requests_total" in exported.sample_labels


def test_every_metric_family_appears_in_a_scrape(exported: Exported) -> None:
    """Labelled metrics without samples still show as HELP/TYPE lines (single process)."""
    assert set(exported.families) == exported.declared, (
        "the scrape and ServingMetrics disagree on the families: label names come from "
        "ServingMetrics, so a family from elsewhere needs its label names found another way"
    )
    names = {f.name for f in exported.families.values() if f.labels}
    assert {"shipyard_drift_score", "shipyard_fairness_gap", "shipyard_alerts_firing"} <= names
    assert exported.families["shipyard_requests"].type == "counter"
    assert exported.families["shipyard_request_latency_seconds"].type == "histogram"


def test_dashboard_structure() -> None:
    dashboard = load_dashboard()
    assert dashboard["schemaVersion"] >= 36 and dashboard["uid"] and dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"endpoint", "version"} <= set(variables)
    panels = list(all_panels(dashboard))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {sorted(ids)}"
    boxes = []
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["y"] >= 0 and g["w"] > 0 and g["h"] > 0, p["title"]
        assert g["x"] + g["w"] <= 24, f"{p['title']!r} is wider than the grid"
        boxes.append((p["title"], g["x"], g["y"], g["x"] + g["w"], g["y"] + g["h"]))
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert refs and len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}", p["title"]
    for i, (a, ax0, ay0, ax1, ay1) in enumerate(boxes):
        for b, bx0, by0, bx1, by1 in boxes[i + 1 :]:
            overlap = ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1
            assert not overlap, f"panels {a!r} and {b!r} overlap"
    titles = {p["title"] for p in panels if p["type"] == "row"}
    assert len(titles) >= 6, titles


def test_dashboard_queries_use_exported_metrics(exported: Exported) -> None:
    dashboard = load_dashboard()
    variables = dashboard_variables(dashboard)
    problems: list[str] = []
    used: set[str] = set()
    for where, expr in dashboard_queries(dashboard):
        query = check_expr(expr, exported, variables)
        problems += [f"{where}: {p}" for p in query.errors]
        used |= {s.name for s in query.selectors}
    assert not problems, "\n".join(problems)
    # The dashboard shows every monitoring gauge the issue asked for.
    assert {
        "shipyard_drift_score",
        "shipyard_drift_detected",
        "shipyard_drift_share",
        "shipyard_dataset_drift",
        "shipyard_model_performance",
        "shipyard_label_coverage",
        "shipyard_fairness_gap",
        "shipyard_alerts_firing",
        "shipyard_monitoring_last_run_timestamp_seconds",
        "shipyard_request_latency_seconds_bucket",
    } <= used


def test_alert_rules_structure() -> None:
    rules = load_rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)), names
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
        assert rule["alert"] and rule["expr"], rule
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        if "for" in rule:
            assert is_duration(rule["for"]), f"{rule['alert']}: bad `for` {rule['for']!r}"


def test_alert_rules_use_exported_metrics(exported: Exported) -> None:
    rules = load_rules()
    problems = rule_problems(rules, exported)
    assert not problems, "\n".join(problems)
    used = {s.name for r in rules for s in parse(r["expr"]).selectors}
    assert "up" in used and "shipyard_dataset_drift" in used
    assert "shipyard_alert_notifications_total" in used


def test_prometheus_config_scrapes_with_a_key_and_loads_the_rules() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    assert [PROMETHEUS.parent / f for f in config["rule_files"]] == [RULES]
    assert is_duration(config["global"]["scrape_interval"])
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    shipyard = jobs["shipyard"]
    assert shipyard["metrics_path"] == "/metrics"
    assert shipyard["authorization"]["type"] == "Bearer"
    assert shipyard["authorization"]["credentials_file"]
    # The `up` rule selects jobs by name: they must be the scrape config's.
    for rule in load_rules():
        for selector in parse(rule["expr"]).selectors:
            for label, _, value in selector.matchers:
                if label == "job":
                    assert value in jobs, f"{rule['alert']}: job {value!r} is not scraped"


FAKE_RULES = """
groups:
  - name: fake
    rules:
      - alert: Misspelled
        expr: sum by (endpoint) (rate(shipyard_request_total[5m])) > 0
        labels: {severity: warning}
        annotations: {summary: "{{ $labels.endpoint }}"}
"""


@pytest.mark.parametrize(
    ("expr", "annotation", "expected"),
    [
        ("rate(shipyard_request_total[5m]) > 0", "", "shipyard_request_total is not exported"),
        ("shipyard_requests > 0", "", "shipyard_requests is not exported"),
        ("shipyard_latency_seconds_bucket > 0", "", "is not exported"),
        ("shipyard_drift_share_total > 0", "", "is not exported"),
        ("shipyard_drift_share{model='x'} > 0", "", "has no label 'model'"),
        ("max by (column) (shipyard_drift_share) > 0", "", "has no such label"),
        ("shipyard_model_performance{metric='f1_score'} < 1", "", "unknown values"),
        ("shipyard_fairness_gap{metric=~'.*_rate'} > 0", "", "unknown values"),
        ("sum by (model) (increase(shipyard_model_load_failures_total[5m])) > 0",
         "{{ $labels.endpoint }}", "$labels.endpoint is not a label"),
        ("rat(shipyard_requests_total[5m]) > 0", "", "unknown function rat()"),
        ("rate(shipyard_requests_total[5 minutes]) > 0", "", "bad range"),
        ("up{job='shipyard'} == 0", "{{ $labels.endpoint }}", "$labels.endpoint is not a label"),
    ],
)  # fmt: skip
def test_the_checker_catches_mistakes(
    exported: Exported, expr: str, annotation: str, expected: str
) -> None:
    rule = {"alert": "Bad", "expr": expr, "annotations": {"summary": annotation}}
    problems = rule_problems([rule], exported)
    assert any(expected in p for p in problems), problems


def test_the_checker_catches_a_misspelled_rules_file(exported: Exported) -> None:
    problems = rule_problems(load_rules(FAKE_RULES), exported)
    assert problems == ["Misspelled: shipyard_request_total is not exported by the server"]
    fixed = FAKE_RULES.replace("shipyard_request_total", "shipyard_requests_total")
    assert rule_problems(load_rules(fixed), exported) == []


def test_the_checker_catches_a_bad_dashboard_query(exported: Exported) -> None:
    variables = frozenset({"endpoint"})
    good = 'sum by (endpoint) (rate(shipyard_requests_total{endpoint=~"$endpoint"}[5m]))'
    assert check_expr(good, exported, variables).errors == []
    assert check_expr(good.replace("$endpoint", "$endpont"), exported, variables).errors == [
        "undefined variable $endpont"
    ]
