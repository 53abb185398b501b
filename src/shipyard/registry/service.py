"""The registry's use cases: register, read, promote, load; and the audit log and API keys.

``Registry`` is the SDK's entry point and what the CLI (and later the API) call. It owns no SQL:
it works through the store's Protocols and the artifact store, in this order for writes —
stage files privately, store immutable blobs, then commit the version row and its audit
entries in one transaction — so a failure at any step leaves no version and no partial blob.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shipyard.artifacts import ArtifactStore, file_sha256, open_artifact_store
from shipyard.artifacts.packing import DIRECTORY_SUFFIX, unpack_directory
from shipyard.core.auditchain import ChainVerification, verify_chain
from shipyard.core.errors import ConflictError, InvalidInputError
from shipyard.core.governance import RequestState
from shipyard.core.lifecycle import check_move
from shipyard.core.settings import Settings
from shipyard.core.types import (
    ApiKey,
    ArtifactRef,
    AuditEntry,
    Lineage,
    Model,
    ModelCard,
    ModelVersion,
    Role,
    Status,
    StatusChange,
    validate_model_name,
)
from shipyard.flavors import Predictor, Trust, load_predictor
from shipyard.registry.alerts import Alerts
from shipyard.registry.approvals import Approvals
from shipyard.registry.endpoints import Endpoints
from shipyard.registry.gating import Gates
from shipyard.registry.lineage import git_state, local_actor
from shipyard.registry.monitoring_settings import MonitoringSettingsService
from shipyard.registry.promotion import apply_move
from shipyard.registry.refs import parse_exact_ref, parse_ref
from shipyard.registry.registration import (
    DEFAULT_REFERENCE_ROWS,
    prepare_artifact,
    prepare_sample,
    stage_artifact,
)
from shipyard.registry.rollouts import Rollouts
from shipyard.security.keys import generate_key, hash_secret
from shipyard.security.signing import load_signing_key, sign_artifact
from shipyard.store import MetadataStore, NewVersion, open_store


def _remove_trees_of_exited_processes(cache: Path) -> None:
    for tree in cache.glob("tree-*-*"):
        pid = tree.name.split("-")[1]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_exists(int(pid)):
            shutil.rmtree(tree, ignore_errors=True)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only clock the registry reads)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Registration:
    """Outcome of ``Registry.register``."""

    version: ModelVersion
    created_model: bool
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LoadedVersion:
    """A version record with its verified, loaded predictor."""

    version: ModelVersion
    predictor: Predictor


class Registry:
    """Versioned models with lineage and integrity, their lifecycle, and the audit trail."""

    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        settings: Settings,
        *,
        actor: str | None = None,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.settings = settings
        self.actor = actor or local_actor()

    @classmethod
    def open(cls, settings: Settings | None = None, *, actor: str | None = None) -> Registry:
        """Open the registry described by ``settings`` (default: the environment).

        Raises:
            DatabaseUnavailableError, SchemaOutOfDateError, ConfigurationError.
        """
        settings = settings or Settings.from_env()
        store = open_store(settings.database_url)
        return cls(store, open_artifact_store(settings.artifact_uri), settings, actor=actor)

    def close(self) -> None:
        """Release database connections."""
        self.store.close()

    def as_actor(self, actor: str) -> Registry:
        """The same registry acting as ``actor`` (it shares connections: close only one)."""
        return Registry(self.store, self.artifacts, self.settings, actor=actor)

    def now(self) -> datetime:
        """The registry's clock (UTC): one place to read time for every record."""
        return utcnow()

    @property
    def endpoints(self) -> Endpoints:
        """Endpoints and their traffic policies, changed as this registry's actor."""
        return Endpoints(self)

    @property
    def gates(self) -> Gates:
        """Gate policies, gate checks and evidence stored on versions."""
        return Gates(self)

    @property
    def rollouts(self) -> Rollouts:
        """Automated progressive rollouts of endpoints."""
        return Rollouts(self)

    @property
    def alerts(self) -> Alerts:
        """Alert rules per endpoint, and the alerts they raised."""
        return Alerts(self)

    @property
    def approvals(self) -> Approvals:
        """Promotion requests and their approvals."""
        return Approvals(self)

    @property
    def monitoring_settings(self) -> MonitoringSettingsService:
        """Monitoring settings per model (drift tests, thresholds, rows), with history."""
        return MonitoringSettingsService(self)

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- reads ----------------------------------------------------------------------------

    def list_models(self) -> list[Model]:
        """All registered models."""
        with self.store.session() as s:
            return s.models.list_models()

    def get_model(self, name: str) -> Model:
        """One model (raises ModelNotFoundError)."""
        with self.store.session() as s:
            return s.models.get_model(name)

    def list_versions(self, name: str) -> list[ModelVersion]:
        """A model's versions, newest first."""
        with self.store.session() as s:
            return s.models.list_versions(name)

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion:
        """Resolve ``name``, ``name:N``, ``name:latest`` or ``name:production`` to a version."""
        name, selector = parse_ref(ref) if version is None else (ref, str(version))
        with self.store.session() as s:
            if selector == "production":
                found = s.models.production_version(name)
                if found is None:
                    s.models.get_model(name)
                    raise ConflictError(
                        f"Model {name!r} has no version in production. Promote one with "
                        f"`shipyard promote {name}:VERSION --to production`."
                    )
                return found
            if selector in (None, "latest"):
                return s.models.get_version(name, s.models.get_model(name).latest_version)
            return s.models.get_version(name, int(selector))

    def history(self, name: str, version: int | None = None) -> list[StatusChange]:
        """Who moved which version to which status, when and why (oldest first)."""
        with self.store.session() as s:
            return s.models.status_history(name, version)

    # -- register -------------------------------------------------------------------------

    def register(
        self,
        name: str,
        artifact: str | Path,
        *,
        flavor: str | None = None,
        sample_data: str | Path | None = None,
        target: str | None = None,
        sensitive: Sequence[str] = (),
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        data_version: str | None = None,
        training_data: str | Path | None = None,
        code_commit: str | None = None,
        trained_at: datetime | None = None,
        description: str | None = None,
        intended_use: str | None = None,
        limitations: str | None = None,
        notes: str | None = None,
        owner: str | None = None,
        trust_pickle: bool = False,
        trust_types: Sequence[str] = (),
        reference_rows: int = DEFAULT_REFERENCE_ROWS,
        sign_key: str | Path | None = None,
    ) -> Registration:
        """Register a new version of ``name`` (creating the model on first use).

        With ``sign_key`` (an Ed25519 private key, PEM) the artifact's SHA-256 is signed and the
        signature stored with the version, for gates that require a trusted signature.

        Raises:
            InvalidNameError, ArtifactNotFoundError, FlavorDetectionError, UnsafeArtifactError,
            ModelLoadError, DataFileError, SampleDataMismatchError, ArtifactStoreUnavailableError.
        """
        validate_model_name(name)
        bad_metrics = [k for k, v in (metrics or {}).items() if not math.isfinite(float(v))]
        if bad_metrics:
            raise InvalidInputError(
                f"Metric {bad_metrics[0]!r} is not a finite number; record a real value or "
                "leave the metric out."
            )
        if training_data is not None and not Path(training_data).is_file():
            raise InvalidInputError(f"Training data file {training_data} does not exist.")
        if reference_rows < 1:
            raise InvalidInputError("reference_rows must be at least 1.")
        signing_key = load_signing_key(Path(sign_key)) if sign_key is not None else None
        trust = Trust(pickle=trust_pickle, types=tuple(trust_types))
        prepared = prepare_artifact(Path(artifact), flavor, trust)
        self.artifacts.check()
        sample_path = Path(sample_data) if sample_data is not None else None
        with tempfile.TemporaryDirectory(prefix="shipyard-register-") as tmp:
            workdir = Path(tmp)
            sample = None
            signature = prepared.signature
            if sample_path is not None:
                sample = prepare_sample(
                    prepared,
                    sample_path,
                    target=target,
                    sensitive=sensitive,
                    reference_rows=reference_rows,
                    workdir=workdir,
                )
                signature = sample.signature
            staged, filename = stage_artifact(prepared, workdir)
            sha256, size = self.artifacts.put_file(staged)
            reference = None
            if sample is not None:
                sample_sha, sample_size = self.artifacts.put_file(sample.sample_file)
                reference = ArtifactRef(sample_sha, sample_size, "reference.parquet")
        lineage = self._lineage(
            prepared.source,
            sample_path,
            training_data,
            data_version,
            code_commit,
            params,
            metrics,
            trained_at,
        )
        signed = sign_artifact(sha256, signing_key) if signing_key is not None else None
        now = utcnow()
        uses_pickle = prepared.flavor == "pickle"
        with self.store.session(write=True) as s:
            created = s.models.ensure_model(
                name, owner=owner, description=None, actor=self.actor, at=now
            )
            model = s.models.get_model(name)
            if created:
                s.audit.append(
                    actor=self.actor,
                    action="model.create",
                    target=name,
                    details={"owner": owner},
                    at=now,
                )
            version = s.models.add_version(
                name,
                NewVersion(
                    flavor=prepared.flavor,
                    artifact=ArtifactRef(sha256, size, filename),
                    signature=signature,
                    lineage=lineage,
                    card=ModelCard(description, intended_use, limitations, notes),
                    owner=owner or model.owner,
                    created_by=self.actor,
                    created_at=now,
                    reference_profile=sample.profile if sample else None,
                    reference_sample=reference,
                    trust_pickle=uses_pickle,
                    trusted_types=trust.types,
                    artifact_signature=signed,
                ),
            )
            s.audit.append(
                actor=self.actor,
                action="version.register",
                target=version.ref,
                details={
                    "flavor": version.flavor,
                    "artifact_sha256": sha256,
                    "artifact_size": size,
                    "data_sha256": lineage.data_sha256,
                    "code_commit": lineage.code_commit,
                    "reference_sample_sha256": reference.sha256 if reference else None,
                    "signed_by": signed.key_id if signed else None,
                },
                at=now,
            )
            if uses_pickle:
                s.audit.append(
                    actor=self.actor,
                    action="artifact.trust_pickle",
                    target=version.ref,
                    details={"artifact_sha256": sha256, "filename": filename},
                    at=now,
                )
            if trust.types:
                s.audit.append(
                    actor=self.actor,
                    action="artifact.trust_types",
                    target=version.ref,
                    details={"types": list(trust.types), "artifact_sha256": sha256},
                    at=now,
                )
        return Registration(version, created, prepared.warnings)

    def _lineage(
        self,
        source: dict[str, Any],
        sample_path: Path | None,
        training_data: str | Path | None,
        data_version: str | None,
        code_commit: str | None,
        params: Mapping[str, Any] | None,
        metrics: Mapping[str, float] | None,
        trained_at: datetime | None,
    ) -> Lineage:
        data_file = Path(training_data) if training_data is not None else sample_path
        data_sha = None
        if data_file is not None:
            if not data_file.is_file():
                raise InvalidInputError(f"Training data file {data_file} does not exist.")
            data_sha, _ = file_sha256(data_file)
        dirty = repository = None
        if code_commit is None and (state := git_state(Path.cwd())) is not None:
            code_commit, dirty, repository = state.commit, state.dirty, state.repository
        if trained_at is not None and trained_at.tzinfo is None:
            trained_at = trained_at.replace(tzinfo=UTC)
        return Lineage(
            data_version=data_version,
            data_sha256=data_sha,
            data_path=str(data_file.resolve()) if data_file else None,
            code_commit=code_commit,
            code_dirty=dirty,
            code_repository=repository,
            params={k: str(v) for k, v in (params or {}).items()},
            metrics={k: float(v) for k, v in (metrics or {}).items()},
            trained_at=trained_at,
            source=source,
        )

    # -- lifecycle ------------------------------------------------------------------------

    def promote(self, ref: str, to: Status | str, *, reason: str | None = None) -> ModelVersion:
        """Move a version to ``to``; promoting to production archives the previous one.

        A move to production first requires the version to pass its gates under the model's
        current policy; if the policy asks for approvals, the version then waits in
        ``pending_approval`` (the returned status) until approvers other than the caller
        approve it. Moving a pending version anywhere else withdraws its request.

        Raises:
            InvalidTransitionError: if the lifecycle forbids the move.
            GatesFailedError: production refused; the message lists every failed check.
            ConflictError: production is already waiting for approvals.
            ModelNotFoundError, VersionNotFoundError.
        """
        name, number = parse_exact_ref(ref, "promote")
        try:
            target = Status(to)
        except ValueError:
            raise InvalidInputError(
                f"Unknown status {to!r}; use one of: staging, production, archived, rejected."
            ) from None
        if target == Status.REGISTERED:
            raise InvalidInputError("A version cannot be moved back to 'registered'.")
        if target == Status.PENDING_APPROVAL:
            raise InvalidInputError(
                f"Request production instead: `shipyard promote {name}:{number} --to production` "
                "waits for approvals when the model's gate policy asks for them."
            )
        if target == Status.PRODUCTION:
            current = self.get_version(name, number)
            check_move(current.ref, current.status, target)
            if current.status == Status.PENDING_APPROVAL:
                raise ConflictError(
                    f"{current.ref} is already waiting for approval; an approver runs "
                    f"`shipyard approve {current.ref}`."
                )
            self.gates.enforce(current)
            required = self.gates.policy(name).policy.approvals
            if required > 0:
                moved, _ = self.approvals.request(current, required, reason)
                return moved
        return self._move(name, number, target, reason)

    def _move(self, name: str, number: int, target: Status, reason: str | None) -> ModelVersion:
        now = utcnow()
        with self.store.session(write=True) as s:
            s.models.lock_model(name)
            current = s.models.get_version(name, number)
            check_move(current.ref, current.status, target)
            if current.status == Status.PENDING_APPROVAL:
                request = s.governance.pending_request(name, number)
                if request is not None:
                    state = (
                        RequestState.REJECTED
                        if target == Status.REJECTED
                        else RequestState.WITHDRAWN
                    )
                    s.governance.close_request(request.id, state, now)
            moved, replaced = apply_move(
                s, name, number, target, actor=self.actor, at=now, reason=reason
            )
            s.audit.append(
                actor=self.actor,
                action="version.promote",
                target=moved.ref,
                details={
                    "from": current.status.value,
                    "to": target.value,
                    "reason": reason,
                    "replaced_version": replaced.version if replaced else None,
                },
                at=now,
            )
        return moved

    # -- loading --------------------------------------------------------------------------

    def fetch_artifact(self, version: ModelVersion) -> Path:
        """A verified local copy of the version's artifact (a directory for packed ones).

        Raises:
            IntegrityError: naming the expected and actual SHA-256; nothing is loaded.
            ArtifactNotFoundError.
        """
        sha = version.artifact.sha256
        cache = self.settings.cache_dir / "artifacts" / sha
        is_directory = version.artifact.filename.endswith(DIRECTORY_SUFFIX)
        name = "artifact.tar" if is_directory else version.artifact.filename
        path = self.artifacts.fetch(sha, cache / name)
        if not is_directory:
            return path
        # A fresh directory per load: a loaded model may read its files lazily, so another
        # process loading the same version must never replace them underneath it. Trees of
        # processes that have exited are removed, so the cache does not grow with each load.
        _remove_trees_of_exited_processes(cache)
        unpacked = Path(tempfile.mkdtemp(prefix=f"tree-{os.getpid()}-", dir=cache))
        return unpack_directory(path, unpacked / version.artifact.filename.rstrip("/"))

    def reference_table(self, version: ModelVersion) -> pa.Table:
        """The version's reference sample (verified against its SHA-256) as an Arrow table.

        Columns: the input features, the target and sensitive columns given at registration,
        and ``prediction`` (the version's own predictions on the sample).

        Raises:
            InvalidInputError: the version was registered without ``--sample-data``.
            IntegrityError, ArtifactNotFoundError.
        """
        sample = version.reference_sample
        if sample is None:
            raise InvalidInputError(
                f"{version.ref} has no reference data: it was registered without "
                "--sample-data, so there is nothing to compare with. Register the model again "
                "with --sample-data FILE."
            )
        with tempfile.TemporaryDirectory(prefix="shipyard-reference-") as tmp:
            path = self.artifacts.fetch(sample.sha256, Path(tmp) / "reference.parquet")
            return pq.read_table(path)

    def load(self, ref: str, version: int | None = None) -> LoadedVersion:
        """Fetch (verifying the hash) and load a version's predictor."""
        record = self.get_version(ref, version)
        path = self.fetch_artifact(record)
        trust = Trust(pickle=record.trust_pickle, types=record.trusted_types)
        return LoadedVersion(record, load_predictor(record.flavor, path, trust))

    # -- audit ----------------------------------------------------------------------------

    def audit_entries(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        target: str | None = None,
        before_seq: int | None = None,
    ) -> list[AuditEntry]:
        """Newest audit entries first."""
        with self.store.session() as s:
            return s.audit.list(limit=limit, action=action, target=target, before_seq=before_seq)

    def record_event(self, action: str, target: str, details: Mapping[str, Any]) -> None:
        """Append an audit entry for something that happened outside a registry write.

        Used by the servers, e.g. for a version that failed to load or verify.
        """
        with self.store.session(write=True) as s:
            s.audit.append(
                actor=self.actor, action=action, target=target, details=dict(details), at=utcnow()
            )

    def verify_audit(self) -> ChainVerification:
        """Check the whole hash chain; reports the first entry edited, deleted or reordered."""
        with self.store.session() as s:
            head_seq, head_hash = s.audit.head()
            return verify_chain(s.audit.iter_all(), head_seq, head_hash)

    # -- API keys -------------------------------------------------------------------------

    def create_key(
        self, role: Role | str, *, name: str | None = None, expires_at: datetime | None = None
    ) -> tuple[ApiKey, str]:
        """Create an API key; returns its record and the secret, which is never stored.

        Raises:
            InvalidInputError: for an unknown role or an expiry in the past.
        """
        created = self._create_key(role, name, expires_at, only_if_no_admin=False)
        if created is None:  # pragma: no cover - only the guarded variant returns None
            raise ConflictError("The key was not created; retry the command.")
        return created

    def create_first_admin_key(self) -> tuple[ApiKey, str] | None:
        """The set-up admin key, or None if an active admin key exists already.

        The check and the insert happen under one lock, so concurrent set-ups create one key.
        """
        return self._create_key(Role.ADMIN, "admin", None, only_if_no_admin=True)

    def _create_key(
        self,
        role: Role | str,
        name: str | None,
        expires_at: datetime | None,
        *,
        only_if_no_admin: bool,
    ) -> tuple[ApiKey, str] | None:
        try:
            role = Role(role)
        except ValueError:
            raise InvalidInputError(
                f"Unknown role {role!r}; use one of: {', '.join(r.value for r in Role)}."
            ) from None
        now = utcnow()
        if expires_at is not None:
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=UTC)
            if expires_at <= now:
                raise InvalidInputError("The key's expiry must be in the future.")
        key_id, secret = generate_key()
        key = ApiKey(
            key_id, name or f"{role.value}-{key_id}", role, now, self.actor, expires_at, None
        )
        with self.store.session(write=True) as s:
            if only_if_no_admin:
                s.audit.lock()
                active = (k for k in s.keys.list() if k.role == Role.ADMIN and k.revoked_at is None)
                if any(active):
                    return None
            s.keys.add(key, hash_secret(secret))
            s.audit.append(
                actor=self.actor,
                action="key.create",
                target=f"key:{key_id}",
                details={
                    "name": key.name,
                    "role": role.value,
                    "expires_at": expires_at.isoformat() if expires_at else None,
                },
                at=now,
            )
        return key, secret

    def list_keys(self) -> list[ApiKey]:
        """All API keys (never their secrets)."""
        with self.store.session() as s:
            return s.keys.list()

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent; audited once)."""
        now = utcnow()
        with self.store.session(write=True) as s:
            before = s.keys.get(key_id)
            key = s.keys.revoke(key_id, now)
            if before.revoked_at is None:
                s.audit.append(
                    actor=self.actor,
                    action="key.revoke",
                    target=f"key:{key_id}",
                    details={"name": key.name, "role": key.role.value},
                    at=now,
                )
        return key
