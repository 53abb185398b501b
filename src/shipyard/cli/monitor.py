"""``shipyard monitor drift|performance|fairness|report ENDPOINT``: how an endpoint holds up.

Computed from the prediction log joined with late feedback, locally or (with SHIPYARD_URL set)
by the server from its own logs; ``--json`` prints the same document as the API. ``report``
writes the HTML page of all of them, plotted, to a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli import output
from shipyard.cli.context import ControlPlane, open_registry
from shipyard.cli.rollouts import seconds
from shipyard.core.errors import InvalidInputError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Window = Annotated[
    str | None, typer.Option(help="Only the last DURATION of predictions, e.g. 1h or 7d.")
]
Version = Annotated[int | None, typer.Option(help="Only this version's predictions.")]

monitor_app = typer.Typer(
    help="Monitoring from the prediction log and feedback (through the server at SHIPYARD_URL "
    "when set).",
    no_args_is_help=True,
)


@monitor_app.command("drift")
def drift(
    endpoint: Annotated[str, typer.Argument(help="Endpoint (or model served under its name).")],
    window: Window = None,
    version: Version = None,
    last: Annotated[int | None, typer.Option(min=1, help="Only the newest N predictions.")] = None,
    evidently: Annotated[
        bool | None,
        typer.Option(
            "--evidently/--no-evidently",
            help="Evidently's exact tests (its goodness-of-fit chi-square, bare distance "
            "cut-offs), for identical numbers (default: the model's monitoring settings, else "
            "off).",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Which inputs and outputs drifted from the version's reference data, and by how much."""
    params = {"window": window, "version": version, "last": last, "evidently": evidently}
    with open_registry() as registry:
        data = _report(registry, endpoint, "drift", params)
    if json_out:
        output.emit_json(data)
        return
    rows = [
        [
            c["column"],
            c["kind"],
            c["method"] or "-",
            _num(c["statistic"]),
            _num(c["threshold"]),
            {True: "DRIFT", False: "ok", None: "-"}[c["drifted"]],
            c["detail"],
        ]
        for c in data["columns"]
    ]
    output.table(
        f"{endpoint}: {data['model']}:{data['version']} against its reference data",
        ["column", "kind", "test", "statistic", "threshold", "", "detail"],
        rows,
    )
    output.console.print(data["summary"], highlight=False)


