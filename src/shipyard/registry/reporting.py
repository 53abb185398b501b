"""The HTML monitoring report of an endpoint (``shipyard monitor report``, ``GET …/report``).

Gathers what the page shows from the registry and the prediction log (the drift, performance
and fairness reports of ``analysis``, reference vs current values per column, traffic and
latency) and renders it with ``shipyard.monitoring.report_html``. A part that cannot be
computed (no reference data, no feedback, no such attribute) becomes a note in its section:
only an unknown endpoint, a bad window or a window without predictions fail the whole report.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.core.errors import InvalidInputError, VersionNotFoundError
from shipyard.registry.analysis import (
    drift_report,
    fairness_report,
    model_of,
    performance_report,
)

if TYPE_CHECKING:
    from shipyard.monitoring.drift import ColumnDrift
    from shipyard.monitoring.performance_report import PerformanceReport
    from shipyard.monitoring.report_data import (
        Distribution,
        FairnessSection,
        ReportData,
        Traffic,
    )
    from shipyard.registry.analysis import EndpointDrift
    from shipyard.registry.service import Registry

__all__ = ["gather_report", "monitoring_report_html"]

MAX_SENSITIVE = 3  # registered sensitive columns looked at when none is asked for
MAX_PERFORMANCE_BUCKETS = 24
# Wording that tests check.
NO_PREDICTIONS = (
    "Endpoint {endpoint!r} logged no prediction{of} in this window, so there is nothing to "
    "report yet. Send it traffic, or widen the window (--window)."
)


def monitoring_report_html(
    registry: Registry,
    endpoint: str,
    *,
    version: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sensitive: str | None = None,
    log_root: Path | None = None,
) -> str:
    """One self-contained HTML page on how ``endpoint`` holds up in a window.

    Sections: drift of the inputs and predictions from the version's reference data (a table,
    drifted columns first, and reference vs current values per column), performance per
    version over time from the feedback, outcomes by group of ``sensitive`` (default: the
    sensitive columns registered with the versions, or named by the model's gate policy),
    and traffic and latency per version over time. No script, no external resource.

    Args:
        registry: Where the endpoint is defined (its home holds the logs by default).
        endpoint: An endpoint, or a model served under its own name.
        version: Only this version's predictions (default: every version; drift compares the
            one with most of the endpoint's traffic).
        since: Only predictions made at or after this time.
        until: Only predictions made before this time.
        sensitive: The attribute to compare groups by: a feature or a request metadata field.
        log_root: The prediction log directory (default ``$SHIPYARD_HOME/logs``).

    Raises:
        EndpointNotFoundError: neither an endpoint nor a model of that name.
        InvalidInputError: an empty window, or no prediction in it.
        DataFileError: a log segment cannot be read.
        MissingExtraError: matplotlib (``report`` extra) or DuckDB (``monitoring``) is missing.
    """
    from shipyard.monitoring.report_html import render
    from shipyard.monitoring.report_plots import require_matplotlib

    model_of(registry, endpoint)  # an unknown endpoint is named before a missing extra
    require_matplotlib()
    data = gather_report(
        registry,
        endpoint,
        version=version,
        since=since,
        until=until,
        sensitive=sensitive,
        log_root=log_root,
    )
    return render(data)


def gather_report(
    registry: Registry,
    endpoint: str,
    *,
    version: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sensitive: str | None = None,
    log_root: Path | None = None,
) -> ReportData:
    """What :func:`monitoring_report_html` draws, as data (arguments and errors alike)."""
    from shipyard.monitoring.report_data import ReportData, load_traffic

    model = model_of(registry, endpoint)
    root = log_root or registry.settings.home / "logs"
    traffic = load_traffic(root, endpoint, version=version, since=since, until=until)
    if traffic.total_requests == 0:
        of = "" if version is None else f" of {model}:{version}"
        raise InvalidInputError(NO_PREDICTIONS.format(endpoint=endpoint, of=of))
    try:
        drift: EndpointDrift | None = drift_report(
            registry, endpoint, version=version, since=since, until=until, log_root=root
        )
        drift_note = None
    except InvalidInputError as exc:  # no reference data, or the version logged nothing
        drift, drift_note = None, exc.message
    performance, performance_note = _performance(
        registry, endpoint, version=version, since=since, until=until, log_root=root
    )
    attributes = [sensitive] if sensitive else _registered_sensitive(registry, model, traffic)
    fairness = tuple(
        _fairness(
            registry, endpoint, name, version=version, since=since, until=until, log_root=root
        )
        for name in attributes
    )
    return ReportData(
        endpoint=endpoint,
        model=model,
        generated_at=datetime.now(UTC),
        since=since,
        until=until,
        version=version,
        traffic=traffic,
        drift=drift.report if drift else None,
        drift_version=drift.version if drift else version,
        drift_note=drift_note,
        distributions=_distributions(registry, drift, since, until, root) if drift else (),
        performance=performance,
        performance_note=performance_note,
        fairness=fairness,
    )


def _distributions(
    registry: Registry,
    drift: EndpointDrift,
    since: datetime | None,
    until: datetime | None,
    log_root: Path,
) -> tuple[Distribution, ...]:
    """Reference vs current values of each column the drift report tested, drifted first."""
    from shipyard.monitoring.report_data import distribution
    from shipyard.monitoring.window import load_window

    reference = registry.reference_table(registry.get_version(drift.model, drift.version))
    window = load_window(
        log_root, drift.endpoint, version=drift.version, since=since, until=until
    ).table
    columns: list[ColumnDrift] = sorted(drift.report.columns, key=_drifted_first)
    return tuple(
        distribution(
            c.column,
            reference.column(c.column),
            window.column(c.column),
            kind=c.kind,
            drifted=c.drifted,
            test=_test(c),
        )
        for c in columns
        if c.column in reference.column_names and c.column in window.column_names
    )


def _performance(
    registry: Registry,
    endpoint: str,
    *,
    version: int | None,
    since: datetime | None,
    until: datetime | None,
    log_root: Path,
) -> tuple[PerformanceReport | None, str | None]:
    """The performance report in as many time buckets as the labels allow, or why not.

    A first pass counts the labels; buckets of about ``min_rows`` labels each for the version
    with fewest (of those with at least ``min_rows``; at most ``MAX_PERFORMANCE_BUCKETS``)
    make the curves over time, so that no version's curve is mostly noise.
    """

    def report(buckets: int | None) -> PerformanceReport:
        return performance_report(
            registry,
            endpoint,
            version=version,
            since=since,
            until=until,
            buckets=buckets,
            log_root=log_root,
        )

    try:
        overall = report(None)
        labelled = [v.n for v in overall.versions if v.n]
        if not labelled:
            return overall, None
        enough = [n for n in labelled if n >= overall.min_rows] or [max(labelled)]
        return report(min(MAX_PERFORMANCE_BUCKETS, max(1, min(enough) // overall.min_rows))), None
    except InvalidInputError as exc:  # labels that cannot be compared with the predictions
        return None, exc.message


def _fairness(
    registry: Registry,
    endpoint: str,
    attribute: str,
    *,
    version: int | None,
    since: datetime | None,
    until: datetime | None,
    log_root: Path,
) -> FairnessSection:
    from shipyard.monitoring.report_data import FairnessSection

    try:
        report = fairness_report(
            registry,
            endpoint,
            attribute,
            version=version,
            since=since,
            until=until,
            log_root=log_root,
        )
    except InvalidInputError as exc:  # no feedback, absent attribute, not a binary model
        return FairnessSection(attribute, None, exc.message)
    return FairnessSection(attribute, report)


def _registered_sensitive(registry: Registry, model: str, traffic: Traffic) -> list[str]:
    """Sensitive columns registered with the versions in the window, then the gate policy's."""
    names: list[str] = []
    for number in traffic.versions:
        try:
            profile = registry.get_version(model, number).reference_profile or {}
        except VersionNotFoundError:  # logged by a version deleted since
            continue
        columns = profile.get("columns") or {}
        names.extend(n for n, c in columns.items() if c.get("role") == "sensitive")
    rule = registry.gates.policy(model).policy.fairness
    if rule is not None:
        names.extend(rule.sensitive)
    return list(dict.fromkeys(names))[:MAX_SENSITIVE]


def _test(column: ColumnDrift) -> str:
    """``"K-S p-value 1.5e-11"``: the column's test and statistic, for a plot's corner."""
    from shipyard.monitoring.drift import DRIFT_TESTS

    if column.method is None or column.statistic is None:
        return ""
    return f"{DRIFT_TESTS[column.method].title} {column.statistic:.2g}"


def _drifted_first(column: ColumnDrift) -> int:
    return {True: 0, False: 1, None: 2}[column.drifted]
