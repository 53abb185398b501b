"""Per-model monitoring settings: their YAML form and the options the reports take from them.

``MonitoringSettings.parse`` reads the YAML a user writes (safe loader only) and reports any
mistake with the source, the line and the field path, listing the valid choices. Plain frozen
dataclasses and pure functions; no I/O but the YAML parsing, no report computed here.

    drift:
      drift_share: 0.5          # dataset drift when this share of the tested columns drifted
      min_rows: 30              # values each window needs for a verdict
      evidently: false          # Evidently's exact tests (goodness-of-fit chi-square)
      numeric: {method: wasserstein, threshold: 0.1}
      categorical: {method: jensenshannon, threshold: 0.1}
      columns:
        mean radius: {method: psi, threshold: 0.2}
    performance:
      min_rows: 30              # labelled predictions a version needs to be reliable
    fairness:
      min_group_rows: 30        # rows below which a group is flagged small
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from shipyard.core.errors import MonitoringSettingsError
from shipyard.core.monitoring_settings import MonitoringSettingsRecord
from shipyard.gates._yaml_fields import (
    DocumentKind,
    FieldReader,
    is_bool,
    is_int,
    is_null,
    is_number,
    is_str,
)
from shipyard.gates.metrics import suggest
from shipyard.monitoring.drift import (
    DRIFT_TESTS,
    ColumnDriftOptions,
    DriftOptions,
    Kind,
    Method,
)

SECTIONS = ("drift", "performance", "fairness")
DRIFT_FIELDS = ("drift_share", "min_rows", "evidently", "numeric", "categorical", "columns")
COLUMN_FIELDS = ("method", "threshold")
DEFAULT_MIN_ROWS = 30
"""Rows a performance slice or a fairness group needs by default (the reports' own default)."""
DEFAULT_REVISION = 0
"""The revision reported for a model without stored settings (the defaults apply)."""
DEFAULT_SOURCE = "monitoring settings"

# Wording that messages carry and tests check.
THRESHOLD_NEEDS_METHOD = (
    "a threshold needs a method: a p-value threshold (drift when small) and a distance "
    "threshold (drift when large) mean opposite things; add method: one of {methods}"
)
UNKNOWN_COLUMN = "unknown column {name!r}{hint}; the columns {model} takes: {known}"


@dataclass(frozen=True, slots=True)
class MonitoringSettings:
    """How a model's monitoring reports are computed, unless a request says otherwise.

    The default (an empty document) is every report's own default: Evidently's tests,
    thresholds and ``drift_share``, and 30 rows for each verdict. Build one with :meth:`parse`.

    Attributes:
        drift: The drift options: ``drift_share``, per-column and per-kind methods and
            thresholds, ``evidently_compatible`` and ``min_rows``.
        performance_min_rows: Labelled predictions a version (or bucket) needs before its
            performance numbers count as reliable.
        fairness_min_group_rows: Rows below which a fairness group is flagged small.
    """

    drift: DriftOptions = field(default_factory=DriftOptions)
    performance_min_rows: int = DEFAULT_MIN_ROWS
    fairness_min_group_rows: int = DEFAULT_MIN_ROWS

    @classmethod
    def default(cls) -> MonitoringSettings:
        """The settings of a model that has none stored."""
        return cls()

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        source: str = DEFAULT_SOURCE,
        columns: Collection[str] | None = None,
        model: str = "the model",
    ) -> MonitoringSettings:
        """Read settings from YAML.

        Args:
            text: The YAML document; empty or ``{}`` gives the defaults.
            source: How messages name the document (a file name, or ``monitoring settings``).
            columns: The columns ``drift.columns`` may name (the model's inputs and
                ``prediction``); None accepts any name.
            model: How messages name the model whose ``columns`` these are.

        Returns:
            The settings.

        Raises:
            MonitoringSettingsError: invalid YAML, an unknown field, method or column, or a
                bad value; the message reads ``<source> line <n>: <field path>: <problem>``
                and lists the valid choices.
        """
        known = None if columns is None else tuple(columns)
        return _Parser(source, known, model).settings(text)

    def drift_options(
        self,
        *,
        evidently_compatible: bool | None = None,
        columns: Collection[str] | None = None,
    ) -> DriftOptions:
        """The drift options to compute a report with.

        Args:
            evidently_compatible: Overrides the setting when not None (an explicit request).
            columns: The columns being compared; per-column settings naming others are left
                out (a version without that feature), None keeps them all.

        Returns:
            The options.
        """
        options = self.drift
        if evidently_compatible is not None:
            options = replace(options, evidently_compatible=evidently_compatible)
        if columns is not None:
            present = set(columns)
            kept = {k: v for k, v in options.per_column.items() if k in present}
            if len(kept) != len(options.per_column):
                options = replace(options, per_column=kept)
        return options

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data, every field present (automatic choices as None).

        The shape is the YAML shape, so ``MonitoringSettings.parse(yaml.safe_dump(s.to_dict()))``
        equals ``s`` for settings that :meth:`parse` produced.
        """
        drift = self.drift
        return {
            "drift": {
                "drift_share": drift.drift_share,
                "min_rows": drift.min_rows,
                "evidently": drift.evidently_compatible,
                "numeric": _column_dict(drift.default_numeric),
                "categorical": _column_dict(drift.default_categorical),
                "columns": {
                    name: _column_dict(options) for name, options in drift.per_column.items()
                },
            },
            "performance": {"min_rows": self.performance_min_rows},
            "fairness": {"min_group_rows": self.fairness_min_group_rows},
        }

    def to_yaml(self) -> str:
        """The settings as YAML that :meth:`parse` reads back to equal settings."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def settings_document(model: str, history: Sequence[MonitoringSettingsRecord]) -> dict[str, Any]:
    """The API's (and ``monitor settings show --json``'s) answer for a model.

    Args:
        model: The model.
        history: Its stored revisions, newest first (empty: the defaults apply).

    Returns:
        ``{"model", "revision", "text", "settings", "history"}``: revision 0 and text None
        when nothing is stored; ``settings`` is :meth:`MonitoringSettings.to_dict` of the
        settings in force.
    """
    latest = history[0] if history else None
    settings = MonitoringSettings.parse(latest.text) if latest else MonitoringSettings()
    return {
        "model": model,
        "revision": latest.revision if latest else DEFAULT_REVISION,
        "text": latest.text if latest else None,
        "settings": settings.to_dict(),
        "history": [record.to_dict() for record in history],
    }


