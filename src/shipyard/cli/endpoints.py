"""CLI commands on endpoints: endpoints create/list/show/traffic, deploy, rollback.

Each goes through ``open_registry()``, so it acts on the local registry or, with SHIPYARD_URL
set, through the server as SHIPYARD_API_KEY. ``--json`` prints the core types' ``to_dict()``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli import output
from shipyard.cli.context import open_registry
from shipyard.core.endpoints import Endpoint, EndpointRevision
from shipyard.core.traffic import TrafficPolicy
from shipyard.registry.endpoints import KEEP

endpoints_app = typer.Typer(
    help=(
        "Endpoints and their traffic policies: canary, A/B, shadow (through the server at "
        "SHIPYARD_URL when set)."
    ),
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Reason = Annotated[
    str | None, typer.Option(help="Why (kept in the revision history and the audit log).")
]
WEIGHT_SYNTAX = "expected VERSION=PCT with a version number and a percentage, e.g. 1=90 2=10"


@endpoints_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Endpoint name, e.g. credit-web.")],
    model: Annotated[str, typer.Option("--model", help="The model whose versions it serves.")],
    description: Annotated[str | None, typer.Option(help="What the endpoint is for.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Create an endpoint for a model; it serves nothing until `shipyard deploy`."""
    with open_registry() as registry:
        endpoint = registry.endpoints.create(name, model, description=description)
    if json_out:
        output.emit_json(endpoint.to_dict())
        return
    output.console.print(
        f"Created endpoint [bold]{endpoint.name}[/] for model {endpoint.model}. Deploy a "
        f"version with `shipyard deploy {endpoint.name} {endpoint.model}:VERSION`.",
        highlight=False,
    )


@endpoints_app.command("list")
def list_endpoints(json_out: JsonFlag = False) -> None:
    """List endpoints with their current traffic policies."""
    with open_registry() as registry:
        endpoints = registry.endpoints.list()
    if json_out:
        output.emit_json([e.to_dict() for e in endpoints])
        return
    if not endpoints:
        output.console.print(
            "No endpoints yet. Create one with `shipyard endpoints create NAME --model MODEL` "
            "or `shipyard deploy NAME MODEL:VERSION`."
        )
        return
    output.table(
        None,
        ["name", "model", "revision", "weights", "shadows", "sticky key"],
        [
            [
                e.name,
                e.model,
                e.current.revision if e.current else "-",
                weights_text(e.policy) if e.policy else "nothing deployed",
                shadows_text(e.policy),
                (e.policy.sticky_key if e.policy else None) or "-",
            ]
            for e in endpoints
        ],
    )


@endpoints_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    json_out: JsonFlag = False,
) -> None:
    """Show an endpoint, its current traffic policy and its revisions, newest first."""
    with open_registry() as registry:
        endpoint = registry.endpoints.get(name)
        history = registry.endpoints.history(name)
    if json_out:
        output.emit_json({**endpoint.to_dict(), "history": [r.to_dict() for r in history]})
        return
    _print_endpoint(endpoint, history)


@endpoints_app.command("traffic")
def traffic(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    weights: Annotated[
        list[str],
        typer.Argument(help="VERSION=PCT per live version, summing to 100, e.g. 1=90 2=10."),
    ],
    shadow: Annotated[
        list[int] | None,
        typer.Option(help="A version that gets copies of the traffic (repeatable)."),
    ] = None,
    no_shadows: Annotated[
        bool, typer.Option("--no-shadows", help="Remove every shadow version.")
    ] = False,
    sticky_key: Annotated[
        str | None,
        typer.Option(help="Feature (or routing key) that keeps a caller on one version."),
    ] = None,
    no_sticky_key: Annotated[
        bool, typer.Option("--no-sticky-key", help="Route each request at random again.")
    ] = False,
    reason: Reason = None,
    json_out: JsonFlag = False,
) -> None:
    """Set an endpoint's traffic: weights per version, shadows and the sticky key.

    Shadows and the sticky key stay unless given; --no-shadows, --no-sticky-key remove them.

    Sticky keys move only as much as the new weights require.
    """
    parsed = parse_weights(weights)
    if shadow and no_shadows:
        raise typer.BadParameter("give --shadow or --no-shadows, not both", param_hint="--shadow")
    if sticky_key is not None and no_sticky_key:
        raise typer.BadParameter(
            "give --sticky-key or --no-sticky-key, not both", param_hint="--sticky-key"
        )
    shadows = () if no_shadows else (tuple(shadow) if shadow else None)
    sticky: str | object = "" if no_sticky_key else (KEEP if sticky_key is None else sticky_key)
    with open_registry() as registry:
        # The model names the versions in the text; read first, so a failed read cannot
        # follow a change that was made.
        model = None if json_out else registry.endpoints.get(name).model
        revision = registry.endpoints.set_traffic(
            name, parsed, shadows=shadows, sticky_key=sticky, reason=reason
        )
    if json_out:
        output.emit_json(revision.to_dict())
        return
    output.console.print(
        f"{name} revision {revision.revision}: {_routes(model, revision.policy)}.",
        highlight=False,
    )


