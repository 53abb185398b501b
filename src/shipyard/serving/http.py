"""Thin Starlette adapters from HTTP to the DataPlane: REST v1, OIP v2, health and metrics.

Plain Starlette routes (no FastAPI dependency resolution, no pydantic) because this is the hot
path; the OpenAPI document describes them by hand (``shipyard.api.openapi``). Errors become
``{"error": {"code", "message"}}`` on v1 and ``{"error": "…", "code": "…"}`` on v2 (the OIP
shape that tritonclient parses); a model failure is a 500 naming the request id, nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import numpy as np
import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from shipyard.core.access import Permission
from shipyard.core.errors import MalformedRequestError, ModelError, ShipyardError
from shipyard.core.types import ApiKey
from shipyard.registry.access import KeyAuthenticator, bearer_token
from shipyard.serving import oip
from shipyard.serving.dataplane import Answer, DataPlane
from shipyard.serving.feedback import FeedbackStore, parse_feedback
from shipyard.serving.metrics import CONTENT_TYPE

ROUTING_HEADER = "x-routing-key"
"""Sticky routing: requests with the same key reach the same version of an endpoint."""

log = logging.getLogger("shipyard.serving")

JSON = "application/json"
SERVER_NAME = "shipyard"
V2_EXTENSIONS = ["binary_tensor_data"]

Handler = Callable[[Request], Awaitable[Response]]


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson (numpy arrays included)."""
    body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY, default=_default)
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def error_response(
    exc: ShipyardError, *, v2: bool = False, request_id: str | None = None
) -> Response:
    """The error body of a ShipyardError, in the v1 or the OIP v2 shape."""
    status = int(exc.http_status)
    if v2:
        return json_response({"error": exc.message, "code": exc.code}, status)
    error: dict[str, Any] = exc.to_dict()
    if request_id is not None:
        error["request_id"] = request_id
    return json_response({"error": error}, status)


def _default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def route_error(method: str, path: str, status: int) -> Response:
    """The JSON answer for a path with no route (404) or a method it does not take (405)."""
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = f"No route {method} {path}; see /docs for the API."
    return json_response(
        {"error": {"code": codes.get(status, "http_error"), "message": message}}, status
    )


def internal_error(path: str, exc: BaseException) -> Response:
    """A 500 for a bug: logged with its trace and an id; the answer carries only the id."""
    request_id = uuid.uuid4().hex
    log.error("Unexpected error on %s (%s)", path, request_id, exc_info=exc)
    message = f"Internal error; quote request id {request_id} when reporting it."
    return json_response(
        {"error": {"code": "internal_error", "message": message, "request_id": request_id}}, 500
    )


