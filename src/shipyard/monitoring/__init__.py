"""Monitoring over the prediction logs: outcomes (predictions joined with feedback), A/B analysis.

Names are loaded on first use so that ``import shipyard.monitoring`` stays light; DuckDB and
SciPy (the ``monitoring`` extra) are imported only by the functions that need them.
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
    from shipyard.monitoring.outcomes import Outcomes as Outcomes
    from shipyard.monitoring.outcomes import load_outcomes as load_outcomes

_EXPORTS: dict[str, str] = {
    "ABReport": "shipyard.monitoring.abtest",
    "Comparison": "shipyard.monitoring.abtest",
    "Outcomes": "shipyard.monitoring.outcomes",
    "VersionResult": "shipyard.monitoring.abtest",
    "compare_versions": "shipyard.monitoring.abtest",
    "load_outcomes": "shipyard.monitoring.outcomes",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard.monitoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
