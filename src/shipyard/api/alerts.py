"""Control-plane routes of alerts: rules per endpoint, the alerts raised, a check on demand."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from shipyard.api.deps import Caller, Deployer, Reader, registry_for
from shipyard.core.access import Permission, role_allows
from shipyard.core.alerts import AlertState
from shipyard.core.durations import parse_duration

router = APIRouter(prefix="/api/v1")

MAX_INT = 2**31 - 1
"""The largest integer the store's columns hold (PostgreSQL INTEGER)."""


class RuleBody(BaseModel):
    """A new alert rule."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64, description="unique per endpoint, e.g. drift-high")
    metric: str = Field(
        max_length=64, description="drift_share, accuracy, demographic_parity_difference, …"
    )
    threshold: float
    comparison: Literal["above", "below"] = "above"
    window: str = Field(
        "1h", max_length=32, description="the trailing window each check looks at, e.g. 1h"
    )
    min_samples: int = Field(100, ge=1, le=MAX_INT, description="rows a check needs for a verdict")
    version: int | None = Field(
        None, ge=1, le=MAX_INT, description="only this version's predictions"
    )
    sensitive: str | None = Field(
        None, max_length=200, description="the attribute of a fairness metric"
    )
    webhooks: list[Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=list, max_length=20
    )


@router.get("/endpoints/{endpoint}/alert-rules", tags=["alerts"], summary="An endpoint's rules")
def list_rules(endpoint: str, request: Request, caller: Reader) -> dict[str, Any]:
    """The endpoint's alert rules."""
    rules = registry_for(request, caller).alerts.rules(endpoint)
    return {"rules": [r.to_dict(redact=_redact(caller)) for r in rules]}


@router.get("/alert-rules", tags=["alerts"], summary="Every endpoint's rules")
def list_all_rules(request: Request, caller: Reader) -> dict[str, Any]:
    """Every live alert rule, by endpoint then name."""
    rules = registry_for(request, caller).alerts.rules()
    return {"rules": [r.to_dict(redact=_redact(caller)) for r in rules]}


@router.post(
    "/endpoints/{endpoint}/alert-rules",
    tags=["alerts"],
    summary="Add an alert rule",
    status_code=201,
)
def add_rule(endpoint: str, body: RuleBody, request: Request, caller: Deployer) -> dict[str, Any]:
    """Watch one number of the endpoint; alerts fire once past the threshold, resolve once back."""
    rule = registry_for(request, caller).alerts.add_rule(
        endpoint,
        body.name,
        metric=body.metric,
        threshold=body.threshold,
        comparison=body.comparison,
        window_seconds=parse_duration(body.window, "window"),
        min_samples=body.min_samples,
        version=body.version,
        sensitive=body.sensitive,
        webhooks=body.webhooks,
    )
    return rule.to_dict()


@router.delete(
    "/endpoints/{endpoint}/alert-rules/{name}", tags=["alerts"], summary="Delete an alert rule"
)
def delete_rule(endpoint: str, name: str, request: Request, caller: Deployer) -> dict[str, Any]:
    """Delete the rule (its alerts stay in the history; a firing one is resolved)."""
    rule = registry_for(request, caller).alerts.delete_rule(endpoint, name)
    return {"deleted": rule.to_dict()}


@router.get("/alerts", tags=["alerts"], summary="Alerts, newest first")
def list_alerts(
    request: Request,
    caller: Reader,
    endpoint: str | None = None,
    state: Annotated[Literal["firing", "resolved", "all"], Query()] = "all",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """Alerts with their deliveries (filter by endpoint and state)."""
    alerts = registry_for(request, caller).alerts.history(
        endpoint=endpoint,
        state=None if state == "all" else AlertState(state),
        limit=limit,
    )
    return {"alerts": [a.to_dict(redact=_redact(caller)) for a in alerts]}


@router.get("/alerts/{alert_id}", tags=["alerts"], summary="One alert")
def get_alert(
    alert_id: Annotated[int, Path(ge=1, le=MAX_INT)], request: Request, caller: Reader
) -> dict[str, Any]:
    """One alert with its deliveries."""
    return registry_for(request, caller).alerts.get(alert_id).to_dict(redact=_redact(caller))


@router.post("/alerts/check", tags=["alerts"], summary="Check the alert rules now")
def check(request: Request, caller: Deployer, endpoint: str | None = None) -> dict[str, Any]:
    """Evaluate the rules (of one endpoint, or all) now: fire, resolve and deliver.

    The server also does this on its own schedule (``serve --monitor-interval``). Commands
    configured with ``SHIPYARD_ALERT_COMMAND`` on the server run here too.
    """
    result = registry_for(request, caller).alerts.check(endpoint=endpoint)
    return result.to_dict()


def _redact(caller: Caller) -> bool:
    """Readers without deploy rights see webhook hosts only, never paths, tokens or commands."""
    return caller.role is not None and not role_allows(caller.role, Permission.DEPLOY)
