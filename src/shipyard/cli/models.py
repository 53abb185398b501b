"""CLI commands on models: register, models list/show, predict, promote."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shipyard.cli import output
from shipyard.cli.context import open_local_registry, open_registry
from shipyard.cli.options import key_values, metrics, timestamp
from shipyard.core.types import ModelVersion
from shipyard.registry.refs import parse_ref

if TYPE_CHECKING:
    from collections.abc import Callable

    from shipyard.flavors import Batch
    from shipyard.registry.service import LoadedVersion

models_app = typer.Typer(
    help="List and inspect registered models (through the server at SHIPYARD_URL when set).",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def register(
    name: Annotated[str, typer.Argument(help="Model name, e.g. credit-risk.")],
    artifact: Annotated[Path, typer.Argument(help="Model file or directory.")],
    flavor: Annotated[
        str | None, typer.Option(help="Framework (auto-detected when unambiguous).")
    ] = None,
    sample_data: Annotated[
        Path | None,
        typer.Option(help="CSV/Parquet sample: signature and reference profile come from it."),
    ] = None,
    target: Annotated[str | None, typer.Option(help="Label column in the sample data.")] = None,
    sensitive: Annotated[
        list[str] | None, typer.Option(help="Sensitive attribute column (repeatable).")
    ] = None,
    metric: Annotated[list[str] | None, typer.Option(help="Validation metric K=V.")] = None,
    param: Annotated[list[str] | None, typer.Option(help="Training parameter K=V.")] = None,
    data_version: Annotated[str | None, typer.Option(help="Version label of the data.")] = None,
    training_data: Annotated[
        Path | None, typer.Option(help="Training data file to hash (default: --sample-data).")
    ] = None,
    code_commit: Annotated[
        str | None, typer.Option(help="Code commit (default: git HEAD of the current directory).")
    ] = None,
    trained_at: Annotated[
        str | None, typer.Option(help="When the model was trained (ISO 8601).")
    ] = None,
    description: Annotated[str | None, typer.Option(help="What this version is.")] = None,
    intended_use: Annotated[str | None, typer.Option(help="What it is meant for.")] = None,
    limitations: Annotated[str | None, typer.Option(help="Known limitations.")] = None,
    notes: Annotated[str | None, typer.Option(help="Anything else reviewers should know.")] = None,
    owner: Annotated[str | None, typer.Option(help="Responsible team or person.")] = None,
    trust_pickle: Annotated[
        bool, typer.Option("--trust-pickle", help="Allow a pickle/joblib file (runs its code).")
    ] = False,
    trust_type: Annotated[
        list[str] | None, typer.Option(help="A skops type you reviewed and trust (repeatable).")
    ] = None,
    sign_key: Annotated[
        Path | None,
        typer.Option(help="Ed25519 private key (PEM) to sign the artifact's SHA-256 with."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Register a new version of a model with its lineage and reference profile.

    Acts on the local SHIPYARD_HOME even when SHIPYARD_URL is set.
    """
    with open_local_registry() as registry:
        result = registry.register(
            name,
            artifact,
            flavor=flavor,
            sample_data=sample_data,
            target=target,
            sensitive=sensitive or (),
            metrics=metrics(metric),
            params=key_values(param, "--param"),
            data_version=data_version,
            training_data=training_data,
            code_commit=code_commit,
            trained_at=timestamp(trained_at, "--trained-at"),
            description=description,
            intended_use=intended_use,
            limitations=limitations,
            notes=notes,
            owner=owner,
            trust_pickle=trust_pickle,
            trust_types=trust_type or (),
            sign_key=sign_key,
        )
    for message in result.warnings:
        output.warn(message)
    version = result.version
    if json_out:
        output.emit_json(version.to_dict())
        return
    if version.trust_pickle:
        output.warn(
            f"{version.ref} is a pickle; its loading runs code (recorded in the audit log)."
        )
    output.console.print(
        f"Registered [bold]{version.ref}[/] ({version.flavor}, sha256 "
        f"{version.artifact.sha256[:12]}…, status {version.status.value})."
    )


