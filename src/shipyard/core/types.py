"""Plain domain types shared by every layer: models, versions, signatures, audit entries, keys.

No I/O and no third-party imports here; stores map their rows to these types and callers only
ever see these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shipyard.core.errors import InvalidNameError

MODEL_NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
MODEL_NAME_RULE = (
    "1-64 characters: lower-case letters, digits, '.', '_' or '-', starting and ending with a "
    "letter or digit (it becomes part of URLs)"
)


def validate_model_name(name: str) -> str:
    """Return ``name`` if it is a valid model name.

    Raises:
        InvalidNameError: naming the rule the name breaks.
    """
    if not MODEL_NAME_PATTERN.fullmatch(name):
        raise InvalidNameError(f"Invalid model name {name!r}: use {MODEL_NAME_RULE}.")
    return name


def _when(value: str | None) -> datetime | None:
    """An optional ISO 8601 field of a ``to_dict`` form back as a datetime."""
    return datetime.fromisoformat(value) if value else None


class Status(StrEnum):
    """Lifecycle status of a model version."""

    REGISTERED = "registered"
    STAGING = "staging"
    PENDING_APPROVAL = "pending_approval"  # production requested, waiting for approvers
    PRODUCTION = "production"
    ARCHIVED = "archived"
    REJECTED = "rejected"


class DType(StrEnum):
    """Column types of a signature (the names MLflow users know)."""

    BOOLEAN = "boolean"
    LONG = "long"
    DOUBLE = "double"
    STRING = "string"
    DATETIME = "datetime"

    @property
    def is_numeric(self) -> bool:
        """True for types whose values are numbers."""
        return self in (DType.LONG, DType.DOUBLE, DType.BOOLEAN)


class Role(StrEnum):
    """API key roles, each including the powers of those listed before it (but predictor)."""

    PREDICTOR = "predictor"
    VIEWER = "viewer"
    REVIEWER = "reviewer"
    DEPLOYER = "deployer"
    APPROVER = "approver"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One named, typed column of a model's input or output."""

    name: str
    dtype: DType
    nullable: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "type": self.dtype.value, "nullable": self.nullable}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(data["name"], DType(data["type"]), bool(data.get("nullable", False)))


