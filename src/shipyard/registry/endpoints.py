"""Endpoint use cases: create, deploy (full, canary, shadow), set traffic, roll back.

Every change writes the endpoint's next revision and its audit entry in one transaction, after
checking the new policy against the versions it names:

- live traffic goes only to ``staging`` or ``production`` versions, and all of an endpoint's
  traffic (a full deploy) only to a ``production`` version — so nothing reaches every caller
  without passing the promotion gates and approvals;
- a shadow may be any version that is not rejected: it only receives copies;
- a rollback restores an earlier revision as it was, whatever has happened to its versions'
  statuses since (restoring a known state fast is its whole point), except rejected versions.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shipyard.core.endpoints import (
    Endpoint,
    EndpointRevision,
    RolloutState,
    validate_endpoint_name,
)
from shipyard.core.errors import (
    ConflictError,
    EndpointNotFoundError,
    InvalidInputError,
    VersionNotFoundError,
)
from shipyard.core.traffic import TrafficPolicy
from shipyard.core.types import ModelVersion, Status
from shipyard.registry.refs import parse_exact_ref

if TYPE_CHECKING:
    from shipyard.registry.service import Registry
    from shipyard.store import StoreSession

LIVE_STATUSES = frozenset({Status.STAGING, Status.PRODUCTION})
KEEP = object()
"""``sticky_key=KEEP`` leaves the endpoint's sticky key as it is."""


