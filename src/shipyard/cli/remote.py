"""``RemoteRegistry``: the CLI's registry calls answered by a server through ``shipyard.client``.

It returns the same core types as the local ``Registry`` (rebuilt with their ``from_dict``), so
each command renders text and ``--json`` with one code path whichever side answered. Argument
checks that the server would phrase differently (its request validation) are made here first,
with the local wording; so are the checks of local files (a policy file, evaluation data), so
their errors name the file.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shipyard.client import Client
from shipyard.core.alerts import Alert, AlertRule, AlertState
from shipyard.core.auditchain import ChainVerification
from shipyard.core.durations import format_seconds
from shipyard.core.endpoints import Endpoint, EndpointRevision, Rollout, validate_endpoint_name
from shipyard.core.errors import ConflictError, InvalidInputError, RemoteError
from shipyard.core.governance import GatePolicyRecord, PromotionRequest, RequestState
from shipyard.core.monitoring_settings import MonitoringSettingsRecord
from shipyard.core.rollout import RolloutPlan
from shipyard.core.settings import Settings
from shipyard.core.types import ApiKey, AuditEntry, Model, ModelVersion, Role, Status, StatusChange
from shipyard.gates import GatePolicy, GateReport
from shipyard.registry.endpoints import KEEP
from shipyard.registry.refs import parse_exact_ref, parse_ref

if TYPE_CHECKING:
    from shipyard.monitoring.settings import MonitoringSettings
    from shipyard.registry.gating import CurrentPolicy

MAX_GATE_ROWS = 100_000
"""Most evaluation rows a remote ``gate check`` sends (the API's limit per request)."""


class RemoteRegistry:
    """The subset of ``Registry`` the remote-capable commands use, over HTTP.

    Args:
        client: A client acting as the caller's API key; closed with this object.
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    @classmethod
    def connect(cls, settings: Settings) -> RemoteRegistry:
        """A registry at ``settings.url``, acting as ``settings.api_key``."""
        return cls(Client(settings.url, settings.api_key or ""))

    def __enter__(self) -> RemoteRegistry:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the client's connections."""
        self.client.close()

    # -- models ---------------------------------------------------------------------------

    def list_models(self) -> list[Model]:
        """All registered models."""
        return [Model.from_dict(m) for m in self.client.models()]

    def get_model(self, name: str) -> Model:
        """One model (ModelNotFoundError)."""
        return Model.from_dict(self.client.model(name))

    def list_versions(self, name: str) -> list[ModelVersion]:
        """A model's versions, newest first, each with its full record.

        The API's model answer summarises versions without their artifact hash, which the
        listing shows, so each version is fetched: one request per version.
        """
        summary = self.client.model(name).get("versions", [])
        return [self._version(name, int(v["version"])) for v in summary]

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion:
        """Resolve ``name``, ``name:N``, ``name:latest`` or ``name:production`` to a version."""
        name, selector = parse_ref(ref) if version is None else (ref, str(version))
        if selector is not None and selector.isdigit():
            return self._version(name, int(selector))
        model = self.get_model(name)
        if selector == "production":
            if model.production_version is None:
                raise ConflictError(
                    f"Model {name!r} has no version in production. Promote one with "
                    f"`shipyard promote {name}:VERSION --to production`."
                )
            return self._version(name, model.production_version)
        return self._version(name, model.latest_version)

    def history(self, name: str, version: int | None = None) -> list[StatusChange]:
        """Who moved which version to which status, when and why (oldest first)."""
        changes = (StatusChange.from_dict(c) for c in self.client.history(name))
        return [c for c in changes if version is None or c.version == version]

    def promote(self, ref: str, to: Status | str, *, reason: str | None = None) -> ModelVersion:
        """Move a version; the server audits it under the caller's key."""
        name, number = parse_exact_ref(ref, "promote")
        try:
            target = Status(to)
        except ValueError:
            raise InvalidInputError(
                f"Unknown status {to!r}; use one of: staging, production, archived, rejected."
            ) from None
        moved = self.client.promote(name, number, target, reason)
        return ModelVersion.from_dict(moved)

    def _version(self, name: str, number: int) -> ModelVersion:
        return ModelVersion.from_dict(self.client.version(name, number))

    # -- endpoints ------------------------------------------------------------------------

    @property
    def endpoints(self) -> RemoteEndpoints:
        """Endpoints and their traffic policies, changed as the caller's key."""
        return RemoteEndpoints(self.client)

    # -- governance and delivery ----------------------------------------------------------

    @property
    def gates(self) -> RemoteGates:
        """Gate policies and checks, as the caller's key."""
        return RemoteGates(self)

    @property
    def approvals(self) -> RemoteApprovals:
        """Promotion requests, decided as the caller's key."""
        return RemoteApprovals(self.client)

    @property
    def rollouts(self) -> RemoteRollouts:
        """Automated canary rollouts, started and aborted as the caller's key."""
        return RemoteRollouts(self.client)

    @property
    def alerts(self) -> RemoteAlerts:
        """Alert rules and alerts, as the caller's key."""
        return RemoteAlerts(self.client)

    @property
    def monitoring_settings(self) -> RemoteMonitoringSettings:
        """Monitoring settings per model, as the caller's key."""
        return RemoteMonitoringSettings(self.client)

    def ab_report(
        self,
        endpoint: str,
        *,
        metric: str | None = None,
        confidence: float = 0.95,
        min_samples: int = 30,
        since: datetime | None = None,
    ) -> dict[str, Any]:
        """The server's A/B report of ``endpoint`` (``ABReport.to_dict()`` shape).

        The server reads its own prediction logs and feedback, so this is the report of the
        traffic it (and the workers sharing its store) answered.
        """
        if not 0.5 <= confidence < 1:
            raise InvalidInputError(
                f"--confidence must be in [0.5, 1), e.g. 0.95; got {confidence}."
            )
        if min_samples < 2:
            raise InvalidInputError(f"min_samples must be at least 2, not {min_samples}.")
        return self.client.ab(
            endpoint, metric=metric, confidence=confidence, min_samples=min_samples, since=since
        )

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
        entries = self.client.audit(
            limit=limit, action=action, target=target, before_seq=before_seq
        )
        return [AuditEntry.from_dict(e) for e in entries]

    def verify_audit(self) -> ChainVerification:
        """The server's check of the whole hash chain."""
        return ChainVerification.from_dict(self.client.verify_audit())

    # -- keys -----------------------------------------------------------------------------

    def create_key(
        self, role: Role | str, *, name: str | None = None, expires_at: datetime | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (shown once); needs an admin key."""
        try:
            role = Role(role)
        except ValueError:
            raise InvalidInputError(
                f"Unknown role {role!r}; use one of: {', '.join(r.value for r in Role)}."
            ) from None
        created = self.client.create_key(role, name=name, expires_at=expires_at)
        return ApiKey.from_dict(created), str(created["secret"])

    def list_keys(self) -> list[ApiKey]:
        """All API keys (never their secrets); needs an admin key."""
        records = self.client.keys()  # a method of Client, not dict.keys() (ruff SIM118)
        return [ApiKey.from_dict(k) for k in records]

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent); needs an admin key."""
        return ApiKey.from_dict(self.client.revoke_key(key_id))


class RemoteEndpoints:
    """``registry.endpoints`` over HTTP: the same methods, arguments and core types.

    Args:
        client: A client acting as the caller's API key (not closed here).
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    def list(self) -> builtins.list[Endpoint]:
        """All stored endpoints with their current policies, by name."""
        configured = self.client.endpoints().get("configured")
        if not isinstance(configured, builtins.list):
            raise RemoteError(
                f"The server at {self.client.url} does not list its endpoints; it may predate "
                "named endpoints. Upgrade it, or unset SHIPYARD_URL to read the local registry.",
                code="unexpected_response",
            )
        return [Endpoint.from_dict(e) for e in configured]

    def get(self, name: str) -> Endpoint:
        """One endpoint (EndpointNotFoundError)."""
        return Endpoint.from_dict(self.client.endpoint(name))

    def history(self, name: str) -> builtins.list[EndpointRevision]:
        """The endpoint's revisions, newest first (EndpointNotFoundError)."""
        return [EndpointRevision.from_dict(r) for r in self.client.endpoint(name)["history"]]

    def create(self, name: str, model: str, *, description: str | None = None) -> Endpoint:
        """A new endpoint for ``model``, serving nothing yet."""
        validate_endpoint_name(name)
        return Endpoint.from_dict(self.client.create_endpoint(name, model, description))

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
        """All traffic, a ``canary`` share or shadow copies to the exact version ``ref``."""
        validate_endpoint_name(name)
        parse_exact_ref(ref, "deploy")
        revision = self.client.deploy(
            name,
            ref,
            canary=canary,
            shadow=shadow,
            sticky_key=_sticky(sticky_key),
            reason=reason,
        )
        return EndpointRevision.from_dict(revision)

    def set_traffic(
        self,
        name: str,
        weights: Mapping[int, float],
        *,
        shadows: tuple[int, ...] | None = None,
        sticky_key: str | object | None = KEEP,
        reason: str | None = None,
    ) -> EndpointRevision:
        """The endpoint's whole policy: ``{version: percent}``, shadows and sticky key."""
        revision = self.client.set_traffic(
            name, weights, shadows=shadows, sticky_key=_sticky(sticky_key), reason=reason
        )
        return EndpointRevision.from_dict(revision)

    def rollback(
        self, name: str, *, to_revision: int | None = None, reason: str | None = None
    ) -> EndpointRevision:
        """Restore an earlier revision (default: the previous one) as a new revision."""
        revision = self.client.rollback(name, to_revision=to_revision, reason=reason)
        return EndpointRevision.from_dict(revision)


class RemoteGates:
    """``registry.gates`` over HTTP: policies and checks, with local files read here.

    Args:
        registry: The remote registry (its client, and its resolution of ``name:latest``).
    """

    def __init__(self, registry: RemoteRegistry) -> None:
        self._registry = registry
        self.client = registry.client

    def policy(self, model: str) -> CurrentPolicy:
        """The model's policy in force: revision 0 (no record) is the built-in default."""
        from shipyard.registry.gating import CurrentPolicy

        answer = self.client.gate_policy(model)
        history = answer.get("history") or []
        if answer.get("text") is None or not history:
            return CurrentPolicy(GatePolicy.default(), int(answer.get("revision", 0)), None)
        record = GatePolicyRecord.from_dict(history[0])
        return CurrentPolicy(GatePolicy.parse(record.text), record.revision, record)

    def policy_history(self, model: str) -> builtins.list[GatePolicyRecord]:
        """Every revision of the model's policy, newest first."""
        history = self.client.gate_policy(model).get("history") or []
        return [GatePolicyRecord.from_dict(r) for r in history]

    def set_policy(self, model: str, text: str, *, source: str = "gate policy") -> GatePolicyRecord:
        """Store ``text`` as the next revision; needs an approver or admin key.

        The text is parsed here first, so a mistake is reported with ``source`` (the file
        name), its line and field, as the local command reports it.
        """
        GatePolicy.parse(text, source=source)
        return GatePolicyRecord.from_dict(self.client.set_gate_policy(model, text))

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
        """Run the version's gates on the server, sending the rows of ``data`` (read here).

        Raises:
            DataFileError: ``data`` cannot be read.
            InvalidInputError: ``data`` has more than ``MAX_GATE_ROWS`` rows.
            GatePolicyError: ``policy_text`` does not parse (named as ``policy_source``).
        """
        if policy_text is not None:
            GatePolicy.parse(policy_text, source=policy_source)
        rows = _evaluation_rows(data) if data is not None else None
        name, number = self._exact(ref)
        report = self.client.gate_check(
            name,
            number,
            rows=rows,
            target=target,
            min_metrics=min_metrics,
            sensitive=sensitive,
            policy=policy_text,
            store=store,
            source=data.name if data is not None else None,
        )
        return GateReport.from_dict(report)

    def _exact(self, ref: str) -> tuple[str, int]:
        name, selector = parse_ref(ref)
        if selector is not None and selector.isdigit():
            return name, int(selector)
        version = self._registry.get_version(ref)  # name, name:latest, name:production
        return version.model, version.version


class RemoteApprovals:
    """``registry.approvals`` over HTTP: the same methods, arguments and core types.

    Args:
        client: A client acting as the caller's API key (not closed here).
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    def requests(
        self, *, state: RequestState | None = RequestState.PENDING, model: str | None = None
    ) -> builtins.list[PromotionRequest]:
        """Promotion requests (pending ones by default; None: every state), newest first."""
        found = self.client.approvals(state=state, model=model)
        return [PromotionRequest.from_dict(r) for r in found]

    def approve(
        self, ref: str, *, comment: str | None = None
    ) -> tuple[ModelVersion, PromotionRequest]:
        """Approve the exact version's pending request; needs an approver or admin key."""
        name, number = _decided(ref, "approve")
        return _decision(self.client.approve(name, number, comment))

    def reject(
        self, ref: str, *, comment: str | None = None
    ) -> tuple[ModelVersion, PromotionRequest]:
        """Reject the exact version's pending request; needs an approver or admin key."""
        name, number = _decided(ref, "reject")
        return _decision(self.client.reject(name, number, comment))


class RemoteRollouts:
    """``registry.rollouts`` over HTTP; the server's controller then drives the rollout.

    Args:
        client: A client acting as the caller's API key (not closed here).
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    def start(
        self, endpoint: str, ref: str, plan: RolloutPlan, *, reason: str | None = None
    ) -> Rollout:
        """Send ``ref`` the plan's first step of the endpoint's traffic; needs a deployer key."""
        rollout = self.client.start_rollout(
            endpoint,
            ref,
            steps=plan.steps,
            interval_seconds=plan.interval_seconds,
            min_requests=plan.min_requests,
            max_error_rate_increase=plan.max_error_rate_increase,
            max_p99_ratio=plan.max_p99_ratio,
            p99_slack_ms=plan.p99_slack_ms,
            max_accuracy_drop=plan.max_accuracy_drop,
            significance=plan.significance,
            min_samples=plan.min_samples,
            reason=reason,
        )
        return Rollout.from_dict(rollout)

    def history(self, endpoint: str) -> builtins.list[Rollout]:
        """The endpoint's rollouts, newest first (EndpointNotFoundError)."""
        return [Rollout.from_dict(r) for r in self.client.rollouts(endpoint)]

    def abort(self, endpoint: str, *, reason: str | None = None) -> Rollout:
        """Stop the running rollout; all traffic goes back to its stable version."""
        return Rollout.from_dict(self.client.abort_rollout(endpoint, reason))


class RemoteAlerts:
    """``registry.alerts`` over HTTP.

    Args:
        client: A client acting as the caller's API key (not closed here).
    """

    def __init__(self, client: Client) -> None:
        self.client = client

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
        """Add a rule to ``endpoint``; needs a deployer key."""
        return self.client.add_alert_rule(
            endpoint,
            name,
            metric=metric,
            threshold=threshold,
            comparison=str(comparison),
            window=format_seconds(window_seconds),
            min_samples=min_samples,
            version=version,
            sensitive=sensitive,
            webhooks=webhooks,
        )

    def rules(self, endpoint: str | None = None) -> builtins.list[AlertRule]:
        """Live rules of ``endpoint`` (every endpoint's when None)."""
        return self.client.alert_rules(endpoint)

    def delete_rule(self, endpoint: str, name: str) -> AlertRule:
        """Delete a rule; needs a deployer key."""
        return self.client.delete_alert_rule(endpoint, name)

    def history(
        self, *, endpoint: str | None = None, state: AlertState | None = None, limit: int = 50
    ) -> builtins.list[Alert]:
        """Alerts, newest first, with their deliveries."""
        return self.client.alerts(
            endpoint=endpoint, state=state.value if state else "all", limit=limit
        )


class RemoteMonitoringSettings:
    """``registry.monitoring_settings`` over HTTP: the same methods and core types.

    Args:
        client: A client acting as the caller's API key (not closed here).
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    def set(
        self, model: str, text: str, *, source: str = "monitoring settings"
    ) -> MonitoringSettingsRecord:
        """Store ``text`` as the next revision; needs a deployer key or above.

        The text is parsed here first, so a mistake is reported with ``source`` (the file
        name), its line and field, as the local command reports it; the server then checks
        the column names against the model's inputs.
        """
        from shipyard.monitoring.settings import MonitoringSettings

        MonitoringSettings.parse(text, source=source)
        return MonitoringSettingsRecord.from_dict(self.client.set_monitoring_settings(model, text))

    def current(self, model: str) -> MonitoringSettingsRecord | None:
        """The newest revision, or None when the defaults apply."""
        history = self.history(model)
        return history[0] if history else None

    def history(self, model: str) -> builtins.list[MonitoringSettingsRecord]:
        """Every revision, newest first."""
        records = self.client.monitoring_settings(model).get("history") or []
        return [MonitoringSettingsRecord.from_dict(r) for r in records]

    def settings(self, model: str) -> MonitoringSettings:
        """The settings in force: the newest revision's, or the defaults."""
        from shipyard.monitoring.settings import MonitoringSettings

        record = self.current(model)
        return MonitoringSettings.parse(record.text) if record else MonitoringSettings.default()


def _evaluation_rows(data: Path) -> builtins.list[dict[str, Any]]:
    """The rows of a CSV/Parquet file, as JSON objects for the gate-check request."""
    from shipyard.registry.datafiles import read_table

    table = read_table(data)
    if table.num_rows > MAX_GATE_ROWS:
        raise InvalidInputError(
            f"{data.name} has {table.num_rows:,} rows; a gate check through the server sends "
            f"at most {MAX_GATE_ROWS:,}. Check a sample of it, or run `shipyard gate check` "
            "without SHIPYARD_URL where the store is."
        )
    rows: builtins.list[dict[str, Any]] = table.to_pylist()
    return rows


def _decided(ref: str, verb: str) -> tuple[str, int]:
    return parse_exact_ref(ref, verb)


def _decision(answer: dict[str, Any]) -> tuple[ModelVersion, PromotionRequest]:
    return ModelVersion.from_dict(answer["version"]), PromotionRequest.from_dict(answer["request"])


def _sticky(sticky_key: str | object | None) -> str | None:
    """The registry's ``KEEP``/None/str as the client spells them: None keeps, "" clears."""
    if sticky_key is KEEP:
        return None
    if sticky_key is None:
        return ""
    if not isinstance(sticky_key, str):
        raise InvalidInputError(f"A sticky key is a feature name; got {sticky_key!r}.")
    return sticky_key
