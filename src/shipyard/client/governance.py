"""``Client`` methods of governance and progressive delivery: gates, approvals, rollouts, A/B.

A mixin that ``Client`` inherits, so ``Client`` stays the one public entry point while
``client/http.py`` keeps the plumbing. Like the rest of ``shipyard.client`` it imports only
httpx, orjson and ``shipyard.core``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shipyard.core.errors import InvalidInputError
from shipyard.core.governance import CheckKind, RequestState

PILOT_TIMEOUT_FLOOR = 120.0
PILOT_SECONDS_PER_REQUEST = 0.05
"""A remote pilot's answer waits this long per request on top of the floor (a slow model)."""


class GovernanceMixin:
    """Gate policies, gate checks, promotion approvals, rollouts and A/B reports.

    Every method returns the API's JSON (the ``to_dict()`` shapes of ``shipyard.core``) and
    raises the ``ShipyardError`` subclass the server answered with.
    """

    if TYPE_CHECKING:
        # Provided by ``Client`` (``client/http.py``).
        timeout: float

        def _object(
            self,
            method: str,
            path: str,
            body: Any = None,
            *,
            params: dict[str, Any] | None = None,
            timeout: float | None = None,
        ) -> dict[str, Any]: ...

        def _list(
            self, method: str, path: str, body: Any = None, *, params: dict[str, Any] | None = None
        ) -> list[dict[str, Any]]: ...

    # -- gates ----------------------------------------------------------------------------

    def gate_policy(self, name: str) -> dict[str, Any]:
        """The model's gate policy in force and every stored revision.

        Returns:
            ``{"model", "revision", "text", "policy", "history"}``: ``revision`` 0 and ``text``
            None mean the built-in default applies; ``history`` holds
            ``GatePolicyRecord.to_dict()`` shapes, newest first.

        Raises:
            ModelNotFoundError: no such model.
        """
        return self._object("GET", f"{_model(name)}/gate-policy")

    def set_gate_policy(self, name: str, text: str) -> dict[str, Any]:
        """Store ``text`` (policy YAML) as the model's next policy revision.

        Returns:
            The new revision (``GatePolicyRecord.to_dict()`` shape).

        Raises:
            GatePolicyError: the YAML does not parse; the message names the line and field.
            PermissionDeniedError: the key is not an approver or admin.
            ModelNotFoundError: no such model.
        """
        return self._object("PUT", f"{_model(name)}/gate-policy", {"text": text})

    def gate_check(
        self,
        name: str,
        version: int,
        *,
        rows: Sequence[Mapping[str, Any]] | None = None,
        target: str | None = None,
        min_metrics: Mapping[str, float] | None = None,
        sensitive: Sequence[str] = (),
        policy: str | None = None,
        store: bool = True,
        source: str | None = None,
    ) -> dict[str, Any]:
        """Check a version against its gates, on evaluation ``rows`` if given.

        Args:
            name: The model.
            version: The candidate version.
            rows: Evaluation rows ``{feature: value, …, label: value}`` (at most 100,000).
            target: The label column (default: the one given at registration).
            min_metrics: Extra ``metric >= value`` thresholds.
            sensitive: Extra sensitive columns for the fairness checks.
            policy: Policy YAML to use instead of the stored policy.
            store: Keep the report on the version (promotion to production reads it).
            source: The file the rows come from (messages and the stored evidence name it).

        Returns:
            The report (``GateReport.to_dict()`` shape); ``passed`` says whether promotion
            would be allowed.

        Raises:
            InvalidInputError: empty or too many rows, rows that do not form a table.
            GatePolicyError, DataFileError: a bad policy, or rows without the needed columns.
            PermissionDeniedError: the key is not a deployer (or above).
        """
        body: dict[str, Any] = {
            "rows": None if rows is None else [dict(r) for r in rows],
            "target": target,
            "min_metrics": dict(min_metrics or {}),
            "sensitive": list(sensitive),
            "policy": policy,
            "store": store,
            "source": source,
        }
        return self._object("POST", f"{_version(name, version)}/gate-check", body)

    def checks(
        self, name: str, version: int, kind: CheckKind | str | None = None
    ) -> list[dict[str, Any]]:
        """Evidence stored on a version (gate reports, pilot results), newest first.

        Returns:
            ``VersionCheck.to_dict()`` shapes; ``kind`` (``gate`` or ``pilot``) filters them.
        """
        params = {"kind": str(kind)} if kind is not None else None
        return self._list("GET", f"{_version(name, version)}/checks", params=params)

    def pilot(
        self,
        name: str,
        version: int,
        *,
        requests: int = 500,
        concurrency: int = 8,
        rows_per_request: int = 1,
    ) -> dict[str, Any]:
        """Run a pilot load test of a version on the server; the result is kept on it.

        Returns:
            ``PilotResult.to_dict()``: p50/p90/p99/mean/max latency (ms), throughput, errors.

        Raises:
            InvalidInputError: no reference sample, or out-of-range arguments.
            ConflictError: the version was rejected.
        """
        body = {
            "requests": requests,
            "concurrency": concurrency,
            "rows_per_request": rows_per_request,
        }
        # The answer comes when the load test ends: wait for it, not just the usual timeout.
        wait = max(self.timeout, PILOT_TIMEOUT_FLOOR + requests * PILOT_SECONDS_PER_REQUEST)
        return self._object("POST", f"{_version(name, version)}/pilot", body, timeout=wait)

    # -- approvals ------------------------------------------------------------------------

    def approvals(
        self, *, state: RequestState | str | None = RequestState.PENDING, model: str | None = None
    ) -> list[dict[str, Any]]:
        """Promotion requests, newest first (``PromotionRequest.to_dict()`` shape).

        Args:
            state: Only requests in this state (default: pending); None for every state.
            model: Only this model's requests.

        Raises:
            ModelNotFoundError: ``model`` does not exist.
        """
        try:
            wanted = "all" if state is None else RequestState(state).value
        except ValueError:
            known = ", ".join(s.value for s in RequestState)
            raise InvalidInputError(
                f"Unknown request state {state!r}; use one of: {known}."
            ) from None
        params: dict[str, Any] = {"state": wanted}
        if model is not None:
            params["model"] = model
        return self._list("GET", "/api/v1/approvals", params=params)

    def approve(self, name: str, version: int, comment: str | None = None) -> dict[str, Any]:
        """Approve a version's pending promotion request; the last approval needed promotes it.

        Returns:
            ``{"version": ModelVersion.to_dict(), "request": PromotionRequest.to_dict()}``.

        Raises:
            SelfApprovalError: the key requested the promotion itself.
            ConflictError: nothing is pending, or the key has already decided.
            PermissionDeniedError: the key is not an approver or admin.
        """
        return self._object("POST", f"{_version(name, version)}/approve", {"comment": comment})

    def reject(self, name: str, version: int, comment: str | None = None) -> dict[str, Any]:
        """Reject a version's pending promotion request: the version becomes ``rejected``.

        Returns and raises as :meth:`approve`.
        """
        return self._object("POST", f"{_version(name, version)}/reject", {"comment": comment})

    # -- rollouts -------------------------------------------------------------------------

    def start_rollout(
        self,
        endpoint: str,
        ref: str,
        *,
        steps: Sequence[float] = (10.0, 25.0, 50.0, 100.0),
        interval_seconds: float | None = 300.0,
        min_requests: int | None = 100,
        max_error_rate_increase: float = 0.01,
        max_p99_ratio: float = 1.5,
        p99_slack_ms: float = 5.0,
        max_accuracy_drop: float = 0.02,
        significance: float = 0.05,
        min_samples: int = 50,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Deploy ``ref`` as a canary at the first step and let the server's controller ramp it.

        The canary advances a step when ``interval_seconds`` have passed and it answered
        ``min_requests`` requests there (a None condition is not required), as long as it is
        not worse than the stable version; otherwise it is rolled back by itself.

        Returns:
            The rollout (``Rollout.to_dict()`` shape).

        Raises:
            InvalidInputError: bad steps or limits, no stable version, a version of another
                model or a status that may not take live traffic.
            ConflictError: a rollout is already running on the endpoint.
            EndpointNotFoundError, VersionNotFoundError, PermissionDeniedError.
        """
        body = {
            "version": ref,
            "steps": list(steps),
            "interval_seconds": interval_seconds,
            "min_requests": min_requests,
            "max_error_rate_increase": max_error_rate_increase,
            "max_p99_ratio": max_p99_ratio,
            "p99_slack_ms": p99_slack_ms,
            "max_accuracy_drop": max_accuracy_drop,
            "significance": significance,
            "min_samples": min_samples,
            "reason": reason,
        }
        return self._object("POST", f"{_endpoint(endpoint)}/rollouts", body)

    def rollouts(self, endpoint: str) -> list[dict[str, Any]]:
        """The endpoint's rollouts, newest first, with the controller's latest decision."""
        return self._list("GET", f"{_endpoint(endpoint)}/rollouts")

    def abort_rollout(self, endpoint: str, reason: str | None = None) -> dict[str, Any]:
        """Stop the running rollout; all traffic goes back to its stable version.

        Returns:
            The stopped rollout (``Rollout.to_dict()`` shape).

        Raises:
            ConflictError: no rollout is running there.
            PermissionDeniedError: the key is not a deployer (or above).
        """
        return self._object("POST", f"{_endpoint(endpoint)}/rollouts/abort", {"reason": reason})

    def ab(
        self,
        endpoint: str,
        *,
        metric: str | None = None,
        confidence: float = 0.95,
        min_samples: int = 30,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """Compare the endpoint's versions on the feedback their answers received.

        Args:
            endpoint: An endpoint, or a model served under its own name.
            metric: ``accuracy``, ``error_rate``, ``mae`` or ``mse`` (default: from the labels).
            confidence: Level of the intervals, in [0.5, 1).
            min_samples: Outcomes per version needed before a verdict (at least 2).
            since: Only predictions made at or after this time (timezone-aware).
            until: Only predictions made before this time.

        Returns:
            The report: per-version metric with its interval, each challenger's difference
            from the baseline with its p-value, ``enough_data`` and a plain ``verdict``.

        Raises:
            EndpointNotFoundError: neither an endpoint nor a model of that name.
            InvalidInputError: a bad metric, confidence or window.
        """
        params: dict[str, Any] = {"confidence": confidence, "min_samples": min_samples}
        if metric is not None:
            params["metric"] = metric
        if since is not None:
            params["since"] = since.isoformat()
        if until is not None:
            params["until"] = until.isoformat()
        return self._object("GET", f"{_endpoint(endpoint)}/ab", params=params)


def _segment(value: str | int) -> str:
    # As in client/http.py: `/`, `?` and `#` in a name cannot change the route.
    return quote(str(value), safe="")


def _model(name: str) -> str:
    return f"/api/v1/models/{_segment(name)}"


def _version(name: str, version: int) -> str:
    return f"{_model(name)}/versions/{_segment(version)}"


def _endpoint(name: str) -> str:
    return f"/api/v1/endpoints/{_segment(name)}"
