"""Automated progressive delivery: start, apply the controller's decisions, abort.

``start`` deploys the canary at the plan's first step and records the rollout; the controller
in the server (``server/rollouts.py``) measures both versions and calls ``apply`` with the
pure ``core.rollout.decide``'s answer. Each applied decision writes the endpoint's next
revision, the rollout's progress and an audit entry in one transaction, compare-and-set on
the rollout's step, so several workers deciding at once apply a step once.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shipyard.core.endpoints import Rollout, RolloutState
from shipyard.core.errors import ConflictError, InvalidInputError
from shipyard.core.rollout import Decision, RolloutPlan
from shipyard.core.traffic import TrafficPolicy
from shipyard.core.types import Status
from shipyard.registry.endpoints import (
    exact_ref,
    refuse_during_rollout,
    require_status,
    stable_version,
    write_revision,
)

if TYPE_CHECKING:
    from shipyard.registry.service import Registry
    from shipyard.store import StoreSession

CONTROLLER = "controller"
"""The actor the audit log names for the controller's own changes."""


class Rollouts:
    """Automated canary rollouts of one registry's endpoints."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def start(
        self, endpoint: str, ref: str, plan: RolloutPlan, *, reason: str | None = None
    ) -> Rollout:
        """Send ``ref`` the plan's first step of ``endpoint``'s traffic and let it ramp.

        Raises:
            InvalidInputError: no stable version, a version of another model, or a status that
                may not take live traffic.
            ConflictError: a rollout is already running there.
            EndpointNotFoundError, VersionNotFoundError.
        """
        model, number = exact_ref(ref)
        registry = self._registry
        now = registry.now()
        with registry.store.session(write=True) as s:
            s.endpoints.lock(endpoint)
            refuse_during_rollout(s, endpoint)
            current = s.endpoints.get(endpoint)
            if current.model != model:
                raise InvalidInputError(
                    f"Endpoint {endpoint!r} serves model {current.model!r}; {model!r} is another "
                    "model."
                )
            version = s.models.get_version(model, number)
            first = plan.steps[0]
            require_status(version, full=first >= 100)  # a one-step plan is a full deploy
            stable = stable_version(endpoint, current.policy, number)
            others = sorted(v for v in current.policy.weights() if v not in (stable, number))  # type: ignore[union-attr]
            if others:
                raise InvalidInputError(
                    f"Endpoint {endpoint!r} splits its traffic over more than one version besides "
                    f"{version.ref} (also {', '.join(map(str, others))}); a rollout replaces one "
                    f"stable version. Set the traffic to one stable version first (`shipyard "
                    f"endpoints traffic {endpoint} {stable}=100`)."
                )
            policy = _split(current.policy, stable, number, first)
            rollout = s.rollouts.start(
                s.endpoints.endpoint_id(endpoint),
                canary=number,
                stable=stable,
                plan=plan,
                actor=registry.actor,
                at=now,
            )
            why = reason or f"rollout #{rollout.id}: step 1/{len(plan.steps)}"
            write_revision(
                s, registry.actor, endpoint, policy, "canary", why, now, {"rollout": rollout.id}
            )
            s.audit.append(
                actor=registry.actor,
                action="rollout.start",
                target=endpoint,
                details={
                    "rollout": rollout.id,
                    "canary": version.ref,
                    "stable": f"{model}:{stable}",
                    "plan": plan.to_dict(),
                    "reason": reason,
                },
                at=now,
            )
        return rollout

    def history(self, endpoint: str) -> list[Rollout]:
        """The endpoint's rollouts, newest first."""
        with self._registry.store.session() as s:
            s.endpoints.get(endpoint)
            return s.rollouts.history(endpoint)

    def running(self) -> list[Rollout]:
        """Every running rollout (what the controller works on)."""
        with self._registry.store.session() as s:
            return s.rollouts.running()

    def abort(self, endpoint: str, *, reason: str | None = None) -> Rollout:
        """Stop the running rollout and send all traffic back to its stable version.

        Raises:
            ConflictError: no rollout is running there.
        """
        registry = self._registry
        now = registry.now()
        why = reason or "aborted by hand"
        with registry.store.session(write=True) as s:
            s.endpoints.lock(endpoint)
            running = s.rollouts.running(endpoint)
            if not running:
                raise ConflictError(f"No rollout is running on {endpoint!r}; nothing to abort.")
            rollout = running[0]
            stopped = s.rollouts.advance(rollout, state=RolloutState.ABORTED, reason=why, at=now)
            self._back_to_stable(s, registry.actor, rollout, "rollback", why, now)
            s.audit.append(
                actor=registry.actor,
                action="rollout.abort",
                target=endpoint,
                details={"rollout": rollout.id, "reason": why},
                at=now,
            )
        assert stopped is not None  # the endpoint lock serialises changes to its rollout
        return stopped

    def apply(self, rollout: Rollout, decision: Decision) -> Rollout | None:
        """Apply the controller's decision; None if another worker already moved the rollout.

        ``advance`` to 100% completes the rollout, but only for a production canary: a canary
        that is not in production yet holds at its last step until it is promoted.
        """
        registry = self._registry
        now = registry.now()
        record = decision.to_dict()
        with registry.store.session(write=True) as s:
            s.endpoints.lock(rollout.endpoint)
            if decision.action == "hold":
                return s.rollouts.advance(
                    rollout, reason=decision.reason, last_decision=record, at=now
                )
            if decision.action == "rollback":
                moved = s.rollouts.advance(
                    rollout,
                    state=RolloutState.ROLLED_BACK,
                    reason=decision.reason,
                    last_decision=record,
                    at=now,
                )
                if moved is not None:
                    self._back_to_stable(
                        s, CONTROLLER, rollout, "auto_rollback", decision.reason, now
                    )
                    s.audit.append(
                        actor=CONTROLLER,
                        action="rollout.rolled_back",
                        target=rollout.endpoint,
                        details={
                            "rollout": rollout.id,
                            "canary": rollout.canary,
                            "reason": decision.reason,
                            "checks": record["checks"],
                        },
                        at=now,
                    )
                return moved
            return self._ramp(s, rollout, decision, now)

    def _ramp(
        self, s: StoreSession, rollout: Rollout, decision: Decision, now: datetime
    ) -> Rollout | None:
        record = decision.to_dict()
        steps = rollout.plan.steps
        final = decision.action == "complete" or (
            decision.next_weight is not None and decision.next_weight >= 100
        )
        endpoint = s.endpoints.get(rollout.endpoint)
        policy = endpoint.policy
        assert policy is not None  # a rollout starts on a deployed endpoint
        if final:
            canary = s.models.get_version(endpoint.model, rollout.canary)
            if canary.status != Status.PRODUCTION:
                why = (
                    f"healthy at {rollout.weight:g}%, waiting for production: {canary.ref} is "
                    f"{canary.status.value}; promote it (`shipyard promote {canary.ref} --to "
                    "production`) to finish the rollout"
                )
                return s.rollouts.advance(rollout, reason=why, last_decision=record, at=now)
            moved = s.rollouts.advance(
                rollout,
                step=len(steps) - 1,
                state=RolloutState.COMPLETED,
                reason=decision.reason,
                last_decision=record,
                at=now,
            )
            if moved is not None:
                shadows = tuple(v for v in policy.shadows if v != rollout.canary)
                full = policy.reweighted({rollout.canary: 100.0}, shadows=shadows)
                why = f"rollout #{rollout.id} complete: {decision.reason}"
                write_revision(s, CONTROLLER, rollout.endpoint, full, "complete", why, now, {})
                s.audit.append(
                    actor=CONTROLLER,
                    action="rollout.complete",
                    target=rollout.endpoint,
                    details={"rollout": rollout.id, "canary": rollout.canary},
                    at=now,
                )
            return moved
        weight = float(decision.next_weight or steps[rollout.step + 1])
        step = steps.index(weight) if weight in steps else rollout.step + 1
        moved = s.rollouts.advance(
            rollout, step=step, reason=decision.reason, last_decision=record, at=now
        )
        if moved is not None:
            why = f"rollout #{rollout.id}: step {step + 1}/{len(steps)} at {weight:g}%"
            ramped = _split(policy, rollout.stable, rollout.canary, weight)
            write_revision(s, CONTROLLER, rollout.endpoint, ramped, "ramp", why, now, {})
            s.audit.append(
                actor=CONTROLLER,
                action="rollout.step",
                target=rollout.endpoint,
                details={"rollout": rollout.id, "weight": weight, "reason": decision.reason},
                at=now,
            )
        return moved

    @staticmethod
    def _back_to_stable(
        s: StoreSession, actor: str, rollout: Rollout, action: str, why: str, now: datetime
    ) -> None:
        policy = s.endpoints.get(rollout.endpoint).policy
        assert policy is not None
        shadows = tuple(v for v in policy.shadows if v != rollout.stable)
        stable = policy.reweighted({rollout.stable: 100.0}, shadows=shadows)
        write_revision(
            s, actor, rollout.endpoint, stable, action, why, now, {"rollout": rollout.id}
        )


def _split(policy: TrafficPolicy | None, stable: int, canary: int, weight: float) -> TrafficPolicy:
    """``canary`` at ``weight`` percent, the rest on ``stable``; sticky keys move minimally."""
    weights = {stable: 100.0 - weight, canary: weight} if weight < 100 else {canary: 100.0}
    if policy is None:
        return TrafficPolicy.of(weights)
    shadows = tuple(v for v in policy.shadows if v not in weights)
    return policy.reweighted(weights, shadows=shadows)
