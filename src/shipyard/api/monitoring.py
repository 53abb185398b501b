"""Control-plane routes of monitoring: drift, performance from feedback, fairness by group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from shipyard.api.deps import Reader, registry_for
from shipyard.core.durations import parse_duration
from shipyard.registry.analysis import drift_report, fairness_report, performance_report

router = APIRouter(prefix="/api/v1/monitoring")

Window = Annotated[str | None, Query(description="the last DURATION of predictions, e.g. 1h or 7d")]


@router.get("/{endpoint}/drift", tags=["monitoring"], summary="Drift from the reference data")
def drift(
    endpoint: str,
    request: Request,
    caller: Reader,
    version: int | None = None,
    window: Window = None,
    since: datetime | None = None,
    until: datetime | None = None,
    last: Annotated[int | None, Query(ge=1, description="only the newest N predictions")] = None,
    evidently: Annotated[
        bool, Query(description="Evidently's exact tests (goodness-of-fit chi-square)")
    ] = False,
) -> dict[str, Any]:
    """Which inputs and outputs drifted from the version's reference sample.

    Per input feature and on the predictions: the test, its statistic and verdict; dataset
    drift by the share of columns that drifted.
    """
    result = drift_report(
        registry_for(request, caller),
        endpoint,
        version=version,
        since=_since(window, since),
        until=until,
        last=last,
        evidently_compatible=evidently,
    )
    return result.to_dict()


@router.get("/{endpoint}/performance", tags=["monitoring"], summary="Performance on feedback")
def performance(
    endpoint: str,
    request: Request,
    caller: Reader,
    version: int | None = None,
    window: Window = None,
    since: datetime | None = None,
    until: datetime | None = None,
    buckets: Annotated[int | None, Query(ge=1, le=1000)] = None,
    min_rows: Annotated[int, Query(ge=1)] = 30,
) -> dict[str, Any]:
    """Each version's metrics on its labelled predictions, against its validation metrics.

    Also the label coverage per version; ``buckets`` splits the window in time.
    """
    report = performance_report(
        registry_for(request, caller),
        endpoint,
        version=version,
        since=_since(window, since),
        until=until,
        buckets=buckets,
        min_rows=min_rows,
    )
    data: dict[str, Any] = report.to_dict()
    return data


@router.get("/{endpoint}/fairness", tags=["monitoring"], summary="Outcomes by group")
def fairness(
    endpoint: str,
    request: Request,
    caller: Reader,
    sensitive: Annotated[str, Query(description="a feature, or a request metadata field")],
    version: int | None = None,
    window: Window = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_group_rows: Annotated[int, Query(ge=1)] = 30,
) -> dict[str, Any]:
    """Per-group count, selection rate, TPR, FPR, accuracy, and Fairlearn's parity gaps."""
    report = fairness_report(
        registry_for(request, caller),
        endpoint,
        sensitive,
        version=version,
        since=_since(window, since),
        until=until,
        min_group_rows=min_group_rows,
    )
    data: dict[str, Any] = report.to_dict()
    return data


def _since(window: str | None, since: datetime | None) -> datetime | None:
    if window is None:
        return since
    return datetime.now(UTC) - timedelta(seconds=parse_duration(window, "window"))
