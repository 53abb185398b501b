"""First-run set-up: the home directory, the schema, and the first admin API key."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.artifacts import open_artifact_store
from shipyard.core.settings import Settings
from shipyard.core.types import ApiKey
from shipyard.registry.service import Registry, utcnow
from shipyard.store import upgrade_schema


@dataclass(frozen=True, slots=True)
class Initialisation:
    """Outcome of ``initialise``: schema revisions and the admin key, if one was created."""

    revision_before: str | None
    revision_after: str
    admin_key: ApiKey | None
    admin_secret: str | None


def initialise(settings: Settings, *, actor: str | None = None) -> Initialisation:
    """Create home, schema and artifact store; create an admin key if there is none yet.

    Idempotent: running it again upgrades nothing that is current and creates no second key.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    before, after = upgrade_schema(settings.database_url)
    open_artifact_store(settings.artifact_uri).check()
    with Registry.open(settings, actor=actor) as registry:
        created = registry.create_first_admin_key()
        key, secret = created if created is not None else (None, None)
        if before is None:
            with registry.store.session(write=True) as s:
                s.audit.append(
                    actor=registry.actor,
                    action="system.init",
                    target="shipyard",
                    details={"schema_revision": after, "home": str(settings.home)},
                    at=utcnow(),
                )
    return Initialisation(before, after, key, secret)
