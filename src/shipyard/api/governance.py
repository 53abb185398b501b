"""Control-plane routes of governance: gate policies, gate checks, evidence, approvals."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shipyard.api.deps import Approver, Deployer, Reader, registry_for
from shipyard.core.errors import InvalidInputError
from shipyard.core.governance import CheckKind, RequestState

MAX_ROWS = 100_000


class PolicyBody(BaseModel):
    """A gate policy as YAML text."""

    text: str = Field(max_length=100_000, description="the policy YAML (see docs/rollouts.md)")


class GateCheckBody(BaseModel):
    """Run a version's gates, optionally on evaluation rows sent with the request."""

    rows: list[dict[str, Any]] | None = Field(
        default=None, description="evaluation rows: features plus the label column"
    )
    target: str | None = Field(default=None, description="label column (default: registered)")
    min_metrics: dict[str, float] = Field(default_factory=dict)
    sensitive: list[str] = Field(default_factory=list)
    policy: str | None = Field(default=None, description="policy YAML instead of the stored one")
    store: bool = Field(default=True, description="keep the report on the version")
    source: str | None = Field(
        default=None,
        max_length=255,
        description="the file the rows come from, so messages and the stored evidence name it",
    )


class PilotBody(BaseModel):
    """A bounded pilot load test (kept small: it runs inside this server's process)."""

    requests: int = Field(default=500, ge=1, le=100_000)
    concurrency: int = Field(default=8, ge=1, le=256)
    rows_per_request: int = Field(default=1, ge=1, le=10_000)


class DecisionBody(BaseModel):
    """An approver's comment on a promotion request."""

    comment: str | None = Field(default=None, max_length=2000)


router = APIRouter(prefix="/api/v1")


@router.get("/models/{name}/gate-policy", tags=["gates"], summary="A model's gate policy")
def get_policy(name: str, request: Request, caller: Reader) -> dict[str, Any]:
    """The policy in force (revision 0 is the built-in default) and every stored revision."""
    gates = registry_for(request, caller).gates
    current = gates.policy(name)
    return {
        "model": name,
        "revision": current.revision,
        "text": current.record.text if current.record else None,
        "policy": current.policy.to_dict(),
        "history": [r.to_dict() for r in gates.policy_history(name)],
    }


@router.put("/models/{name}/gate-policy", tags=["gates"], summary="Set a model's gate policy")
def set_policy(name: str, body: PolicyBody, request: Request, caller: Approver) -> dict[str, Any]:
    """Store the next policy revision (approver or admin: gates govern production)."""
    return registry_for(request, caller).gates.set_policy(name, body.text).to_dict()


@router.post(
    "/models/{name}/versions/{version}/gate-check", tags=["gates"], summary="Check a version"
)
def gate_check(
    name: str, version: int, body: GateCheckBody, request: Request, caller: Deployer
) -> dict[str, Any]:
    """Evaluate the version's gates; ``passed`` says whether promotion would be allowed."""
    registry = registry_for(request, caller)
    with tempfile.TemporaryDirectory(prefix="shipyard-gate-") as tmp:
        data = _rows_file(body.rows, Path(tmp), body.source) if body.rows is not None else None
        report = registry.gates.check(
            f"{name}:{version}",
            data=data,
            target=body.target,
            policy_text=body.policy,
            policy_source="request policy",
            min_metrics=body.min_metrics,
            sensitive=body.sensitive,
            store=body.store,
            data_name=Path(body.source).name if body.source else None,
        )
    return report.to_dict()


@router.get(
    "/models/{name}/versions/{version}/checks", tags=["gates"], summary="Evidence on a version"
)
def list_checks(
    name: str,
    version: int,
    request: Request,
    caller: Reader,
    kind: Annotated[CheckKind | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Stored gate reports and pilot results, newest first."""
    checks = registry_for(request, caller).gates.checks(f"{name}:{version}", kind)
    return [c.to_dict() for c in checks]


@router.post("/models/{name}/versions/{version}/pilot", tags=["gates"], summary="Pilot load test")
def pilot(
    name: str, version: int, body: PilotBody, request: Request, caller: Deployer
) -> dict[str, Any]:
    """Load-test the version in an isolated server next to this one; keep p50/p99 on it.

    It shares this machine with live traffic: keep pilots small, or run `shipyard pilot` on
    another host that reaches the same store.
    """
    runner = request.app.state.pilot
    result = runner(
        registry_for(request, caller),
        f"{name}:{version}",
        requests=body.requests,
        concurrency=body.concurrency,
        rows_per_request=body.rows_per_request,
    )
    data: dict[str, Any] = result.to_dict()
    return data


@router.get("/approvals", tags=["approvals"], summary="Promotion requests")
def list_requests(
    request: Request,
    caller: Reader,
    state: Annotated[
        RequestState | Literal["all"], Query(description="a request state, or all")
    ] = RequestState.PENDING,
    model: str | None = None,
) -> list[dict[str, Any]]:
    """Promotion requests (pending ones by default, ``state=all`` for every one), newest first."""
    chosen = None if state == "all" else RequestState(state)
    found = registry_for(request, caller).approvals.requests(state=chosen, model=model)
    return [r.to_dict() for r in found]


@router.post(
    "/models/{name}/versions/{version}/approve", tags=["approvals"], summary="Approve production"
)
def approve(
    name: str, version: int, body: DecisionBody, request: Request, caller: Approver
) -> dict[str, Any]:
    """Approve a pending request; the last approval needed moves the version to production."""
    moved, decided = registry_for(request, caller).approvals.approve(
        f"{name}:{version}", comment=body.comment
    )
    return {"version": moved.to_dict(), "request": decided.to_dict()}


@router.post(
    "/models/{name}/versions/{version}/reject", tags=["approvals"], summary="Reject production"
)
def reject(
    name: str, version: int, body: DecisionBody, request: Request, caller: Approver
) -> dict[str, Any]:
    """Reject a pending request: the version becomes ``rejected``."""
    moved, decided = registry_for(request, caller).approvals.reject(
        f"{name}:{version}", comment=body.comment
    )
    return {"version": moved.to_dict(), "request": decided.to_dict()}


def _rows_file(rows: list[dict[str, Any]], directory: Path, source: str | None) -> Path:
    if not rows:
        raise InvalidInputError("'rows' is empty; send evaluation rows, or leave 'rows' out.")
    if len(rows) > MAX_ROWS:
        raise InvalidInputError(
            f"{len(rows)} rows is more than {MAX_ROWS} per request; check a sample, or run "
            "`shipyard gate check --data FILE` where the file is."
        )
    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidInputError(
            f"The evaluation rows do not form a table: {exc}. Send objects with the same "
            "fields and one type per field."
        ) from None
    # Named after the caller's file (its base name only), so messages and evidence name it.
    name = Path(source or "evaluation").name.strip() or "evaluation"
    path = directory / (name if name.endswith(".parquet") else f"{name}.parquet")
    pq.write_table(table, path)
    return path
