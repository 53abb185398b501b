"""An optional, bounded response cache for endpoints whose inputs repeat.

Keyed by (model, version, canonical input bytes), so a new version never answers from an old
version's entries. Off unless configured per endpoint; hit and miss counts go to the metrics.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson

from shipyard.serving.batching import Outputs


class ResponseCache:
    """A least-recently-used map from a request's inputs to the model's outputs."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, int, bytes, bool], Outputs] = OrderedDict()

    @staticmethod
    def key(
        model: str, version: int, instances: Any, probabilities: bool
    ) -> tuple[str, int, bytes, bool]:
        """The cache key: key order inside an instance does not matter."""
        return (model, version, orjson.dumps(instances, option=orjson.OPT_SORT_KEYS), probabilities)

    def get(self, key: tuple[str, int, bytes, bool]) -> Outputs | None:
        """The cached outputs, or None."""
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: tuple[str, int, bytes, bool], outputs: Outputs) -> None:
        """Remember ``outputs``, evicting the least recently used entry if full."""
        self._entries[key] = outputs
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
