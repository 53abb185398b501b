"""SQL implementation of ModelRepository: models, versions, status history.

Version numbers come from ``models.latest_version``, incremented with ``UPDATE … RETURNING`` in
the transaction that inserts the version: the row lock makes concurrent registrations queue, so
numbers are unique and gap-free on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shipyard.core.errors import ModelNotFoundError, VersionNotFoundError
from shipyard.core.types import (
    ArtifactRef,
    ArtifactSignature,
    Lineage,
    Model,
    ModelCard,
    ModelVersion,
    Signature,
    Status,
    StatusChange,
)
from shipyard.store.protocols import NewVersion
from shipyard.store.schema import model_versions as mv
from shipyard.store.schema import models as m
from shipyard.store.schema import status_changes as sc


class SqlModelRepository:
    """ModelRepository over one SQLAlchemy connection (inside a transaction)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    # -- models ---------------------------------------------------------------------------

    def ensure_model(
        self, name: str, *, owner: str | None, description: str | None, actor: str, at: datetime
    ) -> bool:
        """See ModelRepository.ensure_model."""
        values = {
            "name": name,
            "owner": owner,
            "description": description,
            "created_at": at,
            "created_by": actor,
            "latest_version": 0,
        }
        dialect = self._c.dialect.name
        insert = postgresql.insert(m) if dialect == "postgresql" else sqlite.insert(m)
        statement = insert.values(**values).on_conflict_do_nothing(index_elements=["name"])
        return self._c.execute(statement.returning(m.c.id)).first() is not None

    def get_model(self, name: str) -> Model:
        """See ModelRepository.get_model."""
        row = self._c.execute(self._model_query().where(m.c.name == name)).one_or_none()
        if row is None:
            raise ModelNotFoundError(
                f"No model named {name!r}. `shipyard models list` shows the registered models."
            )
        return _model(row)

    def list_models(self) -> list[Model]:
        """See ModelRepository.list_models."""
        return [_model(r) for r in self._c.execute(self._model_query().order_by(m.c.name))]

    def _model_query(self) -> sa.Select[Any]:
        prod = (
            sa.select(mv.c.version)
            .where(mv.c.model_id == m.c.id, mv.c.status == Status.PRODUCTION.value)
            .scalar_subquery()
        )
        return sa.select(m, prod.label("production_version"))

    def _model_id(self, name: str) -> int:
        model_id = self._c.execute(sa.select(m.c.id).where(m.c.name == name)).scalar_one_or_none()
        if model_id is None:
            self.get_model(name)  # raises the not-found error with its message
        return int(model_id)  # type: ignore[arg-type]

    def lock_model(self, name: str) -> None:
        """See ModelRepository.lock_model."""
        query = sa.select(m.c.id).where(m.c.name == name).with_for_update()
        if self._c.execute(query).scalar_one_or_none() is None:
            self.get_model(name)

    # -- versions -------------------------------------------------------------------------

    def add_version(self, name: str, new: NewVersion) -> ModelVersion:
        """See ModelRepository.add_version."""
        number = self._c.execute(
            sa.update(m)
            .where(m.c.name == name)
            .values(latest_version=m.c.latest_version + 1)
            .returning(m.c.id, m.c.latest_version)
        ).one_or_none()
        if number is None:
            self.get_model(name)
        model_id, version = int(number[0]), int(number[1])  # type: ignore[index]
        production = self.production_version(name)
        previous = production.version if production else (version - 1 or None)
        lineage = new.lineage
        version_id = self._c.execute(
            sa.insert(mv)
            .values(
                model_id=model_id,
                version=version,
                flavor=new.flavor,
                artifact_sha256=new.artifact.sha256,
                artifact_size=new.artifact.size,
                artifact_filename=new.artifact.filename,
                signature=new.signature.to_dict() if new.signature else None,
                data_version=lineage.data_version,
                data_sha256=lineage.data_sha256,
                code_commit=lineage.code_commit,
                lineage=lineage.to_dict(),
                description=new.card.description,
                intended_use=new.card.intended_use,
                limitations=new.card.limitations,
                notes=new.card.notes,
                owner=new.owner,
                created_by=new.created_by,
                created_at=new.created_at,
                status=Status.REGISTERED.value,
                status_changed_at=new.created_at,
                production_since=None,
                previous_version=previous,
                reference_profile=new.reference_profile,
                reference_sample_sha256=(
                    new.reference_sample.sha256 if new.reference_sample else None
                ),
                reference_sample_size=new.reference_sample.size if new.reference_sample else None,
                trust_pickle=new.trust_pickle,
                trusted_types=list(new.trusted_types) or None,
                artifact_signature=(
                    new.artifact_signature.to_dict() if new.artifact_signature else None
                ),
            )
            .returning(mv.c.id)
        ).scalar_one()
        self._c.execute(
            sa.insert(sc).values(
                version_id=version_id,
                from_status=None,
                to_status=Status.REGISTERED.value,
                actor=new.created_by,
                at=new.created_at,
                reason="registered",
            )
        )
        return self.get_version(name, version)

    def _version_query(self) -> sa.Select[Any]:
        return sa.select(mv, m.c.name.label("model_name")).join(m, m.c.id == mv.c.model_id)

    def get_version(self, name: str, version: int) -> ModelVersion:
        """See ModelRepository.get_version."""
        row = self._c.execute(
            self._version_query().where(m.c.name == name, mv.c.version == version)
        ).one_or_none()
        if row is None:
            model = self.get_model(name)
            raise VersionNotFoundError(
                f"Model {name!r} has no version {version} (latest is {model.latest_version})."
            )
        return _version(row)

    def list_versions(self, name: str) -> list[ModelVersion]:
        """See ModelRepository.list_versions."""
        model_id = self._model_id(name)
        rows = self._c.execute(
            self._version_query().where(mv.c.model_id == model_id).order_by(mv.c.version.desc())
        )
        return [_version(r) for r in rows]

    def production_version(self, name: str) -> ModelVersion | None:
        """See ModelRepository.production_version."""
        row = self._c.execute(
            self._version_query().where(m.c.name == name, mv.c.status == Status.PRODUCTION.value)
        ).one_or_none()
        return _version(row) if row is not None else None

    def set_status(
        self,
        name: str,
        version: int,
        status: Status,
        *,
        actor: str,
        at: datetime,
        reason: str | None,
    ) -> ModelVersion:
        """See ModelRepository.set_status."""
        current = self.get_version(name, version)
        row = self._c.execute(
            sa.select(mv.c.id)
            .join(m, m.c.id == mv.c.model_id)
            .where(m.c.name == name, mv.c.version == version)
        ).scalar_one()
        values: dict[str, Any] = {"status": status.value, "status_changed_at": at}
        if status == Status.PRODUCTION:
            values["production_since"] = at
        elif current.status == Status.PRODUCTION:
            values["production_since"] = None
        self._c.execute(sa.update(mv).where(mv.c.id == row).values(**values))
        self._c.execute(
            sa.insert(sc).values(
                version_id=row,
                from_status=current.status.value,
                to_status=status.value,
                actor=actor,
                at=at,
                reason=reason,
            )
        )
        return self.get_version(name, version)

    def status_history(self, name: str, version: int | None = None) -> list[StatusChange]:
        """See ModelRepository.status_history."""
        model_id = self._model_id(name)
        query = (
            sa.select(sc, mv.c.version)
            .join(mv, mv.c.id == sc.c.version_id)
            .where(mv.c.model_id == model_id)
            .order_by(sc.c.id)
        )
        if version is not None:
            query = query.where(mv.c.version == version)
        return [
            StatusChange(
                model=name,
                version=r.version,
                from_status=Status(r.from_status) if r.from_status else None,
                to_status=Status(r.to_status),
                actor=r.actor,
                at=r.at,
                reason=r.reason,
            )
            for r in self._c.execute(query)
        ]