def deploy(
    endpoint: Annotated[str, typer.Argument(help="Endpoint name (created on first deploy).")],
    ref: Annotated[str, typer.Argument(help="NAME:VERSION, the exact version.")],
    canary: Annotated[
        float | None,
        typer.Option(help="Percent of traffic for this version, taken from the stable one."),
    ] = None,
    shadow: Annotated[
        bool, typer.Option("--shadow", help="Copies of the traffic only; answers are logged.")
    ] = False,
    sticky_key: Annotated[
        str | None,
        typer.Option(help="Feature (or routing key) that keeps a caller on one version."),
    ] = None,
    reason: Reason = None,
    auto: Annotated[
        bool,
        typer.Option(
            "--auto",
            help="Ramp the canary up by itself while it is healthy (else roll it back), as "
            "the server's controller decides from its metrics.",
        ),
    ] = False,
    steps: Annotated[
        str | None,
        typer.Option(
            help="With --auto: canary percents, e.g. 10,25,50,100 (default: from --canary)."
        ),
    ] = None,
    interval: Annotated[
        str, typer.Option(help="With --auto: time at each step at least, e.g. 30s, 5m.")
    ] = "5m",
    min_requests: Annotated[
        int | None, typer.Option(help="With --auto: canary requests needed at each step.")
    ] = 100,
    json_out: JsonFlag = False,
) -> None:
    """Deploy a version to an endpoint: all traffic, a canary share, or shadow copies.

    All traffic needs a production version; a canary, a staging or production one. With
    --auto the canary ramps through --steps while healthy and rolls back by itself when not.

    Goes through the server at SHIPYARD_URL when set, audited under SHIPYARD_API_KEY.
    """
    if auto:
        _deploy_auto(endpoint, ref, canary, shadow, steps, interval, min_requests, reason, json_out)
        return
    with open_registry() as registry:
        revision = registry.endpoints.deploy(
            endpoint,
            ref,
            canary=canary,
            shadow=shadow,
            sticky_key=KEEP if sticky_key is None else sticky_key,
            reason=reason,
        )
    if json_out:
        output.emit_json(revision.to_dict())
        return
    model, _, number = ref.partition(":")
    version = int(number)
    policy = revision.policy
    if revision.action == "shadow":
        what = f"{model}:{version} gets copies (shadow); {_routes(model, policy, skip=version)}"
    else:
        share = policy.weights()[version]
        label = " (canary)" if revision.action == "canary" else ""
        rest = _routes(model, policy, skip=version)
        sep = ", " if len(policy.weights()) > 1 else "; "  # more routes, or only extras
        what = f"{model}:{version} takes {share:g}%{label}" + (f"{sep}{rest}" if rest else "")
    output.console.print(f"{endpoint} revision {revision.revision}: {what}.", highlight=False)


def _deploy_auto(
    endpoint: str,
    ref: str,
    canary: float | None,
    shadow: bool,
    steps: str | None,
    interval: str,
    min_requests: int | None,
    reason: str | None,
    json_out: bool,
) -> None:
    from shipyard.cli.rollouts import plan_for

    if shadow:
        raise typer.BadParameter("--auto ramps a canary; it does not apply to --shadow.")
    plan = plan_for(canary, steps, interval, min_requests)
    with open_registry() as registry:
        rollout = registry.rollouts.start(endpoint, ref, plan, reason=reason)
    if json_out:
        output.emit_json(rollout.to_dict())
        return
    path = " → ".join(f"{s:g}%" for s in plan.steps)
    output.console.print(
        f"Rollout #{rollout.id} on {endpoint}: {ref} takes {rollout.weight:g}% now and ramps "
        f"{path} while healthy (each step at least {interval}"
        + (f" and {min_requests} canary requests" if min_requests else "")
        + "). `shipyard rollout status "
        + endpoint
        + "` follows it; a running server's controller decides.",
        highlight=False,
    )


