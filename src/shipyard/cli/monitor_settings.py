"""``shipyard monitor settings set|show MODEL``: a model's monitoring settings, with history.

The YAML says how the model's drift, performance and fairness reports are computed (tests,
thresholds, rows needed); options of a report command still win. Locally, or through the
server at SHIPYARD_URL (setting needs a deployer key or above).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli import output
from shipyard.cli.context import open_registry
from shipyard.core.errors import InvalidInputError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Model = Annotated[str, typer.Argument(help="Model name.")]

settings_app = typer.Typer(
    help=(
        "A model's monitoring settings (YAML, kept with its history): drift tests and "
        "thresholds, dataset drift share, rows each report needs."
    ),
    no_args_is_help=True,
)


@settings_app.command("set")
def settings_set(
    model: Model,
    file: Annotated[Path, typer.Option("--file", help="The settings YAML file.")],
    json_out: JsonFlag = False,
) -> None:
    """Store a settings file as the model's next revision (it must parse; columns must exist)."""
    text = _read(file)
    with open_registry() as registry:
        record = registry.monitoring_settings.set(model, text, source=file.name)
    if json_out:
        output.emit_json(record.to_dict())
        return
    output.console.print(
        f"{model} monitoring settings are now revision {record.revision}.", highlight=False
    )


@settings_app.command("show")
def settings_show(model: Model, json_out: JsonFlag = False) -> None:
    """Show the settings in force (revision 0: the defaults) and their history."""
    from shipyard.monitoring.settings import settings_document

    with open_registry() as registry:
        history = registry.monitoring_settings.history(model)
    document = settings_document(model, history)
    if json_out:
        output.emit_json(document)
        return
    if not history:
        output.console.print(
            f"{model} has no monitoring settings of its own: the defaults apply.", highlight=False
        )
    else:
        latest = history[0]
        output.console.print(
            f"{model} monitoring settings, revision {latest.revision} by {latest.actor} "
            f"({output.when(latest.at)}):",
            highlight=False,
        )
        output.console.print(latest.text.rstrip(), highlight=False, markup=False)
    output.table("in force", ["setting", "value"], _rows(document["settings"]))
    if len(history) > 1:
        output.table(
            "history",
            ["revision", "by", "at"],
            [[r.revision, r.actor, output.when(r.at)] for r in history],
        )


def _rows(settings: dict[str, Any]) -> list[list[Any]]:
    drift = settings["drift"]
    rows: list[list[Any]] = [
        ["drift.drift_share", f"{drift['drift_share']:g}"],
        ["drift.min_rows", drift["min_rows"]],
        ["drift.evidently", str(drift["evidently"]).lower()],
        ["drift.numeric", _test(drift["numeric"])],
        ["drift.categorical", _test(drift["categorical"])],
    ]
    rows.extend([f"drift.columns.{name}", _test(test)] for name, test in drift["columns"].items())
    rows.append(["performance.min_rows", settings["performance"]["min_rows"]])
    rows.append(["fairness.min_group_rows", settings["fairness"]["min_group_rows"]])
    return rows


def _test(test: dict[str, Any] | None) -> str:
    if test is None:
        return "automatic (chosen by window sizes and distinct values)"
    threshold = test["threshold"]
    shown = "the method's default" if threshold is None else f"{threshold:g}"
    return f"{test['method']}, threshold {shown}"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"--file: {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--file: cannot read {path}: {exc}.") from None
