"""CLI commands of alerts: ``shipyard alerts add|rules|delete|list`` and ``monitor check``.

Each goes through ``open_registry()``: the server at SHIPYARD_URL when set, else the local
registry. ``monitor check`` is for cron: it evaluates the rules now, delivers what fired or
resolved, prints it, and exits 1 while any alert is firing.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shipyard.cli import output
from shipyard.cli.context import open_registry
from shipyard.cli.rollouts import seconds
from shipyard.core.alerts import Alert, AlertState
from shipyard.core.errors import InvalidInputError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

alerts_app = typer.Typer(
    help=(
        "Alert rules per endpoint (drift, performance, fairness, traffic) and the alerts they "
        "raised (through the server at SHIPYARD_URL when set)."
    ),
    no_args_is_help=True,
)


@alerts_app.command("add")
def add(
    endpoint: Annotated[str, typer.Argument(help="Endpoint (or model served under its name).")],
    name: Annotated[str, typer.Argument(help="Rule name, unique per endpoint (e.g. drift).")],
    metric: Annotated[
        str,
        typer.Option(
            help="drift_share, drifted_columns, dataset_drift, prediction_drift; accuracy, f1, "
            "roc_auc, mae, rmse, label_coverage, …; demographic_parity_difference, "
            "equalized_odds_difference, …; predictions."
        ),
    ],
    above: Annotated[
        float | None, typer.Option(help="Breach when the metric is at or above this.")
    ] = None,
    below: Annotated[
        float | None, typer.Option(help="Breach when the metric is at or below this.")
    ] = None,
    window: Annotated[str, typer.Option(help="The trailing window of each check.")] = "1h",
    min_samples: Annotated[
        int, typer.Option(help="Rows (labelled rows for performance/fairness) for a verdict.")
    ] = 100,
    version: Annotated[int | None, typer.Option(help="Only this version's predictions.")] = None,
    sensitive: Annotated[
        str | None, typer.Option(help="The sensitive attribute of a fairness metric.")
    ] = None,
    webhook: Annotated[
        list[str] | None,
        typer.Option(help="URL that receives each firing and resolution as JSON (repeatable)."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Add an alert rule: it fires once when breached and resolves once when it recovers."""
    if (above is None) == (below is None):
        raise InvalidInputError(
            "Give exactly one of --above or --below: the side of the threshold that breaches."
        )
    threshold, comparison = (above, "above") if above is not None else (below, "below")
    assert threshold is not None
    with open_registry() as registry:
        rule = registry.alerts.add_rule(
            endpoint,
            name,
            metric=metric,
            threshold=threshold,
            comparison=comparison,
            window_seconds=seconds(window, "--window"),
            min_samples=min_samples,
            version=version,
            sensitive=sensitive,
            webhooks=webhook or [],
        )
    if json_out:
        output.emit_json(rule.to_dict())
        return
    output.console.print(
        f"Alert rule {rule.name!r} on {rule.endpoint}: {rule.describe()}.", highlight=False
    )


