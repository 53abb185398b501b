"""CLI commands of governance: gate check / gate policy, approve, approvals, pilot.

``gate check`` is made for CI pipelines: it prints every check and exits 1 when any fails.
All go through ``open_registry()``: with SHIPYARD_URL set, the server does the work as
SHIPYARD_API_KEY (``gate check --data`` reads the file here and sends its rows; ``pilot`` runs
next to the server's own traffic). Locally, ``pilot`` starts an isolated server here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli import output
from shipyard.cli.context import open_registry
from shipyard.cli.options import metrics
from shipyard.core.errors import InvalidInputError
from shipyard.core.governance import PromotionRequest, RequestState
from shipyard.gates import GateReport

if TYPE_CHECKING:
    from shipyard.registry import Registry
    from shipyard.server.pilot import PilotResult

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

gate_app = typer.Typer(
    help=(
        "Promotion gates: check a version against its model's policy; set the policy "
        "(through the server at SHIPYARD_URL when set)."
    ),
    no_args_is_help=True,
)
policy_app = typer.Typer(help="A model's gate policy (YAML, kept with its history).")
gate_app.add_typer(policy_app, name="policy")


@gate_app.command("check")
def gate_check(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION to check.")],
    data: Annotated[
        Path | None,
        typer.Option(help="Evaluation data (CSV/Parquet) with the label column.", exists=False),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Label column (default: the one given at registration).")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="A policy file to use instead of the stored policy.")
    ] = None,
    min_metric: Annotated[
        list[str] | None, typer.Option(help="Extra threshold METRIC=MIN, e.g. accuracy=0.9.")
    ] = None,
    sensitive: Annotated[
        list[str] | None, typer.Option(help="Sensitive column for the fairness checks.")
    ] = None,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="Keep the report on the version.")
    ] = True,
    json_out: JsonFlag = False,
) -> None:
    """Check a version against its gates; exit 0 if it passes, 1 naming every failure.

    The report is kept on the version: promotion to production uses it. With SHIPYARD_URL
    set, the server checks it: --data is read here and its rows sent (at most 100,000).
    """
    policy_text = _read(policy, "--policy") if policy is not None else None
    if data is not None and not data.is_file():
        raise InvalidInputError(f"Evaluation data file {data} does not exist.")
    with open_registry() as registry:
        report = registry.gates.check(
            ref,
            data=data,
            target=target,
            policy_text=policy_text,
            policy_source=policy.name if policy is not None else "gate policy",
            min_metrics=metrics(min_metric, "--min-metric"),
            sensitive=sensitive or (),
            store=store,
        )
    if json_out:
        output.emit_json(report.to_dict())
    else:
        _print_report(report)
    if not report.passed:
        raise typer.Exit(1)


@policy_app.command("show")
def policy_show(
    model: Annotated[str, typer.Argument(help="Model name.")],
    json_out: JsonFlag = False,
) -> None:
    """Show the policy in force (revision 0 is the built-in default) and its history."""
    with open_registry() as registry:
        current = registry.gates.policy(model)
        history = registry.gates.policy_history(model)
    if json_out:
        output.emit_json(
            {
                "model": model,
                "revision": current.revision,
                "text": current.record.text if current.record else None,
                "policy": current.policy.to_dict(),
                "history": [r.to_dict() for r in history],
            }
        )
        return
    if current.record is None:
        output.console.print(
            f"{model} has no gate policy of its own: the default applies (input schema "
            "compatible with production, artifact integrity).",
            highlight=False,
        )
    else:
        output.console.print(
            f"{model} gate policy, revision {current.record.revision} by {current.record.actor} "
            f"({output.when(current.record.at)}):",
            highlight=False,
        )
        output.console.print(current.record.text.rstrip(), highlight=False, markup=False)
    if len(history) > 1:
        output.table(
            "history",
            ["revision", "by", "at"],
            [[r.revision, r.actor, output.when(r.at)] for r in history],
        )


@policy_app.command("set")
def policy_set(
    model: Annotated[str, typer.Argument(help="Model name.")],
    file: Annotated[Path, typer.Argument(help="The policy YAML file.")],
    json_out: JsonFlag = False,
) -> None:
    """Store a policy file as the model's next policy revision (it must parse)."""
    text = _read(file, "FILE")
    with open_registry() as registry:
        record = registry.gates.set_policy(model, text, source=file.name)
    if json_out:
        output.emit_json(record.to_dict())
        return
    output.console.print(f"{model} gate policy is now revision {record.revision}.", highlight=False)


