"""CLI commands of progressive delivery and A/B analysis: rollout status/abort, ab.

``shipyard deploy ENDPOINT REF --canary PCT --auto`` (in ``cli/endpoints.py``) starts a rollout
with the plan of ``plan_for`` here; the server's controller then ramps or rolls it back. Each
command goes through ``open_registry()`` (the server at SHIPYARD_URL when set).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from shipyard.cli import output
from shipyard.cli.context import ControlPlane, open_registry
from shipyard.core.durations import parse_duration
from shipyard.core.endpoints import Rollout, RolloutState
from shipyard.core.errors import InvalidInputError
from shipyard.core.rollout import RolloutPlan

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
DEFAULT_STEPS = (10.0, 25.0, 50.0, 100.0)

rollout_app = typer.Typer(
    help=(
        "Automated canary rollouts started by `shipyard deploy … --canary PCT --auto` "
        "(through the server at SHIPYARD_URL when set)."
    ),
    no_args_is_help=True,
)


def seconds(text: str, option: str) -> float:
    """``"90"``, ``"30s"``, ``"5m"``, ``"1h"`` → seconds; a usage error for anything else."""
    try:
        return parse_duration(text, option)
    except InvalidInputError:
        raise typer.BadParameter(
            f"expected a positive duration like 30s, 5m or 1h, got {text!r}", param_hint=option
        ) from None


def plan_for(
    canary: float | None, steps: str | None, interval: str, min_requests: int | None
) -> RolloutPlan:
    """The rollout plan of ``deploy --auto``: explicit ``--steps``, or from ``--canary`` up."""
    if steps is not None:
        parsed = RolloutPlan.parse_steps(steps)
        if canary is not None and parsed[0] != canary:
            raise InvalidInputError(
                f"--canary {canary:g} and --steps {steps} disagree: the first step is the canary's "
                "starting share. Give one of them, or make them match."
            )
    else:
        start = canary if canary is not None else DEFAULT_STEPS[0]
        parsed = (start, *(s for s in DEFAULT_STEPS if s > start))
    return RolloutPlan(
        steps=parsed,
        interval_seconds=seconds(interval, "--interval"),
        min_requests=min_requests,
    )


@rollout_app.command("status")
def status(
    endpoint: Annotated[str, typer.Argument(help="Endpoint name.")],
    json_out: JsonFlag = False,
) -> None:
    """Show the endpoint's rollouts, newest first, with the controller's latest decision."""
    with open_registry() as registry:
        history = registry.rollouts.history(endpoint)
    if json_out:
        output.emit_json([r.to_dict() for r in history])
        return
    if not history:
        output.console.print(f"No rollout has run on {endpoint}.")
        return
    latest = history[0]
    output.console.print(_headline(latest), highlight=False)
    if latest.last_decision:
        output.table(
            "latest checks",
            ["check", "outcome", "canary", "stable", "detail"],
            [
                [c["name"], c["outcome"], _num(c.get("canary")), _num(c.get("stable")), c["detail"]]
                for c in latest.last_decision.get("checks", [])
            ],
        )
    if len(history) > 1:
        output.table(
            "earlier rollouts",
            ["#", "canary", "state", "started", "reason"],
            [
                [r.id, r.canary, r.state.value, output.when(r.started_at), r.reason or ""]
                for r in history[1:]
            ],
        )


@rollout_app.command("abort")
def abort(
    endpoint: Annotated[str, typer.Argument(help="Endpoint name.")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Stop the running rollout; all traffic goes back to its stable version."""
    with open_registry() as registry:
        stopped = registry.rollouts.abort(endpoint, reason=reason)
    if json_out:
        output.emit_json(stopped.to_dict())
        return
    output.console.print(
        f"Rollout #{stopped.id} on {endpoint} aborted; version {stopped.stable} takes all "
        "traffic again.",
        highlight=False,
    )


def ab(
    endpoint: Annotated[str, typer.Argument(help="Endpoint (or model served under its name).")],
    metric: Annotated[
        str | None, typer.Option(help="accuracy, error_rate, mae or mse (default: from labels).")
    ] = None,
    confidence: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    min_samples: Annotated[
        int, typer.Option(help="Outcomes per version needed before comparing.")
    ] = 30,
    since: Annotated[
        str | None, typer.Option(help="Only predictions of the last DURATION (e.g. 24h, 7d).")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Compare an endpoint's versions on feedback: metric with CI, difference, p-value.

    With SHIPYARD_URL set, the server compares them on the prediction logs it keeps.
    """
    start = None
    if since is not None:
        start = datetime.now(UTC) - timedelta(seconds=seconds(since, "--since"))
    with open_registry() as registry:
        data = ab_data(
            registry,
            endpoint,
            metric=metric,
            confidence=confidence,
            min_samples=min_samples,
            since=start,
        )
    if json_out:
        output.emit_json(data)
        return
    if not data["versions"]:  # nothing logged: the verdict says so, an empty table adds nothing
        output.console.print(data["verdict"], highlight=False)
        return
    level = f"{confidence:.0%}"
    output.table(
        f"{endpoint}: {data['metric'] or 'no metric'} by version",
        ["version", "predictions", "with feedback", "value", f"{level} CI", ""],
        [
            [
                v["version"],
                v["predictions"],
                v["n"],
                _num(v["value"]),
                f"{_num(v['ci_low'])} to {_num(v['ci_high'])}",
                "baseline" if v["is_baseline"] else "",
            ]
            for v in data["versions"]
        ],
    )
    if data["comparisons"]:
        output.table(
            "versus the baseline",
            ["version", "difference", f"{level} CI", "p-value", "test"],
            [
                [
                    c["version"],
                    _num(c["difference"]),
                    f"{_num(c['ci_low'])} to {_num(c['ci_high'])}",
                    _num(c["p_value"]),
                    c["test"] or "",
                ]
                for c in data["comparisons"]
            ],
        )
    output.console.print(data["verdict"], highlight=False)


def ab_data(
    registry: ControlPlane,
    endpoint: str,
    *,
    metric: str | None,
    confidence: float,
    min_samples: int,
    since: datetime | None,
) -> dict[str, Any]:
    """The A/B report (``ABReport.to_dict()`` shape), from the server or the local logs."""
    from shipyard.cli.remote import RemoteRegistry

    if isinstance(registry, RemoteRegistry):
        return registry.ab_report(
            endpoint, metric=metric, confidence=confidence, min_samples=min_samples, since=since
        )
    from shipyard.registry.analysis import ab_report
    from shipyard.registry.service import Registry

    assert isinstance(registry, Registry)  # the only other ControlPlane open_registry() gives
    report = ab_report(
        registry,
        endpoint,
        metric=metric,
        confidence=confidence,
        min_samples=min_samples,
        since=since,
    )
    return report.to_dict()


def _headline(rollout: Rollout) -> str:
    steps = " → ".join(f"{s:g}%" for s in rollout.plan.steps)
    if rollout.state == RolloutState.RUNNING:
        where = f"at {rollout.weight:g}%"
    elif rollout.state == RolloutState.COMPLETED:
        where = "now at 100%"
    else:  # rolled back or aborted: the stable version has all the traffic again
        where = f"stopped at {rollout.weight:g}%, version {rollout.stable} has all traffic"
    return (
        f"Rollout #{rollout.id} on {rollout.endpoint}: version {rollout.canary} replacing "
        f"{rollout.stable}, {rollout.state.value}, {where} (steps {steps}). "
        f"{rollout.reason or ''}"
    ).strip()


def _num(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
