"""``shipyard serve``: the inference server and control-plane API in one process (or N workers)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from shipyard.cli import output
from shipyard.cli.options import key_values
from shipyard.core.durations import parse_duration
from shipyard.core.settings import Settings


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one and prints it).")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    role: Annotated[
        str, typer.Option(help="all, api (control plane only) or inference (data plane only).")
    ] = "all",
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without API keys (local experiments only).")
    ] = False,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body, MiB.")] = 16.0,
    max_instances: Annotated[int, typer.Option(help="Most instances per request.")] = 10_000,
    batch_size: Annotated[int, typer.Option(help="Most rows merged into one model call.")] = 64,
    batch_wait_ms: Annotated[
        float,
        typer.Option(
            help="Under concurrent load, how long a model call may wait for the requests "
            "the previous call served (0 = never)."
        ),
    ] = 2.0,
    inline_below_ms: Annotated[
        float,
        typer.Option(
            help="Models whose calls take less than this run on the event loop (batched); "
            "slower ones on a worker thread (0 = always on the worker thread)."
        ),
    ] = 5.0,
    no_batching: Annotated[
        bool, typer.Option("--no-batching", help="One model call per request.")
    ] = False,
    model_batch_size: Annotated[
        list[str] | None,
        typer.Option(help="Per-model batch size MODEL=ROWS (1 turns batching off for it)."),
    ] = None,
    cache: Annotated[
        list[str] | None,
        typer.Option(help="Response cache ENDPOINT=ENTRIES for endpoints with repeating inputs."),
    ] = None,
    no_log_predictions: Annotated[
        bool, typer.Option("--no-log-predictions", help="Do not write the prediction log.")
    ] = False,
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between checks for new production versions.")
    ] = 0.5,
    rollout_interval: Annotated[
        float,
        typer.Option(
            help="Seconds between two decisions of the automated-rollout controller "
            "(0 turns it off in this server)."
        ),
    ] = 5.0,
    monitor_interval: Annotated[
        str,
        typer.Option(
            help="How often to check alert rules and refresh the monitoring gauges, e.g. 1m "
            "(0 turns it off in this server)."
        ),
    ] = "1m",
    monitor_window: Annotated[
        str, typer.Option(help="How much recent log the monitoring gauges summarise, e.g. 1h.")
    ] = "1h",
) -> None:
    """Serve every endpoint over REST v1 and Open Inference Protocol v2, plus the API.

    Serves the local SHIPYARD_HOME (SHIPYARD_DATABASE_URL) even when SHIPYARD_URL is set.
    """
    from shipyard.server.options import ServeOptions
    from shipyard.server.run import serve as run_server

    caches = _positive_sizes(cache, "--cache")
    model_sizes = _positive_sizes(model_batch_size, "--model-batch-size")
    options = ServeOptions(
        auth=not no_auth,
        role=role,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        max_instances=max_instances,
        batching=not no_batching,
        max_batch_size=batch_size,
        max_wait_ms=batch_wait_ms,
        inline_below_ms=inline_below_ms,
        poll_interval=poll_interval,
        cache=caches,
        model_batch_size=model_sizes,
        log_predictions=not no_log_predictions,
        workers=workers,
        rollout_interval=rollout_interval,
        monitor_interval=(
            0.0
            if monitor_interval.strip() == "0"
            else parse_duration(monitor_interval, "--monitor-interval")
        ),
        monitor_window=parse_duration(monitor_window, "--monitor-window"),
    )
    if no_auth:
        output.warn(
            "authentication is OFF (--no-auth): anyone who can reach this port can predict, "
            "promote and manage keys. Use it only for local experiments."
        )

    def announce(url: str) -> None:
        auth = "off" if no_auth else "on"
        output.console.print(
            f"Shipyard serving on {url} ({workers} worker{'s' if workers > 1 else ''}, "
            f"auth {auth}, role {role}). Ctrl-C stops it.",
            highlight=False,
            soft_wrap=True,
        )
        sys.stdout.flush()

    run_server(Settings.from_env(), options, host=host, port=port, announce=announce)


def _positive_sizes(items: list[str] | None, option: str) -> dict[str, int]:
    sizes = {}
    for name, size in key_values(items, option).items():
        if not size.isdigit() or int(size) < 1:
            raise typer.BadParameter(
                f"the size for {name!r} must be a positive integer", param_hint=option
            )
        sizes[name] = int(size)
    return sizes
