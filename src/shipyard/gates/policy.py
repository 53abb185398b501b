"""Gate policies: what a model version must show before promotion, and their YAML form.

``GatePolicy.parse`` reads the YAML a user writes (safe loader only) and reports any mistake with
the source, the line and the field path. Plain frozen dataclasses; no I/O, no evaluation here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import yaml

from shipyard.core.errors import GatePolicyError, InvalidInputError
from shipyard.gates._yaml_fields import (
    DocumentKind,
    FieldReader,
    is_bool,
    is_int,
    is_null,
    is_number,
    is_str,
    shown,
)
from shipyard.gates.metrics import FAIRNESS_METRICS, KNOWN_METRICS, metric_info, suggest

SECTIONS = ("approvals", "metrics", "champion", "fairness", "latency", "schema", "integrity")


class SchemaMode(StrEnum):
    """How the candidate's input signature is compared with production's."""

    COMPATIBLE = "compatible"
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class MetricThreshold:
    """Bounds on one metric measured on the evaluation data (both inclusive)."""

    metric: str
    min: float | None = None
    max: float | None = None

    def admits(self, value: float) -> bool:
        """True if ``value`` lies within the bounds."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self) -> str:
        """The bounds as people read them: ``>= 0.9``, ``<= 0.35`` or ``>= 0.9 and <= 0.95``."""
        parts = []
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return " and ".join(parts)

    def to_dict(self) -> dict[str, float]:
        """The YAML/JSON form (only the bounds that are set)."""
        bounds = {"min": self.min, "max": self.max}
        return {k: v for k, v in bounds.items() if v is not None}


@dataclass(frozen=True, slots=True)
class ChampionRule:
    """The candidate must not be worse than production by more than ``max_regression``."""

    metric: str
    max_regression: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The YAML/JSON form."""
        return {"metric": self.metric, "max_regression": self.max_regression}


@dataclass(frozen=True, slots=True)
class FairnessLimit:
    """An upper bound on one fairness metric, for each sensitive column."""

    metric: str
    max: float


@dataclass(frozen=True, slots=True)
class FairnessRule:
    """Fairness limits and the sensitive columns they apply to (one check per pair)."""

    sensitive: tuple[str, ...] = ()
    limits: tuple[FairnessLimit, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The YAML/JSON form."""
        data: dict[str, Any] = {"sensitive": list(self.sensitive)}
        data.update({limit.metric: {"max": limit.max} for limit in self.limits})
        return data


