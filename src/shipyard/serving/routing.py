"""Which loaded version answers a request to an endpoint, and which shadows get a copy.

A ``Route`` is an endpoint's traffic policy bound to the loaded versions it names; the pool
builds a new one whenever the stored policy changes and swaps it in with one assignment, so a
request sees one policy from start to end. The decision itself is ``TrafficPolicy.choose``, a
pure function; this module only finds the request's routing key.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.core.traffic import TrafficPolicy

if TYPE_CHECKING:
    from shipyard.serving.deployments import ServedVersion

MAX_ROUTING_KEY = 256


@dataclass(frozen=True, slots=True)
class Route:
    """An endpoint's policy over loaded versions.

    Attributes:
        endpoint: The endpoint's name.
        model: The model it serves.
        policy: The traffic policy in force.
        revision: The endpoint revision it comes from (None for a model's implicit endpoint).
        versions: Every live version of the policy, loaded.
        shadows: Loaded shadow versions (a shadow that failed to load is left out).
    """

    endpoint: str
    model: str
    policy: TrafficPolicy
    revision: int | None
    versions: Mapping[int, ServedVersion]
    shadows: tuple[ServedVersion, ...] = ()

    def choose(self, key: str | None, rng: random.Random) -> ServedVersion:
        """The version for a request with routing ``key`` (None: a random draw)."""
        if len(self.versions) == 1:
            return next(iter(self.versions.values()))
        return self.versions[self.policy.choose(key, rng)]

    @property
    def stable(self) -> ServedVersion:
        """The version with the most traffic (metadata and readiness describe it)."""
        weights = self.policy.weights()
        return self.versions[max(weights, key=lambda v: (weights[v], v))]

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary for readiness and the control plane."""
        return {
            "model": self.model,
            "revision": self.revision,
            "weights": {str(v): w for v, w in self.policy.weights().items()},
            "shadows": [s.version for s in self.shadows],
            "sticky_key": self.policy.sticky_key,
            "versions": {str(v): s.describe() for v, s in sorted(self.versions.items())},
            # Kept from the one-version form: what most callers get.
            **{k: v for k, v in self.stable.describe().items() if k != "model"},
        }


def routing_key(route: Route, explicit: str | None, instances: Any) -> str | None:
    """The sticky key of a request: its ``routing_key`` (body or ``X-Routing-Key``) or feature.

    Without a sticky key on the policy an explicit key still counts, so a caller can always pin
    a user to a version; a policy's ``sticky_key`` names the feature to use otherwise (read
    from the first instance given as an object).
    """
    if explicit is not None:
        return explicit[:MAX_ROUTING_KEY]
    feature = route.policy.sticky_key
    if feature is None or len(route.versions) == 1:
        return None
    if not isinstance(instances, list) or not instances:
        return None
    first = instances[0]
    value = None
    if isinstance(first, dict):
        value = first.get(feature)
    elif isinstance(first, list):  # row form: the feature's position in the signature
        names = route.stable.schema.names
        if feature in names and len(first) == len(names):
            value = first[names.index(feature)]
    return None if value is None else str(value)[:MAX_ROUTING_KEY]
