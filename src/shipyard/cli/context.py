"""Opening the registry for a CLI command: the local store, or a server when SHIPYARD_URL is set.

Commands that read or govern the registry (models, promote, endpoints, deploy, rollback, audit,
keys, gate, approve, approvals, pilot, rollout, ab, alerts) take a ``ControlPlane``: the local
``Registry`` acting as the OS user, or, with ``SHIPYARD_URL`` set, ``RemoteRegistry`` acting as
``SHIPYARD_API_KEY`` through the server. Commands that need local files or the store itself
(init, db, register, predict, serve) always open the local registry.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from shipyard.core.alerts import Alert, AlertRule, AlertState
from shipyard.core.auditchain import ChainVerification
from shipyard.core.endpoints import Endpoint, EndpointRevision, Rollout
from shipyard.core.governance import GatePolicyRecord, PromotionRequest, RequestState
from shipyard.core.monitoring_settings import MonitoringSettingsRecord
from shipyard.core.rollout import RolloutPlan
from shipyard.core.settings import Settings
from shipyard.core.types import ApiKey, AuditEntry, Model, ModelVersion, Role, Status, StatusChange
from shipyard.registry.endpoints import KEEP

if TYPE_CHECKING:
    from shipyard.gates import GateReport
    from shipyard.monitoring.settings import MonitoringSettings
    from shipyard.registry.gating import CurrentPolicy
    from shipyard.registry.service import Registry


class EndpointControl(Protocol):
    """Endpoints and their traffic policies; ``registry.endpoints`` is one.

    Every change appends a revision (audited as the caller) and returns it.
    """

    def list(self) -> builtins.list[Endpoint]:
        """All endpoints with their current policies, by name."""

    def get(self, name: str) -> Endpoint:
        """One endpoint (EndpointNotFoundError)."""

    def history(self, name: str) -> builtins.list[EndpointRevision]:
        """The endpoint's revisions, newest first (EndpointNotFoundError)."""

    def create(self, name: str, model: str, *, description: str | None = None) -> Endpoint:
        """A new endpoint serving nothing yet.

        Raises:
            InvalidNameError, ConflictError (name taken), ModelNotFoundError.
        """

    def deploy(
        self,
        name: str,
        ref: str,
        *,
        canary: float | None = None,
        shadow: bool = False,
        sticky_key: str | object | None = KEEP,
        reason: str | None = None,
    ) -> EndpointRevision:
        """All traffic, a ``canary`` share or shadow copies to ``ref`` (creates the endpoint).

        ``sticky_key=KEEP`` leaves the sticky key as it is; ``""`` or None clears it.

        Raises:
            InvalidInputError: see ``shipyard.registry.endpoints.Endpoints.deploy``.
            ModelNotFoundError, VersionNotFoundError.
        """

    def set_traffic(
        self,
        name: str,
        weights: Mapping[int, float],
        *,
        shadows: tuple[int, ...] | None = None,
        sticky_key: str | object | None = KEEP,
        reason: str | None = None,
    ) -> EndpointRevision:
        """Weights per version (summing to 100), shadows (None keeps them) and the sticky key.

        Raises:
            InvalidInputError, EndpointNotFoundError.
        """

    def rollback(
        self, name: str, *, to_revision: int | None = None, reason: str | None = None
    ) -> EndpointRevision:
        """Restore an earlier revision (default: the previous one) as a new revision.

        Raises:
            InvalidInputError, EndpointNotFoundError, RevisionNotFoundError, ConflictError.
        """


class GateControl(Protocol):
    """Gate policies and gate checks; ``registry.gates`` is one."""

    def policy(self, model: str) -> CurrentPolicy:
        """The model's policy in force: revision 0 (no record) is the built-in default.

        Raises:
            ModelNotFoundError.
        """

    def policy_history(self, model: str) -> builtins.list[GatePolicyRecord]:
        """Every revision of the model's policy, newest first (ModelNotFoundError)."""

    def set_policy(self, model: str, text: str, *, source: str = "gate policy") -> GatePolicyRecord:
        """Store ``text`` as the model's next policy revision (audited as the caller).

        Raises:
            GatePolicyError: naming ``source``, the line and the field; nothing is stored.
            ModelNotFoundError; PermissionDeniedError (remote: not an approver key).
        """

    def check(
        self,
        ref: str,
        *,
        data: Path | None = None,
        target: str | None = None,
        policy_text: str | None = None,
        policy_source: str = "gate policy",
        min_metrics: Mapping[str, float] | None = None,
        sensitive: Sequence[str] = (),
        store: bool = True,
    ) -> GateReport:
        """Check ``ref`` against its gates (on the evaluation file ``data``), storing the report.

        Raises:
            GatePolicyError, DataFileError, ModelNotFoundError, VersionNotFoundError.
        """


class ApprovalControl(Protocol):
    """Promotion requests and their decisions; ``registry.approvals`` is one."""

    def requests(
        self, *, state: RequestState | None = RequestState.PENDING, model: str | None = None
    ) -> builtins.list[PromotionRequest]:
        """Promotion requests (pending ones by default; None: every state), newest first."""

    def approve(
        self, ref: str, *, comment: str | None = None
    ) -> tuple[ModelVersion, PromotionRequest]:
        """Approve the exact version's pending request; the last approval needed promotes it.

        Raises:
            SelfApprovalError: the caller requested the promotion.
            ConflictError: nothing is pending, or the caller already decided.
        """

    def reject(
        self, ref: str, *, comment: str | None = None
    ) -> tuple[ModelVersion, PromotionRequest]:
        """Reject the exact version's pending request: the version becomes ``rejected``.

        Raises:
            SelfApprovalError, ConflictError: as for ``approve``.
        """