class DataPlaneHTTP:
    """The data plane's HTTP routes for one server instance."""

    def __init__(
        self,
        plane: DataPlane,
        auth: KeyAuthenticator | None,
        feedback: FeedbackStore,
        *,
        readiness: Callable[[], dict[str, Any]],
        is_ready: Callable[[], bool],
        version: str,
    ) -> None:
        self.plane = plane
        self.auth = auth
        self.feedback = feedback
        self.readiness = readiness
        self.is_ready = is_ready
        self.version = version

    def routes(self) -> list[BaseRoute]:
        """Every data-plane and operations route."""
        post, get = ["POST"], ["GET"]
        return [
            Route("/v1/endpoints/{endpoint}/predict", self.predict_endpoint, methods=post),
            Route(
                "/v1/models/{name}/versions/{version}/predict", self.predict_version, methods=post
            ),
            Route("/v1/feedback", self.post_feedback, methods=post),
            Route("/v2", self.server_metadata, methods=get),
            Route("/v2/health/live", self.live, methods=get),
            Route("/v2/health/ready", self.ready, methods=get),
            Route("/v2/models/{name}", self.model_metadata, methods=get),
            Route("/v2/models/{name}/versions/{version}", self.model_metadata, methods=get),
            Route("/v2/models/{name}/ready", self.model_ready, methods=get),
            Route("/v2/models/{name}/versions/{version}/ready", self.model_ready, methods=get),
            Route("/v2/models/{name}/infer", self.infer, methods=post),
            Route("/v2/models/{name}/versions/{version}/infer", self.infer, methods=post),
            Route("/metrics", self.metrics, methods=get),
            Route("/healthz", self.healthz, methods=get),
            Route("/readyz", self.readyz, methods=get),
        ]

    def _authorize(self, request: Request, permission: Permission) -> ApiKey | None:
        if self.auth is None:
            return None
        return self.auth.authorize(bearer_token(request.headers.get("authorization")), permission)

    # -- v1 -------------------------------------------------------------------------------

    async def predict_endpoint(self, request: Request) -> Response:
        """``POST /v1/endpoints/{endpoint}/predict``."""
        return await self._predict(request, request.path_params["endpoint"], None)

    async def predict_version(self, request: Request) -> Response:
        """``POST /v1/models/{name}/versions/{version}/predict``."""
        raw = request.path_params["version"]
        if not raw.isdigit():
            return error_response(
                MalformedRequestError(f"Version {raw!r} is not a number; use e.g. /versions/3.")
            )
        return await self._predict(request, request.path_params["name"], int(raw))

    async def _predict(self, request: Request, name: str, version: int | None) -> Response:
        try:
            self._authorize(request, Permission.PREDICT)
            body = _parse_json(await request.body())
            answer = await self.plane.predict(
                name, body, version=version, routing_header=request.headers.get(ROUTING_HEADER)
            )
        except ModelError as exc:
            return self._model_failed(exc, name)
        except ShipyardError as exc:
            return error_response(exc)
        return json_response(_v1_answer(answer))

    def _model_failed(self, exc: ModelError, name: str, *, v2: bool = False) -> Response:
        request_id = exc.request_id or uuid.uuid4().hex
        log.error(
            "Model failure on %s (request %s): %s",
            name,
            request_id,
            exc.message,
            exc_info=exc.__cause__ or exc,
        )
        error = ModelError(f"{exc.message} Quote request id {request_id} when reporting it.")
        return error_response(error, v2=v2, request_id=None if v2 else request_id)

    async def post_feedback(self, request: Request) -> Response:
        """``POST /v1/feedback``: ground truth for earlier request ids."""
        try:
            key = self._authorize(request, Permission.PREDICT)
            feedback = parse_feedback(_parse_json(await request.body()))
            await asyncio.to_thread(self.plane.pool.require_model, feedback.endpoint)
            actor = f"key:{key.id}" if key else "anonymous"
            await asyncio.to_thread(self.feedback.write, feedback, actor=actor)
        except ShipyardError as exc:
            return error_response(exc)
        return json_response({"endpoint": feedback.endpoint, "accepted": len(feedback.labels)})

    # -- v2 -------------------------------------------------------------------------------

    async def server_metadata(self, request: Request) -> Response:
        """``GET /v2``."""
        try:
            self._authorize(request, Permission.PREDICT)
        except ShipyardError as exc:
            return error_response(exc, v2=True)
        return json_response(
            {"name": SERVER_NAME, "version": self.version, "extensions": V2_EXTENSIONS}
        )

    async def live(self, request: Request) -> Response:
        """``GET /v2/health/live``: 200 while the process runs (empty body, per the spec)."""
        return Response(status_code=200)

    async def ready(self, request: Request) -> Response:
        """``GET /v2/health/ready``: 200 once every production version is loaded."""
        return Response(status_code=200 if self.is_ready() else 503)

    async def model_ready(self, request: Request) -> Response:
        """``GET /v2/models/{name}[/versions/{v}]/ready``."""
        try:
            self._authorize(request, Permission.PREDICT)
        except ShipyardError as exc:
            return error_response(exc, v2=True)
        route = self.plane.pool.routes().get(request.path_params["name"])
        version = request.path_params.get("version")
        ok = route is not None and (
            version is None or (version.isdigit() and int(version) in route.versions)
        )
        return Response(status_code=200 if ok else 404)

    async def model_metadata(self, request: Request) -> Response:
        """``GET /v2/models/{name}[/versions/{v}]``."""
        try:
            self._authorize(request, Permission.PREDICT)
            payload = self.plane.model_metadata(
                request.path_params["name"], request.path_params.get("version")
            )
        except ShipyardError as exc:
            return error_response(exc, v2=True)
        return json_response(payload)

    async def infer(self, request: Request) -> Response:
        """``POST /v2/models/{name}[/versions/{v}]/infer`` (JSON or binary tensors)."""
        name = request.path_params["name"]
        try:
            self._authorize(request, Permission.PREDICT)
            header = request.headers.get(oip.INFERENCE_HEADER)
            header_length = _header_int(header)
            decoded = oip.decode_request(await request.body(), header_length)
            answer, tensors = await self.plane.infer(
                name,
                request.path_params.get("version"),
                decoded,
                routing_header=request.headers.get(ROUTING_HEADER),
            )
            body, headers = oip.encode_response(
                model_name=name,
                model_version=answer.served.version_label,
                request_id=answer.request_id,
                outputs=tensors,
                request=decoded,
            )
        except ModelError as exc:
            return self._model_failed(exc, name, v2=True)
        except ShipyardError as exc:
            return error_response(exc, v2=True)
        media = "application/octet-stream" if headers else JSON
        return Response(body, media_type=media, headers=headers)

    # -- operations -----------------------------------------------------------------------

    async def metrics(self, request: Request) -> Response:
        """``GET /metrics`` (Prometheus text; any valid key)."""
        try:
            self._authorize(request, Permission.METRICS)
        except ShipyardError as exc:
            return error_response(exc)
        body = await asyncio.to_thread(self.plane.metrics.render)
        return Response(body, media_type=CONTENT_TYPE)

    async def healthz(self, request: Request) -> Response:
        """``GET /healthz``: the process answers."""
        return json_response({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        """``GET /readyz``: 200 when ready to serve, with what is served, loading, failed."""
        ready = self.is_ready()
        detail = {"ready": ready, **self.readiness()}
        return json_response(detail, 200 if ready else int(HTTPStatus.SERVICE_UNAVAILABLE))


def _parse_json(body: bytes) -> Any:
    if not body:
        raise MalformedRequestError("The request body is empty; send a JSON object.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequestError(f"The request body is not valid JSON: {exc}.") from None


def _header_int(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise MalformedRequestError(
            f"{oip.INFERENCE_HEADER} must be a non-negative integer (got {value!r})."
        )
    return int(value)


def _v1_answer(answer: Answer) -> dict[str, Any]:
    served = answer.served
    payload: dict[str, Any] = {
        "request_id": answer.request_id,
        "endpoint": answer.endpoint,
        "model": served.model,
        "version": served.version,
        "predictions": _jsonable(answer.outputs.predictions),
    }
    if answer.outputs.probabilities is not None:
        payload["probabilities"] = answer.outputs.probabilities
        classes = served.predictor.classes
        if classes is not None:
            payload["classes"] = [_scalar(c) for c in classes]
    return payload


def _jsonable(values: np.ndarray) -> Any:
    # orjson serialises numeric arrays natively; other dtypes (objects, strings) go via lists.
    return values if values.dtype.kind in "biuf" else values.tolist()


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def data_plane_app(routes: list[BaseRoute]) -> ASGIApp:
    """A lean ASGI app for the data-plane routes: routing plus JSON errors, nothing else."""
    router = Router(routes=routes)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response_started = False

        async def tracking_send(message: Any) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await router(scope, receive, tracking_send)
        except HTTPException as exc:  # no route, wrong method
            await route_error(scope["method"], scope["path"], exc.status_code)(scope, receive, send)
        except Exception as exc:  # a bug: answer 500 with an id, log the rest
            if response_started:
                raise
            await internal_error(scope["path"], exc)(scope, receive, send)

    return app
