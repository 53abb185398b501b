"""The transport-free data plane: one implementation behind REST v1, OIP v2 and the CLI.

Handlers hand it parsed bodies; it validates against the version's compiled schema, routes,
batches, answers, and queues the prediction log record and the metrics — in memory only, so the
request path does no I/O but the model call. Errors are ``ShipyardError``s the adapters map.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipyard.core.errors import (
    InvalidInputError,
    MalformedRequestError,
    ModelError,
    ShipyardError,
)
from shipyard.core.types import DType
from shipyard.flavors import Batch
from shipyard.serving import oip
from shipyard.serving.batching import Outputs
from shipyard.serving.caching import ResponseCache
from shipyard.serving.deployments import ModelPool, ServedVersion
from shipyard.serving.logsink import PredictionLogSink, PredictionRecord
from shipyard.serving.metrics import ServingMetrics
from shipyard.serving.routing import Route, routing_key

V1_FIELDS = frozenset(
    {"instances", "metadata", "routing_key", "request_id", "return_probabilities"}
)
MAX_REQUEST_ID = 128
MAX_SHADOW_IN_FLIGHT = 256
"""Shadow calls running at once at most; beyond it copies are dropped (and counted), so a slow
shadow can never pile up work that slows the live path down."""

log = logging.getLogger("shipyard.serving")

_OIP_TYPES = {
    DType.DOUBLE: "FP64",
    DType.LONG: "INT64",
    DType.BOOLEAN: "BOOL",
    DType.STRING: "BYTES",
    DType.DATETIME: "BYTES",
}


@dataclass(slots=True)
class Answer:
    """A model's answer to one request, before a transport encodes it."""

    request_id: str
    endpoint: str
    served: ServedVersion
    outputs: Outputs
    extra: dict[str, Any] = field(default_factory=dict)


