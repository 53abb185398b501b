"""Monitoring settings per model, with history: set (validated, audited), read, and in force.

The reports of ``registry.analysis`` take their defaults from ``settings(model)``; an explicit
argument of a request still wins. ``set`` checks that the columns it names are inputs of one
of the model's versions (or ``prediction``), so a typo is refused now, not found at report time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.core.monitoring_settings import MonitoringSettingsRecord
from shipyard.monitoring.settings import DEFAULT_SOURCE, MonitoringSettings

if TYPE_CHECKING:
    from shipyard.registry.service import Registry
    from shipyard.store import StoreSession

PREDICTION = "prediction"
"""The column of a drift report that holds the predictions."""


class MonitoringSettingsService:
    """A model's monitoring settings, changed as the registry's actor."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def set(
        self, model: str, text: str, *, source: str = DEFAULT_SOURCE
    ) -> MonitoringSettingsRecord:
        """Store ``text`` as the model's next settings revision (it must parse).

        Args:
            model: The model.
            text: The settings YAML (see ``shipyard.monitoring.settings``).
            source: How messages name ``text`` (its file name).

        Returns:
            The new revision, audited as ``monitoring_settings.set``.

        Raises:
            MonitoringSettingsError: naming the line and field; nothing is stored.
            ModelNotFoundError.
        """
        registry = self._registry
        with registry.store.session() as s:
            columns = _columns(s, model)
        MonitoringSettings.parse(text, source=source, columns=columns, model=model)
        now = registry.now()
        with registry.store.session(write=True) as s:
            s.models.lock_model(model)
            record = s.monitoring_settings.add(model, text, actor=registry.actor, at=now)
            s.audit.append(
                actor=registry.actor,
                action="monitoring_settings.set",
                target=model,
                details={"revision": record.revision, "text": text},
                at=now,
            )
        return record

    def current(self, model: str) -> MonitoringSettingsRecord | None:
        """The newest revision, or None when the model has none (the defaults apply).

        Raises:
            ModelNotFoundError.
        """
        with self._registry.store.session() as s:
            return s.monitoring_settings.latest(model)

    def history(self, model: str) -> list[MonitoringSettingsRecord]:
        """Every revision of the model's settings, newest first.

        Raises:
            ModelNotFoundError.
        """
        with self._registry.store.session() as s:
            return s.monitoring_settings.history(model)

    def settings(self, model: str) -> MonitoringSettings:
        """The settings in force: the newest revision's, or the defaults.

        Raises:
            ModelNotFoundError.
        """
        record = self.current(model)
        return MonitoringSettings.parse(record.text) if record else MonitoringSettings.default()


def _columns(s: StoreSession, model: str) -> list[str] | None:
    """Columns a drift report of ``model`` may compare: every version's inputs, then prediction.

    None when a version has no signature: its inputs are unknown, so any name is accepted.
    """
    names: list[str] = []
    for version in reversed(s.models.list_versions(model)):  # oldest first
        if version.signature is None:
            return None
        names.extend(n for n in version.signature.input_names if n not in names)
    return [*names, PREDICTION]
