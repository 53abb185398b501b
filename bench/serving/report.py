"""From raw rounds to the summary table, the target ratios and the Markdown report."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

MB = 1024 * 1024


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarise(
    measurements: list[dict[str, Any]],
    starts: list[dict[str, Any]],
    workers: dict[str, int],
) -> list[dict[str, Any]]:
    """One row per (server, concurrency): medians over rounds, min-max of req/s, summed errors.

    Memory and cold start belong to a server start, not to a concurrency; each row of a server
    repeats its medians over the rounds' starts.
    """
    rows = []
    servers = list(dict.fromkeys(m["server"] for m in measurements))
    for server in servers:
        own_starts = [s for s in starts if s["server"] == server]
        rss = _median(s["rss_bytes"] for s in own_starts)
        cold = [s["cold_start_s"] for s in own_starts]
        for concurrency in sorted(
            {m["concurrency"] for m in measurements if m["server"] == server}
        ):
            runs = [
                m for m in measurements if m["server"] == server and m["concurrency"] == concurrency
            ]
            rps = [m["rps"] for m in runs]
            rows.append(
                {
                    "server": server,
                    "workers": workers.get(server),
                    "concurrency": concurrency,
                    "rounds": len(runs),
                    "rps_median": statistics.median(rps),
                    "rps_min": min(rps),
                    "rps_max": max(rps),
                    "p50_ms": _median(m["p50_us"] / 1000 for m in runs),
                    "p99_ms": _median(m["p99_us"] / 1000 for m in runs),
                    "errors": sum(m["errors"] for m in runs),
                    "requests": sum(m["requests"] for m in runs),
                    "cpu_ms_per_request": _median(m["cpu_ms_per_request"] for m in runs),
                    "rss_mb": rss / MB if rss is not None else None,
                    "rss_mb_per_worker": rss / MB / workers[server]
                    if rss is not None and workers.get(server)
                    else None,
                    "cold_start_s": statistics.median(cold) if cold else None,
                    "cold_start_s_min": min(cold) if cold else None,
                    "cold_start_s_max": max(cold) if cold else None,
                }
            )
    return rows


def _row(rows: list[dict[str, Any]], server: str, concurrency: int) -> dict[str, Any] | None:
    for row in rows:
        if row["server"] == server and row["concurrency"] == concurrency:
            return row
    return None


def _best(
    rows: list[dict[str, Any]], family: str, concurrency: int, error_free: bool = False
) -> dict[str, Any] | None:
    """The configuration of ``family`` with the highest median req/s at ``concurrency``.

    With ``error_free``, rows with any error are left out: errors can be fast, and a server
    answering them must not look fast.
    """
    candidates = [
        r
        for r in rows
        if r["server"].startswith(f"{family}-")
        and r["concurrency"] == concurrency
        and not (error_free and r["errors"])
    ]
    return max(candidates, key=lambda r: r["rps_median"], default=None)


def _target(
    name: str, value: float | None, limit: float, at_least: bool, detail: str
) -> dict[str, Any]:
    met = None if value is None else (value >= limit if at_least else value <= limit)
    return {
        "target": name,
        "value": value,
        "limit": limit,
        "direction": ">=" if at_least else "<=",
        "met": met,
        "detail": detail,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def targets(rows: list[dict[str, Any]], high: int = 64, low: int = 1) -> list[dict[str, Any]]:
    """The issue's targets for Shipyard, each as value, limit and met (None: not measurable).

    "Shipyard" in the throughput and CPU targets is its best error-free configuration at
    ``high`` connections (if every one had errors, those targets are not met); p99 and memory
    compare each Shipyard worker count with the bare server's same worker count; latency at
    ``low`` connections compares the 1-worker servers.
    """
    out: list[dict[str, Any]] = []
    if _best(rows, "shipyard", high) is None:
        return out
    ship = _best(rows, "shipyard", high, error_free=True) or {
        "server": "shipyard (every configuration had errors)",
        "rps_median": 0.0,
        "cpu_ms_per_request": None,
    }
    ship_rps = ship["rps_median"]
    name = f"{ship['server']} @ {high}"
    bare2 = _row(rows, "bare-2w", high)
    out.append(
        _target(
            f"throughput >= 4x bare 2-worker @ {high}",
            _ratio(ship_rps, bare2 and bare2["rps_median"]),
            4,
            True,
            f"{name} vs bare-2w",
        )
    )
    for family, factor in (("bentoml", 12), ("mlflow", 50)):
        peer = _best(rows, family, high)
        out.append(
            _target(
                f"throughput >= {factor}x {family}'s best @ {high}",
                _ratio(ship_rps, peer and peer["rps_median"]),
                factor,
                True,
                f"{name} vs {peer['server'] if peer else family + ' (not measured)'}",
            )
        )
    errors = sum(r["errors"] for r in rows if r["server"].startswith("shipyard-"))
    out.append(_target("zero errors (all Shipyard runs)", errors, 0, False, "non-2xx + socket"))
    for row in rows:
        if row["server"].startswith("shipyard-") and row["concurrency"] == high:
            bare = _row(rows, row["server"].replace("shipyard-", "bare-"), high)
            out.append(
                _target(
                    f"p99 <= bare's @ {high} ({row['server']})",
                    _ratio(row["p99_ms"], bare and bare["p99_ms"]),
                    1,
                    False,
                    "ratio of p99 latencies, same worker count",
                )
            )
    echo = _row(rows, "echo-1w", high)
    out.append(
        _target(
            f"CPU per request <= 3x echo's @ {high}",
            _ratio(ship["cpu_ms_per_request"], echo and echo["cpu_ms_per_request"]),
            3,
            False,
            f"{name} vs echo-1w",
        )
    )
    ship1, bare1 = _row(rows, "shipyard-1w", low), _row(rows, "bare-1w", low)
    out.append(
        _target(
            f"p50 <= 1.25x bare 1-worker @ {low}",
            _ratio(ship1 and ship1["p50_ms"], bare1 and bare1["p50_ms"]),
            1.25,
            False,
            "shipyard-1w vs bare-1w",
        )
    )
    colds = [
        r["cold_start_s_max"]
        for r in rows
        if r["server"].startswith("shipyard-") and r["cold_start_s_max"] is not None
    ]
    out.append(
        _target(
            "cold start <= 3 s", max(colds) if colds else None, 3, False, "slowest Shipyard start"
        )
    )
    for row in rows:
        if row["server"].startswith("shipyard-") and row["concurrency"] == high:
            bare = _row(rows, row["server"].replace("shipyard-", "bare-"), high)
            out.append(
                _target(
                    f"memory per worker <= 1.5x bare's ({row['server']})",
                    _ratio(row["rss_mb_per_worker"], bare and bare["rss_mb_per_worker"]),
                    1.5,
                    False,
                    "RSS of the tree / workers, same worker count",
                )
            )
    return out


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def table(rows: list[dict[str, Any]], labels: dict[str, str]) -> str:
    """The Markdown results table."""
    lines = [
        "| server | workers | conc. | req/s median [min-max] | p50 ms | p99 ms | errors "
        "| CPU ms/req | RSS MB | cold start s |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        rps = f"{_fmt(r['rps_median'])} [{_fmt(r['rps_min'])}-{_fmt(r['rps_max'])}]"
        flag = " ⚠" if r["errors"] else ""
        lines.append(
            f"| {labels.get(r['server'], r['server'])} | {r['workers']} | {r['concurrency']} "
            f"| {rps}{flag} | {_fmt(r['p50_ms'], 2)} | {_fmt(r['p99_ms'], 2)} | {r['errors']} "
            f"| {_fmt(r['cpu_ms_per_request'], 3)} | {_fmt(r['rss_mb'], 0)} "
            f"| {_fmt(r['cold_start_s'], 2)} |"
        )
    return "\n".join(lines)


def targets_table(results: list[dict[str, Any]]) -> str:
    """The Markdown table of targets."""
    if not results:
        return "_No Shipyard measurements, so no targets to check._"
    lines = ["| target | value | limit | met | compared |", "|---|---:|---:|---|---|"]
    for t in results:
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        lines.append(
            f"| {t['target']} | {_fmt(t['value'], 2)} | {t['direction']} {t['limit']} "
            f"| {met} | {t['detail']} |"
        )
    return "\n".join(lines)


def _venv_phrase(result: dict[str, Any]) -> str:
    if result["options"].get("server_venv") == "clean":
        return "clean venv bench/.venvs/shipyard-server (this checkout + its server extra only)"
    return "project .venv (with the dev extras, torch included)"


def _torch_phrase(result: dict[str, Any]) -> str:
    loaded = sorted({s["server"] for s in result["starts"] if s.get("torch_loaded")})
    if not loaded:
        return "No server loaded torch."
    return (
        f"Loaded torch (via skops, which imports every scikit-learn module): {', '.join(loaded)}; "
        "that adds hundreds of MB and seconds of start-up (see --server-venv clean)."
    )


def markdown(result: dict[str, Any]) -> str:
    """The whole serving.md."""
    machine = result["machine"]
    options = result["options"]
    labels = {s["key"]: s["label"] for s in result["servers"]}
    parts = [
        "# Serving benchmark",
        "",
        f"Run {result['date']} on {machine['cpu_count']} x {machine['cpu_model']} "
        f"({machine['memory_gb']:.0f} GB), load average {machine['loadavg_before']} before and "
        f"{machine['loadavg_after']} after. Load: {machine['wrk']} `-t1`, "
        f"{options['rounds']} interleaved rounds x {options['duration']} s per measurement "
        f"(warm-up {options['warmup']} s).",
        *(["", "**Quick smoke run: too short to quote.**"] if options["quick"] else []),
        "",
        f"Model: {result['model']['description']}. One row per request; each server's first "
        "answer was checked against the in-process prediction before measuring, and again after.",
        "",
        f"Shipyard, bare and echo ran from the {_venv_phrase(result)}; "
        f"Shipyard at {result['versions'].get('git', {}).get('commit', '?')}. "
        f"{_torch_phrase(result)}",
        "",
        table(result["summary"], labels),
        "",
        "req/s: median over rounds [min-max]; p50/p99, CPU and RSS: median over rounds; errors: "
        "sum over rounds (non-2xx + socket errors, ⚠ marks rows with any). CPU ms/req: user + "
        "sys CPU of the server's whole process tree during the run ÷ requests. RSS: sum over "
        "the tree after the runs. Cold start: spawn → first right prediction.",
        "",
        "## Targets (Shipyard)",
        "",
        targets_table(result["targets"]),
        "",
        "## Servers",
        "",
    ]
    for s in result["servers"]:
        parts.append(f"- `{s['key']}` — {s['label']}: {s['note']}. Body: `{s['body_sample']}`")
    if result["failures"]:
        parts += ["", "## Failures", ""]
        parts += [f"- `{k}`: {why}" for k, why in result["failures"].items()]
    if result["unavailable"]:
        parts += ["", "## Unavailable", ""]
        parts += [f"- `{k}`: unavailable: {why}" for k, why in result["unavailable"].items()]
    parts += ["", "## Versions", ""]
    for group, versions in result["versions"].items():
        listed = ", ".join(f"{k} {v}" for k, v in versions.items())
        parts.append(f"- {group}: {listed}")
    return "\n".join(parts) + "\n"
