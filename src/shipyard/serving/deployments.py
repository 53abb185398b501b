"""Loaded model versions and the hot swap: what each endpoint serves right now.

``ModelPool`` polls the registry for production versions; a changed one is fetched (its SHA-256
verified), loaded and compiled on a background thread, then swapped in with one dict
assignment. Requests already holding the old ``ServedVersion`` finish on it. A version that fails
to load never replaces the serving one: the failure is logged, audited and reported by
``status()``. Pinned versions (``/versions/{n}``) load on demand and are evicted LRU.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipyard.core.errors import EndpointNotFoundError, NotReadyError, ShipyardError
from shipyard.core.traffic import TrafficPolicy
from shipyard.core.types import ModelVersion, Status
from shipyard.flavors import Batch, Predictor
from shipyard.registry import Registry
from shipyard.serving.batching import Batcher, Outputs
from shipyard.serving.metrics import ServingMetrics
from shipyard.serving.routing import Route
from shipyard.serving.schema import DEFAULT_MAX_INSTANCES, InputSchema

log = logging.getLogger("shipyard.serving")


@dataclass(frozen=True, slots=True)
class BatchingOptions:
    """Micro-batching bounds of one model (see ``Batcher``)."""

    enabled: bool = True
    max_batch_size: int = 64
    max_wait: float = 0.002
    inline_below: float = 0.005


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """How the pool loads and batches models."""

    batching: BatchingOptions = BatchingOptions()
    per_model: dict[str, BatchingOptions] = field(default_factory=dict)
    max_instances: int = DEFAULT_MAX_INSTANCES
    max_pinned: int = 8

    def batching_for(self, model: str) -> BatchingOptions:
        """The batching options of ``model`` (its override, else the default)."""
        return self.per_model.get(model, self.batching)


class ServedVersion:
    """One loaded version: record, predictor, compiled validation and its batcher."""

    def __init__(
        self,
        record: ModelVersion,
        predictor: Predictor,
        schema: InputSchema,
        batcher: Batcher,
        load_seconds: float,
    ) -> None:
        self.record = record
        self.predictor = predictor
        self.schema = schema
        self.batcher = batcher
        self.load_seconds = load_seconds
        self.model = record.model
        self.version = record.version
        self.version_label = str(record.version)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary for readiness and metadata."""
        return {
            "model": self.model,
            "version": self.version,
            "flavor": self.record.flavor,
            "sha256": self.record.artifact.sha256,
            "load_seconds": round(self.load_seconds, 3),
        }


def model_runner(predictor: Predictor) -> Callable[[Batch, bool], Outputs]:
    """The function a batcher calls on its worker thread."""

    def run(batch: Batch, want_probabilities: bool) -> Outputs:
        predictions = np.asarray(predictor.predict(batch))
        probabilities = None
        if want_probabilities and predictor.has_proba:
            probabilities = np.asarray(predictor.predict_proba(batch), dtype=np.float64)
        return Outputs(predictions, probabilities)

    return run