@models_app.command("list")
def list_models(json_out: JsonFlag = False) -> None:
    """List registered models."""
    with open_registry() as registry:
        models = registry.list_models()
    if json_out:
        output.emit_json([m.to_dict() for m in models])
        return
    if not models:
        output.console.print("No models yet. Register one with `shipyard register NAME FILE`.")
        return
    output.table(
        None,
        ["name", "latest", "production", "owner", "created"],
        [
            [m.name, m.latest_version, m.production_version, m.owner, output.when(m.created_at)]
            for m in models
        ],
    )


@models_app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME:VERSION, NAME:latest, NAME:production.")],
    json_out: JsonFlag = False,
) -> None:
    """Show a model (its versions and status history) or one version's full record."""
    name, selector = parse_ref(ref)
    with open_registry() as registry:
        if selector is None:
            model = registry.get_model(name)
            versions = registry.list_versions(name)
            history = registry.history(name)
            if json_out:
                output.emit_json(
                    {
                        "model": model.to_dict(),
                        "versions": [_version_summary(v) for v in versions],
                        "history": [h.to_dict() for h in history],
                    }
                )
                return
            _print_model(model.to_dict(), versions, [h.to_dict() for h in history])
            return
        version = registry.get_version(ref)
        history = registry.history(name, version.version)
    if json_out:
        data = version.to_dict()
        data["history"] = [h.to_dict() for h in history]
        output.emit_json(data)
        return
    _print_version(version, [h.to_dict() for h in history])


def _version_summary(v: ModelVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "status": v.status.value,
        "flavor": v.flavor,
        "artifact_sha256": v.artifact.sha256,
        "created_at": v.created_at.isoformat(),
        "created_by": v.created_by,
        "production_since": v.production_since.isoformat() if v.production_since else None,
    }


def _print_model(
    model: dict[str, Any], versions: list[ModelVersion], history: list[dict[str, Any]]
) -> None:
    output.console.print(
        f"[bold]{model['name']}[/]  owner: {model['owner'] or '-'}  "
        f"production: {model['production_version'] or '-'}"
    )
    output.table(
        "versions",
        ["version", "status", "flavor", "sha256", "created", "by"],
        [
            [
                v.version,
                v.status.value,
                v.flavor,
                v.artifact.sha256[:12],
                output.when(v.created_at),
                v.created_by,
            ]
            for v in versions
        ],
    )
    output.table(
        "history",
        ["at", "version", "from", "to", "by", "reason"],
        [
            [h["at"][:19], h["version"], h["from_status"], h["to_status"], h["actor"], h["reason"]]
            for h in history
        ],
    )


def _print_version(v: ModelVersion, history: list[dict[str, Any]]) -> None:
    lineage = v.lineage
    rows: list[list[Any]] = [
        ["status", v.status.value],
        ["production since", output.when(v.production_since) or "-"],
        ["previous version", v.previous_version or "-"],
        ["flavor", v.flavor],
        ["artifact", f"{v.artifact.filename} ({v.artifact.size} bytes)"],
        ["sha256", v.artifact.sha256],
        ["owner", v.owner or "-"],
        ["created", f"{output.when(v.created_at)} by {v.created_by}"],
        ["description", v.card.description or "-"],
        ["intended use", v.card.intended_use or "-"],
        ["limitations", v.card.limitations or "-"],
        ["notes", v.card.notes or "-"],
        ["data version", lineage.data_version or "-"],
        ["data sha256", lineage.data_sha256 or "-"],
        ["code commit", (lineage.code_commit or "-") + (" (dirty)" if lineage.code_dirty else "")],
        ["trained at", output.when(lineage.trained_at) or "-"],
        ["params", ", ".join(f"{k}={val}" for k, val in lineage.params.items()) or "-"],
        ["metrics", ", ".join(f"{k}={val:g}" for k, val in lineage.metrics.items()) or "-"],
        [
            "trust",
            "pickle (runs code)"
            if v.trust_pickle
            else (
                "skops types: " + ", ".join(v.trusted_types) if v.trusted_types else "safe format"
            ),
        ],
        [
            "signed by",
            f"key {v.artifact_signature.key_id}" if v.artifact_signature else "- (unsigned)",
        ],
    ]
    output.table(f"{v.ref}", ["field", "value"], rows)
    if v.signature:
        output.table(
            "signature (inputs)",
            ["column", "type", "nullable"],
            [[c.name, c.dtype.value, c.nullable] for c in v.signature.inputs],
        )
    profile = v.reference_profile
    if profile:
        output.table(
            f"reference profile ({profile['rows']} rows)",
            ["column", "role", "kind", "missing", "summary"],
            [
                [name, col["role"], col["kind"], col["missing"], _profile_summary(col)]
                for name, col in profile["columns"].items()
            ],
        )
    output.table(
        "history",
        ["at", "from", "to", "by", "reason"],
        [
            [h["at"][:19], h["from_status"], h["to_status"], h["actor"], h["reason"]]
            for h in history
        ],
    )


