"""The persistence seam: one Protocol per stored aggregate, plus the unit of work that binds them.

Use cases in ``registry/`` talk only to these; ``store/sql*.py`` is the one implementation.
A ``StoreSession`` is one database transaction: everything done through it commits together or
not at all (a version row and its audit entry never exist one without the other).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shipyard.core.alerts import Alert, AlertRule, AlertState, Delivery
from shipyard.core.endpoints import Endpoint, EndpointRevision, Rollout, RolloutState
from shipyard.core.governance import (
    CheckKind,
    GatePolicyRecord,
    PromotionRequest,
    RequestState,
    VersionCheck,
)
from shipyard.core.monitoring_settings import MonitoringSettingsRecord
from shipyard.core.rollout import RolloutPlan
from shipyard.core.traffic import TrafficPolicy
from shipyard.core.types import (
    ApiKey,
    ArtifactRef,
    ArtifactSignature,
    AuditEntry,
    Lineage,
    Model,
    ModelCard,
    ModelVersion,
    Signature,
    Status,
    StatusChange,
)


@dataclass(frozen=True, slots=True)
class NewVersion:
    """Everything needed to insert a version row (the version number is allocated by the store)."""

    flavor: str
    artifact: ArtifactRef
    signature: Signature | None
    lineage: Lineage
    card: ModelCard
    owner: str | None
    created_by: str
    created_at: datetime
    reference_profile: dict[str, Any] | None
    reference_sample: ArtifactRef | None
    trust_pickle: bool
    trusted_types: tuple[str, ...] = ()
    artifact_signature: ArtifactSignature | None = None


class ModelRepository(Protocol):
    """Models, their versions and the history of status changes."""

    def ensure_model(
        self, name: str, *, owner: str | None, description: str | None, actor: str, at: datetime
    ) -> bool:
        """Create the model if it does not exist; safe under concurrency.

        Returns:
            True if this call created it.
        """
        ...

    def get_model(self, name: str) -> Model:
        """Return the model.

        Raises:
            ModelNotFoundError: if no such model.
        """
        ...

    def list_models(self) -> list[Model]:
        """All models, by name."""
        ...

    def add_version(self, name: str, new: NewVersion) -> ModelVersion:
        """Allocate the next version number and insert the version as ``registered``.

        Concurrent calls for the same model get distinct, gap-free numbers. The model must exist.
        """
        ...

    def get_version(self, name: str, version: int) -> ModelVersion:
        """Return one version.

        Raises:
            ModelNotFoundError, VersionNotFoundError.
        """
        ...

    def list_versions(self, name: str) -> list[ModelVersion]:
        """All versions of a model, newest first.

        Raises:
            ModelNotFoundError.
        """
        ...

    def production_version(self, name: str) -> ModelVersion | None:
        """The version in production, if any."""
        ...

    def lock_model(self, name: str) -> None:
        """Hold the model's row lock until the transaction ends (serialises promotions).

        Raises:
            ModelNotFoundError.
        """
        ...

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
        """Move a version to ``status`` and record the change in its history."""
        ...

    def status_history(self, name: str, version: int | None = None) -> list[StatusChange]:
        """Status changes of one version or of all versions of the model, oldest first."""
        ...


class AuditRepository(Protocol):
    """The append-only, hash-chained audit log."""

    def append(
        self, *, actor: str, action: str, target: str, details: dict[str, Any], at: datetime
    ) -> AuditEntry:
        """Append one entry chained to the current head; serialised across processes."""
        ...

    def list(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        target: str | None = None,
        before_seq: int | None = None,
    ) -> list[AuditEntry]:
        """Newest entries first, optionally filtered by action or target prefix."""
        ...

    def lock(self) -> None:
        """Take the chain head's lock now, until the transaction ends.

        Serialises check-then-write sequences across processes (appends take it anyway).
        """
        ...

    def iter_all(self) -> Iterator[AuditEntry]:
        """Every entry in ascending sequence order (streamed)."""
        ...

    def head(self) -> tuple[int, str]:
        """The stored chain tip: (last sequence number, last hash)."""
        ...


class KeyRepository(Protocol):
    """API keys; only a hash of each secret is stored."""

    def add(self, key: ApiKey, secret_hash: str) -> None:
        """Insert a new key."""
        ...

    def get(self, key_id: str) -> ApiKey:
        """Return a key by id.

        Raises:
            KeyNotFoundError.
        """
        ...

    def find_by_secret_hash(self, secret_hash: str) -> ApiKey | None:
        """The key whose secret hashes to ``secret_hash``, if any."""
        ...

    def list(self) -> list[ApiKey]:
        """All keys, newest first."""
        ...

    def revoke(self, key_id: str, at: datetime) -> ApiKey:
        """Mark a key revoked (idempotent).

        Raises:
            KeyNotFoundError.
        """
        ...


class EndpointRepository(Protocol):
    """Endpoints and the revisions of their traffic policies."""

    def create(
        self, name: str, *, model: str, description: str | None, actor: str, at: datetime
    ) -> Endpoint:
        """Create an endpoint serving ``model`` (no revision yet).

        Raises:
            ConflictError: the name is taken.
            ModelNotFoundError.
        """
        ...

    def get(self, name: str) -> Endpoint:
        """The endpoint with its current revision.

        Raises:
            EndpointNotFoundError.
        """
        ...

    def list_all(self) -> list[Endpoint]:
        """All endpoints with their current revisions, by name."""
        ...

    def add_revision(
        self,
        name: str,
        policy: TrafficPolicy,
        *,
        action: str,
        actor: str,
        at: datetime,
        reason: str | None,
    ) -> EndpointRevision:
        """Append the next revision (it becomes current); serialised per endpoint."""
        ...

    def revisions(self, name: str) -> list[EndpointRevision]:
        """Every revision, newest first."""
        ...

    def revision(self, name: str, number: int) -> EndpointRevision:
        """One revision.

        Raises:
            EndpointNotFoundError, RevisionNotFoundError.
        """
        ...

    def lock(self, name: str) -> None:
        """Hold the endpoint's row lock until the transaction ends (serialises changes).

        Raises:
            EndpointNotFoundError.
        """
        ...

    def endpoint_id(self, name: str) -> int:
        """The endpoint's row id (for rows that refer to it)."""
        ...