def approve(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION waiting for approval.")],
    reject: Annotated[
        bool, typer.Option("--reject", help="Reject the request (the version is rejected).")
    ] = False,
    comment: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Approve (or --reject) a version's request for production.

    The requester cannot decide their own request. The last approval the policy needs moves
    the version to production. Goes through the server at SHIPYARD_URL when set, as
    SHIPYARD_API_KEY (an approver or admin key).
    """
    with open_registry() as registry:
        decide = registry.approvals.reject if reject else registry.approvals.approve
        version, request = decide(ref, comment=comment)
    if json_out:
        output.emit_json({"version": version.to_dict(), "request": request.to_dict()})
        return
    if reject:
        message = f"Rejected {version.ref}: it is now rejected."
    elif request.state == RequestState.APPROVED:
        message = f"Approved {version.ref}: it is now [bold]production[/]."
    else:
        missing = request.required_approvals - request.approvals
        message = (
            f"Approved {version.ref} ({request.approvals} of {request.required_approvals}); "
            f"waiting for {missing} more approval{'s' if missing > 1 else ''}."
        )
    output.console.print(message, highlight=False)


def approvals(
    all_states: Annotated[
        bool, typer.Option("--all", help="Every request, not only the pending ones.")
    ] = False,
    model: Annotated[str | None, typer.Option(help="Only this model's requests.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """List promotion requests waiting for approval (--all: every request).

    Goes through the server at SHIPYARD_URL when set.
    """
    with open_registry() as registry:
        found = registry.approvals.requests(
            state=None if all_states else RequestState.PENDING, model=model
        )
    if json_out:
        output.emit_json([r.to_dict() for r in found])
        return
    if not found:
        output.console.print("No promotion request is waiting." if not all_states else "None.")
        return
    output.table(
        "promotion requests",
        ["version", "state", "approvals", "requested by", "at", "reason"],
        [_request_row(r) for r in found],
    )


def pilot(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION to load-test.")],
    requests: Annotated[int, typer.Option(help="Measured requests.")] = 500,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once.")] = 8,
    rows_per_request: Annotated[int, typer.Option(help="Instances per request.")] = 1,
    json_out: JsonFlag = False,
) -> None:
    """Load-test a version in an isolated server; p50/p99 are kept on the version.

    Rows are sampled from the version's reference data. The latency gate reads the result.
    With SHIPYARD_URL set the server runs it (at most 100,000 requests), next to its traffic.
    """
    from shipyard.registry import Registry
    from shipyard.server.pilot import PilotResult

    with open_registry() as registry:
        version = registry.get_version(ref)
        if isinstance(registry, Registry):
            sizes = (requests, concurrency, rows_per_request)
            result = _local_pilot(registry, version.ref, *sizes, quiet=json_out)
        else:
            client = registry.client  # type: ignore[attr-defined]
            result = PilotResult.from_dict(
                client.pilot(
                    version.model,
                    version.version,
                    requests=requests,
                    concurrency=concurrency,
                    rows_per_request=rows_per_request,
                )
            )
    if json_out:
        output.emit_json(result.to_dict())
        return
    output.console.print(
        f"{result.ref}: {result.requests} requests at concurrency {result.concurrency}: "
        f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
        f"{result.throughput_rps:,.0f} requests/s, {result.errors} errors. Kept on the version.",
        highlight=False,
    )
    for example in result.error_examples:
        output.warn(f"e.g. {example}")


def _local_pilot(
    registry: Registry,
    ref: str,
    requests: int,
    concurrency: int,
    rows_per_request: int,
    *,
    quiet: bool,
) -> PilotResult:
    from rich.progress import Progress

    from shipyard.server.pilot import pilot_and_record

    with Progress(transient=True, console=output.console, disable=quiet) as progress:
        task = progress.add_task(f"pilot {ref}", total=requests)
        return pilot_and_record(
            registry,
            ref,
            requests=requests,
            concurrency=concurrency,
            rows_per_request=rows_per_request,
            progress=lambda done, _total: progress.update(task, completed=done),
        )


def _print_report(report: GateReport) -> None:
    rows = [
        [
            "skip" if c.skipped else ("pass" if c.passed else "FAIL"),
            c.name,
            "" if c.observed is None else _shown(c.observed),
            c.limit or "",
            c.message,
        ]
        for c in report.checks
    ]
    output.table(f"gates of {report.ref}", ["", "check", "observed", "limit", "detail"], rows)
    if report.passed:
        output.console.print(f"{report.ref} [bold]passes[/] its gates.", highlight=False)
    else:
        failed = ", ".join(c.name for c in report.failed())
        output.error(f"{report.ref} fails its gates: {failed}.")


def _shown(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _request_row(request: PromotionRequest) -> list[object]:
    return [
        request.ref,
        request.state.value,
        f"{request.approvals}/{request.required_approvals}",
        request.requested_by,
        output.when(request.requested_at),
        request.reason or "",
    ]


def _read(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"{option}: {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{option}: cannot read {path}: {exc}.") from None