def _model(row: sa.Row[Any]) -> Model:
    return Model(
        name=row.name,
        owner=row.owner,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        latest_version=row.latest_version,
        production_version=row.production_version,
    )


def _version(row: sa.Row[Any]) -> ModelVersion:
    sample = (
        ArtifactRef(row.reference_sample_sha256, row.reference_sample_size, "reference.parquet")
        if row.reference_sample_sha256
        else None
    )
    return ModelVersion(
        model=row.model_name,
        version=row.version,
        flavor=row.flavor,
        artifact=ArtifactRef(row.artifact_sha256, row.artifact_size, row.artifact_filename),
        signature=Signature.from_dict(row.signature) if row.signature else None,
        lineage=Lineage.from_dict(row.lineage),
        card=ModelCard(
            description=row.description,
            intended_use=row.intended_use,
            limitations=row.limitations,
            notes=row.notes,
        ),
        owner=row.owner,
        created_by=row.created_by,
        created_at=row.created_at,
        status=Status(row.status),
        status_changed_at=row.status_changed_at,
        production_since=row.production_since,
        previous_version=row.previous_version,
        reference_profile=row.reference_profile,
        reference_sample=sample,
        trust_pickle=bool(row.trust_pickle),
        trusted_types=tuple(row.trusted_types or ()),
        artifact_signature=(
            ArtifactSignature.from_dict(row.artifact_signature) if row.artifact_signature else None
        ),
    )
