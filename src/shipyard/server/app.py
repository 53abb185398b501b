"""The server process: one ASGI app holding the control plane and the data plane.

``create_app`` wires an instance's own registry connection, model pool, batchers, metrics
registry and log sink (nothing process-global), so tests can run several apps side by side.
The lifespan loads production versions before the app reports ready, polls for changes, and on
shutdown flushes the prediction log.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shipyard._version import __version__
from shipyard.api.alerts import router as alert_routes
from shipyard.api.endpoints import router as endpoint_routes
from shipyard.api.feedback import router as feedback_routes
from shipyard.api.governance import router as governance_routes
from shipyard.api.monitoring import router as monitoring_routes
from shipyard.api.monitoring_settings import router as monitoring_settings_routes
from shipyard.api.openapi import install_openapi
from shipyard.api.routes import router as control_plane
from shipyard.core.errors import ShipyardError
from shipyard.core.settings import Settings
from shipyard.registry import Registry
from shipyard.registry.access import KeyAuthenticator
from shipyard.server.limits import BodyLimit
from shipyard.server.monitor import MonitorLoop
from shipyard.server.options import ServeOptions
from shipyard.server.pilot import pilot_and_record
from shipyard.server.rollouts import RolloutController
from shipyard.serving.caching import ResponseCache
from shipyard.serving.dataplane import DataPlane
from shipyard.serving.deployments import BatchingOptions, ModelPool, PoolOptions
from shipyard.serving.feedback import FeedbackStore
from shipyard.serving.http import (
    DataPlaneHTTP,
    data_plane_app,
    internal_error,
    json_response,
    route_error,
)
from shipyard.serving.logsink import PredictionLogSink
from shipyard.serving.metrics import ServingMetrics

log = logging.getLogger("shipyard.server")

NO_AUTH_WARNING = (
    "Authentication is OFF (--no-auth): anyone who can reach this port can predict, promote "
    "and manage keys. Use it only for local experiments."
)


class ServerState:
    """Everything one app instance owns, created together and closed together."""

    def __init__(self, settings: Settings, options: ServeOptions) -> None:
        self.settings = settings
        self.options = options
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.registry = Registry.open(settings, actor=f"server:{socket.gethostname()}")
        self.auth = KeyAuthenticator(self.registry.store) if options.auth else None
        metrics_dir = Path(options.metrics_dir) if options.metrics_dir else None
        self.metrics = ServingMetrics(multiprocess_dir=metrics_dir)
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="shipyard-model")
        batching = BatchingOptions(
            enabled=options.batching,
            max_batch_size=options.max_batch_size,
            max_wait=options.max_wait_ms / 1000.0,
            inline_below=options.inline_below_ms / 1000.0,
        )
        per_model = {
            name: replace(batching, max_batch_size=size, enabled=batching.enabled and size > 1)
            for name, size in options.model_batch_size.items()
        }
        self.pool = ModelPool(
            self.registry,
            self.executor,
            self.metrics,
            PoolOptions(
                batching=batching, per_model=per_model, max_instances=options.max_instances
            ),
        )
        logs = settings.home / "logs"
        self.log_sink = (
            PredictionLogSink(
                logs,
                worker_id=self.worker_id,
                max_queue_records=options.log_queue,
                flush_interval=options.log_flush_interval,
                on_drop=self.metrics.log_dropped.inc,
                on_write=lambda n, _seconds: self.metrics.log_written.inc(n),
            )
            if options.log_predictions
            else None
        )
        caches = {name: ResponseCache(size) for name, size in options.cache.items()}
        self.plane = DataPlane(self.pool, self.metrics, self.log_sink, caches)
        self.feedback = FeedbackStore(logs, self.worker_id)
        self.rollouts = (
            RolloutController(self.registry, self.metrics, logs)
            if options.rollout_interval > 0 and options.role != "api" and options.serve_endpoints
            else None
        )
        self.monitor = (
            MonitorLoop(
                self.registry,
                self.metrics,
                logs,
                holder=self.worker_id,
                interval=options.monitor_interval,
                window=options.monitor_window,
            )
            if options.monitor_interval > 0 and options.serve_endpoints
            else None
        )
        self.started = False

    def is_ready(self) -> bool:
        """True once the production versions present at start-up were loaded (or failed)."""
        return self.started

    def readiness(self) -> dict[str, Any]:
        """The ``/readyz`` detail."""
        detail = self.pool.status()
        if self.log_sink is not None:
            detail["prediction_log"] = {
                "queued": self.log_sink.queued,
                "written": self.log_sink.written,
                "dropped": self.log_sink.dropped,
            }
        return detail

    async def run(self) -> None:
        """Load production versions, then keep polling for changes (until cancelled)."""
        if self.log_sink is not None:
            self.log_sink.start()
        if self.options.serve_endpoints:
            await self._refresh()
        # Everything loaded so far (frameworks, models) lives as long as the process: move it
        # out of the collector's sight, so full collections stay short under load.
        gc.collect()
        gc.freeze()
        self.started = True
        background = []
        if self.rollouts is not None:
            background.append(asyncio.create_task(self._control_rollouts()))
        if self.monitor is not None:
            background.append(asyncio.create_task(self.monitor_forever()))
        try:
            while True:
                await asyncio.sleep(self.options.poll_interval)
                if self.options.serve_endpoints:
                    await self._refresh()
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)

    async def _control_rollouts(self) -> None:
        assert self.rollouts is not None
        while True:
            await asyncio.sleep(self.options.rollout_interval)
            try:
                await asyncio.to_thread(self.rollouts.tick)
            except ShipyardError as exc:
                log.warning("The rollout controller could not run: %s", exc.message)
            except Exception:  # never let the controller take the server down
                log.exception("The rollout controller failed; it retries next interval")

    async def monitor_forever(self) -> None:
        """Run a monitoring pass every interval (until cancelled)."""
        assert self.monitor is not None
        while True:
            await asyncio.sleep(self.options.monitor_interval)
            passes = self.metrics.monitoring_passes
            try:
                done = await asyncio.to_thread(self.monitor.tick)
            except ShipyardError as exc:
                passes.labels("failed").inc()
                log.warning("The monitoring pass could not run: %s", exc.message)
            except Exception:  # never let monitoring take the server down
                passes.labels("failed").inc()
                log.exception("The monitoring pass failed; it retries next interval")
            else:
                passes.labels("standby" if done is None else "ran").inc()

    async def _refresh(self) -> None:
        try:
            await asyncio.to_thread(self.pool.refresh)
        except ShipyardError as exc:
            log.warning("Could not check the registry for new versions: %s", exc.message)

    def close(self) -> None:
        """Flush the prediction log and release threads and connections."""
        if self.log_sink is not None:
            self.log_sink.close()
        if self.monitor is not None:
            try:
                self.monitor.release()
            except ShipyardError as exc:
                log.warning("Could not release the monitoring lease: %s", exc.message)
        self.executor.shutdown(wait=True, cancel_futures=False)
        self.registry.close()


def create_app(settings: Settings | None = None, options: ServeOptions | None = None) -> FastAPI:
    """A ready-to-run ASGI app for ``settings`` (default: the environment).

    Raises:
        DatabaseUnavailableError, SchemaOutOfDateError, ConfigurationError: at creation, so a
        misconfigured server fails at start instead of answering errors.
    """
    settings = settings or Settings.from_env()
    options = options or ServeOptions()
    state = ServerState(settings, options)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not options.auth:
            log.warning(NO_AUTH_WARNING)
        task = asyncio.create_task(state.run()) if options.role != "api" else None
        # An API-only server loads no model but still watches the logs and raises alerts.
        monitor = (
            asyncio.create_task(state.monitor_forever())
            if options.role == "api" and state.monitor is not None
            else None
        )
        if task is None:
            state.started = True
        else:
            while not state.started and not task.done():
                await asyncio.sleep(0.01)
            if task.done():
                task.result()  # start-up failed: raise, so the server does not run half-ready
        try:
            yield
        finally:
            if state.monitor is not None:
                state.monitor.stopping.set()  # webhook retries under way end now
            pending = [t for t in (task, monitor) if t is not None]
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await state.plane.drain_shadows()
            await asyncio.to_thread(state.close)

    app = ShipyardApp(
        title="Shipyard",
        version=__version__,
        description="Model registry control plane and inference data plane.",
        lifespan=lifespan,
    )
    app.state.shipyard = state
    app.state.registry = state.registry
    app.state.auth = state.auth
    app.state.pool = state.pool
    # The control plane runs pilots through this (the API layer cannot import the server's).
    app.state.pilot = pilot_and_record
    http = DataPlaneHTTP(
        state.plane,
        state.auth,
        state.feedback,
        readiness=state.readiness,
        is_ready=state.is_ready,
        version=__version__,
    )
    if options.role in ("all", "api"):
        app.include_router(control_plane)
        app.include_router(endpoint_routes)
        app.include_router(governance_routes)
        app.include_router(monitoring_routes)
        app.include_router(monitoring_settings_routes)
        app.include_router(alert_routes)
        app.include_router(feedback_routes)
    routes = [
        route
        for route in http.routes()
        if options.role != "api" or not getattr(route, "path", "").startswith(("/v1", "/v2/"))
    ]
    app.data_plane = BodyLimit(data_plane_app(routes), max_bytes=options.max_body_bytes)
    _install_error_handlers(app)
    install_openapi(app, include_data_plane=options.role != "api")
    app.add_middleware(BodyLimit, max_bytes=options.max_body_bytes)
    return app


DATA_PLANE_PATHS = ("/v1/", "/v2/", "/metrics", "/healthz", "/readyz")


class ShipyardApp(FastAPI):
    """FastAPI for the control plane, with the data plane dispatched before its middleware.

    Inference requests skip FastAPI's middleware stack and route matching (measured at about
    as much CPU as the rest of a request) and go to a lean Starlette router with the same
    body limit and JSON errors.
    """

    data_plane: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send data-plane paths to the lean router, everything else to FastAPI."""
        if self.data_plane is not None and scope["type"] == "http":
            path = scope["path"]
            if path.startswith(DATA_PLANE_PATHS) or path == "/v2":
                scope["app"] = self
                await self.data_plane(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def app_from_env() -> FastAPI:
    """The app a uvicorn worker builds (options from ``SHIPYARD_SERVE_OPTIONS``)."""
    return create_app(Settings.from_env(), ServeOptions.from_env())


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShipyardError)
    async def shipyard_error(_: Request, exc: ShipyardError) -> Response:
        return json_response({"error": exc.to_dict()}, int(exc.http_status))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        ]
        message = "Invalid request: " + "; ".join(problems[:5])
        return json_response({"error": {"code": "invalid_input", "message": message}}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (404, 405):
            return route_error(request.method, request.url.path, exc.status_code)
        body = {"error": {"code": "http_error", "message": str(exc.detail)}}
        return json_response(body, exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return internal_error(request.url.path, exc)