class RolloutControl(Protocol):
    """Automated canary rollouts; ``registry.rollouts`` is one."""

    def start(
        self, endpoint: str, ref: str, plan: RolloutPlan, *, reason: str | None = None
    ) -> Rollout:
        """Send ``ref`` the plan's first step of the endpoint's traffic and let it ramp.

        Raises:
            InvalidInputError, ConflictError (a rollout is running), EndpointNotFoundError,
            VersionNotFoundError.
        """

    def history(self, endpoint: str) -> builtins.list[Rollout]:
        """The endpoint's rollouts, newest first (EndpointNotFoundError)."""

    def abort(self, endpoint: str, *, reason: str | None = None) -> Rollout:
        """Stop the running rollout; all traffic goes back to its stable version.

        Raises:
            ConflictError: no rollout is running there.
        """


class AlertControl(Protocol):
    """Alert rules and alerts; ``registry.alerts`` is one."""

    def add_rule(
        self,
        endpoint: str,
        name: str,
        *,
        metric: str,
        threshold: float,
        comparison: str = "above",
        window_seconds: float = 3600.0,
        min_samples: int = 100,
        version: int | None = None,
        sensitive: str | None = None,
        webhooks: Sequence[str] = (),
    ) -> AlertRule:
        """Add a rule to ``endpoint``.

        Raises:
            EndpointNotFoundError, InvalidInputError, ConflictError (the name is taken).
        """

    def rules(self, endpoint: str | None = None) -> builtins.list[AlertRule]:
        """Live rules, of one endpoint or all."""

    def delete_rule(self, endpoint: str, name: str) -> AlertRule:
        """Delete a rule (AlertRuleNotFoundError)."""

    def history(
        self, *, endpoint: str | None = None, state: AlertState | None = None, limit: int = 50
    ) -> builtins.list[Alert]:
        """Alerts, newest first, with their deliveries."""


class MonitoringSettingsControl(Protocol):
    """A model's monitoring settings; ``registry.monitoring_settings`` is one."""

    def set(
        self, model: str, text: str, *, source: str = "monitoring settings"
    ) -> MonitoringSettingsRecord:
        """Store ``text`` as the model's next settings revision (audited as the caller).

        Raises:
            MonitoringSettingsError: naming ``source``, the line and the field; nothing stored.
            ModelNotFoundError; PermissionDeniedError (remote: not a deployer key or above).
        """

    def current(self, model: str) -> MonitoringSettingsRecord | None:
        """The newest revision, or None when the defaults apply (ModelNotFoundError)."""

    def history(self, model: str) -> builtins.list[MonitoringSettingsRecord]:
        """Every revision, newest first (ModelNotFoundError)."""

    def settings(self, model: str) -> MonitoringSettings:
        """The settings in force: the newest revision's, or the defaults (ModelNotFoundError)."""


class ControlPlane(Protocol):
    """What the remote-capable commands need of a registry; ``Registry`` is one.

    The A/B report has no method here: ``Registry`` computes it with
    ``shipyard.registry.analysis.ab_report``, ``RemoteRegistry`` asks the server
    (``cli/rollouts.py`` picks).
    """

    @property
    def endpoints(self) -> EndpointControl:
        """Endpoints and their traffic policies, changed as the caller."""

    @property
    def gates(self) -> GateControl:
        """Gate policies and checks, as the caller."""

    @property
    def approvals(self) -> ApprovalControl:
        """Promotion requests, decided as the caller."""

    @property
    def rollouts(self) -> RolloutControl:
        """Automated canary rollouts, started and aborted as the caller."""

    @property
    def alerts(self) -> AlertControl:
        """Alert rules and alerts, changed as the caller."""

    @property
    def monitoring_settings(self) -> MonitoringSettingsControl:
        """Monitoring settings per model, changed as the caller."""

    def list_models(self) -> list[Model]:
        """All registered models."""

    def get_model(self, name: str) -> Model:
        """One model (ModelNotFoundError)."""

    def list_versions(self, name: str) -> list[ModelVersion]:
        """A model's versions, newest first."""

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion:
        """Resolve ``name``, ``name:N``, ``name:latest`` or ``name:production``."""

    def history(self, name: str, version: int | None = None) -> list[StatusChange]:
        """Status changes, oldest first."""

    def promote(self, ref: str, to: Status | str, *, reason: str | None = None) -> ModelVersion:
        """Move a version (audited as the caller)."""

    def audit_entries(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        target: str | None = None,
        before_seq: int | None = None,
    ) -> list[AuditEntry]:
        """Newest audit entries first."""

    def verify_audit(self) -> ChainVerification:
        """Check the audit hash chain."""

    def create_key(
        self, role: Role | str, *, name: str | None = None, expires_at: datetime | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (shown once)."""

    def list_keys(self) -> list[ApiKey]:
        """All keys, never their secrets."""

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent)."""


@contextmanager
def open_registry() -> Iterator[ControlPlane]:
    """The server at ``SHIPYARD_URL`` if set, else the local registry (as the OS user)."""
    settings = Settings.from_env()
    if settings.url:
        from shipyard.cli.remote import RemoteRegistry

        with RemoteRegistry.connect(settings) as remote:
            yield remote
        return
    with _local(settings) as registry:
        yield registry


def open_local_registry() -> Registry:
    """The registry of ``SHIPYARD_HOME``/``SHIPYARD_DATABASE_URL``, acting as the OS user."""
    return _local(Settings.from_env())


def _local(settings: Settings) -> Registry:
    # Imported here so that `shipyard --help` does not load the store and the frameworks.
    from shipyard.registry.service import Registry

    return Registry.open(settings)
