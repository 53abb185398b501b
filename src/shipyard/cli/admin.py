"""CLI commands that administer Shipyard: init, db, audit, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from shipyard.cli import output
from shipyard.cli.context import open_registry
from shipyard.core.settings import Settings

db_app = typer.Typer(
    help="Database schema management (local, even when SHIPYARD_URL is set).",
    no_args_is_help=True,
)
audit_app = typer.Typer(
    help="The hash-chained audit log (through the server at SHIPYARD_URL when set).",
    no_args_is_help=True,
)
keys_app = typer.Typer(
    help="API keys, stored hashed and shown once (through the server at SHIPYARD_URL when set).",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def init(json_out: JsonFlag = False) -> None:
    """Create SHIPYARD_HOME and the schema; print a new admin API key once.

    Acts on the local SHIPYARD_HOME even when SHIPYARD_URL is set.
    """
    from shipyard.registry.setup import initialise

    settings = Settings.from_env()
    result = initialise(settings)
    if json_out:
        output.emit_json(
            {
                "home": str(settings.home),
                "schema_revision": result.revision_after,
                "created_schema": result.revision_before is None,
                "admin_key": result.admin_key.to_dict() if result.admin_key else None,
                "admin_secret": result.admin_secret,
            }
        )
        return
    output.console.print(f"Shipyard home: {settings.home} (schema {result.revision_after})")
    if result.admin_secret:
        output.console.print(
            f"Admin API key (shown once, store it safely):\n  [bold]{result.admin_secret}[/]"
        )
    else:
        output.console.print("Already initialised; `shipyard keys create` makes more keys.")


@db_app.command("upgrade")
def db_upgrade(json_out: JsonFlag = False) -> None:
    """Migrate the database schema to this Shipyard's version.

    Acts on the local SHIPYARD_DATABASE_URL even when SHIPYARD_URL is set.
    """
    from shipyard.store import upgrade_schema

    settings = Settings.from_env()
    before, after = upgrade_schema(settings.database_url)
    if json_out:
        output.emit_json({"before": before, "after": after})
        return
    if before == after:
        output.console.print(f"Schema already at {after}.")
    else:
        output.console.print(f"Schema upgraded from {before or 'empty'} to {after}.")


@db_app.command("current")
def db_current(json_out: JsonFlag = False) -> None:
    """Show the schema revision of the database and the one this Shipyard needs.

    Acts on the local SHIPYARD_DATABASE_URL even when SHIPYARD_URL is set.
    """
    from shipyard.store import schema_revision

    current, head = schema_revision(Settings.from_env().database_url)
    if json_out:
        output.emit_json({"current": current, "head": head, "up_to_date": current == head})
        return
    state = "up to date" if current == head else "run `shipyard db upgrade`"
    output.console.print(
        f"Database at {current or 'no schema'}; this Shipyard needs {head} ({state})."
    )


@audit_app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many entries.")] = 50,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. version.promote.")
    ] = None,
    target: Annotated[str | None, typer.Option(help="Only targets starting with this.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Show the newest audit entries."""
    with open_registry() as registry:
        entries = registry.audit_entries(limit=limit, action=action, target=target)
    if json_out:
        output.emit_json([e.to_dict() for e in entries])
        return
    output.table(
        None,
        ["seq", "at", "actor", "action", "target", "details"],
        [
            [
                e.seq,
                output.when(e.at),
                e.actor,
                e.action,
                e.target,
                ", ".join(f"{k}={v}" for k, v in e.details.items() if v is not None),
            ]
            for e in entries
        ],
    )


@audit_app.command("verify")
def audit_verify(json_out: JsonFlag = False) -> None:
    """Check the hash chain; exit 1 naming the first entry edited, deleted or reordered."""
    with open_registry() as registry:
        result = registry.verify_audit()
    if json_out:
        output.emit_json(result.to_dict())
    elif result.ok:
        output.console.print(f"Audit log intact ({result.entries_checked} entries).")
    else:
        output.error(result.message)
    if not result.ok:
        raise typer.Exit(1)


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str, typer.Option(help="predictor, viewer, reviewer, deployer, approver, admin.")
    ],
    name: Annotated[str | None, typer.Option(help="A label for the key.")] = None,
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, max=36_500, help="Expire after this many days.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Create an API key; the secret is printed once and never stored."""
    expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    with open_registry() as registry:
        key, secret = registry.create_key(role, name=name, expires_at=expires)
    if json_out:
        output.emit_json({**key.to_dict(), "secret": secret})
        return
    output.console.print(
        f"Created {key.role.value} key {key.id} ({key.name}). Secret (shown once):"
    )
    output.console.print(f"  [bold]{secret}[/]")


@keys_app.command("list")
def keys_list(json_out: JsonFlag = False) -> None:
    """List API keys (never their secrets)."""
    with open_registry() as registry:
        keys = registry.list_keys()
    if json_out:
        output.emit_json([k.to_dict() for k in keys])
        return
    output.table(
        None,
        ["id", "name", "role", "created", "by", "expires", "revoked"],
        [
            [
                k.id,
                k.name,
                k.role.value,
                output.when(k.created_at),
                k.created_by,
                output.when(k.expires_at),
                output.when(k.revoked_at),
            ]
            for k in keys
        ],
    )


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id from `keys list`.")]) -> None:
    """Revoke an API key."""
    with open_registry() as registry:
        key = registry.revoke_key(key_id)
    output.console.print(f"Key {key.id} ({key.name}) revoked.")