@dataclass(frozen=True, slots=True)
class Signature:
    """Input and output schema of a model version.

    ``inputs`` are in the order the model expects them. ``classes`` are the labels of the
    columns of ``predict_proba`` for classifiers.
    """

    inputs: tuple[ColumnSpec, ...]
    outputs: tuple[ColumnSpec, ...] = ()
    classes: tuple[Any, ...] | None = None

    @property
    def input_names(self) -> list[str]:
        """Input column names in model order."""
        return [c.name for c in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "inputs": [c.to_dict() for c in self.inputs],
            "outputs": [c.to_dict() for c in self.outputs],
            "classes": list(self.classes) if self.classes is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        """Inverse of :meth:`to_dict`."""
        classes = data.get("classes")
        return cls(
            inputs=tuple(ColumnSpec.from_dict(c) for c in data.get("inputs", [])),
            outputs=tuple(ColumnSpec.from_dict(c) for c in data.get("outputs", [])),
            classes=tuple(classes) if classes is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a model version came from."""

    data_version: str | None = None
    data_sha256: str | None = None
    data_path: str | None = None
    code_commit: str | None = None
    code_dirty: bool | None = None
    code_repository: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    trained_at: datetime | None = None
    source: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "data_version": self.data_version,
            "data_sha256": self.data_sha256,
            "data_path": self.data_path,
            "code_commit": self.code_commit,
            "code_dirty": self.code_dirty,
            "code_repository": self.code_repository,
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "trained_at": self.trained_at.isoformat() if self.trained_at else None,
            "source": dict(self.source),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lineage:
        """Inverse of :meth:`to_dict`."""
        trained = data.get("trained_at")
        return cls(
            data_version=data.get("data_version"),
            data_sha256=data.get("data_sha256"),
            data_path=data.get("data_path"),
            code_commit=data.get("code_commit"),
            code_dirty=data.get("code_dirty"),
            code_repository=data.get("code_repository"),
            params=dict(data.get("params") or {}),
            metrics={k: float(v) for k, v in (data.get("metrics") or {}).items()},
            trained_at=datetime.fromisoformat(trained) if trained else None,
            source=dict(data.get("source") or {}),
        )


@dataclass(frozen=True, slots=True)
class ModelCard:
    """The human part of a version record, as a governance reviewer reads it."""

    description: str | None = None
    intended_use: str | None = None
    limitations: str | None = None
    notes: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready form."""
        return {
            "description": self.description,
            "intended_use": self.intended_use,
            "limitations": self.limitations,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        """Inverse of :meth:`to_dict`."""
        return cls(
            description=data.get("description"),
            intended_use=data.get("intended_use"),
            limitations=data.get("limitations"),
            notes=data.get("notes"),
        )


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """An immutable blob in the artifact store."""

    sha256: str
    size: int
    filename: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"sha256": self.sha256, "size": self.size, "filename": self.filename}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactRef:
        """Inverse of :meth:`to_dict`."""
        return cls(sha256=data["sha256"], size=int(data["size"]), filename=data["filename"])


@dataclass(frozen=True, slots=True)
class Model:
    """A named family of versions."""

    name: str
    owner: str | None
    description: str | None
    created_at: datetime
    created_by: str
    latest_version: int
    production_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "owner": self.owner,
            "description": self.description,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "latest_version": self.latest_version,
            "production_version": self.production_version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        """Inverse of :meth:`to_dict` (extra keys, such as the API's ``versions``, are ignored)."""
        return cls(
            name=data["name"],
            owner=data.get("owner"),
            description=data.get("description"),
            created_at=datetime.fromisoformat(data["created_at"]),
            created_by=data["created_by"],
            latest_version=int(data["latest_version"]),
            production_version=data.get("production_version"),
        )


@dataclass(frozen=True, slots=True)
class ArtifactSignature:
    """A signer's Ed25519 signature of an artifact's SHA-256 (see ``security.signing``)."""

    algorithm: str
    key_id: str
    public_key: str  # base64 of the raw public key
    value: str  # base64 of the signature

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "algorithm": self.algorithm,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactSignature:
        """Inverse of :meth:`to_dict`."""
        return cls(data["algorithm"], data["key_id"], data["public_key"], data["value"])


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One immutable registered version and its governance record."""

    model: str
    version: int
    flavor: str
    artifact: ArtifactRef
    signature: Signature | None
    lineage: Lineage
    card: ModelCard
    owner: str | None
    created_by: str
    created_at: datetime
    status: Status
    status_changed_at: datetime
    production_since: datetime | None
    previous_version: int | None
    reference_profile: dict[str, Any] | None
    reference_sample: ArtifactRef | None
    trust_pickle: bool = False
    trusted_types: tuple[str, ...] = ()
    artifact_signature: ArtifactSignature | None = None

    @property
    def ref(self) -> str:
        """``name:version``, as the CLI spells it."""
        return f"{self.model}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` shape of ``models show NAME:VERSION``)."""
        return {
            "model": self.model,
            "version": self.version,
            "flavor": self.flavor,
            "status": self.status.value,
            "status_changed_at": self.status_changed_at.isoformat(),
            "production_since": (
                self.production_since.isoformat() if self.production_since else None
            ),
            "previous_version": self.previous_version,
            "owner": self.owner,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "artifact": self.artifact.to_dict(),
            "signature": self.signature.to_dict() if self.signature else None,
            "lineage": self.lineage.to_dict(),
            "card": self.card.to_dict(),
            "reference_profile": self.reference_profile,
            "reference_sample": self.reference_sample.to_dict() if self.reference_sample else None,
            "trust_pickle": self.trust_pickle,
            "trusted_types": list(self.trusted_types),
            "artifact_signature": (
                self.artifact_signature.to_dict() if self.artifact_signature else None
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelVersion:
        """Inverse of :meth:`to_dict` (extra keys, such as ``history``, are ignored)."""
        signature = data.get("signature")
        sample = data.get("reference_sample")
        return cls(
            model=data["model"],
            version=int(data["version"]),
            flavor=data["flavor"],
            artifact=ArtifactRef.from_dict(data["artifact"]),
            signature=Signature.from_dict(signature) if signature is not None else None,
            lineage=Lineage.from_dict(data.get("lineage") or {}),
            card=ModelCard.from_dict(data.get("card") or {}),
            owner=data.get("owner"),
            created_by=data["created_by"],
            created_at=datetime.fromisoformat(data["created_at"]),
            status=Status(data["status"]),
            status_changed_at=datetime.fromisoformat(data["status_changed_at"]),
            production_since=_when(data.get("production_since")),
            previous_version=data.get("previous_version"),
            reference_profile=data.get("reference_profile"),
            reference_sample=ArtifactRef.from_dict(sample) if sample is not None else None,
            trust_pickle=bool(data.get("trust_pickle", False)),
            trusted_types=tuple(data.get("trusted_types") or ()),
            artifact_signature=(
                ArtifactSignature.from_dict(data["artifact_signature"])
                if data.get("artifact_signature")
                else None
            ),
        )


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One move of a version between statuses: who, when, why."""

    model: str
    version: int
    from_status: Status | None
    to_status: Status
    actor: str
    at: datetime
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "version": self.version,
            "from_status": self.from_status.value if self.from_status else None,
            "to_status": self.to_status.value,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StatusChange:
        """Inverse of :meth:`to_dict`."""
        before = data.get("from_status")
        return cls(
            model=data["model"],
            version=int(data["version"]),
            from_status=Status(before) if before is not None else None,
            to_status=Status(data["to_status"]),
            actor=data["actor"],
            at=datetime.fromisoformat(data["at"]),
            reason=data.get("reason"),
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One append-only, hash-chained record of a change."""

    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        """Inverse of :meth:`to_dict`."""
        return cls(
            seq=int(data["seq"]),
            at=datetime.fromisoformat(data["at"]),
            actor=data["actor"],
            action=data["action"],
            target=data["target"],
            details=dict(data.get("details") or {}),
            prev_hash=data["prev_hash"],
            hash=data["hash"],
        )


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's public record (its secret is never stored)."""

    id: str
    name: str
    role: Role
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiKey:
        """Inverse of :meth:`to_dict` (a ``secret`` key, if present, is ignored)."""
        return cls(
            id=data["id"],
            name=data["name"],
            role=Role(data["role"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            created_by=data["created_by"],
            expires_at=_when(data.get("expires_at")),
            revoked_at=_when(data.get("revoked_at")),
        )
