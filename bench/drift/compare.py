"""Pair Evidently's and Shipyard's per-column results; compare statistics where the method is one.

Pure functions over the runners' JSON (``{"columns": [{column, method, statistic, threshold,
drifted}]}``): no Evidently, no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

TOLERANCE = 1e-9
# Evidently's registry name -> Shipyard's name for the same computation, where they differ.
# Evidently's "chisquare" is a goodness-of-fit test against the scaled reference counts;
# Shipyard's "chisquare" is the two-sample test and "chisquare_gof" is Evidently's.
SHIPYARD_NAME = {"chisquare": "chisquare_gof"}
# Why a pair of methods differs, for the report: (Evidently's, Shipyard's) -> explanation.
DIFFERENCES = {
    ("chisquare", "chisquare"): (
        "Evidently's chi-square is a goodness-of-fit test that takes the reference sample as "
        "the exact truth (expected = reference counts x n_cur/n_ref); Shipyard's default is "
        "the two-sample test of homogeneity (chi2_contingency), which holds its 5% level on "
        "undrifted data. DriftOptions(evidently_compatible=True) picks Evidently's."
    ),
    ("jensenshannon", "chisquare"): (
        "Evidently picks a distance by the reference size alone; Shipyard uses a test when the "
        "current window is small (<= 1,000 values) even against a large reference, unless "
        "evidently_compatible is set."
    ),
    ("wasserstein", "ks"): (
        "Evidently picks a distance by the reference size alone; Shipyard uses a test when the "
        "current window is small (<= 1,000 values) even against a large reference, unless "
        "evidently_compatible is set."
    ),
}


@dataclass(frozen=True)
class ColumnPair:
    """One column as each tool reported it.

    Attributes:
        column: Column name.
        evidently_method: Evidently's registry name (None: not in its report).
        shipyard_method: Shipyard's method (None: not in its report).
        evidently_statistic: Evidently's statistic (p-value or distance).
        shipyard_statistic: Shipyard's.
        evidently_drifted: Evidently's verdict.
        shipyard_drifted: Shipyard's.
    """

    column: str
    evidently_method: str | None
    shipyard_method: str | None
    evidently_statistic: float | None
    shipyard_statistic: float | None
    evidently_drifted: bool | None
    shipyard_drifted: bool | None

    @property
    def is_same_method(self) -> bool:
        """Both computed the same statistic (names mapped by ``SHIPYARD_NAME``)."""
        if self.evidently_method is None or self.shipyard_method is None:
            return False
        mapped = SHIPYARD_NAME.get(self.evidently_method, self.evidently_method)
        return mapped == self.shipyard_method

    @property
    def abs_diff(self) -> float | None:
        """``|evidently - shipyard|`` when the method is the same and both have a value."""
        if not self.is_same_method:
            return None
        if self.evidently_statistic is None or self.shipyard_statistic is None:
            return None
        return abs(self.evidently_statistic - self.shipyard_statistic)

    @property
    def is_same_verdict(self) -> bool:
        """Both said drift, or both said no drift."""
        return self.evidently_drifted is not None and (
            self.evidently_drifted == self.shipyard_drifted
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, with the derived fields."""
        return {
            **asdict(self),
            "is_same_method": self.is_same_method,
            "abs_diff": self.abs_diff,
            "is_same_verdict": self.is_same_verdict,
        }


def pair(evidently: list[dict[str, Any]], shipyard: list[dict[str, Any]]) -> list[ColumnPair]:
    """Pair the two column lists by name: Shipyard's order, then columns only Evidently has."""
    by_name = {c["column"]: c for c in evidently}
    names = [c["column"] for c in shipyard] + [
        n for n in by_name if n not in {c["column"] for c in shipyard}
    ]
    ours = {c["column"]: c for c in shipyard}
    pairs = []
    for name in names:
        e, s = by_name.get(name, {}), ours.get(name, {})
        pairs.append(
            ColumnPair(
                column=name,
                evidently_method=e.get("method"),
                shipyard_method=s.get("method"),
                evidently_statistic=e.get("statistic"),
                shipyard_statistic=s.get("statistic"),
                evidently_drifted=e.get("drifted"),
                shipyard_drifted=s.get("drifted"),
            )
        )
    return pairs


def explain(evidently_method: str | None, shipyard_method: str | None) -> str:
    """Why two methods differ, in words."""
    if evidently_method is None or shipyard_method is None:
        tool = "Evidently" if evidently_method is None else "Shipyard"
        return f"{tool} did not report this column."
    return DIFFERENCES.get(
        (evidently_method, shipyard_method),
        f"Evidently used {evidently_method} and Shipyard {shipyard_method}: the statistics "
        "measure different things and are not compared.",
    )


def summarise(pairs: list[ColumnPair], tolerance: float = TOLERANCE) -> dict[str, Any]:
    """Agreement over all columns.

    Returns:
        ``columns`` (paired), ``same_method`` (count), ``compared`` (same method, both
        values), ``max_abs_diff`` and its ``max_abs_diff_column`` (None when nothing was
        compared), ``is_within_tolerance``, ``method_differences`` (column, both methods,
        explanation), ``verdict_differences`` (column names).
    """
    diffs = [(p.abs_diff, p.column) for p in pairs if p.abs_diff is not None]
    worst = max(diffs) if diffs else (None, None)
    return {
        "columns": len(pairs),
        "same_method": sum(p.is_same_method for p in pairs),
        "compared": len(diffs),
        "tolerance": tolerance,
        "max_abs_diff": worst[0],
        "max_abs_diff_column": worst[1],
        "is_within_tolerance": bool(diffs) and all(d <= tolerance for d, _ in diffs),
        "method_differences": [
            {
                "column": p.column,
                "evidently": p.evidently_method,
                "shipyard": p.shipyard_method,
                "why": explain(p.evidently_method, p.shipyard_method),
            }
            for p in pairs
            if not p.is_same_method
        ],
        "verdict_differences": [p.column for p in pairs if not p.is_same_verdict],
    }


def spread(runs: list[list[dict[str, Any]]]) -> float | None:
    """Largest change of one column's statistic between rounds of the same tool.

    Shows how reproducible a tool is run to run (Evidently sums over a Python set of labels,
    so its own last digits move); None with fewer than two rounds.
    """
    if len(runs) < 2:
        return None
    values: dict[str, list[float]] = {}
    for columns in runs:
        for c in columns:
            if c.get("statistic") is not None:
                values.setdefault(c["column"], []).append(c["statistic"])
    changes = [max(v) - min(v) for v in values.values() if len(v) > 1]
    return max(changes) if changes else None