def rollback(
    endpoint: Annotated[str, typer.Argument(help="Endpoint name.")],
    to_revision: Annotated[
        int | None,
        typer.Option(help="The revision to restore (default: the one before the current)."),
    ] = None,
    reason: Reason = None,
    json_out: JsonFlag = False,
) -> None:
    """Restore an earlier revision of an endpoint's traffic policy, as a new revision.

    Goes through the server at SHIPYARD_URL when set, audited under SHIPYARD_API_KEY.
    """
    with open_registry() as registry:
        model = None if json_out else registry.endpoints.get(endpoint).model
        revision = registry.endpoints.rollback(endpoint, to_revision=to_revision, reason=reason)
    if json_out:
        output.emit_json(revision.to_dict())
        return
    # A default rollback restores the revision before the one it replaced (the endpoint is
    # locked meanwhile), so that is two below the new one.
    restored = to_revision if to_revision is not None else revision.revision - 2
    output.console.print(
        f"{endpoint} revision {revision.revision} restores revision {restored}: "
        f"{_routes(model, revision.policy)}.",
        highlight=False,
    )


def parse_weights(items: list[str]) -> dict[int, float]:
    """``["1=90", "2=10"]`` → ``{1: 90.0, 2: 10.0}`` (``v1=90%`` too); a usage error otherwise."""
    weights: dict[int, float] = {}
    for item in items:
        version, sep, percent = item.partition("=")
        version = version.strip().removeprefix("v")
        percent = percent.strip().removesuffix("%")
        if not sep or not version.isdigit() or int(version) < 1:
            raise typer.BadParameter(f"{WEIGHT_SYNTAX}; got {item!r}", param_hint="VERSION=PCT")
        try:
            share = float(percent)
        except ValueError:
            raise typer.BadParameter(
                f"{WEIGHT_SYNTAX}; {percent!r} in {item!r} is not a number",
                param_hint="VERSION=PCT",
            ) from None
        if int(version) in weights:
            raise typer.BadParameter(
                f"version {int(version)} is given twice", param_hint="VERSION=PCT"
            )
        weights[int(version)] = share
    return weights


def weights_text(policy: TrafficPolicy) -> str:
    """``v1 90% · v2 10%``."""
    return " · ".join(f"v{v} {w:g}%" for v, w in policy.weights().items())


def shadows_text(policy: TrafficPolicy | None) -> str:
    """``v3, v4``, or ``-`` for none."""
    if policy is None or not policy.shadows:
        return "-"
    return ", ".join(f"v{v}" for v in policy.shadows)


def _routes(model: str | None, policy: TrafficPolicy, *, skip: int | None = None) -> str:
    """``credit:1 90%, credit:2 10%; shadows: credit:3; sticky key: customer``.

    ``skip`` leaves out a version the caller has already named; without a model name,
    versions read ``v1``.
    """

    def name(version: int) -> str:
        return f"{model}:{version}" if model else f"v{version}"

    parts = [", ".join(f"{name(v)} {w:g}%" for v, w in policy.weights().items() if v != skip)]
    shadows = [name(v) for v in policy.shadows if v != skip]
    if shadows:
        parts.append("shadows: " + ", ".join(shadows))
    if policy.sticky_key:
        parts.append(f"sticky key: {policy.sticky_key}")
    return "; ".join(p for p in parts if p)


def _print_endpoint(endpoint: Endpoint, history: list[EndpointRevision]) -> None:
    policy = endpoint.policy
    output.console.print(
        f"[bold]{endpoint.name}[/]  model: {endpoint.model}  "
        f"revision: {endpoint.current.revision if endpoint.current else '-'}  "
        f"created {output.when(endpoint.created_at)} by {endpoint.created_by}",
        highlight=False,
    )
    if endpoint.description:
        output.console.print(endpoint.description, highlight=False)
    if policy is None:
        output.console.print(
            f"Nothing deployed yet: `shipyard deploy {endpoint.name} {endpoint.model}:VERSION`.",
            highlight=False,
        )
        return
    output.console.print(
        f"traffic: {weights_text(policy)}  shadows: {shadows_text(policy)}  "
        f"sticky key: {policy.sticky_key or '-'}",
        highlight=False,
    )
    output.table(
        "revisions",
        ["revision", "at", "by", "action", "weights", "shadows", "sticky key", "reason"],
        [
            [
                r.revision,
                output.when(r.at),
                r.actor,
                r.action,
                weights_text(r.policy),
                shadows_text(r.policy),
                r.policy.sticky_key or "-",
                r.reason or "-",
            ]
            for r in history
        ],
    )
