"""The ``shipyard`` command: wiring of sub-commands and the one place errors become exit codes.

A ``ShipyardError`` prints one line on stderr (no traceback) and exits 1; usage errors exit 2.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from shipyard._version import __version__
from shipyard.cli import (
    admin,
    alerts,
    endpoints,
    feedback,
    governance,
    models,
    monitor,
    monitor_settings,
    output,
    quickstart,
    rollouts,
    serve,
)
from shipyard.core.errors import ShipyardError

app = typer.Typer(
    name="shipyard",
    help=(
        "Shipyard: from a trained model file to a governed production endpoint.\n\n"
        "With SHIPYARD_URL set, `models`, `promote`, `endpoints`, `deploy` (and `deploy "
        "--auto`), `rollback`, `rollout`, `ab`, `monitor`, `alerts`, `feedback`, `gate`, "
        "`approve`, `approvals`, `pilot`, `audit` and `keys` go through that server as "
        "SHIPYARD_API_KEY; other commands (`init`, `db`, `register`, `predict`, `serve`, "
        "`quickstart`) act on the local SHIPYARD_HOME."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(admin.init)
app.command()(quickstart.quickstart)
app.command()(models.register)
app.command()(models.predict)
app.command()(models.promote)
app.command()(endpoints.deploy)
app.command()(endpoints.rollback)
app.command()(governance.approve)
app.command()(governance.approvals)
app.command()(governance.pilot)
app.command()(rollouts.ab)
app.command()(feedback.feedback)
app.command()(serve.serve)
app.add_typer(models.models_app, name="models")
app.add_typer(endpoints.endpoints_app, name="endpoints")
app.add_typer(governance.gate_app, name="gate")
app.add_typer(rollouts.rollout_app, name="rollout")
monitor.monitor_app.command("check")(alerts.check)
monitor.monitor_app.add_typer(monitor_settings.settings_app, name="settings")
app.add_typer(monitor.monitor_app, name="monitor")
app.add_typer(alerts.alerts_app, name="alerts")
app.add_typer(admin.audit_app, name="audit")
app.add_typer(admin.keys_app, name="keys")
app.add_typer(admin.db_app, name="db")


def _version(value: bool) -> None:
    if value:
        print(f"shipyard {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Shipyard: from a trained model file to a governed production endpoint."""


def run() -> None:
    """Entry point of the ``shipyard`` script."""
    for argument in sys.argv[1:]:
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            # Undecodable bytes arrive as lone surrogates; they would fail deep in the store.
            shown = argument.encode("utf-8", "replace").decode("utf-8")
            output.error(f"argument {shown!r} is not valid UTF-8 text; fix its encoding.")
            sys.exit(2)
    try:
        # Standalone mode: click reports usage errors itself (exit 2); ours are caught here.
        app()
    except ShipyardError as exc:
        output.error(exc.message)
        sys.exit(1)
