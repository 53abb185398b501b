"""A stored revision of a model's monitoring settings, as the YAML text its author wrote.

The store keeps every revision; ``shipyard.monitoring.settings`` parses the text into the
options the reports take. Plain data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class MonitoringSettingsRecord:
    """One revision of a model's monitoring settings."""

    model: str
    revision: int
    text: str
    actor: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "revision": self.revision,
            "text": self.text,
            "actor": self.actor,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitoringSettingsRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(
            model=data["model"],
            revision=int(data["revision"]),
            text=data["text"],
            actor=data["actor"],
            at=datetime.fromisoformat(data["at"]),
        )
