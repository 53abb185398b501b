"""Medians over rounds, the issue's targets, and the Markdown of bench/results/drift.md.

Pure functions over the harness's records: no subprocesses, no Evidently.
"""

from __future__ import annotations

import statistics
from typing import Any

SPEEDUP_TARGET = 8.0  # Shipyard's read + compute at least this many times faster
MEMORY_TARGET = 0.5  # Shipyard's peak RSS at most this share of Evidently's
TIMES = ("read_compute", "compute", "read", "import")
ROUNDING = (
    " Differences this small are rounding: the same terms summed in another order (Evidently"
    " lists a column's categories from a Python set, whose order changes with each process's"
    " hash seed)."
)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Medians (and ranges) over the successful rounds of one tool; None if none succeeded.

    Each run holds ``wall_s`` and ``peak_rss_mb`` (measured by the harness) and the runner's
    ``seconds`` (``import``, ``read``, ``compute``, ``read_compute``) and ``peak_rss_self_mb``.
    """
    ok = [r for r in runs if r.get("ok")]
    if not ok:
        return None
    out: dict[str, Any] = {"rounds": len(ok)}
    for name in TIMES:
        values = [r["seconds"][name] for r in ok]
        out[f"{name}_s"] = statistics.median(values)
        out[f"{name}_s_range"] = [min(values), max(values)]
    for name in ("wall_s", "cpu_s", "peak_rss_mb", "peak_rss_self_mb", "rss_after_read_mb"):
        values = [r[name] for r in ok if r.get(name) is not None]
        out[name] = statistics.median(values) if values else None
        out[f"{name}_range"] = [min(values), max(values)] if values else None
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def targets(
    evidently: dict[str, Any] | None,
    shipyard: dict[str, Any] | None,
    comparison: dict[str, Any] | None,
    why_not: str = "",
) -> list[dict[str, Any]]:
    """The issue's three targets, each with its measured value and PASS (True) or FAIL.

    ``passed`` is None when a side was not measured; ``why_not`` says why.
    """
    missing = None if evidently and shipyard else why_not or "a tool was not measured"
    ev, sy = evidently or {}, shipyard or {}
    speedup = _ratio(ev.get("read_compute_s"), sy.get("read_compute_s"))
    memory = _ratio(sy.get("peak_rss_mb"), ev.get("peak_rss_mb"))
    agreement = comparison or {}
    diff = agreement.get("max_abs_diff")  # None: nothing compared
    return [
        {
            "name": "speed",
            "target": f"Evidently / Shipyard read+compute time >= {SPEEDUP_TARGET:g}x",
            "value": speedup,
            "passed": None if speedup is None else speedup >= SPEEDUP_TARGET,
            "note": missing,
        },
        {
            "name": "memory",
            "target": f"Shipyard / Evidently peak RSS <= {MEMORY_TARGET:g}",
            "value": memory,
            "passed": None if memory is None else memory <= MEMORY_TARGET,
            "note": missing,
        },
        {
            "name": "statistics",
            "target": "max |Evidently - Shipyard| <= 1e-9 where the method is the same",
            "value": diff,
            "passed": None if diff is None else bool(agreement["is_within_tolerance"]),
            "note": missing if comparison is None else f"{agreement['compared']} columns compared",
        },
    ]


def _s(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def _stat(value: float | None) -> str:
    return "-" if value is None else f"{value:.17g}"


def _verdict(passed: bool | None) -> str:
    return "not measured" if passed is None else "PASS" if passed else "FAIL"


def _yes(value: bool | None) -> str:
    return "-" if value is None else "drift" if value else "no"


def _range(summary: dict[str, Any] | None, key: str, digits: int) -> str:
    if not summary or not summary.get(f"{key}_range"):
        return "-"
    low, high = summary[f"{key}_range"]
    return f"{low:.{digits}f}-{high:.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    """The results page."""
    ev, sy = result["evidently"]["summary"], result["shipyard"]["summary"]
    data, machine, options = result["data"], result["machine"], result["options"]
    versions = result["versions"]
    quick = " · **--quick run: smaller data, one round; not a result to quote**"
    lines = [
        f"# Drift benchmark: Shipyard vs Evidently {result['evidently_version']}",
        "",
        f"{result['date']} · commit {result['git']} · {machine['cpu_count']} x "
        f"{machine['cpu_model']}, {machine['memory_gb']:.0f} GB RAM · Linux {machine['kernel']} "
        f"· Python {machine['python']} · load average {_load(machine, 'loadavg_before')} "
        f"before, {_load(machine, 'loadavg_after')} after" + (quick if options["quick"] else ""),
        "",
        f"One drift report over {data['rows']:,} current rows x {data['columns']} columns "
        f"({data['numeric']} numeric, {data['categorical']} categorical strings, 1% missing "
        f"values) against a {data['reference_rows']:,}-row reference, both read from Parquet "
        f"({data['parquet_mb']:.0f} MB on disk). Each tool runs in its own process, "
        f"{options['rounds']} round(s) interleaved; figures are medians over rounds "
        "(min-max in brackets where shown). bench/drift/README.md says how it is measured.",
        "",
    ]
    busy = (machine.get("loadavg_before") or [0.0])[0]
    if busy > 0.75 * (machine.get("cpu_count") or 1):
        lines += [
            f"**The machine was busy** (1-minute load average {busy:.2f} on "
            f"{machine['cpu_count']} cores before the run): other work slowed both tools, so "
            "the absolute times are higher than on an idle machine; the ratios are what the "
            "targets use, and the CPU time row shows how long each process itself ran.",
            "",
        ]
    if result["evidently"].get("unavailable"):
        lines += [f"**Evidently not measured: {result['evidently']['unavailable']}**", ""]
    if result["shipyard"].get("unavailable"):
        lines += [f"**Shipyard not measured: {result['shipyard']['unavailable']}**", ""]

    def row(label: str, key: str, digits: int = 2, ratio: bool = True) -> str:
        e, s = ev and ev.get(key), sy and sy.get(key)
        cells = [label, f"{_s(e, digits)} ({_range(ev, key, digits)})",
                 f"{_s(s, digits)} ({_range(sy, key, digits)})"]  # fmt: skip
        cells.append(_x(_ratio(e, s)) if ratio else "-")
        return "| " + " | ".join(cells) + " |"

    lines += [
        "## Time and memory",
        "",
        "| median (min-max) | Evidently | Shipyard | Evidently / Shipyard |",
        "|---|---:|---:|---:|",
        row("read Parquet + compute, s", "read_compute_s"),
        row("compute only, s", "compute_s"),
        row("read Parquet, s", "read_s"),
        row("imports, s", "import_s"),
        row("process, start to exit, s", "wall_s"),
        row("CPU time of the process (user + system), s", "cpu_s"),
        row("peak RSS of the process, MiB", "peak_rss_mb", 0),
        row("RSS after reading the data, MiB", "rss_after_read_mb", 0),
        "",
        "## Targets",
        "",
        "| target | measured | result |",
        "|---|---:|---|",
    ]
    for t in result["targets"]:
        value = t["value"]
        shown = (
            "-" if value is None
            else f"{value:.1e}" if t["name"] == "statistics"
            else f"{value:.2f}" if t["name"] == "memory"
            else f"{value:.1f}x"
        )  # fmt: skip
        note = f" ({t['note']})" if t.get("note") else ""
        lines.append(f"| {t['target']} | {shown} | {_verdict(t['passed'])}{note} |")
    comparison = result.get("comparison")
    lines += ["", "## Per-column results", ""]
    if comparison is None:
        lines += ["No comparison: one of the tools produced no result.", ""]
    else:
        plan = {c["name"]: c for c in data["plan"]}
        lines += [
            "Statistics of round 1, at full precision (p-values for tests, distances otherwise). "
            "Injected: the drift the generator put into the current window.",
            "",
            "| column | data | injected | Evidently method | Evidently statistic | drift | "
            "Shipyard method | Shipyard statistic | drift | abs diff |",
            "|---|---|---|---|---:|---|---|---:|---|---:|",
        ]
        for p in comparison["pairs"]:
            info = plan.get(p["column"], {})
            diff = p["abs_diff"]
            lines.append(
                f"| {p['column']} | {info.get('shape', '?')} | {info.get('injected') or '-'} | "
                f"{p['evidently_method'] or '-'} | {_stat(p['evidently_statistic'])} | "
                f"{_yes(p['evidently_drifted'])} | {p['shipyard_method'] or '-'} | "
                f"{_stat(p['shipyard_statistic'])} | {_yes(p['shipyard_drifted'])} | "
                f"{'-' if diff is None else f'{diff:.1e}'} |"
            )
        s = comparison["summary"]
        differ = s["verdict_differences"]
        worst = (
            "-" if s["max_abs_diff"] is None
            else f"{s['max_abs_diff']:.2e} ({s['max_abs_diff_column']})"
        )  # fmt: skip
        lines += [
            "",
            f"- Same method on {s['same_method']} of {s['columns']} columns; largest "
            f"difference {worst}, tolerance {s['tolerance']:g}."
            + (ROUNDING if s["is_within_tolerance"] and s["max_abs_diff"] else ""),
            f"- Verdicts: {s['columns'] - len(s['verdict_differences'])} of {s['columns']} "
            "agree"
            + (f"; differ on {', '.join(differ)}." if differ else ".")
            + f" Drifted columns: Evidently {comparison['evidently_drifted']}, "
            f"Shipyard {comparison['shipyard_drifted']}.",
            "- Run to run, the largest change of one column's statistic: Evidently "
            f"{_sci(comparison['evidently_spread'])}, "
            f"Shipyard {_sci(comparison['shipyard_spread'])}.",
            "",
            "## Method differences",
            "",
        ]  # fmt: skip
        if s["method_differences"]:
            lines += [
                f"- **{d['column']}**: Evidently `{d['evidently']}`, Shipyard `{d['shipyard']}`. "
                f"{d['why']}"
                for d in s["method_differences"]
            ]
        else:
            lines.append(
                "None: every column got the same method from both tools (Shipyard with "
                "`DriftOptions(evidently_compatible=True)`; with its defaults it picks the same "
                "methods here too, as both windows are larger than 1,000 rows). Evidently's "
                "`chisquare` is Shipyard's `chisquare_gof`; its `wasserstein` and "
                "`jensenshannon` are Shipyard's methods of the same names."
            )
    lines += ["", "## Versions", ""]
    for env, found in versions.items():
        lines.append(f"- {env}: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    lines += [
        "",
        "## Every round",
        "",
        "| round | tool | read+compute s | compute s | read s | imports s | process s | "
        "CPU s | peak RSS MiB | status |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["runs"]:
        sec = r.get("seconds") or {}
        status = "ok" if r.get("ok") else f"failed: {(r.get('error') or '')[:120]}"
        lines.append(
            f"| {r['round']} | {r['tool']} | {_s(sec.get('read_compute'))} | "
            f"{_s(sec.get('compute'))} | {_s(sec.get('read'))} | {_s(sec.get('import'))} | "
            f"{_s(r.get('wall_s'))} | {_s(r.get('cpu_s'))} | {_s(r.get('peak_rss_mb'), 0)} | "
            f"{status} |"
        )
    lines += ["", f"The whole drift benchmark took {result['elapsed_s']:.0f} s.", ""]
    return "\n".join(lines)


def _load(machine: dict[str, Any], key: str) -> str:
    """The 1-minute load average (the machine may be shared: a busy one slows both tools)."""
    values = machine.get(key)
    return f"{values[0]:.2f}" if values else "?"


def _sci(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"
