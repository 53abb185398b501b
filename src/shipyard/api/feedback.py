"""Control-plane route of feedback: which request ids an endpoint's prediction log lacks.

``/v1/feedback`` (data plane) stores labels without reading the log — the hot path never scans
Parquet — so a label for a mistyped request id is kept silently there. Bulk senders (``shipyard
feedback`` through the server) ask here afterwards and report those ids, one by one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from shipyard.api.deps import Reader, registry_for
from shipyard.registry.analysis import model_of

router = APIRouter(prefix="/api/v1/monitoring")

MAX_IDS = 100_000


class RequestIds(BaseModel):
    """Request ids to look up."""

    model_config = ConfigDict(extra="forbid")

    request_ids: list[str] = Field(max_length=MAX_IDS)


@router.post(
    "/{endpoint}/unlogged-ids", tags=["monitoring"], summary="Request ids the log does not hold"
)
def unlogged_ids(
    endpoint: str, body: RequestIds, request: Request, caller: Reader
) -> dict[str, Any]:
    """The given request ids that the endpoint's prediction log does not hold (yet), sorted."""
    from shipyard.monitoring.outcomes import logged_request_ids

    registry = registry_for(request, caller)
    model_of(registry, endpoint)  # 404 for an unknown endpoint
    wanted = sorted(set(body.request_ids))
    known = logged_request_ids(registry.settings.home / "logs", endpoint, wanted)
    return {"endpoint": endpoint, "unlogged": [i for i in wanted if i not in known]}
