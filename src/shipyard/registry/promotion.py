"""The one way a version's status changes inside a transaction: archive what it replaces.

Both a direct promotion and the last approval of a request end here, so "one production version
per model, the previous one archived, both changes in the history" holds on every path.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shipyard.core.types import ModelVersion, Status

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
    moved = s.models.set_status(name, number, target, actor=actor, at=at, reason=reason)
    return moved, replaced
