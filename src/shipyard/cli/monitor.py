"""``shipyard monitor drift|performance|fairness ENDPOINT``: how an endpoint holds up.

Computed from the prediction log joined with late feedback, locally or (with SHIPYARD_URL set)
by the server from its own logs; ``--json`` prints the same document as the API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from shipyard.cli import output
from shipyard.cli.context import ControlPlane, open_registry
from shipyard.cli.rollouts import seconds

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
        bool,
        typer.Option(
            "--evidently",
            help="Evidently's exact tests (its goodness-of-fit chi-square), for identical numbers.",
        ),
    ] = False,
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
        int, typer.Option(min=1, help="Labelled predictions below which numbers are unreliable.")
    ] = 30,
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
        int, typer.Option(min=1, help="Groups smaller than this are flagged small.")
    ] = 30,
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