def methods_for(kind: Kind) -> list[str]:
    """Names of the drift methods that apply to columns of ``kind``, in :class:`Method` order."""
    return [m.value for m in Method if kind in DRIFT_TESTS[m].kinds]


def _column_dict(options: ColumnDriftOptions) -> dict[str, Any] | None:
    if options.method is None and options.threshold is None:
        return None  # chosen as Evidently does
    return {
        "method": options.method.value if options.method else None,
        "threshold": options.threshold,
    }


# -- parsing ----------------------------------------------------------------------------------


# The settings' own wording (path first, choices always listed), as docs/monitoring.md quotes it;
# the gate policy words the same mistake differently and each is pinned by its tests.
def _unknown_field(path: str, key: str, allowed: Sequence[str]) -> str:
    return f"{path}: unknown field{suggest(key, allowed)}; expected one of: {', '.join(allowed)}"


_SETTINGS = DocumentKind(
    error=MonitoringSettingsError,
    noun="settings",
    shape=f"settings are one YAML mapping of sections ({', '.join(SECTIONS)})",
    key_names="names (quote names YAML reads as numbers, dates or booleans)",
    unknown_field=_unknown_field,
    # These messages were written without the parser's context; their tests pin that.
    syntax_context=False,
)


class _Parser:
    """Walks the composed YAML node tree, so every error can name the line it comes from."""

    def __init__(self, source: str, columns: tuple[str, ...] | None, model: str) -> None:
        self.reader = FieldReader(_SETTINGS, source)
        self.columns = columns
        self.model = model

    def settings(self, text: str) -> MonitoringSettings:
        root = self.reader.compose(text)
        if root is None:
            return MonitoringSettings()
        sections = self.reader.mapping(root, "", SECTIONS, what="a mapping of sections")
        settings = MonitoringSettings()
        if "drift" in sections:
            settings = replace(settings, drift=self._drift(sections["drift"]))
        if "performance" in sections:
            fields = self.reader.mapping(sections["performance"], "performance", ("min_rows",))
            if "min_rows" in fields:
                rows = self._rows(fields["min_rows"], "performance.min_rows")
                settings = replace(settings, performance_min_rows=rows)
        if "fairness" in sections:
            fields = self.reader.mapping(sections["fairness"], "fairness", ("min_group_rows",))
            if "min_group_rows" in fields:
                rows = self._rows(fields["min_group_rows"], "fairness.min_group_rows")
                settings = replace(settings, fairness_min_group_rows=rows)
        return settings

    # sections

    def _drift(self, node: yaml.Node) -> DriftOptions:
        fields = self.reader.mapping(node, "drift", DRIFT_FIELDS)
        values: dict[str, Any] = {}
        if "drift_share" in fields:
            share_node = fields["drift_share"]
            share = float(
                self.reader.scalar(share_node, "drift.drift_share", is_number, "a number")
            )
            if not 0 < share <= 1:
                self.reader.fail(
                    share_node,
                    "drift.drift_share",
                    f"expected a share above 0 and at most 1 (0.5: half the tested columns), "
                    f"got {share:g}",
                )
            values["drift_share"] = share
        if "min_rows" in fields:
            values["min_rows"] = self._rows(fields["min_rows"], "drift.min_rows")
        if "evidently" in fields:
            values["evidently_compatible"] = self.reader.scalar(
                fields["evidently"], "drift.evidently", is_bool, "true or false"
            )
        if "numeric" in fields:
            values["default_numeric"] = self._column(fields["numeric"], "drift.numeric", "numeric")
        if "categorical" in fields:
            values["default_categorical"] = self._column(
                fields["categorical"], "drift.categorical", "categorical"
            )
        if "columns" in fields:
            values["per_column"] = self._columns(fields["columns"])
        return DriftOptions(**values)

    def _columns(self, node: yaml.Node) -> dict[str, ColumnDriftOptions]:
        entries = self.reader.mapping(
            node, "drift.columns", None, what="a mapping of column names to {method, threshold}"
        )
        chosen: dict[str, ColumnDriftOptions] = {}
        for name, value in entries.items():
            path = f"drift.columns.{name}"
            if not name:
                self.reader.fail(self.reader.key_of(value), path, "expected a column name, got ''")
            if self.columns is not None and name not in self.columns:
                self.reader.fail(
                    self.reader.key_of(value),
                    path,
                    UNKNOWN_COLUMN.format(
                        name=name,
                        hint=suggest(name, self.columns),
                        model=self.model,
                        known=", ".join(self.columns),
                    ),
                )
            if is_null(value):
                self.reader.fail(value, path, "expected {method, threshold}, got nothing (null)")
            chosen[name] = self._column(value, path, None)
        return chosen

    def _column(self, node: yaml.Node, path: str, kind: Kind | None) -> ColumnDriftOptions:
        """``{method, threshold}`` for one column or one kind; null: chosen automatically."""
        if is_null(node):
            return ColumnDriftOptions()
        fields = self.reader.mapping(
            node, path, COLUMN_FIELDS, what="a mapping with method, threshold"
        )
        allowed = methods_for(kind) if kind else [m.value for m in Method]
        if "method" not in fields:
            choices = ", ".join(allowed)
            problem = (
                THRESHOLD_NEEDS_METHOD.format(methods=choices)
                if "threshold" in fields
                else f"required: one of {choices}"
            )
            self.reader.fail(node, f"{path}.method", problem)
        method = self._method(fields["method"], f"{path}.method", kind, allowed)
        threshold = None
        if "threshold" in fields and not is_null(fields["threshold"]):
            threshold = self._threshold(fields["threshold"], f"{path}.threshold", method)
        return ColumnDriftOptions(method, threshold)

    def _method(self, node: yaml.Node, path: str, kind: Kind | None, allowed: list[str]) -> Method:
        name = self.reader.scalar(node, path, is_str, f"a method name: one of {', '.join(allowed)}")
        try:
            method = Method(name)
        except ValueError:
            known = [m.value for m in Method]
            self.reader.fail(
                node,
                path,
                f"unknown method {name!r}{suggest(name, known)}; methods: {', '.join(allowed)}",
            )
        if kind is not None and kind not in DRIFT_TESTS[method].kinds:
            self.reader.fail(
                node,
                path,
                f"{method.value} does not apply to {kind} columns; use one of: "
                f"{', '.join(allowed)}",
            )
        return method

    def _threshold(self, node: yaml.Node, path: str, method: Method) -> float:
        value = float(self.reader.scalar(node, path, is_number, "a number"))
        test = DRIFT_TESTS[method]
        if test.is_p_value:
            if not (math.isfinite(value) and 0 < value < 1):
                self.reader.fail(
                    node,
                    path,
                    f"{method.value} gives a p-value (drift when {test.rule} the threshold): "
                    f"expected a number above 0 and below 1, e.g. {test.default_threshold:g}, "
                    f"got {value:g}",
                )
        elif not (math.isfinite(value) and value > 0):
            self.reader.fail(
                node,
                path,
                f"{method.value} gives a distance (drift when {test.rule} the threshold): "
                f"expected a number above 0, e.g. {test.default_threshold:g}, got {value:g}",
            )
        return value

    def _rows(self, node: yaml.Node, path: str) -> int:
        rows: int = self.reader.scalar(node, path, is_int, "a whole number of rows")
        if rows < 1:
            self.reader.fail(node, path, f"expected at least 1 row, got {rows}")
        return rows