@dataclass(frozen=True, slots=True)
class LatencyBudget:
    """The p99 latency budget, checked against the version's last pilot load test."""

    p99_ms: float
    require_pilot: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The YAML/JSON form."""
        return {"p99_ms": self.p99_ms, "require_pilot": self.require_pilot}


@dataclass(frozen=True, slots=True)
class GatePolicy:
    """Everything a model version must show before it may go to production.

    The default policy (an empty document) checks only the schema and the artifact's
    integrity. Build one with :meth:`parse`; derive variants with :meth:`with_min_metrics` and
    :meth:`with_sensitive`.

    Attributes:
        approvals: Approvals by people other than the requester needed for production.
        metrics: Bounds on metrics measured on the evaluation data, in policy order.
        champion: Comparison with the production version, if required.
        fairness: Fairness limits, if any.
        latency: Latency budget, if any.
        schema: Whether the input signature must stay compatible with production's.
        require_signature: The artifact must carry a verified signature.
    """

    approvals: int = 0
    metrics: tuple[MetricThreshold, ...] = ()
    champion: ChampionRule | None = None
    fairness: FairnessRule | None = None
    latency: LatencyBudget | None = None
    schema: SchemaMode = SchemaMode.COMPATIBLE
    require_signature: bool = False

    @classmethod
    def default(cls) -> GatePolicy:
        """The policy of a model that has none: schema and integrity checks only."""
        return cls()

    @classmethod
    def parse(cls, text: str, *, source: str = "gate policy") -> GatePolicy:
        """Read a policy from YAML.

        Args:
            text: The YAML document; empty or ``{}`` gives the default policy.
            source: How messages name the document (a file name, or ``gate policy``).

        Returns:
            The policy.

        Raises:
            GatePolicyError: for invalid YAML, unknown fields or metrics, or bad values; the
                message reads ``<source> line <n>: <field path>: <problem>``.
        """
        return _Parser(source).policy(text)

    def to_dict(self) -> dict[str, Any]:
        """The policy as plain data, every section present (absent ones as None).

        The shape is the YAML shape, so ``GatePolicy.parse(yaml.safe_dump(p.to_dict()))``
        equals ``p``.
        """
        return {
            "approvals": self.approvals,
            "metrics": {t.metric: t.to_dict() for t in self.metrics},
            "champion": self.champion.to_dict() if self.champion else None,
            "fairness": self.fairness.to_dict() if self.fairness else None,
            "latency": self.latency.to_dict() if self.latency else None,
            "schema": self.schema.value,
            "integrity": {"require_signature": self.require_signature},
        }

    def to_yaml(self) -> str:
        """The policy as YAML that :meth:`parse` reads back to an equal policy."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def with_min_metrics(self, minimums: Mapping[str, float]) -> GatePolicy:
        """A copy with ``min`` thresholds added or replaced (the CLI's ``--min-metric K=V``).

        Args:
            minimums: Metric name to minimum value.

        Returns:
            The new policy; metrics it did not name before come after the existing ones.

        Raises:
            InvalidInputError: for an unknown metric, a value outside the metric's range, or a
                minimum above the policy's maximum for that metric.
        """
        thresholds = {t.metric: t for t in self.metrics}
        for name, value in minimums.items():
            metric_info(name)
            problem = _bound_problem(name, value)
            if problem:
                raise InvalidInputError(f"Minimum for {name}: {problem}.")
            current = thresholds.get(name, MetricThreshold(name))
            if current.max is not None and value > current.max:
                raise InvalidInputError(
                    f"Minimum {value:g} for {name} is above the policy's maximum "
                    f"{current.max:g}; no value could pass."
                )
            thresholds[name] = replace(current, min=float(value))
        return replace(self, metrics=tuple(thresholds.values()))

    def with_sensitive(self, columns: Iterable[str]) -> GatePolicy:
        """A copy whose fairness limits also apply to ``columns`` (the CLI's ``--sensitive``).

        Columns already named are not repeated. A policy without fairness limits gets the
        columns recorded but no fairness check.
        """
        rule = self.fairness or FairnessRule()
        sensitive = list(rule.sensitive)
        sensitive.extend(c for c in columns if c not in sensitive)
        return replace(self, fairness=replace(rule, sensitive=tuple(sensitive)))


def _bound_problem(metric: str, value: float) -> str | None:
    """Why ``value`` cannot be a bound of ``metric``, or None if it can."""
    if not math.isfinite(value):
        return f"expected a finite number, got {value}"
    info = KNOWN_METRICS[metric]
    if (info.lower is not None and value < info.lower) or (
        info.upper is not None and value > info.upper
    ):
        low = f"{info.lower:g}" if info.lower is not None else "-inf"
        high = f"{info.upper:g}" if info.upper is not None else "inf"
        return f"{metric} lies between {low} and {high}, got {value:g}"
    return None


# -- parsing ----------------------------------------------------------------------------------


# The policy's own wording (quoted path, choices only when nothing is close), as
# docs/rollouts.md quotes it; monitoring settings word the same mistake their own way.
def _unknown_field(path: str, key: str, allowed: Sequence[str]) -> str:
    hint = suggest(key, allowed) or f" (expected one of: {', '.join(allowed)})"
    return f"unknown field {path!r}{hint}"


_POLICY = DocumentKind(
    error=GatePolicyError,
    noun="policy",
    shape=f"a policy is one YAML mapping of sections ({', '.join(SECTIONS)})",
    key_names="field names",
    unknown_field=_unknown_field,
)


