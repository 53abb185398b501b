"""First-run set-up: the home directory, the schema, and the first admin API key."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.artifacts import open_artifact_store
from shipyard.core.settings import Settings
from shipyard.core.types import ApiKey, Role
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
        key = secret = None
        if not any(k.role == Role.ADMIN and k.revoked_at is None for k in registry.list_keys()):
            key, secret = registry.create_key(Role.ADMIN, name="admin")
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