class GovernanceRepository(Protocol):
    """Gate policies (with history), evidence stored on versions, promotion requests."""

    def add_policy(self, model: str, text: str, *, actor: str, at: datetime) -> GatePolicyRecord:
        """Store the next revision of a model's gate policy."""
        ...

    def policies(self, model: str) -> list[GatePolicyRecord]:
        """Every revision of the model's gate policy, newest first."""
        ...

    def add_check(
        self,
        model: str,
        version: int,
        kind: CheckKind,
        *,
        passed: bool | None,
        result: dict[str, Any],
        actor: str,
        at: datetime,
    ) -> VersionCheck:
        """Store a gate report or pilot result on a version."""
        ...

    def checks(
        self, model: str, version: int, kind: CheckKind | None = None, *, limit: int = 20
    ) -> list[VersionCheck]:
        """Evidence on a version, newest first."""
        ...

    def open_request(
        self,
        model: str,
        version: int,
        *,
        from_status: str,
        required_approvals: int,
        actor: str,
        at: datetime,
        reason: str | None,
    ) -> PromotionRequest:
        """Open a pending promotion request (one per version at a time)."""
        ...

    def pending_request(self, model: str, version: int) -> PromotionRequest | None:
        """The version's pending request, if any."""
        ...

    def requests(
        self, *, state: RequestState | None = None, model: str | None = None, limit: int = 100
    ) -> list[PromotionRequest]:
        """Promotion requests, newest first."""
        ...

    def add_decision(
        self, request_id: int, *, actor: str, approve: bool, comment: str | None, at: datetime
    ) -> PromotionRequest:
        """Record one approver's decision (one per approver and request)."""
        ...

    def close_request(self, request_id: int, state: RequestState, at: datetime) -> PromotionRequest:
        """Close a request as approved, rejected or withdrawn."""
        ...


class RolloutRepository(Protocol):
    """Automated progressive rollouts: their plan and durable progress."""

    def start(
        self,
        endpoint_id: int,
        *,
        canary: int,
        stable: int,
        plan: RolloutPlan,
        actor: str,
        at: datetime,
    ) -> Rollout:
        """Record a new running rollout at step 0 (one running per endpoint)."""
        ...

    def get(self, rollout_id: int) -> Rollout:
        """One rollout."""
        ...

    def running(self, endpoint: str | None = None) -> list[Rollout]:
        """Running rollouts (of one endpoint, or all), oldest first."""
        ...

    def history(self, endpoint: str, *, limit: int = 20) -> list[Rollout]:
        """The endpoint's rollouts, newest first."""
        ...

    def advance(
        self,
        rollout: Rollout,
        *,
        step: int | None = None,
        state: RolloutState | None = None,
        reason: str | None = None,
        last_decision: dict[str, Any] | None = None,
        at: datetime,
    ) -> Rollout | None:
        """Update a running rollout if it is still at ``rollout.step``; None if it moved on."""
        ...


