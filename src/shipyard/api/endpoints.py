"""Control-plane routes of endpoints: traffic policies, revisions, rollback, rollouts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shipyard.api.deps import Deployer, Reader, registry_for
from shipyard.core.errors import InvalidInputError
from shipyard.core.rollout import RolloutPlan
from shipyard.registry.analysis import ab_report
from shipyard.registry.endpoints import KEEP


class EndpointBody(BaseModel):
    """Create an endpoint."""

    name: str = Field(max_length=64)
    model: str = Field(max_length=64)
    description: str | None = Field(default=None, max_length=1000)


class DeployBody(BaseModel):
    """Deploy a version to an endpoint."""

    version: str = Field(description="NAME:VERSION, e.g. credit:3", max_length=100)
    canary: float | None = Field(default=None, description="percent of traffic (0-100]")
    shadow: bool = Field(default=False, description="copies only; answers logged, never returned")
    sticky_key: str | None = Field(
        default=None,
        max_length=200,
        description="feature that keeps a caller on one version; empty string clears it",
    )
    reason: str | None = Field(default=None, max_length=1000)


class TrafficBody(BaseModel):
    """An endpoint's whole traffic policy."""

    weights: dict[str, float] = Field(description='percent per version, e.g. {"1": 90, "2": 10}')
    shadows: list[int] | None = None
    sticky_key: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=1000)


class RollbackBody(BaseModel):
    """Restore an earlier revision."""

    to_revision: int | None = Field(default=None, description="default: the previous revision")
    reason: str | None = Field(default=None, max_length=1000)


class RolloutBody(BaseModel):
    """Start an automated canary rollout (see ``core.rollout.RolloutPlan`` for the fields)."""

    version: str = Field(description="NAME:VERSION of the canary", max_length=100)
    steps: list[float] = Field(default=[10, 25, 50, 100], description="canary percents, last 100")
    interval_seconds: float | None = Field(default=300, description="time at a step, at least")
    min_requests: int | None = Field(default=100, description="canary requests per step")
    max_error_rate_increase: float = 0.01
    max_p99_ratio: float = 1.5
    p99_slack_ms: float = 5.0
    max_accuracy_drop: float = 0.02
    significance: float = Field(default=0.05, description="false-rollback risk per look")
    min_samples: int = Field(default=50, description="requests per version before p99 compares")
    reason: str | None = Field(default=None, max_length=1000)

    def plan(self) -> RolloutPlan:
        """The plan (validated: InvalidInputError names the bad setting)."""
        return RolloutPlan(
            steps=tuple(self.steps),
            interval_seconds=self.interval_seconds,
            min_requests=self.min_requests,
            max_error_rate_increase=self.max_error_rate_increase,
            max_p99_ratio=self.max_p99_ratio,
            p99_slack_ms=self.p99_slack_ms,
            max_accuracy_drop=self.max_accuracy_drop,
            significance=self.significance,
            min_samples=self.min_samples,
        )


class AbortBody(BaseModel):
    """Stop a rollout."""

    reason: str | None = Field(default=None, max_length=1000)


router = APIRouter(prefix="/api/v1")


@router.get("/endpoints", tags=["endpoints"], summary="Endpoints and what this server serves")
def list_endpoints(request: Request, caller: Reader) -> dict[str, Any]:
    """What this server routes, and every stored endpoint with its policy.

    The serving part: each endpoint's weights and loaded versions, plus versions loading or
    failed. ``configured`` lists the stored endpoints (including ones not served here yet).
    """
    status: dict[str, Any] = request.app.state.pool.status()
    configured = registry_for(request, caller).endpoints.list()
    return {**status, "configured": [e.to_dict() for e in configured]}


@router.post("/endpoints", tags=["endpoints"], summary="Create an endpoint", status_code=201)
def create_endpoint(body: EndpointBody, request: Request, caller: Deployer) -> dict[str, Any]:
    """A new endpoint for a model, serving nothing until a version is deployed."""
    registry = registry_for(request, caller)
    return registry.endpoints.create(body.name, body.model, description=body.description).to_dict()


@router.get("/endpoints/{name}", tags=["endpoints"], summary="One endpoint and its history")
def get_endpoint(name: str, request: Request, caller: Reader) -> dict[str, Any]:
    """The endpoint, its current policy and every revision (newest first).

    ``serving`` is what this server routes for it right now (null if nothing).
    """
    registry = registry_for(request, caller)
    endpoint = registry.endpoints.get(name)
    route = request.app.state.pool.routes().get(name)
    return {
        **endpoint.to_dict(),
        "history": [r.to_dict() for r in registry.endpoints.history(name)],
        "serving": route.describe() if route is not None else None,
    }


