"""Which model version answers a request to an endpoint: the routing seam of the data plane.

Today an endpoint serves its model's production version under the model's name. Traffic
policies (weighted canary, sticky A/B, shadow copies) plug in here by implementing ``Router``;
the data plane never decides routing itself.
"""

from __future__ import annotations

from typing import Protocol

from shipyard.serving.deployments import ModelPool, ServedVersion


class Router(Protocol):
    """Chooses the loaded version that answers a request."""

    def choose(self, endpoint: str, routing_key: str | None) -> ServedVersion:
        """The version for this request.

        Raises:
            NotReadyError: nothing serves ``endpoint``.
        """
        ...


class ProductionRouter:
    """Every request to endpoint ``name`` goes to model ``name``'s production version."""

    def __init__(self, pool: ModelPool) -> None:
        self._pool = pool

    def choose(self, endpoint: str, routing_key: str | None) -> ServedVersion:
        """See ``Router.choose``; ``routing_key`` is unused until traffic policies exist."""
        return self._pool.endpoint(endpoint)
