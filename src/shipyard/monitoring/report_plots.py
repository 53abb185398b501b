"""The figures of the HTML monitoring report, drawn with matplotlib as inline SVG strings.

matplotlib (the ``report`` extra) is imported on first use, never when this module is, and
only through its object-oriented API: no pyplot, so no global figure list and no GUI backend,
and figures can be drawn on server threads. One lock serialises drawing because the style is
set through matplotlib's process-wide ``rcParams``. No HTML page here (``report_html``).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import MissingExtraError

if TYPE_CHECKING:
    from shipyard.monitoring.fairness import FairnessReport
    from shipyard.monitoring.performance_report import PerformanceReport
    from shipyard.monitoring.report_data import Distribution, Traffic

__all__ = [
    "distribution_svg",
    "fairness_svg",
    "latency_svg",
    "performance_svg",
    "require_matplotlib",
    "traffic_svg",
]

REFERENCE_COLOUR = "#8c96a3"
CURRENT_COLOUR = "#1f6feb"
DRIFT_COLOUR = "#cf222e"
VERSION_COLOURS = ("#1f6feb", "#e36209", "#2da44e", "#8250df", "#bf3989", "#57606a")
RATE_COLOURS = ("#1f6feb", "#2da44e", "#cf222e", "#8c96a3")
MAX_LABEL = 28  # characters of a user string shown on a plot (the tables show all of it)
SVG_FONT_STACK = "'DejaVu Sans', Verdana, Arial"  # matplotlib appends sans-serif
_RC: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: a tenth of the size of glyph outlines
    "svg.hashsalt": "shipyard",  # deterministic clip-path ids (prefixed per figure below)
    "text.parse_math": False,  # a column named "$x$" is a name, not TeX
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.35,
    "legend.frameon": False,
    "legend.fontsize": 8,
}
_LOCK = threading.Lock()
_ID = re.compile(r' id="([^"]+)"')
_REFERENCE = re.compile(r'(url\(#|href="#)([^")]+)')
_ROOT = re.compile(r"<svg\b[^>]*>")
_VIEWBOX = re.compile(r'viewBox="([^"]+)"')
_STYLE = re.compile(r"<defs>\s*<style[^>]*>[^<]*</style>\s*</defs>\s*|<style[^>]*>[^<]*</style>")
RATES = (
    ("selection_rate", "selection rate"),
    ("tpr", "TPR"),
    ("fpr", "FPR"),
    ("accuracy", "accuracy"),
)


def require_matplotlib() -> Any:
    """The ``matplotlib`` module.

    Raises:
        MissingExtraError: the ``report`` extra is not installed.
    """
    try:
        import matplotlib
        from matplotlib.figure import Figure  # noqa: F401 - fails early, not mid-report
    except ImportError as exc:
        raise MissingExtraError("The HTML report", "report", "matplotlib") from exc
    return matplotlib


def distribution_svg(data: Distribution, ident: str) -> str:
    """Reference vs current values of one column: overlaid histograms, or bars per category."""
    with _figure(4.4, 2.7, ident, f"distribution of {data.column}") as fig:
        ax = fig.add_subplot()
        ref_label = f"reference (n={data.reference_count:,})"
        cur_label = f"current (n={data.current_count:,})"
        if data.kind == "numeric":
            edges = np.asarray(data.edges)
            ax.stairs(
                data.reference,
                edges,
                fill=True,
                color=REFERENCE_COLOUR,
                alpha=0.55,
                label=ref_label,
            )
            ax.stairs(data.current, edges, color=CURRENT_COLOUR, linewidth=1.8, label=cur_label)
            ax.set_xlim(edges[0], edges[-1])
        else:
            positions = np.arange(len(data.labels))
            ax.bar(
                positions - 0.2, data.reference, width=0.4, color=REFERENCE_COLOUR, label=ref_label
            )
            ax.bar(positions + 0.2, data.current, width=0.4, color=CURRENT_COLOUR, label=cur_label)
            ax.set_xticks(positions, [_short(label, 14) for label in data.labels])
            if len(data.labels) > 4:
                ax.tick_params(axis="x", labelrotation=30)
        ax.set_ylabel("share of values")
        verdict = {True: " \N{EM DASH} drift", False: "", None: " (not tested)"}[data.drifted]
        ax.set_title(
            _short(data.column, MAX_LABEL) + verdict,
            color=DRIFT_COLOUR if data.drifted else "black",
            loc="left",
        )
        if data.test:
            ax.set_title(data.test, loc="right", fontsize=8, color="#59636e")
        ax.legend(loc="best")
    return fig.svg


def performance_svg(report: PerformanceReport, metric: str, ident: str) -> str | None:
    """One metric of each version over time; hollow markers where too few labels arrived.

    None when no bucket has a value of ``metric``.
    """
    points: dict[int, list[tuple[datetime, float, bool]]] = {}
    for bucket in report.buckets:
        middle = bucket.start + (bucket.end - bucket.start) / 2
        for entry in bucket.versions:
            value = next((m.value for m in entry.metrics if m.name == metric), None)
            if value is not None and np.isfinite(value):
                points.setdefault(entry.version, []).append(
                    (_naive(middle), value, entry.is_reliable)
                )
    if not points:
        return None
    with _figure(6.4, 3.0, ident, f"{metric} per version over time") as fig:
        ax = fig.add_subplot()
        for i, entry in enumerate(report.versions):
            if entry.version not in points:
                continue
            colour = _colour(i)
            xs, ys, reliable = zip(*points[entry.version], strict=True)
            ax.plot(xs, ys, color=colour, linewidth=1.6, label=f"v{entry.version}")
            faces = [colour if r else "white" for r in reliable]
            ax.scatter(xs, ys, s=28, facecolors=faces, edgecolors=colour, zorder=3)
            validation = entry.validation.get(metric)
            if validation is not None:
                ax.axhline(
                    validation,
                    color=colour,
                    linestyle=":",
                    linewidth=1.2,
                    label=f"v{entry.version} at validation",
                )
        ax.set_ylabel(metric)
        ax.set_title(
            f"{metric} per version (hollow: fewer than {report.min_rows} labels)", loc="left"
        )
        _time_axis(ax)
        ax.legend(loc="best")
    return fig.svg


def fairness_svg(report: FairnessReport, ident: str) -> str:
    """Selection rate, TPR, FPR and accuracy side by side for every group."""
    with _figure(6.4, 3.0, ident, f"outcomes by {report.attribute}") as fig:
        ax = fig.add_subplot()
        positions = np.arange(len(report.groups))
        width = 0.8 / len(RATES)
        for i, (rate, title) in enumerate(RATES):
            values = [getattr(group, rate) for group in report.groups]
            heights = [np.nan if v is None else v for v in values]
            offset = (i - (len(RATES) - 1) / 2) * width
            ax.bar(positions + offset, heights, width=width, color=RATE_COLOURS[i], label=title)
        labels = [
            f"{_short(g.group, 16)}\nn={g.count:,}{' (small)' if g.is_small else ''}"
            for g in report.groups
        ]
        ax.set_xticks(positions, labels)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("rate")
        ax.set_title(f"outcomes by {_short(report.attribute, MAX_LABEL)}", loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig.svg


def traffic_svg(traffic: Traffic, ident: str) -> str:
    """Requests per time bucket, stacked by version."""
    with _figure(6.4, 2.8, ident, "requests per version over time") as fig:
        ax = fig.add_subplot()
        starts = np.array([_naive(e) for e in traffic.edges[:-1]], dtype="datetime64[us]")
        width = traffic.width.total_seconds()
        days = width / 86_400  # matplotlib's date unit
        bottom = np.zeros(traffic.buckets)
        for i, number in enumerate(traffic.versions):
            counts = np.asarray(traffic.requests[number], dtype=np.float64)
            ax.bar(
                starts,
                counts,
                width=days * 0.9,
                align="edge",
                bottom=bottom,
                color=_colour(i),
                label=f"v{number}",
            )
            bottom += counts
        ax.set_ylabel(f"requests per {_duration(traffic.width)}")
        ax.set_title("traffic by version", loc="left")
        _time_axis(ax)
        ax.set_xlim(_naive(traffic.edges[0]), _naive(traffic.edges[-1]))
        if traffic.versions:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig.svg


def latency_svg(traffic: Traffic, ident: str) -> str | None:
    """Median (solid) and 99th percentile (dashed) latency per version over time.

    None when no request has a latency.
    """
    if not any(v is not None for series in traffic.p50_ms.values() for v in series):
        return None
    middles = np.array(
        [_naive(e + traffic.width / 2) for e in traffic.edges[:-1]], dtype="datetime64[us]"
    )
    with _figure(6.4, 2.8, ident, "latency per version over time") as fig:
        ax = fig.add_subplot()
        for i, number in enumerate(traffic.versions):
            for series, style, name in (
                (traffic.p50_ms, "-", "p50"),
                (traffic.p99_ms, "--", "p99"),
            ):
                values = np.array([np.nan if v is None else v for v in series[number]])
                ax.plot(
                    middles,
                    values,
                    linestyle=style,
                    marker=".",
                    color=_colour(i),
                    linewidth=1.4,
                    label=f"v{number} {name}",
                )
        ax.set_ylabel("latency (ms)")
        ax.set_ylim(bottom=0)
        ax.set_title("latency: p50 (solid) and p99 (dashed)", loc="left")
        _time_axis(ax)
        edges = traffic.edges
        ax.set_xlim(_naive(edges[0]), _naive(edges[-1]))  # the traffic plot's range
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig.svg


class _Drawn:
    """A figure being drawn, and its SVG once the ``_figure`` block has ended."""

    def __init__(self, figure: Any) -> None:
        self.figure = figure
        self.svg = ""

    def add_subplot(self) -> Any:
        return self.figure.add_subplot()


@contextmanager
def _figure(width: float, height: float, ident: str, label: str) -> Iterator[_Drawn]:
    """A figure of ``width`` x ``height`` inches; its SVG is in ``.svg`` after the block."""
    matplotlib = require_matplotlib()
    from matplotlib.figure import Figure

    with _LOCK, matplotlib.rc_context(_RC):
        drawn = _Drawn(Figure(figsize=(width, height), layout="constrained"))
        yield drawn
        buffer = io.StringIO()
        metadata = {"Creator": None, "Date": None, "Format": None, "Type": None}
        drawn.figure.savefig(buffer, format="svg", metadata=metadata)
    drawn.svg = inline_svg(buffer.getvalue(), ident, label)


def inline_svg(document: str, ident: str, label: str) -> str:
    """An SVG file made fit to sit inside an HTML page beside others.

    Drops the XML prolog and DOCTYPE, the namespace declarations (HTML knows them) and the
    style element (the page carries it once) and the ids nothing refers to; prefixes the
    others and their references with ``ident`` so that two figures never share one; sizes
    the root by its viewBox so that it scales with the page.
    """
    from html import escape

    body = document[document.index("<svg") :]
    body = _STYLE.sub("", body, count=1)
    used = {m.group(2) for m in _REFERENCE.finditer(body)}
    body = _ID.sub(lambda m: f' id="{ident}-{m.group(1)}"' if m.group(1) in used else "", body)
    body = _REFERENCE.sub(lambda m: f"{m.group(1)}{ident}-{m.group(2)}", body)
    root = _ROOT.search(body)
    assert root is not None  # savefig wrote an <svg> element: found by index() above
    box = _VIEWBOX.search(root.group(0))
    view = f' viewBox="{box.group(1)}"' if box else ""
    tag = f'<svg class="plot"{view} role="img" aria-label="{escape(label)}">'
    body = body[: root.start()] + tag + body[root.end() :]
    return body.replace("'DejaVu Sans'", SVG_FONT_STACK).strip()


def _time_axis(ax: Any) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlabel("time (UTC)")


def _colour(index: int) -> str:
    return VERSION_COLOURS[index % len(VERSION_COLOURS)]


def _naive(moment: datetime) -> datetime:
    """UTC without the zone: NumPy's datetime64 has none (the axis says UTC)."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _duration(width: timedelta) -> str:
    seconds = int(width.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