@router.post("/endpoints/{name}/deploy", tags=["endpoints"], summary="Deploy a version")
def deploy(name: str, body: DeployBody, request: Request, caller: Deployer) -> dict[str, Any]:
    """All traffic, a canary share, or shadow copies to a version.

    Creates the endpoint on first use. Answers the new revision.
    """
    sticky = KEEP if "sticky_key" not in body.model_fields_set else body.sticky_key
    revision = registry_for(request, caller).endpoints.deploy(
        name,
        body.version,
        canary=body.canary,
        shadow=body.shadow,
        sticky_key=sticky,
        reason=body.reason,
    )
    return revision.to_dict()


@router.put("/endpoints/{name}/traffic", tags=["endpoints"], summary="Set the traffic policy")
def set_traffic(name: str, body: TrafficBody, request: Request, caller: Deployer) -> dict[str, Any]:
    """Weights per version (summing to 100), shadow versions and the sticky key, at once."""
    sticky = KEEP if "sticky_key" not in body.model_fields_set else body.sticky_key
    revision = registry_for(request, caller).endpoints.set_traffic(
        name,
        _weights(body.weights),
        shadows=tuple(body.shadows) if body.shadows is not None else None,
        sticky_key=sticky,
        reason=body.reason,
    )
    return revision.to_dict()


@router.post("/endpoints/{name}/rollback", tags=["endpoints"], summary="Roll back")
def rollback(name: str, body: RollbackBody, request: Request, caller: Deployer) -> dict[str, Any]:
    """Restore an earlier revision (default: the previous one) as a new revision."""
    revision = registry_for(request, caller).endpoints.rollback(
        name, to_revision=body.to_revision, reason=body.reason
    )
    return revision.to_dict()


def _weights(raw: dict[str, float]) -> dict[int, float]:
    weights: dict[int, float] = {}
    for key, value in raw.items():
        if not key.isdigit() or int(key) < 1:
            raise InvalidInputError(
                f'Weights are keyed by version number, e.g. {{"1": 90, "2": 10}}; got {key!r}.'
            )
        weights[int(key)] = value
    return weights


@router.post(
    "/endpoints/{name}/rollouts", tags=["rollouts"], summary="Start a rollout", status_code=201
)
def start_rollout(
    name: str, body: RolloutBody, request: Request, caller: Deployer
) -> dict[str, Any]:
    """Deploy the canary at the first step and let the server's controller ramp it.

    It ramps up while the canary is healthy and rolls it back by itself when it is not.
    """
    rollouts = registry_for(request, caller).rollouts
    return rollouts.start(name, body.version, body.plan(), reason=body.reason).to_dict()


@router.get("/endpoints/{name}/rollouts", tags=["rollouts"], summary="Rollouts of an endpoint")
def list_rollouts(name: str, request: Request, caller: Reader) -> list[dict[str, Any]]:
    """Newest first, each with its state, step and the controller's latest decision."""
    return [r.to_dict() for r in registry_for(request, caller).rollouts.history(name)]


@router.post("/endpoints/{name}/rollouts/abort", tags=["rollouts"], summary="Abort a rollout")
def abort_rollout(name: str, body: AbortBody, request: Request, caller: Deployer) -> dict[str, Any]:
    """Stop the running rollout; all traffic goes back to its stable version."""
    return registry_for(request, caller).rollouts.abort(name, reason=body.reason).to_dict()


@router.get("/endpoints/{name}/ab", tags=["rollouts"], summary="A/B analysis on feedback")
def ab(
    name: str,
    request: Request,
    caller: Reader,
    metric: str | None = None,
    confidence: Annotated[float, Query(ge=0.5, lt=1)] = 0.95,
    min_samples: Annotated[int, Query(ge=2)] = 30,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Compare the endpoint's versions on the feedback their answers received.

    Each version's metric with its confidence interval, each challenger's difference from the
    baseline with its p-value, the sample sizes, and a plain verdict.
    """
    report = ab_report(
        registry_for(request, caller),
        name,
        metric=metric,
        confidence=confidence,
        min_samples=min_samples,
        since=since,
        until=until,
    )
    return report.to_dict()