class DataPlane:
    """Inference, shared by every transport of one server instance."""

    def __init__(
        self,
        pool: ModelPool,
        metrics: ServingMetrics,
        log_sink: PredictionLogSink | None,
        caches: dict[str, ResponseCache] | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.pool = pool
        self.metrics = metrics
        self.log_sink = log_sink
        self.caches = caches or {}
        self._rng = rng or random.Random()  # noqa: S311 - traffic splitting, not security
        self._children: dict[tuple[str, ...], tuple[Any, Any]] = {}
        self._shadow_tasks: set[asyncio.Task[None]] = set()

    # -- REST v1 --------------------------------------------------------------------------

    async def predict(
        self,
        endpoint: str,
        body: Any,
        *,
        version: int | None = None,
        routing_header: str | None = None,
    ) -> Answer:
        """Answer a v1 ``predict`` body for ``endpoint`` (or a pinned ``version`` of a model).

        The endpoint's traffic policy picks the version, sticky by the body's ``routing_key``,
        else ``routing_header`` (``X-Routing-Key``), else the policy's sticky feature; shadow
        versions get a copy after the answer is ready.

        Raises:
            MalformedRequestError, InvalidInputError, PayloadTooLargeError: bad input (4xx).
            NotReadyError, NotFoundError: nothing to answer with.
            ModelError: the model raised (500; the input is not echoed).
        """
        started = time.perf_counter()
        arrived = time.time()
        request = _v1_request(body)
        request_id = request.request_id or _new_id()
        route = None
        if version is None:
            route = self.pool.route(endpoint)
            key = routing_key(route, request.routing_key or routing_header, request.instances)
            served = route.choose(key, self._rng)
        else:
            served = await self.pool.pinned(endpoint, version)
        labels = (endpoint, served.model, served.version_label, "v1")
        try:
            want_proba = request.probabilities
            if want_proba and not served.predictor.has_proba:
                raise InvalidInputError(
                    f"{served.record.ref} does not produce class probabilities; drop "
                    "'return_probabilities'."
                )
            batch = served.schema.batch_from_instances(request.instances)
            outputs = await self._outputs(endpoint, served, batch, request.instances, want_proba)
        except ShipyardError as exc:
            self._failed(exc, labels, request_id)
            raise
        answer = Answer(request_id, endpoint, served, outputs)
        self._record(answer, batch, arrived, started, request.metadata, labels)
        if route is not None and route.shadows:
            instances = request.instances
            self._shadow(
                route,
                served,
                batch,
                lambda shadow: shadow.schema.batch_from_instances(instances),
                request_id,
                arrived,
                request.metadata,
            )
        return answer

    # -- Open Inference Protocol v2 -------------------------------------------------------

    async def infer(
        self,
        name: str,
        version: str | None,
        request: oip.InferenceRequest,
        *,
        routing_header: str | None = None,
    ) -> tuple[Answer, list[oip.Tensor]]:
        """Answer an OIP v2 inference request; returns the answer and its output tensors.

        ``name`` is an endpoint: its traffic policy applies, sticky by the ``routing_key``
        request parameter or ``routing_header`` (``X-Routing-Key``).
        """
        started = time.perf_counter()
        arrived = time.time()
        route = None
        if version is None:
            route = self.pool.route(name)
            explicit = request.parameters.get("routing_key") if request.parameters else None
            explicit = explicit if isinstance(explicit, str) else routing_header
            served = route.choose(routing_key(route, explicit, None), self._rng)
        else:
            served = await self._pinned_v2(name, version)
        request_id = request.id or _new_id()
        labels = (name, served.model, served.version_label, "v2")
        try:
            batch = _batch_from_tensors(served, request.inputs)
            wanted = None if request.outputs is None else {o.name for o in request.outputs}
            want_proba = served.predictor.has_proba and (
                wanted is None or "probabilities" in wanted
            )
            outputs = await self._outputs(name, served, batch, None, want_proba)
            tensors = _output_tensors(outputs)
        except ShipyardError as exc:
            self._failed(exc, labels, request_id)
            raise
        metadata = request.parameters.get("metadata") if request.parameters else None
        metadata = metadata if isinstance(metadata, dict) else None
        answer = Answer(request_id, name, served, outputs)
        self._record(answer, batch, arrived, started, metadata, labels)
        if route is not None and route.shadows:
            inputs = request.inputs
            self._shadow(
                route,
                served,
                batch,
                lambda shadow: _batch_from_tensors(shadow, inputs),
                request_id,
                arrived,
                metadata,
            )
        return answer, tensors

    async def _pinned_v2(self, name: str, version: str) -> ServedVersion:
        if not version.isdigit():
            raise InvalidInputError(f"Version {version!r} is not a number; use e.g. /versions/3.")
        return await self.pool.pinned(name, int(version))

    def model_metadata(self, name: str, version: str | None = None) -> dict[str, Any]:
        """The OIP v2 ``$metadata_model_response`` for an endpoint."""
        served = self.pool.route(name).stable
        if version is not None and version != served.version_label:
            raise InvalidInputError(
                f"{name} serves version {served.version}; metadata of other versions is at "
                f"/api/v1/models/{name}/versions/{version}."
            )
        inputs = [
            {"name": f.name, "datatype": _OIP_TYPES[f.dtype], "shape": [-1]}
            for f in served.schema.features
        ]
        outputs = [{"name": "predictions", "datatype": _prediction_type(served), "shape": [-1]}]
        if served.predictor.has_proba:
            classes = served.predictor.classes or []
            outputs.append(
                {"name": "probabilities", "datatype": "FP64", "shape": [-1, len(classes)]}
            )
        return {
            "name": name,
            "versions": [served.version_label],
            "platform": f"shipyard_{served.record.flavor}",
            "inputs": inputs,
            "outputs": outputs,
        }

    # -- shared -------------------------------------------------------------------------

    async def _outputs(
        self,
        endpoint: str,
        served: ServedVersion,
        batch: Batch,
        instances: Any,
        want_proba: bool,
    ) -> Outputs:
        cache = self.caches.get(endpoint)
        if cache is None or instances is None:
            return await served.batcher.submit(batch, want_probabilities=want_proba)
        key = ResponseCache.key(served.model, served.version, instances, want_proba)
        found = cache.get(key)
        self.metrics.cache_lookups.labels(endpoint, "hit" if found else "miss").inc()
        if found is None:
            found = await served.batcher.submit(batch, want_probabilities=want_proba)
            cache.put(key, found)
        return found

    def _shadow(
        self,
        route: Route,
        live: ServedVersion,
        batch: Batch,
        make_batch: Callable[[ServedVersion], Batch],
        request_id: str,
        arrived: float,
        metadata: dict[str, Any] | None,
    ) -> None:
        """Send a copy of an answered request to each shadow, off the request path."""
        for shadow in route.shadows:
            if len(self._shadow_tasks) >= MAX_SHADOW_IN_FLIGHT:
                self.metrics.shadow_dropped.labels(route.endpoint).inc()
                continue
            same_input = shadow.schema.names == live.schema.names and [
                f.dtype for f in shadow.schema.features
            ] == [f.dtype for f in live.schema.features]
            task = asyncio.get_running_loop().create_task(
                self._run_shadow(
                    route.endpoint,
                    shadow,
                    batch if same_input else None,
                    make_batch,
                    request_id,
                    arrived,
                    metadata,
                )
            )
            self._shadow_tasks.add(task)
            task.add_done_callback(self._shadow_tasks.discard)

    async def _run_shadow(
        self,
        endpoint: str,
        shadow: ServedVersion,
        batch: Batch | None,
        make_batch: Callable[[ServedVersion], Batch],
        request_id: str,
        arrived: float,
        metadata: dict[str, Any] | None,
    ) -> None:
        started = time.perf_counter()
        labels = (endpoint, shadow.model, shadow.version_label, "shadow")
        try:
            batch = batch if batch is not None else make_batch(shadow)
            outputs = await shadow.batcher.submit(
                batch, want_probabilities=shadow.predictor.has_proba
            )
        except ShipyardError as exc:
            self.metrics.requests.labels(*labels, str(int(exc.http_status))).inc()
            return
        except Exception:  # a shadow's failure must never reach the caller or the loop
            log.exception("Shadow %s failed on request %s", shadow.record.ref, request_id)
            self.metrics.requests.labels(*labels, "500").inc()
            return
        answer = Answer(request_id, endpoint, shadow, outputs)
        self._record(answer, batch, arrived, started, metadata, labels, role="shadow")

    async def drain_shadows(self, timeout: float = 5.0) -> None:
        """Wait for shadow calls in flight (at shutdown, so their answers are logged)."""
        if self._shadow_tasks:
            await asyncio.wait(set(self._shadow_tasks), timeout=timeout)

    def _failed(self, exc: ShipyardError, labels: tuple[str, ...], request_id: str) -> None:
        self.metrics.requests.labels(*labels, str(int(exc.http_status))).inc()
        if isinstance(exc, ModelError):
            exc.request_id = request_id

    def _record(
        self,
        answer: Answer,
        batch: Batch,
        arrived: float,
        started: float,
        metadata: dict[str, Any] | None,
        labels: tuple[str, str, str, str],
        *,
        role: str = "live",
    ) -> None:
        latency = time.perf_counter() - started
        children = self._children.get(labels)
        if children is None:  # label lookups cost more than the updates: keep the children
            children = (
                self.metrics.requests.labels(*labels, "200"),
                self.metrics.latency.labels(*labels[:3]),
            )
            self._children[labels] = children
        children[0].inc()
        children[1].observe(latency)
        if self.log_sink is None:
            return
        served = answer.served
        self.log_sink.log(
            PredictionRecord(
                request_id=answer.request_id,
                time=arrived,
                endpoint=answer.endpoint,
                model=served.model,
                version=served.version,
                inputs=BatchColumns(batch),
                predictions=answer.outputs.predictions,
                probabilities=answer.outputs.probabilities,
                latency_ms=latency * 1000.0,
                metadata=metadata,
                role=role,
            )
        )


@dataclass(frozen=True, slots=True)
class _V1Request:
    instances: Any
    metadata: dict[str, Any] | None
    routing_key: str | None
    request_id: str | None
    probabilities: bool


def _v1_request(body: Any) -> _V1Request:
    if not isinstance(body, dict):
        raise MalformedRequestError(
            'The body must be a JSON object like {"instances": [{"feature": value, …}]}.'
        )
    unknown = body.keys() - V1_FIELDS
    if unknown or "instances" not in body:
        problem = (
            f"unknown field(s) {', '.join(sorted(map(repr, unknown)))}"
            if unknown
            else "the field 'instances' is missing"
        )
        raise InvalidInputError(
            f"In the request body {problem}; the fields are: {', '.join(sorted(V1_FIELDS))}."
        )
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidInputError("'metadata' must be an object of key/value pairs.")
    routing_key = body.get("routing_key")
    if routing_key is not None and not isinstance(routing_key, str):
        raise InvalidInputError("'routing_key' must be a string.")
    request_id = body.get("request_id")
    if request_id is not None and (
        not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_REQUEST_ID
    ):
        raise InvalidInputError(f"'request_id' must be a string of 1-{MAX_REQUEST_ID} characters.")
    probabilities = body.get("return_probabilities", False)
    if not isinstance(probabilities, bool):
        raise InvalidInputError("'return_probabilities' must be true or false.")
    return _V1Request(body["instances"], metadata, routing_key, request_id, probabilities)


def _batch_from_tensors(served: ServedVersion, tensors: list[oip.Tensor]) -> Batch:
    if not tensors:
        raise InvalidInputError("The request has no inputs.")
    schema = served.schema
    if len(tensors) == 1 and (len(schema.names) == 1 or tensors[0].name not in schema.names):
        only = tensors[0]
        return schema.batch_from_matrix(only.data, only.name)
    return schema.batch_from_columns({t.name: t.data for t in tensors})


def _output_tensors(outputs: Outputs) -> list[oip.Tensor]:
    predictions = outputs.predictions
    if predictions.dtype.kind in "OU":
        predictions = np.array([str(v).encode("utf-8") for v in predictions.ravel()], dtype=object)
        predictions = predictions.reshape(outputs.predictions.shape)
    tensors = [
        oip.Tensor(
            "predictions", oip.datatype_of(predictions), tuple(predictions.shape), predictions, {}
        )
    ]
    if outputs.probabilities is not None:
        proba = outputs.probabilities
        tensors.append(oip.Tensor("probabilities", "FP64", tuple(proba.shape), proba, {}))
    return tensors


def _prediction_type(served: ServedVersion) -> str:
    outputs = served.record.signature.outputs if served.record.signature else ()
    if outputs:
        return _OIP_TYPES[outputs[0].dtype]
    return "FP64"


class BatchColumns(Mapping[str, np.ndarray]):
    """A batch's columns as a mapping, made only when read (by the log writer, off the loop)."""

    __slots__ = ("_batch",)

    def __init__(self, batch: Batch) -> None:
        self._batch = batch

    def __getitem__(self, name: str) -> np.ndarray:
        return self._batch.column(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._batch.names)

    def __len__(self) -> int:
        return len(self._batch.names)

    @property
    def matrix(self) -> np.ndarray | None:
        """All columns as one float matrix, when the batch holds one (the log's fast path)."""
        return self._batch.cached_matrix()


def _new_id() -> str:
    return os.urandom(16).hex()