class _Parser:
    """Walks the composed YAML node tree, so every error can name the line it comes from."""

    def __init__(self, source: str) -> None:
        self.reader = FieldReader(_POLICY, source)

    def policy(self, text: str) -> GatePolicy:
        root = self.reader.compose(text)
        if root is None:
            return GatePolicy()
        fields = self.reader.mapping(root, "", SECTIONS, what="a mapping of policy sections")
        policy = GatePolicy()
        if "approvals" in fields:
            node = fields["approvals"]
            value = self.reader.scalar(node, "approvals", is_int, "a non-negative integer")
            if value < 0:
                self.reader.fail(node, "approvals", f"expected a non-negative integer, got {value}")
            policy = replace(policy, approvals=value)
        if "metrics" in fields:
            policy = replace(policy, metrics=self._metrics(fields["metrics"]))
        if "champion" in fields:
            policy = replace(policy, champion=self._champion(fields["champion"]))
        if "fairness" in fields:
            policy = replace(policy, fairness=self._fairness(fields["fairness"]))
        if "latency" in fields:
            policy = replace(policy, latency=self._latency(fields["latency"]))
        if "schema" in fields:
            policy = replace(policy, schema=self._schema(fields["schema"]))
        if "integrity" in fields:
            policy = replace(policy, require_signature=self._integrity(fields["integrity"]))
        return policy

    # sections

    def _metrics(self, node: yaml.Node) -> tuple[MetricThreshold, ...]:
        if is_null(node):
            return ()
        thresholds = []
        entries = self.reader.mapping(node, "metrics", None, what="a mapping of metric names")
        for name, value in entries.items():
            path = f"metrics.{name}"
            if name not in KNOWN_METRICS:
                self.reader.fail(
                    self.reader.key_of(value),
                    path,
                    f"unknown metric {name!r}{suggest(name, list(KNOWN_METRICS))}; "
                    f"known metrics: {', '.join(KNOWN_METRICS)}",
                )
            bounds = self.reader.mapping(
                value, path, ("min", "max"), what="a mapping with min and/or max"
            )
            if not bounds:
                self.reader.fail(value, path, "give min, max or both")
            parsed = {k: self._bound(name, n, f"{path}.{k}") for k, n in bounds.items()}
            low, high = parsed.get("min"), parsed.get("max")
            if low is not None and high is not None and low > high:
                self.reader.fail(value, path, f"min {low:g} is greater than max {high:g}")
            thresholds.append(MetricThreshold(name, low, high))
        return tuple(thresholds)

    def _bound(self, metric: str, node: yaml.Node, path: str) -> float:
        value = float(self.reader.scalar(node, path, is_number, "a number"))
        problem = _bound_problem(metric, value)
        if problem:
            self.reader.fail(node, path, problem)
        return value

    def _champion(self, node: yaml.Node) -> ChampionRule | None:
        if is_null(node):
            return None
        fields = self.reader.mapping(node, "champion", ("metric", "max_regression"))
        if "metric" not in fields:
            self.reader.fail(
                node, "champion.metric", "required: the metric to compare on, e.g. accuracy"
            )
        metric = self.reader.scalar(fields["metric"], "champion.metric", is_str, "a metric name")
        if metric not in KNOWN_METRICS:
            self.reader.fail(
                fields["metric"],
                "champion.metric",
                f"unknown metric {metric!r}{suggest(metric, list(KNOWN_METRICS))}; "
                f"known metrics: {', '.join(KNOWN_METRICS)}",
            )
        rule = ChampionRule(metric)
        if "max_regression" in fields:
            node = fields["max_regression"]
            path = "champion.max_regression"
            value = float(self.reader.scalar(node, path, is_number, "a number"))
            if not math.isfinite(value) or value < 0:
                self.reader.fail(
                    node,
                    path,
                    f"expected a number >= 0 (how much worse than the champion the candidate "
                    f"may be), got {value:g}",
                )
            rule = replace(rule, max_regression=value)
        return rule

    def _fairness(self, node: yaml.Node) -> FairnessRule | None:
        if is_null(node):
            return None
        fields = self.reader.mapping(node, "fairness", None)
        for name, value in fields.items():
            if name != "sensitive" and name not in FAIRNESS_METRICS:
                known = ", ".join(FAIRNESS_METRICS)
                self.reader.fail(
                    self.reader.key_of(value),
                    f"fairness.{name}",
                    f"unknown fairness metric {name!r}"
                    f"{suggest(name, ['sensitive', *FAIRNESS_METRICS])}; known fairness "
                    f"metrics: {known} (and the field 'sensitive' for the columns)",
                )
        sensitive: list[str] = []
        if "sensitive" in fields:
            sensitive = self._names(fields["sensitive"], "fairness.sensitive")
        limits = []
        for name, value in fields.items():
            if name == "sensitive":
                continue
            path = f"fairness.{name}"
            bounds = self.reader.mapping(value, path, ("max",), what="a mapping with max")
            if "max" not in bounds:
                self.reader.fail(value, f"{path}.max", "required: the largest difference allowed")
            limit = float(self.reader.scalar(bounds["max"], f"{path}.max", is_number, "a number"))
            if not 0 <= limit <= 1:
                self.reader.fail(bounds["max"], f"{path}.max", f"expected 0 to 1, got {limit:g}")
            limits.append(FairnessLimit(name, limit))
        return FairnessRule(tuple(sensitive), tuple(limits))

    def _names(self, node: yaml.Node, path: str) -> list[str]:
        if isinstance(node, yaml.ScalarNode) and not is_null(node):
            return [self._column(node, path)]
        if not isinstance(node, yaml.SequenceNode):
            self.reader.fail(node, path, f"expected a list of column names, got {shown(node)}")
        names: list[str] = []
        for i, item in enumerate(node.value):
            name = self._column(item, f"{path}[{i}]")
            if name in names:
                self.reader.fail(item, f"{path}[{i}]", f"column {name!r} is listed twice")
            names.append(name)
        return names

    def _column(self, node: yaml.Node, path: str) -> str:
        expected = "a column name (quote names YAML reads as numbers, dates or booleans)"
        name: str = self.reader.scalar(node, path, is_str, expected)
        if not name:
            self.reader.fail(node, path, "expected a column name, got an empty string")
        return name

    def _latency(self, node: yaml.Node) -> LatencyBudget | None:
        if is_null(node):
            return None
        fields = self.reader.mapping(node, "latency", ("p99_ms", "require_pilot"))
        if "p99_ms" not in fields:
            self.reader.fail(node, "latency.p99_ms", "required: the p99 budget in milliseconds")
        p99 = float(self.reader.scalar(fields["p99_ms"], "latency.p99_ms", is_number, "a number"))
        if not math.isfinite(p99) or p99 <= 0:
            self.reader.fail(
                fields["p99_ms"], "latency.p99_ms", f"expected a number > 0, got {p99:g}"
            )
        budget = LatencyBudget(p99)
        if "require_pilot" in fields:
            flag = self.reader.scalar(
                fields["require_pilot"], "latency.require_pilot", is_bool, "true or false"
            )
            budget = replace(budget, require_pilot=flag)
        return budget

    def _schema(self, node: yaml.Node) -> SchemaMode:
        choices = " or ".join(m.value for m in SchemaMode)
        value = self.reader.scalar(node, "schema", is_str, choices)
        try:
            return SchemaMode(value)
        except ValueError:
            self.reader.fail(node, "schema", f"expected {choices}, got {value!r}")

    def _integrity(self, node: yaml.Node) -> bool:
        if is_null(node):
            return False
        fields = self.reader.mapping(node, "integrity", ("require_signature",))
        if "require_signature" not in fields:
            return False
        flag: bool = self.reader.scalar(
            fields["require_signature"], "integrity.require_signature", is_bool, "true or false"
        )
        return flag
