"""Control-plane routes of monitoring: drift, performance, fairness, and the HTML report.

Drift from the reference data, performance from late feedback, outcomes by group, and one
self-contained page that plots them all; each a thin adapter over ``shipyard.registry``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from shipyard.api.deps import Reader, registry_for
from shipyard.core.durations import parse_duration
from shipyard.monitoring.report_html import CSP
from shipyard.registry.analysis import drift_report, fairness_report, performance_report
from shipyard.registry.reporting import monitoring_report_html

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
        bool | None,
        Query(
            description="Evidently's exact tests (goodness-of-fit chi-square, bare distance "
            "cut-offs); default: the model's monitoring settings"
        ),
    ] = None,
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
    min_rows: Annotated[
        int | None, Query(ge=1, description="default: the model's monitoring settings, else 30")
    ] = None,
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
    min_group_rows: Annotated[
        int | None, Query(ge=1, description="default: the model's monitoring settings, else 30")
    ] = None,
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


@router.get(
    "/{endpoint}/report",
    tags=["monitoring"],
    summary="The HTML monitoring report",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def report(
    endpoint: str,
    request: Request,
    caller: Reader,
    version: int | None = None,
    window: Window = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sensitive: Annotated[
        str | None,
        Query(description="compare outcomes by this feature or request metadata field"),
    ] = None,
) -> HTMLResponse:
    """One self-contained HTML page (no script, no external resource) with plots.

    Drift from the reference data (a table, drifted columns first, and reference vs current
    values per column), performance per version over time, outcomes by group of
    ``sensitive`` (default: the model's registered sensitive columns), traffic and latency.
    Errors come back as JSON like every other route.
    """
    page = monitoring_report_html(
        registry_for(request, caller),
        endpoint,
        version=version,
        since=_since(window, since),
        until=until,
        sensitive=sensitive,
    )
    # The page needs nothing from anywhere: say so to the browser as well.
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
    return HTMLResponse(page, headers=headers)


def _since(window: str | None, since: datetime | None) -> datetime | None:
    if window is None:
        return since
    return datetime.now(UTC) - timedelta(seconds=parse_duration(window, "window"))