class AlertRepository(Protocol):
    """Alert rules per endpoint, the alerts they raised and the deliveries of those."""

    def add_rule(self, rule: AlertRule) -> AlertRule:
        """Store a new rule (``rule.id`` is ignored); ConflictError if the name is taken."""
        ...

    def rules(self, endpoint: str | None = None) -> list[AlertRule]:
        """Live rules (of one endpoint, or all), by endpoint then name."""
        ...

    def rule(self, endpoint: str, name: str) -> AlertRule:
        """One live rule; AlertRuleNotFoundError if there is none of that name."""
        ...

    def lock_live_rule(self, rule_id: int) -> bool:
        """Lock the rule's row for this transaction; False when it was deleted meanwhile."""
        ...

    def delete_rule(self, rule_id: int, at: datetime) -> None:
        """Mark a rule deleted (its alerts stay)."""
        ...

    def firing(self, rule_id: int) -> Alert | None:
        """The rule's firing alert, if one is."""
        ...

    def fire(
        self,
        rule: AlertRule,
        *,
        value: float | None,
        samples: int,
        detail: dict[str, Any],
        at: datetime,
    ) -> Alert | None:
        """Open a firing alert for ``rule``; None if one is already firing."""
        ...

    def resolve(self, alert_id: int, *, value: float | None, at: datetime) -> Alert | None:
        """Resolve a firing alert; None if it was no longer firing."""
        ...

    def get(self, alert_id: int) -> Alert:
        """One alert with its deliveries; AlertNotFoundError if there is none."""
        ...

    def find(
        self,
        *,
        endpoint: str | None = None,
        state: AlertState | None = None,
        limit: int = 50,
    ) -> list[Alert]:
        """Alerts, newest first."""
        ...

    def add_delivery(self, delivery: Delivery) -> None:
        """Record how a delivery went."""
        ...


class LeaseRepository(Protocol):
    """Named, expiring leases: one holder at a time does a piece of periodic work."""

    def acquire(self, name: str, holder: str, *, ttl: float, now: datetime) -> bool:
        """Take or renew ``name`` for ``ttl`` seconds; False while another holder has it."""
        ...

    def release(self, name: str, holder: str) -> None:
        """Give ``name`` up if ``holder`` has it."""
        ...


class MonitoringSettingsRepository(Protocol):
    """A model's monitoring settings, as YAML text, one revision per change."""

    def add(self, model: str, text: str, *, actor: str, at: datetime) -> MonitoringSettingsRecord:
        """Store ``text`` as the model's next revision (1 for the first); not idempotent.

        Concurrent calls for one model must hold the model's lock (``ModelRepository.lock_model``)
        to get distinct numbers; without it one of them fails on the unique revision.

        Raises:
            ModelNotFoundError.
        """
        ...

    def latest(self, model: str) -> MonitoringSettingsRecord | None:
        """The newest revision, or None when the model has none.

        Raises:
            ModelNotFoundError.
        """
        ...

    def history(self, model: str) -> list[MonitoringSettingsRecord]:
        """Every revision, newest first (empty when the model has none).

        Raises:
            ModelNotFoundError.
        """
        ...


class StoreSession(Protocol):
    """One transaction over every aggregate."""

    @property
    def models(self) -> ModelRepository:
        """Models, versions and status history."""
        ...

    @property
    def audit(self) -> AuditRepository:
        """The audit log."""
        ...

    @property
    def keys(self) -> KeyRepository:
        """API keys."""
        ...

    @property
    def endpoints(self) -> EndpointRepository:
        """Endpoints and their revisions."""
        ...

    @property
    def governance(self) -> GovernanceRepository:
        """Gate policies, version evidence and promotion requests."""
        ...

    @property
    def rollouts(self) -> RolloutRepository:
        """Automated progressive rollouts."""
        ...

    @property
    def alerts(self) -> AlertRepository:
        """Alert rules, alerts and deliveries."""
        ...

    @property
    def leases(self) -> LeaseRepository:
        """Expiring leases for periodic work."""
        ...

    @property
    def monitoring_settings(self) -> MonitoringSettingsRepository:
        """Monitoring settings per model, with their history."""
        ...


class MetadataStore(Protocol):
    """Opens transactions on the metadata database."""

    def session(self, *, write: bool = False) -> AbstractContextManager[StoreSession]:
        """A transaction; commits on normal exit, rolls back on error.

        ``write=True`` takes the write lock up front on SQLite, so concurrent writers queue
        instead of failing.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...
