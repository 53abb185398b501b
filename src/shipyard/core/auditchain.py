"""The audit log's hash chain: how an entry's hash is computed and how a chain is verified.

Pure functions; the store persists entries and the head, this module decides what "intact" means.
Each entry's hash covers its sequence number, time, actor, action, target, details and the
previous entry's hash, so editing, deleting or reordering any entry breaks the chain after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shipyard.core.types import AuditEntry

GENESIS_HASH = "0" * 64


def canonical_json(details: dict[str, Any]) -> str:
    """The one text form of an entry's details: sorted keys, no spaces, ASCII only.

    The store keeps exactly this text, so what is hashed is what is read back on every
    dialect (a JSONB column would renormalise numbers). NaN and infinities are refused.
    """
    return json.dumps(details, sort_keys=True, separators=(",", ":"), allow_nan=False)


def entry_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON encoding of the entry's fields."""
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "target": target,
        "details": canonical_json(details),
        "prev_hash": prev_hash,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainVerification:
    """Outcome of verifying the audit chain.

    Attributes:
        ok: True if every entry is intact and nothing is missing.
        entries_checked: How many entries were read.
        first_bad_seq: Sequence number of the first entry that is wrong (or where one is
            missing), None when ok.
        problem: ``edited``, ``deleted``, ``reordered`` or ``truncated``; None when ok.
        message: One sentence for people.
    """

    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    message: str = "The audit log is intact."

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` shape of ``audit verify``)."""
        return {
            "ok": self.ok,
            "entries_checked": self.entries_checked,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChainVerification:
        """Inverse of :meth:`to_dict`."""
        fields: dict[str, Any] = {"message": data["message"]} if data.get("message") else {}
        return cls(
            ok=bool(data["ok"]),
            entries_checked=int(data["entries_checked"]),
            first_bad_seq=data.get("first_bad_seq"),
            problem=data.get("problem"),
            **fields,
        )


def verify_chain(entries: Iterable[AuditEntry], head_seq: int, head_hash: str) -> ChainVerification:
    """Check ``entries`` (in ascending ``seq`` order) against each other and the stored head."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    for entry in entries:
        checked += 1
        if entry.seq > expected_seq:
            return ChainVerification(
                False,
                checked,
                expected_seq,
                "deleted",
                f"Audit entry {expected_seq} is missing: it was deleted.",
            )
        if entry.seq < expected_seq:
            return ChainVerification(
                False, checked, entry.seq, "reordered", f"Audit entry {entry.seq} is duplicated."
            )
        recomputed = entry_hash(
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.target,
            entry.details,
            entry.prev_hash,
        )
        if recomputed != entry.hash:
            return ChainVerification(
                False,
                checked,
                entry.seq,
                "edited",
                f"Audit entry {entry.seq} was edited: its contents no longer match its hash.",
            )
        if entry.prev_hash != prev_hash:
            return ChainVerification(
                False,
                checked,
                entry.seq,
                "reordered",
                f"Audit entry {entry.seq} does not follow entry {entry.seq - 1}: entries were "
                "reordered, or replaced by re-hashed copies.",
            )
        prev_hash = entry.hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if head_seq != last_seq or head_hash != prev_hash:
        first_missing = last_seq + 1 if head_seq > last_seq else head_seq
        return ChainVerification(
            False,
            checked,
            first_missing,
            "truncated",
            f"The log ends at entry {last_seq} but {head_seq} were written: entries from "
            f"{first_missing} on were deleted or the chain head was altered.",
        )
    return ChainVerification(True, checked)
