"""The progressive-delivery controller: measures canary and stable, applies ``decide``.

It runs inside the server (every worker; the store's compare-and-set applies each step once).
Each tick reads the running rollouts from the store and the server's Prometheus counters —
requests, 5xx answers and the latency histogram per endpoint and version, merged across
workers in multiprocess mode — and, when feedback exists, each version's accuracy from the
prediction log. A window is what happened since the controller first saw the rollout's current
step; rollout state lives in the store, so a restarted server resumes where it was (its first
window after a restart starts empty, and the step's clock keeps running).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipyard.core.endpoints import Rollout
from shipyard.core.errors import ShipyardError
from shipyard.core.rollout import VersionWindow, decide
from shipyard.registry import Registry
from shipyard.registry.rollouts import CONTROLLER
from shipyard.serving.metrics import ServingMetrics

log = logging.getLogger("shipyard.rollouts")

FEEDBACK_EVERY = 30.0
"""Seconds between two reads of the prediction log for accuracy (a DuckDB scan)."""
MAX_CLASSES = 20
"""Labels with more distinct values than this are taken as a regression: no accuracy check."""

Key = tuple[str, int]  # (endpoint, version)


@dataclass(slots=True)
class _Counts:
    requests: int = 0
    errors: int = 0
    buckets: dict[float, int] = field(default_factory=dict)


class RolloutController:
    """Decides and applies the next step of every running rollout, one ``tick`` at a time.

    Args:
        registry: The store, acting as the controller.
        metrics: The server's metrics (its own, or every worker's in multiprocess mode).
        log_root: Where prediction logs and feedback are, for the accuracy check.
        clock: Seconds since the epoch (tests pass their own).
        feedback_every: Seconds between two reads of the prediction log for accuracy.
    """

    def __init__(
        self,
        registry: Registry,
        metrics: ServingMetrics,
        log_root: Path,
        *,
        clock: Callable[[], float] = time.time,
        feedback_every: float = FEEDBACK_EVERY,
    ) -> None:
        self._registry = registry.as_actor(CONTROLLER)
        self._metrics = metrics
        self._log_root = log_root
        self._clock = clock
        self._feedback_every = feedback_every
        self._baselines: dict[tuple[int, int], dict[int, VersionWindow]] = {}
        self._feedback: dict[tuple[int, int], tuple[float, dict[int, tuple[int, int]]]] = {}

    def tick(self) -> list[Rollout]:
        """Decide and apply once for every running rollout; returns the rollouts as updated.

        Never raises for one rollout's failure (it is logged and retried next tick).
        """
        running = self._registry.rollouts.running()
        live = {(r.id, r.step) for r in running}
        for key in list(self._baselines):
            if key not in live:
                del self._baselines[key]
                self._feedback.pop(key, None)
        if not running:
            return []
        counts = self._counts()
        updated: list[Rollout] = []
        for rollout in running:
            try:
                result = self._step(rollout, counts)
            except ShipyardError as exc:
                log.warning("Rollout #%d on %s: %s", rollout.id, rollout.endpoint, exc.message)
                continue
            if result is not None:
                updated.append(result)
        return updated

    def _step(self, rollout: Rollout, counts: dict[Key, _Counts]) -> Rollout | None:
        key = (rollout.id, rollout.step)
        versions = (rollout.canary, rollout.stable)
        now = {v: _window(counts.get((rollout.endpoint, v))) for v in versions}
        base = self._baselines.setdefault(key, now)
        accuracy = self._accuracy(rollout)
        canary, stable = (
            _with_feedback(VersionWindow.delta(now[v], base[v]), accuracy.get(v)) for v in versions
        )
        decision = decide(
            rollout.plan,
            rollout.step,
            rollout.step_started_at.timestamp(),
            self._clock(),
            canary,
            stable,
        )
        applied = self._registry.rollouts.apply(rollout, decision)
        if applied is not None and decision.action != "hold":
            level = logging.ERROR if decision.action == "rollback" else logging.INFO
            log.log(
                level,
                "Rollout #%d on %s: %s — %s",
                rollout.id,
                rollout.endpoint,
                decision.action,
                decision.reason,
            )
            if decision.action == "rollback":
                self._metrics.rollout_rollbacks.labels(rollout.endpoint).inc()
        return applied

    def _counts(self) -> dict[Key, _Counts]:
        counts: dict[Key, _Counts] = {}

        def entry(labels: dict[str, str]) -> _Counts | None:
            version = labels.get("version", "")
            if not version.isdigit() or labels.get("protocol") == "shadow":
                return None
            return counts.setdefault((labels["endpoint"], int(version)), _Counts())

        for family in self._metrics.collect():
            for sample in family.samples:
                if sample.name == "shipyard_requests_total":
                    found = entry(sample.labels)
                    if found is not None:
                        found.requests += int(sample.value)
                        if sample.labels.get("status", "").startswith("5"):
                            found.errors += int(sample.value)
                elif sample.name == "shipyard_request_latency_seconds_bucket":
                    found = entry(sample.labels)
                    if found is not None:
                        le = float(sample.labels["le"])
                        found.buckets[le] = found.buckets.get(le, 0) + int(sample.value)
        return counts

    def _accuracy(self, rollout: Rollout) -> dict[int, tuple[int, int]]:
        """``version -> (outcomes with feedback, correct)`` since the step began (cached)."""
        key = (rollout.id, rollout.step)
        cached = self._feedback.get(key)
        if cached is not None and self._clock() - cached[0] < self._feedback_every:
            return cached[1]
        result: dict[int, tuple[int, int]] = {}
        if (self._log_root / rollout.endpoint / "feedback").is_dir():
            try:
                result = _accuracy_since(self._log_root, rollout.endpoint, rollout.step_started_at)
            except ShipyardError as exc:  # no monitoring extra, unreadable segment: skip it
                log.warning("Rollout #%d: no accuracy check: %s", rollout.id, exc.message)
        self._feedback[key] = (self._clock(), result)
        return result


def _window(counts: _Counts | None) -> VersionWindow:
    if counts is None:
        return VersionWindow()
    buckets = tuple(sorted(counts.buckets.items()))
    return VersionWindow(
        requests=counts.requests,
        errors=min(counts.errors, counts.requests),
        latency_buckets=buckets,
    )


def _with_feedback(window: VersionWindow, feedback: tuple[int, int] | None) -> VersionWindow:
    if feedback is None:
        return window
    return replace(window, feedback_n=feedback[0], feedback_correct=feedback[1])


def _accuracy_since(root: Path, endpoint: str, since: datetime) -> dict[int, tuple[int, int]]:
    from shipyard.monitoring import load_outcomes

    outcomes = load_outcomes(root, endpoint, since=since.astimezone(UTC))
    if len(outcomes) == 0:
        return {}
    labels: Iterable[Any] = outcomes.label
    if outcomes.is_numeric and len(set(labels)) > MAX_CLASSES:
        return {}
    result: dict[int, tuple[int, int]] = {}
    correct = outcomes.prediction == outcomes.label
    for version in outcomes.versions:
        mask = outcomes.version == version
        result[int(version)] = (int(mask.sum()), int((correct & mask).sum()))
    return result
