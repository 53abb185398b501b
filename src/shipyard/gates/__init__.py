"""Promotion gates: the checks a model version must pass before it may go to production.

A pure engine: a ``GatePolicy`` (parsed from YAML) is evaluated against a ``GateContext`` of
evidence (labels, predictions, pilot latency, signatures, integrity) into a ``GateReport``.
No I/O, no database and no model loading here; scikit-learn and Fairlearn load on first use.
"""

from __future__ import annotations

from shipyard.core.errors import GatePolicyError
from shipyard.gates.checks import (
    MISSING_DATA,
    MISSING_SENSITIVE,
    NO_CHAMPION,
    NO_PILOT,
    NO_SENSITIVE,
    CheckResult,
    GateContext,
    GateReport,
    evaluate,
    signature_differences,
)
from shipyard.gates.metrics import (
    FAIRNESS_METRICS,
    KNOWN_METRICS,
    FairnessMetricInfo,
    MetricInfo,
    Task,
    compute_fairness,
    compute_metric,
    infer_task,
)
from shipyard.gates.policy import (
    ChampionRule,
    FairnessLimit,
    FairnessRule,
    GatePolicy,
    LatencyBudget,
    MetricThreshold,
    SchemaMode,
)

__all__ = [
    "FAIRNESS_METRICS",
    "KNOWN_METRICS",
    "MISSING_DATA",
    "MISSING_SENSITIVE",
    "NO_CHAMPION",
    "NO_PILOT",
    "NO_SENSITIVE",
    "ChampionRule",
    "CheckResult",
    "FairnessLimit",
    "FairnessMetricInfo",
    "FairnessRule",
    "GateContext",
    "GatePolicy",
    "GatePolicyError",
    "GateReport",
    "LatencyBudget",
    "MetricInfo",
    "MetricThreshold",
    "SchemaMode",
    "Task",
    "compute_fairness",
    "compute_metric",
    "evaluate",
    "infer_task",
    "signature_differences",
]
