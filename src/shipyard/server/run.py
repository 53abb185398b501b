"""Running the server: bind the socket, check the store, start uvicorn with N workers.

The socket is bound here (not by uvicorn) so ``--port 0`` can print the real port before
workers start. With several workers, Prometheus multiprocess mode is switched on through its
environment variable, which each worker inherits before it imports prometheus-client.
"""

from __future__ import annotations

import copy
import os
import shutil
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from shipyard.core.errors import ConfigurationError, MissingExtraError
from shipyard.core.settings import Settings
from shipyard.server.options import OPTIONS_ENV, ServeOptions

APP_FACTORY = "shipyard.server.app:app_from_env"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def check_server_extra() -> None:
    """Raise MissingExtraError unless the server's packages are installed."""
    for module in ("uvicorn", "fastapi", "prometheus_client"):
        try:
            __import__(module)
        except ImportError:
            raise MissingExtraError("shipyard serve", "server", module) from None


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free port).

    Raises:
        ConfigurationError: the address is taken or not ours to bind.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"Cannot listen on {host}:{port}: {exc.strerror}. Pick another --port or stop the "
            "process using it."
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    settings: Settings,
    options: ServeOptions,
    *,
    host: str,
    port: int,
    announce: Callable[[str], None],
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM shut down gracefully and flush the logs).

    Raises:
        MissingExtraError, ConfigurationError, DatabaseUnavailableError, SchemaOutOfDateError.
    """
    check_server_extra()
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG
    from uvicorn.supervisors import Multiprocess

    from shipyard.registry import Registry

    Registry.open(settings).close()  # fail now, with a clear message, not in every worker
    if options.workers > 1:
        metrics_dir = settings.home / "run" / f"metrics-{os.getpid()}"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ[MULTIPROC_ENV] = str(metrics_dir)
        options = replace(options, metrics_dir=str(metrics_dir))
    os.environ[OPTIONS_ENV] = options.to_env()
    os.environ["SHIPYARD_HOME"] = str(settings.home)
    os.environ["SHIPYARD_DATABASE_URL"] = settings.database_url
    os.environ["SHIPYARD_ARTIFACT_URI"] = settings.artifact_uri

    # The event loop shares the GIL with the log writer (and slow models' threads). With the
    # default 5 ms switch interval a waiting loop stalls for whole slices, which showed up as
    # tail latency and lost throughput; 0.5 ms keeps the loop responsive.
    sys.setswitchinterval(0.0005)
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    announce(f"http://{shown_host}:{actual}")

    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["loggers"]["shipyard"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        workers=options.workers,
        access_log=False,  # per-request access lines cost more than the rest of the request
        proxy_headers=False,  # nothing here uses client addresses; the check costs per request
        log_config=log_config,
        timeout_graceful_shutdown=30,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    try:
        if options.workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    finally:
        sock.close()
        if options.metrics_dir:
            shutil.rmtree(Path(options.metrics_dir), ignore_errors=True)
