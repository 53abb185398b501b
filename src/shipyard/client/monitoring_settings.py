"""``Client`` methods of a model's monitoring settings: read them, set the next revision.

A mixin that ``Client`` inherits; like the rest of ``shipyard.client`` it imports only httpx,
orjson and ``shipyard.core``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote


class MonitoringSettingsMixin:
    """Monitoring settings per model (drift tests and thresholds, rows each report needs).

    Every method returns the API's JSON and raises the ``ShipyardError`` subclass the server
    answered with.
    """

    if TYPE_CHECKING:
        # Provided by ``Client`` (``client/http.py``).
        def _object(
            self,
            method: str,
            path: str,
            body: Any = None,
            *,
            params: dict[str, Any] | None = None,
            timeout: float | None = None,
        ) -> dict[str, Any]: ...

    def monitoring_settings(self, name: str) -> dict[str, Any]:
        """The model's monitoring settings in force and every stored revision.

        Returns:
            ``{"model", "revision", "text", "settings", "history"}``: ``revision`` 0 and
            ``text`` None mean the defaults apply; ``settings`` is every setting in force
            (``drift``, ``performance``, ``fairness``); ``history`` holds
            ``MonitoringSettingsRecord.to_dict()`` shapes, newest first.

        Raises:
            ModelNotFoundError: no such model.
        """
        return self._object("GET", _settings(name))

    def set_monitoring_settings(self, name: str, text: str) -> dict[str, Any]:
        """Store ``text`` (settings YAML) as the model's next revision.

        Returns:
            The new revision (``MonitoringSettingsRecord.to_dict()`` shape).

        Raises:
            MonitoringSettingsError: the YAML does not parse, or names a column the model
                does not take; the message names the line and field.
            PermissionDeniedError: the key is not a deployer (or above).
            ModelNotFoundError: no such model.
        """
        return self._object("PUT", _settings(name), {"text": text})


def _settings(name: str) -> str:
    # As in client/http.py: `/`, `?` and `#` in a name cannot change the route.
    return f"/api/v1/models/{quote(name, safe='')}/monitoring-settings"
