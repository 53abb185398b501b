"""Monitoring over the prediction logs: outcomes, A/B analysis, drift, performance, fairness.

Names are loaded on first use so that ``import shipyard.monitoring`` stays light: DuckDB and
SciPy (the ``monitoring`` extra), PyArrow and scikit-learn load only with the code that needs them.
The functions ``performance`` and ``fairness`` are not served here: Python binds their modules'
names on this package once imported. Import them from ``shipyard.monitoring.performance`` etc.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Redundant aliases mark these as re-exports; __getattr__ serves them at run time.
    from shipyard.monitoring.abtest import ABReport as ABReport
    from shipyard.monitoring.abtest import Comparison as Comparison
    from shipyard.monitoring.abtest import VersionResult as VersionResult
    from shipyard.monitoring.abtest import compare_versions as compare_versions
    from shipyard.monitoring.drift import ColumnDrift as ColumnDrift
    from shipyard.monitoring.drift import DriftOptions as DriftOptions
    from shipyard.monitoring.drift import DriftReport as DriftReport
    from shipyard.monitoring.drift import Method as Method
    from shipyard.monitoring.drift import column_drift as column_drift
    from shipyard.monitoring.drift import dataset_drift as dataset_drift
    from shipyard.monitoring.fairness import FairnessReport as FairnessReport
    from shipyard.monitoring.outcomes import Outcomes as Outcomes
    from shipyard.monitoring.outcomes import load_outcomes as load_outcomes
    from shipyard.monitoring.performance import LabelledPredictions as LabelledPredictions
    from shipyard.monitoring.performance import PerformanceReport as PerformanceReport
    from shipyard.monitoring.window import PredictionWindow as PredictionWindow
    from shipyard.monitoring.window import load_window as load_window

_EXPORTS: dict[str, str] = {
    "ABReport": "shipyard.monitoring.abtest",
    "ColumnDrift": "shipyard.monitoring.drift",
    "Comparison": "shipyard.monitoring.abtest",
    "DriftOptions": "shipyard.monitoring.drift",
    "DriftReport": "shipyard.monitoring.drift",
    "FairnessReport": "shipyard.monitoring.fairness",
    "LabelledPredictions": "shipyard.monitoring.performance",
    "Method": "shipyard.monitoring.drift",
    "Outcomes": "shipyard.monitoring.outcomes",
    "PerformanceReport": "shipyard.monitoring.performance",
    "PredictionWindow": "shipyard.monitoring.window",
    "VersionResult": "shipyard.monitoring.abtest",
    "column_drift": "shipyard.monitoring.drift",
    "compare_versions": "shipyard.monitoring.abtest",
    "dataset_drift": "shipyard.monitoring.drift",
    "load_outcomes": "shipyard.monitoring.outcomes",
    "load_window": "shipyard.monitoring.window",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard.monitoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