class Endpoints:
    """The endpoints of one registry, changed as the registry's actor."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    # -- reads ----------------------------------------------------------------------------

    def list(self) -> list[Endpoint]:
        """All endpoints with their current policies."""
        with self._registry.store.session() as s:
            return s.endpoints.list_all()

    def get(self, name: str) -> Endpoint:
        """One endpoint (raises EndpointNotFoundError)."""
        with self._registry.store.session() as s:
            return s.endpoints.get(name)

    def history(self, name: str) -> builtins.list[EndpointRevision]:
        """The endpoint's revisions, newest first."""
        with self._registry.store.session() as s:
            return s.endpoints.revisions(name)

    # -- changes --------------------------------------------------------------------------

    def create(self, name: str, model: str, *, description: str | None = None) -> Endpoint:
        """Create an endpoint for ``model`` with nothing deployed yet.

        Raises:
            InvalidNameError, ConflictError (name taken), ModelNotFoundError.
        """
        validate_endpoint_name(name)
        now = self._registry.now()
        with self._registry.store.session(write=True) as s:
            created = s.endpoints.create(
                name, model=model, description=description, actor=self._actor, at=now
            )
            s.audit.append(
                actor=self._actor,
                action="endpoint.create",
                target=name,
                details={"model": model, "description": description},
                at=now,
            )
        return created

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
        """Send ``ref`` all of the endpoint's traffic, a ``canary`` share of it, or copies.

        Creates the endpoint (serving ``ref``'s model) on first use. A canary takes its share
        from the stable version (the one with the most traffic) and replaces any earlier canary;
        sticky keys move only as much as the new weights require.

        Raises:
            InvalidInputError: bad percentages, a canary with no stable version, a version of
                another model, or a version whose status may not take that traffic (see the
                module's rules).
        """
        validate_endpoint_name(name)
        model, number = exact_ref(ref)
        if canary is not None and shadow:
            raise InvalidInputError("Choose --canary or --shadow, not both.")
        if canary is not None and not 0 < canary <= 100:
            raise InvalidInputError(
                f"--canary must be a percentage above 0 and at most 100; got {canary:g}."
            )
        now = self._registry.now()
        with self._registry.store.session(write=True) as s:
            endpoint = self._get_or_create(s, name, model, now)
            refuse_during_rollout(s, name)
            version = s.models.get_version(model, number)
            current = endpoint.policy
            if shadow:
                require_status(version, shadow=True)
                if current is None:
                    raise InvalidInputError(
                        f"Endpoint {name!r} serves nothing yet, so there is no traffic to copy "
                        f"to a shadow. Deploy a version first: `shipyard deploy {name} "
                        f"{model}:VERSION`."
                    )
                if number in current.weights():
                    raise InvalidInputError(
                        f"{version.ref} already takes live traffic on {name!r}; a shadow only "
                        "gets copies. Move its traffic elsewhere first."
                    )
                policy = current.reweighted(current.weights(), shadows=(*current.shadows, number))
                action = "shadow"
            elif canary is None or canary == 100:
                require_status(version, full=True)
                weights = {number: 100.0}
                policy = _next(current, weights, sticky_key)
                action = "deploy"
            else:
                require_status(version)
                stable = stable_version(name, current, number)
                policy = _next(current, {stable: 100.0 - canary, number: canary}, sticky_key)
                action = "canary"
            if shadow and sticky_key is not KEEP:
                policy = _with_sticky(policy, sticky_key)
            return write_revision(
                s, self._actor, name, policy, action, reason, now, {"version": version.ref}
            )

    def set_traffic(
        self,
        name: str,
        weights: Mapping[int, float],
        *,
        shadows: tuple[int, ...] | None = None,
        sticky_key: str | object | None = KEEP,
        reason: str | None = None,
    ) -> EndpointRevision:
        """Set the endpoint's whole policy: ``{version: percent}`` plus shadow versions.

        Raises:
            InvalidInputError: weights that do not sum to 100, unknown versions, or versions
                whose status may not take live traffic.
            EndpointNotFoundError.
        """
        now = self._registry.now()
        with self._registry.store.session(write=True) as s:
            s.endpoints.lock(name)
            refuse_during_rollout(s, name)
            endpoint = s.endpoints.get(name)
            for number in weights:
                version = _version_of(s, endpoint, number)
                require_status(version, full=len(weights) == 1)
            for number in shadows or ():
                require_status(_version_of(s, endpoint, number), shadow=True)
            current = endpoint.policy
            if current is None:
                policy = TrafficPolicy.of(weights, shadows=tuple(shadows or ()))
            else:
                policy = current.reweighted(weights, shadows=shadows)
            if sticky_key is not KEEP:
                policy = _with_sticky(policy, sticky_key)
            return write_revision(s, self._actor, name, policy, "traffic", reason, now, {})

    def rollback(
        self, name: str, *, to_revision: int | None = None, reason: str | None = None
    ) -> EndpointRevision:
        """Restore an earlier revision's policy (by default the one before the current).

        The restored policy becomes a new revision, so the rollback itself can be undone.

        Raises:
            InvalidInputError: nothing earlier to restore, or ``to_revision`` is the current one.
            EndpointNotFoundError, RevisionNotFoundError.
        """
        now = self._registry.now()
        with self._registry.store.session(write=True) as s:
            s.endpoints.lock(name)
            endpoint = s.endpoints.get(name)
            current = endpoint.current
            if current is None:
                raise InvalidInputError(
                    f"Endpoint {name!r} has no revision yet; there is nothing to roll back."
                )
            if to_revision is None:
                if current.revision == 1:
                    raise InvalidInputError(
                        f"Endpoint {name!r} is at its first revision; there is nothing earlier "
                        "to roll back to."
                    )
                to_revision = current.revision - 1
            if to_revision < 1:
                raise InvalidInputError(
                    f"Revisions start at 1; {to_revision} is before the first revision of {name!r}."
                )
            if to_revision == current.revision:
                raise InvalidInputError(
                    f"Revision {to_revision} is the current revision of {name!r}; name an "
                    "earlier one (`shipyard endpoints show` lists them)."
                )
            target = s.endpoints.revision(name, to_revision)
            for number in (*target.policy.weights(), *target.policy.shadows):
                version = _version_of(s, endpoint, number)
                if version.status == Status.REJECTED:
                    raise ConflictError(
                        f"Revision {to_revision} routes to {version.ref}, which was rejected; "
                        "a rejected version is never served again. Pick another revision."
                    )
            why = reason or f"rolled back to revision {to_revision}"
            for running in s.rollouts.running(name):  # a person's rollback overrides automation
                s.rollouts.advance(
                    running,
                    state=RolloutState.ABORTED,
                    reason=f"aborted by rollback: {why}",
                    at=now,
                )
                s.audit.append(
                    actor=self._actor,
                    action="rollout.abort",
                    target=name,
                    details={"rollout": running.id, "reason": why},
                    at=now,
                )
            return write_revision(
                s,
                self._actor,
                name,
                target.policy,
                "rollback",
                why,
                now,
                {"restored_revision": to_revision},
            )

    def record_revision(
        self, name: str, policy: TrafficPolicy, *, action: str, reason: str
    ) -> EndpointRevision:
        """Write a revision decided elsewhere (the progressive-delivery controller)."""
        now = self._registry.now()
        with self._registry.store.session(write=True) as s:
            s.endpoints.lock(name)
            return write_revision(s, self._actor, name, policy, action, reason, now, {})

    # -- helpers --------------------------------------------------------------------------

    @property
    def _actor(self) -> str:
        return self._registry.actor

    def _get_or_create(self, s: StoreSession, name: str, model: str, now: Any) -> Endpoint:
        s.models.get_model(model)
        created = False
        try:
            s.endpoints.lock(name)
        except EndpointNotFoundError:  # the first deploy creates it
            s.endpoints.create(name, model=model, description=None, actor=self._actor, at=now)
            s.audit.append(
                actor=self._actor,
                action="endpoint.create",
                target=name,
                details={"model": model, "description": None},
                at=now,
            )
            created = True
        endpoint = s.endpoints.get(name)
        if not created and endpoint.model != model:
            raise InvalidInputError(
                f"Endpoint {name!r} serves model {endpoint.model!r}; {model!r} is another model. "
                f"Deploy a version of {endpoint.model!r}, or create another endpoint."
            )
        return endpoint


