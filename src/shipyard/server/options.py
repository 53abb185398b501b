"""What ``shipyard serve`` can be told, as one frozen value passed to each worker.

Workers are separate processes started by uvicorn, so the options travel as JSON in an
environment variable (``SHIPYARD_SERVE_OPTIONS``) and are rebuilt there; no module globals.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from shipyard.core.errors import ConfigurationError

OPTIONS_ENV = "SHIPYARD_SERVE_OPTIONS"
DEFAULT_MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Server behaviour (the CLI flags of ``shipyard serve``).

    Attributes:
        auth: Require API keys (``--no-auth`` turns it off for local experiments only).
        role: ``all``, ``api`` (control plane only) or ``inference`` (data plane only).
        max_body_bytes: Largest request body accepted (413 beyond).
        max_instances: Most instances in one request.
        batching: Micro-batching on.
        max_batch_size: Most rows merged into one model call.
        max_wait_ms: Linger for a fuller batch while traffic is concurrent (0 = never).
        inline_below_ms: Models whose calls take less than this run on the event loop
            (batched); slower ones on a worker thread (0 = always on the worker thread).
        poll_interval: Seconds between checks for new production versions.
        model_batch_size: Model -> its own max batch size (1 turns batching off for it).
        cache: Endpoint -> response cache entries (off for endpoints not listed).
        log_predictions: Write the Parquet prediction log.
        log_queue: Records the in-memory log queue holds before it drops (and counts).
        log_flush_interval: Seconds between log segment writes.
        workers: Worker processes (set by the CLI; used for metrics aggregation).
        metrics_dir: Directory for multi-process metrics (set when workers > 1).
        rollout_interval: Seconds between two decisions of the progressive-delivery
            controller (0 turns the controller off in this server).
        monitor_interval: Seconds between two monitoring passes (alert rules and the
            monitoring gauges; 0 turns them off in this server).
        monitor_window: Seconds of prediction log the monitoring gauges summarise.
        serve_endpoints: Serve the registry's endpoints (False: only pinned versions, loaded
            on demand — the pilot's isolated server).
    """

    auth: bool = True
    role: str = "all"
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_instances: int = 10_000
    batching: bool = True
    max_batch_size: int = 64
    max_wait_ms: float = 2.0
    inline_below_ms: float = 5.0
    poll_interval: float = 0.5
    model_batch_size: dict[str, int] = field(default_factory=dict)
    cache: dict[str, int] = field(default_factory=dict)
    log_predictions: bool = True
    log_queue: int = 100_000
    log_flush_interval: float = 1.0
    workers: int = 1
    metrics_dir: str | None = None
    rollout_interval: float = 5.0
    monitor_interval: float = 60.0
    monitor_window: float = 3600.0
    serve_endpoints: bool = True

    def __post_init__(self) -> None:
        if self.role not in ("all", "api", "inference"):
            raise ConfigurationError(f"Unknown role {self.role!r}; use all, api or inference.")
        for name in ("max_body_bytes", "max_instances", "max_batch_size", "log_queue", "workers"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name.replace('_', '-')} must be at least 1.")
        for model, size in {**self.model_batch_size, **self.cache}.items():
            if size < 1:
                raise ConfigurationError(f"The size given for {model!r} must be at least 1.")
        if self.poll_interval <= 0 or self.log_flush_interval <= 0:
            raise ConfigurationError("poll-interval and log-flush-interval must be positive.")
        if self.rollout_interval < 0:
            raise ConfigurationError("rollout-interval must be >= 0 (0 turns the controller off).")
        if self.monitor_interval < 0:
            raise ConfigurationError("monitor-interval must be >= 0 (0 turns monitoring off).")
        if self.monitor_window <= 0:
            raise ConfigurationError("monitor-window must be positive, e.g. 1h.")
        if self.max_wait_ms < 0 or self.inline_below_ms < 0:
            raise ConfigurationError("batch-wait-ms and inline-below-ms must be >= 0.")

    def to_env(self) -> str:
        """The options as the JSON put in ``SHIPYARD_SERVE_OPTIONS``."""
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ServeOptions:
        """Options from ``SHIPYARD_SERVE_OPTIONS`` (defaults if unset)."""
        raw = (environ if environ is not None else os.environ).get(OPTIONS_ENV)
        if not raw:
            return cls()
        data: dict[str, Any] = orjson.loads(raw)
        return cls(**data)
