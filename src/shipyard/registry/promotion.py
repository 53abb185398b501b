"""The one way a version's status changes inside a transaction, with what the change implies.

Both a direct promotion and an approver's decision end here, so on every path:

- one production version per model: the previous one is archived, both moves in the history;
- a rejected version is never served: it leaves every endpoint's traffic policy in the same
  transaction (its share goes to the endpoint's stable version, a rollout ramping it stops),
  and a rejection that would leave an endpoint with nothing to serve is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shipyard.core.endpoints import RolloutState
from shipyard.core.errors import ConflictError
from shipyard.core.types import ModelVersion, Status
from shipyard.registry.endpoints import write_revision

if TYPE_CHECKING:
    from shipyard.store import StoreSession


def apply_move(
    s: StoreSession,
    name: str,
    number: int,
    target: Status,
    *,
    actor: str,
    at: datetime,
    reason: str | None,
) -> tuple[ModelVersion, ModelVersion | None]:
    """Move ``name:number`` to ``target``; production archives the current one first.

    Returns:
        The moved version and the production version it replaced (None if none).
    """
    replaced = None
    if target == Status.PRODUCTION:
        replaced = s.models.production_version(name)
        if replaced is not None:
            s.models.set_status(
                name,
                replaced.version,
                Status.ARCHIVED,
                actor=actor,
                at=at,
                reason=f"replaced in production by version {number}",
            )
    if target == Status.REJECTED:
        _withdraw_from_endpoints(s, name, number, actor=actor, at=at)
    moved = s.models.set_status(name, number, target, actor=actor, at=at, reason=reason)
    return moved, replaced


def _withdraw_from_endpoints(
    s: StoreSession, model: str, number: int, *, actor: str, at: datetime
) -> None:
    ref = f"{model}:{number}"
    for endpoint in s.endpoints.list_all():
        policy = endpoint.policy
        if endpoint.model != model or policy is None:
            continue
        weights = policy.weights()
        if number not in weights and number not in policy.shadows:
            continue
        s.endpoints.lock(endpoint.name)
        rest = {v: w for v, w in weights.items() if v != number}
        if not rest:
            raise ConflictError(
                f"{ref} takes all the traffic of endpoint {endpoint.name!r}, so rejecting it would "
                f"leave the endpoint with nothing to serve. Deploy another version there first "
                f"(`shipyard deploy {endpoint.name} {model}:VERSION`), then reject it."
            )
        for rollout in s.rollouts.running(endpoint.name):
            if rollout.stable == number:
                raise ConflictError(
                    f"{ref} is the stable version of rollout #{rollout.id} on endpoint "
                    f"{endpoint.name!r}; rejecting it would hand its traffic to the canary. Stop "
                    f"the rollout first (`shipyard rollout abort {endpoint.name}`)."
                )
        stable = max(rest, key=lambda v: (rest[v], v))
        heir = s.models.get_version(model, stable)
        if number in weights and len(rest) == 1 and heir.status != Status.PRODUCTION:
            raise ConflictError(
                f"Rejecting {ref} would give all the traffic of endpoint {endpoint.name!r} to "
                f"{heir.ref}, which is {heir.status.value}; only a production version may take "
                f"it all. Deploy the production version there first."
            )
        if number in weights:
            rest[stable] += weights[number]
        shadows = tuple(v for v in policy.shadows if v != number)
        why = f"{ref} was rejected: it is never served again"
        for rollout in s.rollouts.running(endpoint.name):
            if rollout.canary == number:
                s.rollouts.advance(rollout, state=RolloutState.ABORTED, reason=why, at=at)
                s.audit.append(
                    actor=actor,
                    action="rollout.abort",
                    target=endpoint.name,
                    details={"rollout": rollout.id, "reason": why},
                    at=at,
                )
        new = policy.reweighted(rest, shadows=shadows)
        write_revision(s, actor, endpoint.name, new, "traffic", why, at, {"rejected": ref})