@alerts_app.command("rules")
def rules(
    endpoint: Annotated[
        str | None, typer.Argument(help="Endpoint (default: every endpoint).")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """List the alert rules."""
    with open_registry() as registry:
        found = registry.alerts.rules(endpoint)
    if json_out:
        output.emit_json([r.to_dict() for r in found])
        return
    if not found:
        where = f" on {endpoint}" if endpoint else ""
        output.console.print(
            f"No alert rule{where}. Add one with `shipyard alerts add ENDPOINT NAME --metric "
            "drift_share --above 0.5`.",
            highlight=False,
        )
        return
    output.table(
        "alert rules",
        ["endpoint", "rule", "when", "min rows", "version", "webhooks"],
        [
            [
                r.endpoint,
                r.name,
                r.describe() + (f" ({r.sensitive})" if r.sensitive else ""),
                r.min_samples,
                r.version or "",
                len(r.webhooks),
            ]
            for r in found
        ],
    )


@alerts_app.command("delete")
def delete(
    endpoint: Annotated[str, typer.Argument(help="Endpoint.")],
    name: Annotated[str, typer.Argument(help="Rule name.")],
    json_out: JsonFlag = False,
) -> None:
    """Delete an alert rule (its alerts stay in the history)."""
    with open_registry() as registry:
        rule = registry.alerts.delete_rule(endpoint, name)
    if json_out:
        output.emit_json(rule.to_dict())
        return
    output.console.print(f"Deleted alert rule {rule.name!r} of {rule.endpoint}.", highlight=False)


@alerts_app.command("list")
def list_alerts(
    endpoint: Annotated[str | None, typer.Option(help="Only this endpoint's alerts.")] = None,
    state: Annotated[str, typer.Option(help="firing, resolved or all.")] = "all",
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    json_out: JsonFlag = False,
) -> None:
    """List alerts, newest first, with how their deliveries went."""
    if state not in ("firing", "resolved", "all"):
        raise InvalidInputError(f"--state must be firing, resolved or all, not {state!r}.")
    with open_registry() as registry:
        found = registry.alerts.history(
            endpoint=endpoint,
            state=None if state == "all" else AlertState(state),
            limit=limit,
        )
    if json_out:
        output.emit_json([a.to_dict() for a in found])
        return
    if not found:
        output.console.print("No alert.", highlight=False)
        return
    output.table("alerts", ["#", "state", "endpoint", "rule", "value", "fired", "resolved",
                            "deliveries"], [_row(a) for a in found])  # fmt: skip


def check(
    endpoint: Annotated[
        str | None, typer.Argument(help="Check only this endpoint's rules.")
    ] = None,
    command: Annotated[
        str | None,
        typer.Option(
            help="Run this for each alert that fires or resolves, with the alert as JSON on "
            "stdin (default: SHIPYARD_ALERT_COMMAND; local registry only)."
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Check the alert rules now (for cron): fire, resolve, deliver; exit 1 while any fires.

    With SHIPYARD_URL set, the server checks (and runs its own SHIPYARD_ALERT_COMMAND).
    """
    data = _check(endpoint, command)
    if json_out:
        output.emit_json(data)
    else:
        _print_check(data)
    if data["firing"]:
        raise typer.Exit(1)


def _check(endpoint: str | None, command: str | None) -> dict[str, Any]:
    from shipyard.cli.remote import RemoteRegistry
    from shipyard.registry.service import Registry

    with open_registry() as registry:
        if isinstance(registry, RemoteRegistry):
            if command is not None:
                raise InvalidInputError(
                    "--command runs on this machine, but SHIPYARD_URL sends the check to the "
                    "server. Set SHIPYARD_ALERT_COMMAND on the server, or unset SHIPYARD_URL."
                )
            return registry.client.check_alerts(endpoint)
        assert isinstance(registry, Registry)  # the only other ControlPlane open_registry() gives
        return registry.alerts.check(endpoint=endpoint, command=command).to_dict()


def _print_check(data: dict[str, Any]) -> None:
    evaluations = data["evaluations"]
    if not evaluations:
        output.console.print(
            "No alert rule to check. Add one with `shipyard alerts add`.", highlight=False
        )
        return
    output.table(
        f"alert rules checked at {data['checked_at'][:19]}",
        ["endpoint", "rule", "metric", "value", "threshold", "rows", "verdict"],
        [
            [
                e["endpoint"],
                e["rule"],
                e["metric"],
                _num(e["value"]),
                f"{e['comparison']} {e['threshold']:g}",
                e["samples"],
                {True: "BREACHED", False: "ok"}.get(e["breached"], e["reason"] or "no verdict"),
            ]
            for e in evaluations
        ],
    )
    for change in data["transitions"]:
        output.console.print(change["summary"], highlight=False, markup=False)
        for d in change["deliveries"]:
            if not d["delivered"]:
                output.warn(
                    f"could not deliver alert {change['id']} to {d['kind']} {d['target']} "
                    f"after {d['attempts']} attempt(s): {d['error']}"
                )
    firing = data["firing"]
    output.console.print(
        f"{len(firing)} alert(s) firing." if firing else "No alert is firing.", highlight=False
    )


def _row(alert: Alert) -> list[Any]:
    failed = sum(not d.delivered for d in alert.deliveries)
    deliveries = f"{len(alert.deliveries)}" + (f" ({failed} failed)" if failed else "")
    return [
        alert.id,
        alert.state.value,
        alert.endpoint,
        alert.rule,
        _num(alert.value),
        output.when(alert.fired_at),
        output.when(alert.resolved_at) if alert.resolved_at else "",
        deliveries,
    ]


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"