def _profile_summary(column: dict[str, Any]) -> str:
    if column["kind"] == "numeric":
        if column.get("mean") is None:
            return "no values"
        q = column["quantiles"]
        span = f"[{column['min']:.4g}, {column['max']:.4g}]"
        return f"mean {column['mean']:.4g}, p50 {q['0.5']:.4g}, {span}"
    top = list(column["frequencies"].items())[:3]
    return f"{column['unique']} values; top: " + ", ".join(f"{k} ({n})" for k, n in top)


def predict(
    ref: Annotated[str, typer.Argument(help="NAME (latest), NAME:VERSION or NAME:production.")],
    input_file: Annotated[Path, typer.Option("--input", help="CSV or Parquet file to score.")],
    output_file: Annotated[
        Path | None, typer.Option("--output", help="CSV or Parquet (default: CSV on stdout).")
    ] = None,
) -> None:
    """Score a CSV/Parquet file offline with a registered version.

    Acts on the local SHIPYARD_HOME even when SHIPYARD_URL is set.
    """
    from shipyard.registry.datafiles import count_rows
    from shipyard.registry.scoring import score_file

    with open_local_registry() as registry:
        loaded = registry.load(ref)
    to_batch = _validated_batches(loaded)
    total = count_rows(input_file)
    if output_file is None:
        summary = score_file(loaded, input_file, sys.stdout.buffer, to_batch=to_batch)
        return
    with Progress(
        TextColumn("[bold]scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=output.err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("score", total=total)
        summary = score_file(
            loaded,
            input_file,
            output_file,
            progress=lambda n: progress.advance(task, n),
            to_batch=to_batch,
        )
    output.err_console.print(
        f"Scored {summary.rows} rows with {summary.model}:{summary.version} → {summary.output}"
    )


def _validated_batches(loaded: LoadedVersion) -> Callable[[Any, list[str]], Batch] | None:
    """Chunks validated by the serving data plane's schema, as a request would be.

    None (plain conversion) for a version without a signature: nothing to validate against.
    """
    from shipyard.flavors import Batch
    from shipyard.registry.scoring import CHUNK_ROWS
    from shipyard.serving.schema import InputSchema

    signature = loaded.version.signature
    if signature is None or not signature.inputs:
        return None
    schema = InputSchema.for_version(signature, loaded.predictor, max_instances=CHUNK_ROWS)

    def to_batch(table: Any, names: list[str]) -> Batch:
        raw = Batch.from_arrow(table, schema.names)
        return schema.batch_from_columns({n: raw.column(n) for n in schema.names})

    return to_batch


def promote(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION")],
    to: Annotated[str, typer.Option("--to", help="staging, production, archived or rejected.")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Move a version through its lifecycle (production archives the previous one).

    Production first requires the version to pass its gates (`shipyard gate check`); if the
    model's gate policy asks for approvals, the version then waits in pending_approval.

    Goes through the server at SHIPYARD_URL when set, audited under SHIPYARD_API_KEY.
    """
    with open_registry() as registry:
        moved = registry.promote(ref, to, reason=reason)
    if json_out:
        output.emit_json(moved.to_dict())
        return
    if moved.status.value == "pending_approval":
        output.console.print(
            f"{moved.ref} passed its gates and is [bold]waiting for approval[/]: an approver "
            f"other than you runs `shipyard approve {moved.ref}` (`shipyard approvals` lists "
            "what is waiting).",
            highlight=False,
        )
        return
    output.console.print(f"{moved.ref} is now [bold]{moved.status.value}[/].")