class ModelPool:
    """The versions this server process serves, kept current with the registry.

    Each endpoint's stored traffic policy becomes a ``Route`` over loaded versions; a model
    with a production version and no endpoint of its own name is served under its name (its
    implicit endpoint), as it was before endpoints existed.
    """

    def __init__(
        self,
        registry: Registry,
        executor: Executor,
        metrics: ServingMetrics,
        options: PoolOptions | None = None,
    ) -> None:
        self._registry = registry
        self._executor = executor
        self._metrics = metrics
        self.options = options or PoolOptions()
        self._routes: dict[str, Route] = {}
        self._loaded: dict[tuple[str, int], ServedVersion] = {}
        self._waiting: dict[str, str] = {}  # endpoint -> why its newest policy is not applied
        self._pinned: OrderedDict[tuple[str, int], ServedVersion] = OrderedDict()
        self._pinned_locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._failed: dict[str, str] = {}  # ref -> reason; not retried until the ref changes
        self._loading: set[str] = set()
        self._refresh_lock = threading.Lock()
        self.last_refresh: float | None = None
        self.last_refresh_error: str | None = None

    # -- lookups (event loop) -------------------------------------------------------------

    def route(self, name: str) -> Route:
        """The route of endpoint ``name``.

        Raises:
            NotReadyError: nothing serves that name (yet).
        """
        route = self._routes.get(name)
        if route is None:
            waiting = self._waiting.get(name)
            if waiting is not None:
                raise NotReadyError(f"Endpoint {name!r} is not serving yet: {waiting}")
            raise NotReadyError(
                f"Nothing is serving {name!r}: no endpoint of that name has a version deployed "
                f"here. Deploy one with `shipyard deploy {name} MODEL:VERSION` (or promote a "
                f"version of model {name!r} to production); the server picks it up within a "
                "second."
            )
        return route

    def endpoint(self, name: str) -> ServedVersion:
        """The version with most of endpoint ``name``'s traffic (raises NotReadyError)."""
        return self.route(name).stable

    def routes(self) -> dict[str, Route]:
        """Endpoint name -> its route (a snapshot)."""
        return dict(self._routes)

    async def pinned(self, name: str, version: int) -> ServedVersion:
        """A specific version, loaded on first use (LRU-evicted beyond ``max_pinned``).

        Raises:
            ModelNotFoundError, VersionNotFoundError, IntegrityError, ModelLoadError.
        """
        key = (name, version)
        found = self._loaded.get(key) or self._pinned.get(key)
        if found is not None:
            if key in self._pinned:
                self._pinned.move_to_end(key)
            return found
        lock = self._pinned_locks.setdefault(key, asyncio.Lock())
        async with lock:
            found = self._pinned.get(key)
            if found is None:
                record = await asyncio.to_thread(self._registry.get_version, name, version)
                if record.status == Status.REJECTED:
                    raise NotReadyError(f"{record.ref} was rejected; it is not served.")
                found = await asyncio.to_thread(self._load, record)
                self._pinned[key] = found
                while len(self._pinned) > self.options.max_pinned:
                    self._pinned.popitem(last=False)
        self._pinned_locks.pop(key, None)
        return found

    # -- keeping current (worker thread) --------------------------------------------------

    def refresh(self) -> bool:
        """Apply what changed in the stored policies since the last call; True if anything did.

        Versions a new policy needs are loaded first and the policy is applied only once they
        all are, so no request is ever routed to a version that is not ready. Safe to call
        from any thread; concurrent calls are serialised. Never raises for a version that
        fails to load (that is recorded); raises if the registry is unreachable.
        """
        with self._refresh_lock:
            try:
                wanted = self._wanted_policies()
            except ShipyardError as exc:
                self.last_refresh_error = exc.message
                raise
            self.last_refresh_error = None
            for model, number in sorted(_versions_of(wanted)):
                if (model, number) not in self._loaded and f"{model}:{number}" not in self._failed:
                    served = self._try_load(f"{model}:{number}")
                    if served is not None:
                        self._loaded[(model, number)] = served
            routes: dict[str, Route] = {}
            waiting: dict[str, str] = {}
            for name, (model, policy, revision) in wanted.items():
                route = self._build_route(name, model, policy, revision)
                if isinstance(route, str):
                    waiting[name] = route
                    previous = self._routes.get(name)
                    if previous is not None and previous.model == model:
                        routes[name] = previous  # keep serving what worked
                else:
                    routes[name] = route
            changed = any(
                routes.get(n) is not self._routes.get(n) for n in routes.keys() | self._routes
            )
            for name in self._routes.keys() - routes.keys():
                log.info("%s is no longer served", name)
                self._metrics.serving_version.labels(name).set(0)
            self._routes = routes  # the swap: one reference assignment
            self._waiting = waiting
            in_use = _versions_of({n: (r.model, r.policy, r.revision) for n, r in routes.items()})
            for key in self._loaded.keys() - in_use:
                del self._loaded[key]  # requests holding it finish on it
            if changed:
                for name, route in routes.items():
                    self._metrics.serving_version.labels(name).set(route.stable.version)
                    log.info("%s now routes %s", name, route.policy.weights())
            self.last_refresh = time.time()
            return changed

    def _wanted_policies(self) -> dict[str, tuple[str, TrafficPolicy, int | None]]:
        wanted: dict[str, tuple[str, TrafficPolicy, int | None]] = {}
        for endpoint in self._registry.endpoints.list():
            if endpoint.current is not None:
                wanted[endpoint.name] = (
                    endpoint.model,
                    endpoint.current.policy,
                    endpoint.current.revision,
                )
        for model in self._registry.list_models():
            if model.production_version and model.name not in wanted:
                policy = TrafficPolicy.of({model.production_version: 100.0})
                wanted[model.name] = (model.name, policy, None)
        return wanted

    def _build_route(
        self, name: str, model: str, policy: TrafficPolicy, revision: int | None
    ) -> Route | str:
        """The route, or why it cannot be applied yet."""
        versions: dict[int, ServedVersion] = {}
        for number in policy.weights():
            served = self._loaded.get((model, number))
            if served is None:
                ref = f"{model}:{number}"
                reason = self._failed.get(ref)
                return f"{ref} failed to load: {reason}" if reason else f"{ref} is loading"
            versions[number] = served
        shadows = tuple(
            self._loaded[(model, n)] for n in policy.shadows if (model, n) in self._loaded
        )
        previous = self._routes.get(name)
        if (
            previous is not None
            and previous.policy == policy
            and previous.revision == revision
            and previous.versions == versions
            and previous.shadows == shadows
        ):
            return previous
        return Route(name, model, policy, revision, versions, shadows)

    def _try_load(self, ref: str) -> ServedVersion | None:
        self._loading.add(ref)
        try:
            record = self._registry.get_version(ref)
            return self._load(record)
        except ShipyardError as exc:
            self._record_failure(ref, exc.message, exc.code)
        except Exception as exc:
            log.exception("Loading %s failed unexpectedly", ref)
            self._record_failure(ref, f"{type(exc).__name__}: {exc}", "model_load_failed")
        finally:
            self._loading.discard(ref)
        return None

    def _record_failure(self, ref: str, reason: str, code: str) -> None:
        name, _, number = ref.partition(":")
        self._failed[ref] = reason
        self._metrics.model_load_failures.labels(name, number).inc()
        log.error("Version %s failed to load and is not served: %s", ref, reason)
        try:
            self._registry.record_event(
                "version.load_failed", ref, {"code": code, "reason": reason}
            )
        except ShipyardError as exc:  # the failure is still logged and reported
            log.error("Could not audit the load failure of %s: %s", ref, exc.message)

    def _load(self, record: ModelVersion) -> ServedVersion:
        started = time.perf_counter()
        loaded = self._registry.load(record.model, record.version)
        predictor = loaded.predictor
        schema = InputSchema.for_version(
            record.signature, predictor, max_instances=self.options.max_instances
        )
        options = self.options.batching_for(record.model)
        labels = (record.model, str(record.version))
        rows_metric = self._metrics.batch_rows.labels(*labels)
        requests_metric = self._metrics.batch_requests.labels(*labels)
        depth_metric = self._metrics.queue_depth.labels(*labels)

        def on_batch(rows: int, requests: int) -> None:
            rows_metric.observe(rows)
            requests_metric.observe(requests)

        batcher = Batcher(
            model_runner(predictor),
            self._executor,
            max_batch_size=options.max_batch_size if options.enabled else 1,
            max_wait=options.max_wait if options.enabled else 0.0,
            on_batch=on_batch,
            on_depth=depth_metric.set,
            inline_below=options.inline_below,
        )
        seconds = time.perf_counter() - started
        self._metrics.model_load_seconds.labels(*labels).observe(seconds)
        return ServedVersion(loaded.version, predictor, schema, batcher, seconds)

    # -- readiness ------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What is served, loading and failed (the ``/readyz`` detail)."""
        return {
            "endpoints": {n: r.describe() for n, r in sorted(self._routes.items())},
            "waiting": dict(sorted(self._waiting.items())),
            "loading": sorted(self._loading),
            "failed": dict(sorted(self._failed.items())),
            "last_refresh": self.last_refresh,
            "registry_error": self.last_refresh_error,
        }

    def require_model(self, name: str) -> None:
        """Raise NotFoundError unless ``name`` is an endpoint or a registered model.

        A registry read when ``name`` is not being served: keep it off the hot path.
        """
        if name not in self._routes:
            try:
                self._registry.endpoints.get(name)
            except EndpointNotFoundError:
                self._registry.get_model(name)


def _versions_of(
    wanted: dict[str, tuple[str, TrafficPolicy, int | None]],
) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for model, policy, _ in wanted.values():
        found.update((model, v) for v in policy.weights())
        found.update((model, v) for v in policy.shadows)
    return found
