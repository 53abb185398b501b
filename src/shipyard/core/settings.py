"""Settings read from the environment (DESIGN.md "Environment"); no other I/O.

``Settings.from_env()`` is called at the edges (CLI, server start-up) and passed down, so tests
build their own ``Settings`` instead of patching the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    """Where Shipyard keeps its state.

    Attributes:
        home: Local state directory (``SHIPYARD_HOME``).
        database_url: SQLAlchemy URL of the metadata store.
        artifact_uri: Local path or ``s3://bucket/prefix`` of the artifact store.
        url: A running server the CLI/SDK talks to, if any.
        api_key: The key used with ``url``.
        trusted_signers: PEM public keys (files or directories) whose artifact signatures
            gates accept (``SHIPYARD_TRUSTED_SIGNERS``, separated by the OS path separator).
        alert_command: A command run for every alert that fires or resolves, with the alert
            as JSON on stdin (``SHIPYARD_ALERT_COMMAND``; run without a shell).
    """

    home: Path
    database_url: str
    artifact_uri: str
    url: str | None = None
    api_key: str | None = None
    trusted_signers: tuple[Path, ...] = ()
    alert_command: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables, applying the documented defaults."""
        env = os.environ if environ is None else environ
        home = Path(env.get("SHIPYARD_HOME") or Path.home() / ".shipyard").expanduser()
        return cls(
            home=home,
            database_url=env.get("SHIPYARD_DATABASE_URL") or f"sqlite:///{home / 'shipyard.db'}",
            artifact_uri=env.get("SHIPYARD_ARTIFACT_URI") or str(home / "artifacts"),
            url=env.get("SHIPYARD_URL") or None,
            api_key=env.get("SHIPYARD_API_KEY") or None,
            trusted_signers=tuple(
                Path(p).expanduser()
                for p in (env.get("SHIPYARD_TRUSTED_SIGNERS") or "").split(os.pathsep)
                if p
            ),
            alert_command=env.get("SHIPYARD_ALERT_COMMAND") or None,
        )

    @classmethod
    def for_home(cls, home: Path) -> Settings:
        """Defaults for an explicit home directory (SQLite file + local artifacts inside it)."""
        return cls.from_env({"SHIPYARD_HOME": str(home)})

    @property
    def cache_dir(self) -> Path:
        """Where verified copies of artifacts are materialised for loading."""
        return self.home / "cache"
