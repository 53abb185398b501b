"""Control-plane routes of alerts: rules per endpoint, the alerts raised, a check on demand."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from shipyard.api.deps import Deployer, Reader, registry_for
from shipyard.core.alerts import AlertState
from shipyard.core.durations import parse_duration

router = APIRouter(prefix="/api/v1")


class RuleBody(BaseModel):
    """A new alert rule."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="unique per endpoint, e.g. drift-high")
    metric: str = Field(description="drift_share, accuracy, demographic_parity_difference, …")
    threshold: float
    comparison: Literal["above", "below"] = "above"
    window: str = Field("1h", description="the trailing window each check looks at, e.g. 1h")
    min_samples: int = Field(100, ge=1, description="rows a check needs for a verdict")
    version: int | None = Field(None, ge=1, description="only this version's predictions")
    sensitive: str | None = Field(None, description="the attribute of a fairness metric")
    webhooks: list[str] = Field(default_factory=list, max_length=20)


@router.get("/endpoints/{endpoint}/alert-rules", tags=["alerts"], summary="An endpoint's rules")
def list_rules(endpoint: str, request: Request, caller: Reader) -> dict[str, Any]:
    """The endpoint's alert rules."""
    rules = registry_for(request, caller).alerts.rules(endpoint)
    return {"rules": [r.to_dict() for r in rules]}


@router.get("/alert-rules", tags=["alerts"], summary="Every endpoint's rules")
def list_all_rules(request: Request, caller: Reader) -> dict[str, Any]:
    """Every live alert rule, by endpoint then name."""
    return {"rules": [r.to_dict() for r in registry_for(request, caller).alerts.rules()]}


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
    return {"alerts": [a.to_dict() for a in alerts]}


@router.get("/alerts/{alert_id}", tags=["alerts"], summary="One alert")
def get_alert(alert_id: int, request: Request, caller: Reader) -> dict[str, Any]:
    """One alert with its deliveries."""
    return registry_for(request, caller).alerts.get(alert_id).to_dict()


@router.post("/alerts/check", tags=["alerts"], summary="Check the alert rules now")
def check(request: Request, caller: Deployer, endpoint: str | None = None) -> dict[str, Any]:
    """Evaluate the rules (of one endpoint, or all) now: fire, resolve and deliver.

    The server also does this on its own schedule (``serve --monitor-interval``). Commands
    configured with ``SHIPYARD_ALERT_COMMAND`` on the server run here too.
    """
    result = registry_for(request, caller).alerts.check(endpoint=endpoint)
    return result.to_dict()
