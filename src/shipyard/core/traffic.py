"""Traffic policies: which version of an endpoint answers a request — a pure function.

The unit interval of routing keys is cut into ``BUCKETS`` buckets laid out as segments, one or
more per version. A sticky key hashes to a bucket, so the same key always reaches the same
version; a request without a key draws a bucket at random. Changing weights re-assigns only the
buckets a shrinking version gives up to the versions that grow (``reweighted``), so no key
moves between versions whose weights did not change. No I/O here.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import InvalidInputError

BUCKETS = 10_000
"""Routing resolution: weights are honoured to 0.01 percentage points."""


@dataclass(frozen=True, slots=True)
class Segment:
    """Buckets ``[start, end)`` routed to ``version``."""

    start: int
    end: int
    version: int


@dataclass(frozen=True, slots=True)
class TrafficPolicy:
    """Weighted routes over an endpoint's versions, plus shadow versions.

    Build one with ``TrafficPolicy.of({version: percent})``; derive the next with
    ``reweighted`` so sticky keys move as little as the new weights allow.
    """

    segments: tuple[Segment, ...]
    shadows: tuple[int, ...] = ()
    sticky_key: str | None = None
    _starts: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        position = 0
        for segment in self.segments:
            if segment.start != position or segment.end <= segment.start:
                raise InvalidInputError("Traffic segments must tile the buckets in order.")
            position = segment.end
        if position != BUCKETS:
            raise InvalidInputError("Traffic segments must cover every bucket.")
        live = set(self.weights())
        clash = sorted(live & set(self.shadows))
        if clash:
            raise InvalidInputError(
                f"Version {clash[0]} cannot be both live and a shadow; a shadow only gets copies."
            )
        object.__setattr__(self, "_starts", tuple(s.start for s in self.segments))

    @classmethod
    def of(
        cls,
        weights: Mapping[int, float],
        *,
        shadows: tuple[int, ...] = (),
        sticky_key: str | None = None,
    ) -> TrafficPolicy:
        """A fresh layout: one segment per version, in version order.

        Raises:
            InvalidInputError: weights that are not positive or do not sum to 100.
        """
        buckets = _buckets(weights)
        segments, position = [], 0
        for version in sorted(buckets):
            segments.append(Segment(position, position + buckets[version], version))
            position += buckets[version]
        return cls(tuple(segments), tuple(sorted(set(shadows))), sticky_key)

    def weights(self) -> dict[int, float]:
        """Percent of traffic per live version."""
        totals: dict[int, int] = {}
        for segment in self.segments:
            totals[segment.version] = totals.get(segment.version, 0) + segment.end - segment.start
        return {v: n * 100 / BUCKETS for v, n in sorted(totals.items())}

    def reweighted(
        self,
        weights: Mapping[int, float],
        *,
        shadows: tuple[int, ...] | None = None,
        sticky_key: str | None = None,
    ) -> TrafficPolicy:
        """The policy with new weights, moving only the buckets that must move.

        A version that shrinks gives up buckets from the end of its segments; versions that
        grow (or are new) receive exactly those buckets. Every other bucket keeps its version.
        """
        wanted = _buckets(weights)
        owner = self._owners()
        have: dict[int, int] = {}
        for version in owner:
            have[version] = have.get(version, 0) + 1
        freed: list[int] = []
        for version in sorted(have):  # shrinking versions give up their last buckets
            surplus = have[version] - wanted.get(version, 0)
            if surplus > 0:
                mine = [b for b in range(BUCKETS - 1, -1, -1) if owner[b] == version]
                freed.extend(mine[:surplus])
        freed.sort()
        cursor = 0
        for version in sorted(wanted):  # growing versions take them in bucket order
            deficit = wanted[version] - have.get(version, 0)
            for bucket in freed[cursor : cursor + deficit]:
                owner[bucket] = version
            cursor += max(deficit, 0)
        return TrafficPolicy(
            _segments(owner),
            tuple(sorted(set(self.shadows if shadows is None else shadows))),
            self.sticky_key if sticky_key is None else sticky_key,
        )

    def choose(self, key: str | None, rng: random.Random) -> int:
        """The live version for a request: by its sticky ``key``, else at random."""
        bucket = bucket_of(key) if key is not None else rng.randrange(BUCKETS)
        return self.segments[bisect.bisect_right(self._starts, bucket) - 1].version

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what an endpoint revision stores)."""
        return {
            "weights": {str(v): w for v, w in self.weights().items()},
            "segments": [[s.start, s.end, s.version] for s in self.segments],
            "shadows": list(self.shadows),
            "sticky_key": self.sticky_key,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrafficPolicy:
        """Inverse of :meth:`to_dict`."""
        segments = tuple(Segment(int(a), int(b), int(v)) for a, b, v in data["segments"])
        return cls(segments, tuple(int(v) for v in data.get("shadows", ())), data.get("sticky_key"))

    def _owners(self) -> list[int]:
        owner = [0] * BUCKETS
        for segment in self.segments:
            owner[segment.start : segment.end] = [segment.version] * (segment.end - segment.start)
        return owner


def bucket_of(key: str) -> int:
    """The bucket of a sticky routing key (stable across processes and releases)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def _buckets(weights: Mapping[int, float]) -> dict[int, int]:
    if not weights:
        raise InvalidInputError("A traffic policy needs at least one version with a weight.")
    for version, weight in weights.items():
        if not weight > 0:
            raise InvalidInputError(
                f"Version {version} has weight {weight}; weights must be positive percentages."
            )
    total = sum(weights.values())
    if abs(total - 100) > 1e-6:
        shown = ", ".join(f"{v}: {w:g}" for v, w in sorted(weights.items()))
        raise InvalidInputError(f"Weights must sum to 100; {shown} sum to {total:g}.")
    buckets = {v: round(w * BUCKETS / 100) for v, w in weights.items()}
    # Rounding may leave the total a bucket or two off: settle it on the largest route.
    largest = max(buckets, key=lambda v: (buckets[v], -v))
    buckets[largest] += BUCKETS - sum(buckets.values())
    if min(buckets.values()) < 1:
        raise InvalidInputError(f"Weights below {100 / BUCKETS:g}% cannot be honoured.")
    return buckets


def _segments(owner: list[int]) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    start = 0
    for bucket in range(1, BUCKETS + 1):
        if bucket == BUCKETS or owner[bucket] != owner[start]:
            segments.append(Segment(start, bucket, owner[start]))
            start = bucket
    return tuple(segments)