def write_revision(
    s: StoreSession,
    actor: str,
    name: str,
    policy: TrafficPolicy,
    action: str,
    reason: str | None,
    now: Any,
    extra: dict[str, Any],
) -> EndpointRevision:
    """Append the endpoint's next revision and its audit entry (inside ``s``)."""
    revision = s.endpoints.add_revision(
        name, policy, action=action, actor=actor, at=now, reason=reason
    )
    s.audit.append(
        actor=actor,
        action=f"endpoint.{action}",
        target=name,
        details={
            "revision": revision.revision,
            "weights": {str(v): w for v, w in policy.weights().items()},
            "shadows": list(policy.shadows),
            "sticky_key": policy.sticky_key,
            "reason": reason,
            **extra,
        },
        at=now,
    )
    return revision


def refuse_during_rollout(s: StoreSession, name: str) -> None:
    """Raise ConflictError while an automated rollout drives the endpoint's traffic."""
    for running in s.rollouts.running(name):
        raise ConflictError(
            f"Rollout #{running.id} is ramping {name!r} (canary version {running.canary} at "
            f"{running.weight:g}%). Let it finish, or stop it with `shipyard rollout abort "
            f"{name}` (or roll back with `shipyard rollback {name}`)."
        )


def exact_ref(ref: str) -> tuple[str, int]:
    """``(model, version)`` of ``NAME:N``; InvalidInputError for any other form."""
    return parse_exact_ref(ref, "deploy")


def require_status(version: ModelVersion, *, full: bool = False, shadow: bool = False) -> None:
    """Raise InvalidInputError unless ``version`` may take that traffic (the module's rules)."""
    status = version.status
    if status == Status.REJECTED:
        raise InvalidInputError(f"{version.ref} was rejected; a rejected version is never served.")
    if shadow:
        return
    if full and status != Status.PRODUCTION:
        raise InvalidInputError(
            f"{version.ref} is {status.value}; only the production version may take all of an "
            f"endpoint's traffic. Promote it first (`shipyard promote {version.ref} --to "
            "production`, which runs its gates and approvals), or deploy it as a canary "
            "(--canary PCT) or a shadow (--shadow)."
        )
    if status not in LIVE_STATUSES:
        raise InvalidInputError(
            f"{version.ref} is {status.value}; live traffic goes only to staging or production "
            f"versions. Stage it first (`shipyard promote {version.ref} --to staging`), or "
            "deploy it as a shadow (--shadow)."
        )


def _version_of(s: StoreSession, endpoint: Endpoint, number: int) -> ModelVersion:
    try:
        return s.models.get_version(endpoint.model, number)
    except VersionNotFoundError as exc:
        raise InvalidInputError(
            f"Endpoint {endpoint.name!r} serves model {endpoint.model!r}, which has no "
            f"version {number}. `shipyard models show {endpoint.model}` lists its versions."
        ) from exc


def stable_version(name: str, current: TrafficPolicy | None, canary: int) -> int:
    """The version with most of the traffic besides ``canary`` (InvalidInputError if none)."""
    weights = {v: w for v, w in (current.weights() if current else {}).items() if v != canary}
    if not weights:
        raise InvalidInputError(
            f"Endpoint {name!r} has no stable version to take the rest of the traffic, so a "
            f"canary cannot start. Deploy a production version first: `shipyard deploy {name} "
            "MODEL:VERSION`."
        )
    return max(weights, key=lambda v: (weights[v], v))


def _next(
    current: TrafficPolicy | None, weights: Mapping[int, float], sticky_key: str | object | None
) -> TrafficPolicy:
    if current is None:
        key = None if sticky_key is KEEP else sticky_key
        return TrafficPolicy.of(weights, sticky_key=key or None)  # type: ignore[arg-type]
    shadows = tuple(v for v in current.shadows if v not in weights)
    policy = current.reweighted(weights, shadows=shadows)
    return policy if sticky_key is KEEP else _with_sticky(policy, sticky_key)


def _with_sticky(policy: TrafficPolicy, sticky_key: str | object | None) -> TrafficPolicy:
    key = sticky_key or None  # "" clears it
    return TrafficPolicy(policy.segments, policy.shadows, key)  # type: ignore[arg-type]
