"""The drift methods: what each needs, how its statistic is read, and the statistics themselves.

Internal to :mod:`shipyard.monitoring.drift`, which re-exports ``Method``, ``DriftTest``,
``DRIFT_TESTS`` and ``wasserstein_1d``: import them from there. Pure NumPy on finite values or
aligned counts; SciPy (the ``monitoring`` extra) is imported only when a statistic needs it.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from shipyard.core.errors import MissingExtraError
from shipyard.monitoring.drift_columns import KINDS, Kind

STD_FLOOR = 0.001  # Evidently's floor of the reference std (absolute, in the column's units)


class Method(StrEnum):
    """A drift test or distance; the value is its stable name in options and ``--json``.

    Statistics are computed on the values that are not missing (NaN, None and, as in
    Evidently, ±inf); ``n_ref`` and ``n_cur`` count those values.

    * ``KS``: two-sample Kolmogorov-Smirnov p-value, ``scipy.stats.ks_2samp`` (two-sided,
      ``method="auto"``); drift when p <= 0.05. Numeric columns. Evidently's ``ks``.
    * ``WASSERSTEIN``: first Wasserstein distance divided by ``max(std(reference), 0.001)``
      (population std); drift when >= 0.1 ("a tenth of a reference standard deviation").
      Numeric columns. Evidently's ``wasserstein``.
    * ``CHISQUARE``: Pearson's chi-square test of homogeneity on the 2 x k table of reference
      and current counts per value (``scipy.stats.chi2_contingency(table,
      correction=False)``, k - 1 degrees of freedom); drift when p < 0.05. Shipyard's default
      where Evidently uses ``CHISQUARE_GOF``: a two-sample test, whose false-alarm rate stays
      near 5% on undrifted data.
    * ``CHISQUARE_GOF``: what Evidently names ``chisquare``: ``scipy.stats.chisquare(current counts,
      reference counts * n_cur / n_ref)``; drift when p < 0.05. It treats the reference
      sample as the exact truth, so with 1,000 vs 1,000 undrifted rows it flags about 22% of
      columns with 3 values and nearly all with 50. Use it (or
      ``DriftOptions.evidently_compatible``) to reproduce Evidently's numbers.
    * ``Z``: two-proportion z-test with the pooled proportion, for at most two values;
      p = erfc(abs(z) / sqrt(2)) (Evidently writes 2(1 - Phi(abs(z))), equal but for rounding
      below 1e-16), 1 when both samples hold the same single value; drift when p < 0.05.
      Equals ``CHISQUARE`` on two values. Evidently's ``z``.
    * ``JENSENSHANNON``: ``scipy.spatial.distance.jensenshannon`` (natural log, so 0 to
      sqrt(ln 2) ~ 0.833) of the two samples' shares per value, or, for a numeric column whose
      reference has more than 20 distinct values, per equal-width Sturges bin over the
      combined range (``np.histogram_bin_edges(both, "sturges")``); no smoothing; drift when
      >= 0.1. Evidently's ``jensenshannon``. Its sampling noise grows with the number of
      values: with 50 values and 1,001 rows per window it reaches 0.1 on most undrifted
      columns (81% measured). So Shipyard's default also asks the two-sample chi-square on the
      same counts for p < 0.05 (sparse values pooled; ``drift_verdict.judge``), which keeps
      false alarms near 5%; ``DriftOptions.evidently_compatible`` reads 0.1 alone.
    * ``PSI``: population stability index ``sum((r - c) * ln(r / c))`` over the same bins as
      ``JENSENSHANNON``, a zero share replaced by min(nonzero share) / 1e6 when that minimum is
      <= 1e-4, else by 1e-4 (each sample apart); drift when >= 0.1 (and, by default, the
      chi-square agrees, as for ``JENSENSHANNON``). Only on request. Evidently's ``psi``.
    """

    KS = "ks"
    WASSERSTEIN = "wasserstein"
    CHISQUARE = "chisquare"
    CHISQUARE_GOF = "chisquare_gof"
    Z = "z"
    JENSENSHANNON = "jensenshannon"
    PSI = "psi"


@dataclass(frozen=True, slots=True)
class DriftTest:
    """What a method needs and how its statistic is read.

    Attributes:
        method: The method described.
        title: Name of the statistic in sentences.
        rule: ``"<="``, ``"<"`` or ``">="``: drift when ``statistic <rule> threshold``.
        default_threshold: Evidently's default.
        kinds: Column kinds the method applies to.
        needs: ``"values"`` (the finite values), ``"counts"`` (counts per distinct value,
            aligned) or ``"bins"`` (counts per value, or per Sturges bin for a numeric column
            whose reference has more than 20 distinct values).
        statistic: ``(reference, current) -> statistic`` on what ``needs`` says.
    """

    method: Method
    title: str
    rule: Literal["<=", "<", ">="]
    default_threshold: float
    kinds: frozenset[str]
    needs: Literal["values", "counts", "bins"]
    statistic: Callable[[NDArray[Any], NDArray[Any]], float]

    @property
    def is_p_value(self) -> bool:
        """True for tests (drift when the p-value is small), False for distances."""
        return self.rule != ">="

    def is_drift(self, statistic: float, threshold: float) -> bool:
        """Whether ``statistic`` means drift at ``threshold``."""
        if self.rule == "<=":
            return statistic <= threshold
        if self.rule == "<":
            return statistic < threshold
        return statistic >= threshold


def wasserstein_1d(u: NDArray[Any], v: NDArray[Any]) -> float:
    """First Wasserstein distance of two samples: ``scipy.stats.wasserstein_distance(u, v)``.

    Computed as the area between the two quantile functions, ``integral_0^1 |Q_u(t) -
    Q_v(t)| dt``, whose breakpoints ``i/n`` and ``j/m`` are merged arithmetically: two sorts
    and O(n + m) vector work, about 5x faster than SciPy's value-axis sum (a sort of both
    samples together and two binary searches). Equal to SciPy's to within rounding (~1e-15).
    Both samples must be non-empty.
    """
    a, b = np.sort(np.asarray(u, dtype=np.float64)), np.sort(np.asarray(v, dtype=np.float64))
    n, m = a.size, b.size
    if n * m >= 1 << 62:  # the exact integer breakpoints would overflow: SciPy's way
        return float(_scipy("stats").wasserstein_distance(a, b))
    i = np.arange(1, n + 1, dtype=np.int64)
    j = np.arange(1, m + 1, dtype=np.int64)
    # On (t_prev, i/n] Q_u is a[i-1] and Q_v is b[ceil(i*m/n) - 1]; symmetrically for j/m.
    b_at = (i * m + n - 1) // n - 1
    a_at = (j * n + m - 1) // m - 1
    # Ranks of the right ends i/n and j/m among all n + m of them (i/n first on a tie).
    rank_a = i + b_at - 1
    rank_b = j + (j * n) // m - 1
    ends = np.empty(n + m, dtype=np.int64)  # in units of 1 / (n * m): exact
    gaps = np.empty(n + m, dtype=np.float64)
    ends[rank_a], ends[rank_b] = i * m, j * n
    gaps[rank_a], gaps[rank_b] = np.abs(a - b[b_at]), np.abs(a[a_at] - b)
    lengths = np.diff(ends, prepend=0).astype(np.float64)
    return float(np.dot(lengths, gaps)) / (n * m)


_TESTS: dict[Method, DriftTest] = {}
DRIFT_TESTS: Mapping[Method, DriftTest] = MappingProxyType(_TESTS)
"""The methods Shipyard knows, by name: what each needs and how its statistic is read."""
_Statistic = Callable[[NDArray[Any], NDArray[Any]], float]


def _registered(
    method: Method,
    title: str,
    rule: Literal["<=", "<", ">="],
    threshold: float,
    needs: Literal["values", "counts", "bins"],
    kinds: tuple[Kind, ...] = KINDS,
) -> Callable[[_Statistic], _Statistic]:
    def register(statistic: _Statistic) -> _Statistic:
        _TESTS[method] = DriftTest(
            method, title, rule, threshold, frozenset(kinds), needs, statistic
        )
        return statistic

    return register


@_registered(Method.KS, "K-S p-value", "<=", 0.05, "values", kinds=("numeric",))
def _ks(reference: NDArray[Any], current: NDArray[Any]) -> float:
    return float(_scipy("stats").ks_2samp(reference, current).pvalue)


@_registered(
    Method.WASSERSTEIN, "normed Wasserstein distance", ">=", 0.1, "values", kinds=("numeric",)
)
def _wasserstein(reference: NDArray[Any], current: NDArray[Any]) -> float:
    return wasserstein_1d(reference, current) / max(float(np.std(reference)), STD_FLOOR)


@_registered(Method.CHISQUARE, "two-sample chi-square p-value", "<", 0.05, "counts")
def _chisquare(reference: NDArray[Any], current: NDArray[Any]) -> float:
    table = np.vstack([reference, current]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return _chi2_sf(statistic, table.shape[1] - 1)


@_registered(Method.CHISQUARE_GOF, "goodness-of-fit chi-square p-value", "<", 0.05, "counts")
def _chisquare_gof(reference: NDArray[Any], current: NDArray[Any]) -> float:
    expected = reference * (current.sum() / reference.sum())
    observed = current.astype(np.float64)
    if np.any((expected == 0) & (observed > 0)):
        return 0.0  # a value the reference never had: SciPy's statistic is inf, p is 0
    if expected.size < 2:
        return 1.0
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return _chi2_sf(statistic, expected.size - 1)


@_registered(Method.Z, "z-test p-value", "<", 0.05, "counts")
def _z(reference: NDArray[Any], current: NDArray[Any]) -> float:
    if reference.size < 2:  # one value in both windows (three or more are refused earlier)
        return 1.0
    n1, n2 = int(reference.sum()), int(current.sum())
    p1, p2 = reference[0] / n1, current[0] / n2
    pooled = (reference[0] + current[0]) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))


@_registered(Method.JENSENSHANNON, "Jensen-Shannon distance", ">=", 0.1, "bins")
def _jensenshannon(reference: NDArray[Any], current: NDArray[Any]) -> float:
    jensenshannon = _scipy("spatial.distance").jensenshannon
    return float(jensenshannon(reference / reference.sum(), current / current.sum()))


@_registered(Method.PSI, "PSI", ">=", 0.1, "bins")
def _psi(reference: NDArray[Any], current: NDArray[Any]) -> float:
    r, c = _fill_zeros(reference / reference.sum()), _fill_zeros(current / current.sum())
    return float(np.sum((r - c) * np.log(r / c)))


def _chi2_sf(statistic: float, df: int) -> float:
    # scipy.stats.chi2.sf calls this ufunc after ~0.2 ms of argument checks per call, and
    # importing scipy.stats costs ~1 s and 35 MB; the values are the same.
    return float(_scipy("special").chdtrc(df, statistic))


def _fill_zeros(shares: NDArray[np.float64]) -> NDArray[np.float64]:
    smallest = float(shares[shares > 0].min())
    return np.where(shares == 0, smallest / 1e6 if smallest <= 1e-4 else 1e-4, shares)


def _scipy(module: str) -> Any:
    try:
        return importlib.import_module(f"scipy.{module}")
    except ImportError as exc:
        raise MissingExtraError("Drift statistics", "monitoring", "scipy") from exc
