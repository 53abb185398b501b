"""A/B analysis of an endpoint's versions on real outcomes (``shipyard ab``).

Joins the endpoint's prediction log with the feedback that arrived for it and compares the
versions that answered (``shipyard.monitoring.compare_versions``). Shadow answers are left out:
they were never returned, so they have no outcome of their own.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.core.errors import EndpointNotFoundError, InvalidInputError, ModelNotFoundError

if TYPE_CHECKING:
    from shipyard.monitoring import ABReport
    from shipyard.registry.service import Registry


def ab_report(
    registry: Registry,
    endpoint: str,
    *,
    metric: str | None = None,
    confidence: float = 0.95,
    min_samples: int = 30,
    since: datetime | None = None,
    until: datetime | None = None,
    log_root: Path | None = None,
) -> ABReport:
    """Compare ``endpoint``'s versions on feedback: per-version metric, CI, difference, p-value.

    Args:
        registry: Where the endpoint is defined (its home holds the logs by default).
        endpoint: An endpoint, or a model served under its own name.
        metric: ``accuracy``, ``error_rate``, ``mae`` or ``mse`` (default: from the labels).
        confidence: Level of the intervals, e.g. 0.95.
        min_samples: Outcomes per version below which the report says there is not enough data.
        since: Only predictions made at or after this time.
        until: Only predictions made before this time.
        log_root: The prediction log directory (default ``$SHIPYARD_HOME/logs``).

    Raises:
        EndpointNotFoundError: neither an endpoint nor a model of that name.
        InvalidInputError: bad ``confidence``/``min_samples``/window.
        MissingExtraError: the ``monitoring`` extra is not installed.
    """
    if not 0.5 <= confidence < 1:
        raise InvalidInputError(f"--confidence must be in [0.5, 1), e.g. 0.95; got {confidence}.")
    try:
        registry.endpoints.get(endpoint)
    except EndpointNotFoundError:
        try:
            registry.get_model(endpoint)  # a model served under its own name
        except ModelNotFoundError:
            raise EndpointNotFoundError(
                f"No endpoint named {endpoint!r}. `shipyard endpoints list` shows them."
            ) from None
    from shipyard.monitoring import compare_versions, load_outcomes

    root = log_root or registry.settings.home / "logs"
    outcomes = load_outcomes(root, endpoint, since=since, until=until)
    return compare_versions(outcomes, metric=metric, confidence=confidence, min_samples=min_samples)