@monitor_app.command("performance")
def performance(
    endpoint: Annotated[str, typer.Argument(help="Endpoint (or model served under its name).")],
    window: Window = None,
    version: Version = None,
    buckets: Annotated[
        int | None, typer.Option(min=1, max=1000, help="Split the window into N time buckets.")
    ] = None,
    min_rows: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Labelled predictions below which numbers are unreliable (default: the "
            "model's monitoring settings, else 30).",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Accuracy (or error) per version from late labels, coverage, and vs validation metrics."""
    params = {"window": window, "version": version, "buckets": buckets, "min_rows": min_rows}
    with open_registry() as registry:
        data = _report(registry, endpoint, "performance", params)
    if json_out:
        output.emit_json(data)
        return
    if not data["versions"]:
        output.console.print(
            f"No prediction of {endpoint} has feedback in this window yet: send labels "
            "(`shipyard feedback`, or POST /v1/feedback) or widen --window.",
            highlight=False,
        )
        return
    names = data["metrics"]
    rows = []
    for entry in data["versions"]:
        values = {m["name"]: m for m in entry["metrics"]}
        coverage = entry["label_coverage"]
        rows.append(
            [
                entry["version"],
                entry["n"],
                "-" if coverage is None else f"{coverage:.0%}",
                *(_value(values.get(name)) for name in names),
                entry["note"] or "",
            ]
        )
    title = f"{endpoint}: {data['task']} performance on labelled predictions"
    output.table(title, ["version", "labelled", "coverage", *names, "note"], rows)
    if data.get("buckets"):
        first = names[0]
        output.table(
            f"{first} over time",
            ["from", "to", *(f"v{v['version']}" for v in data["versions"])],
            [
                [
                    b["start"][:19],
                    b["end"][:19],
                    *(_value(_named(v["metrics"], first)) for v in b["versions"]),
                ]
                for b in data["buckets"]
            ],
        )
    reasons = {
        m["reason"] for v in data["versions"] for m in v["metrics"] if m["reason"] is not None
    }
    for reason in sorted(reasons):
        output.console.print(f"- {reason}", highlight=False)


@monitor_app.command("fairness")
def fairness(
    endpoint: Annotated[str, typer.Argument(help="Endpoint (or model served under its name).")],
    sensitive: Annotated[
        str, typer.Option(help="The sensitive attribute: a feature, or a request metadata field.")
    ],
    window: Window = None,
    version: Version = None,
    min_group_rows: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Groups smaller than this are flagged small (default: the model's monitoring "
            "settings, else 30).",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Outcomes by group: selection rate, TPR, FPR, accuracy, and Fairlearn's parity gaps."""
    params = {
        "sensitive": sensitive,
        "window": window,
        "version": version,
        "min_group_rows": min_group_rows,
    }
    with open_registry() as registry:
        data = _report(registry, endpoint, "fairness", params)
    if json_out:
        output.emit_json(data)
        return
    output.table(
        f"{endpoint}: outcomes by {data['attribute']} (positive class {data['positive']})",
        ["group", "count", "selection rate", "TPR", "FPR", "accuracy", ""],
        [
            [
                g["group"],
                g["count"],
                _num(g["selection_rate"]),
                _num(g["tpr"]),
                _num(g["fpr"]),
                _num(g["accuracy"]),
                "small" if g["is_small"] else "",
            ]
            for g in data["groups"]
        ],
    )
    output.table(
        "disparities (Fairlearn's definitions)",
        ["metric", "value", "between"],
        [
            [
                name,
                _num(d["value"]) if d["value"] is not None else d["reason"],
                f"{d['lowest_group']} and {d['highest_group']}" if d["lowest_group"] else "",
            ]
            for name, d in data["disparities"].items()
        ],
    )
    for note in data["notes"]:
        output.warn(note)


@monitor_app.command("report")
def report(
    endpoint: Annotated[str, typer.Argument(help="Endpoint (or model served under its name).")],
    html: Annotated[
        Path, typer.Option("--html", help="The HTML file to write (replaced if it exists).")
    ],
    window: Annotated[
        str, typer.Option(help="Only the last DURATION of predictions, e.g. 1h or 7d; 'all'.")
    ] = "24h",
    version: Version = None,
    sensitive: Annotated[
        str | None,
        typer.Option(
            help="Compare outcomes by this feature or request metadata field (default: the "
            "model's registered sensitive columns)."
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print {path, bytes, sections} as JSON.")
    ] = False,
) -> None:
    """One self-contained HTML page of drift, performance, fairness, traffic and latency plots."""
    since = None
    if window != "all":
        since = datetime.now(UTC) - timedelta(seconds=seconds(window, "--window"))
    target = _writable(html)
    with open_registry() as registry:
        page = _report_page(registry, endpoint, window, version, sensitive, since)
    size = _write_atomically(target, page)
    from shipyard.monitoring.report_html import sections

    found = sections(page)
    if json_out:
        output.emit_json({"path": str(target), "bytes": size, "sections": found})
        return
    summary = "; ".join(f"{s['name']}: {s['summary']}" for s in found)
    output.console.print(f"Wrote {target} ({size / 1024:.0f} KiB). {summary}", highlight=False)


def _report_page(
    registry: ControlPlane,
    endpoint: str,
    window: str,
    version: int | None,
    sensitive: str | None,
    since: datetime | None,
) -> str:
    """The page from the server (remote) or from the local logs."""
    from shipyard.cli.remote import RemoteRegistry

    if isinstance(registry, RemoteRegistry):
        return registry.client.monitoring_report(
            endpoint,
            window=None if window == "all" else window,
            version=version,
            sensitive=sensitive,
        )
    from shipyard.registry.reporting import monitoring_report_html
    from shipyard.registry.service import Registry

    assert isinstance(registry, Registry)  # the only other ControlPlane open_registry() gives
    return monitoring_report_html(
        registry, endpoint, version=version, since=since, sensitive=sensitive
    )


def _writable(path: Path) -> Path:
    """``path`` made absolute, once it is clear a file can be written there (before the work).

    Raises:
        InvalidInputError: a directory, a missing parent directory, or one not writable.
    """
    target = path.expanduser().absolute()
    if target.is_dir():
        raise InvalidInputError(
            f"--html {path} is a directory; name a file in it, e.g. {target / 'report.html'}."
        )
    if not target.parent.is_dir():
        raise InvalidInputError(
            f"Cannot write --html {path}: the directory {target.parent} does not exist. "
            "Create it first, or choose another path."
        )
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise InvalidInputError(
            f"Cannot write --html {path}: no permission to create files in {target.parent}."
        )
    return target


def _write_atomically(target: Path, text: str) -> int:
    """Write ``text`` beside ``target`` and rename it into place: never a half-written file.

    Returns:
        The bytes written.

    Raises:
        InvalidInputError: the file system refused (full disk, permissions); nothing is left.
    """
    data = text.encode("utf-8")
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 would hide the report from others
        os.replace(temporary, target)
    except OSError as exc:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise InvalidInputError(
            f"Cannot write --html {target}: {exc.strerror or exc}. Nothing was written; "
            "choose another path."
        ) from None
    return len(data)


def _report(
    registry: ControlPlane, endpoint: str, kind: str, params: dict[str, Any]
) -> dict[str, Any]:
    """The report from the server (remote) or from the local logs."""
    from shipyard.cli.remote import RemoteRegistry

    if isinstance(registry, RemoteRegistry):
        return registry.client.monitoring(endpoint, kind, **params)
    from shipyard.registry import analysis
    from shipyard.registry.service import Registry

    assert isinstance(registry, Registry)  # the only other ControlPlane open_registry() gives
    window = params.pop("window")
    since = None
    if window is not None:
        since = datetime.now(UTC) - timedelta(seconds=seconds(window, "--window"))
    if kind == "performance":
        report: Any = analysis.performance_report(registry, endpoint, since=since, **params)
    elif kind == "drift":
        compatible = params.pop("evidently")
        report = analysis.drift_report(
            registry, endpoint, since=since, evidently_compatible=compatible, **params
        )
    else:
        sensitive = params.pop("sensitive")
        report = analysis.fairness_report(registry, endpoint, sensitive, since=since, **params)
    data: dict[str, Any] = report.to_dict()
    return data


def _named(metrics: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((m for m in metrics if m["name"] == name), None)


def _value(metric: dict[str, Any] | None) -> str:
    if metric is None or metric["value"] is None:
        return "-"
    shown = _num(metric["value"])
    difference = metric.get("difference")
    return shown if difference is None else f"{shown} ({difference:+.3g} vs validation)"


def _num(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
