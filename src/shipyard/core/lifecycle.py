"""The status machine of a model version: which moves are allowed, and what a move implies.

Pure rules, no I/O. Gates and approvals (``registry.gating``, ``registry.approvals``) decide
whether a move to production may happen now; this module only answers "is this move legal".
"""

from __future__ import annotations

from shipyard.core.errors import InvalidTransitionError
from shipyard.core.types import Status

# Archived versions may come back (that is how a rollback to an older version works);
# rejected ones may not: a rejection is a governance decision, re-register to try again.
# A version waits in pending_approval while its production request collects approvals; only
# the approvals move it on to production, anything else withdraws the request.
ALLOWED_MOVES: dict[Status, frozenset[Status]] = {
    Status.REGISTERED: frozenset(
        {
            Status.STAGING,
            Status.PENDING_APPROVAL,
            Status.PRODUCTION,
            Status.ARCHIVED,
            Status.REJECTED,
        }
    ),
    Status.STAGING: frozenset(
        {
            Status.REGISTERED,
            Status.PENDING_APPROVAL,
            Status.PRODUCTION,
            Status.ARCHIVED,
            Status.REJECTED,
        }
    ),
    Status.PENDING_APPROVAL: frozenset(
        {Status.REGISTERED, Status.STAGING, Status.PRODUCTION, Status.ARCHIVED, Status.REJECTED}
    ),
    Status.PRODUCTION: frozenset({Status.STAGING, Status.ARCHIVED}),
    Status.ARCHIVED: frozenset({Status.STAGING, Status.PENDING_APPROVAL, Status.PRODUCTION}),
    Status.REJECTED: frozenset(),
}

PROMOTION_TARGETS = (Status.STAGING, Status.PRODUCTION, Status.ARCHIVED, Status.REJECTED)


def check_move(ref: str, current: Status, target: Status) -> None:
    """Raise unless a version in ``current`` may move to ``target``.

    Raises:
        InvalidTransitionError: naming the allowed targets.
    """
    if current == target:
        raise InvalidTransitionError(f"{ref} is already in {target.value}; nothing to do.")
    allowed = ALLOWED_MOVES[current]
    if target not in allowed:
        options = ", ".join(sorted(s.value for s in allowed)) or "none (it is final)"
        raise InvalidTransitionError(
            f"{ref} cannot move from {current.value} to {target.value}; "
            f"allowed from {current.value}: {options}."
        )
