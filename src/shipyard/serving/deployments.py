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

from shipyard.core.errors import NotReadyError, ShipyardError
from shipyard.core.types import ModelVersion, Status
from shipyard.flavors import Batch, Predictor
from shipyard.registry import Registry
from shipyard.serving.batching import Batcher, Outputs
from shipyard.serving.metrics import ServingMetrics
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
    """The versions this server process serves, kept current with the registry."""

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
        self._production: dict[str, ServedVersion] = {}
        self._pinned: OrderedDict[tuple[str, int], ServedVersion] = OrderedDict()
        self._pinned_locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._failed: dict[str, str] = {}  # ref -> reason; not retried until the ref changes
        self._loading: set[str] = set()
        self._refresh_lock = threading.Lock()
        self.last_refresh: float | None = None
        self.last_refresh_error: str | None = None

    # -- lookups (event loop) -------------------------------------------------------------

    def endpoint(self, name: str) -> ServedVersion:
        """The production version serving ``name``.

        Raises:
            NotReadyError: nothing serves that name (yet).
        """
        served = self._production.get(name)
        if served is None:
            raise NotReadyError(
                f"Nothing is serving {name!r}: no such model has a production version loaded "
                f"here. Promote one with `shipyard promote {name}:VERSION --to production`; "
                "the server picks it up within a second."
            )
        return served

    def endpoints(self) -> dict[str, ServedVersion]:
        """Endpoint name -> what it serves (a snapshot)."""
        return dict(self._production)

    async def pinned(self, name: str, version: int) -> ServedVersion:
        """A specific version, loaded on first use (LRU-evicted beyond ``max_pinned``).

        Raises:
            ModelNotFoundError, VersionNotFoundError, IntegrityError, ModelLoadError.
        """
        served = self._production.get(name)
        if served is not None and served.version == version:
            return served
        key = (name, version)
        found = self._pinned.get(key)
        if found is not None:
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
        """Load what changed in production since the last call; True if anything swapped.

        Safe to call from any thread; concurrent calls are serialised. Never raises for a
        version that fails to load (that is recorded); raises if the registry is unreachable.
        """
        with self._refresh_lock:
            try:
                models = self._registry.list_models()
            except ShipyardError as exc:
                self.last_refresh_error = exc.message
                raise
            self.last_refresh_error = None
            changed = False
            wanted = {m.name: m.production_version for m in models if m.production_version}
            for name in list(self._production):
                if name not in wanted:
                    log.info("%s has no production version any more; no longer served", name)
                    del self._production[name]
                    self._metrics.serving_version.labels(name).set(0)
                    changed = True
            for name, number in wanted.items():
                current = self._production.get(name)
                if current is not None and current.version == number:
                    continue
                ref = f"{name}:{number}"
                if ref in self._failed:
                    continue
                served = self._try_load(ref)
                if served is not None:
                    self._production[name] = served  # the swap: one reference assignment
                    self._metrics.serving_version.labels(name).set(number)
                    log.info("%s now serves version %d", name, number)
                    changed = True
            self.last_refresh = time.time()
            return changed

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
            "endpoints": {n: s.describe() for n, s in sorted(self._production.items())},
            "loading": sorted(self._loading),
            "failed": dict(sorted(self._failed.items())),
            "last_refresh": self.last_refresh,
            "registry_error": self.last_refresh_error,
        }

    def require_model(self, name: str) -> None:
        """Raise ModelNotFoundError unless a model called ``name`` is registered.

        A registry read when ``name`` is not being served: keep it off the hot path.
        """
        if name not in self._production:
            self._registry.get_model(name)
