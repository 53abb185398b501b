"""``Client``: the Python SDK for a running Shipyard server, over HTTP with httpx.

One method per public route (DESIGN.md "HTTP"); those of gates, approvals, rollouts and A/B
come from ``client/governance.py``. Control-plane methods return the API's JSON as plain dicts
(the ``to_dict()`` shapes of ``shipyard.core.types``); errors come back as the
``ShipyardError`` subclass the server raised. Imports only httpx, orjson and ``shipyard.core``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import orjson

from shipyard._version import __version__
from shipyard.client.alerts import AlertsMixin
from shipyard.client.errors import (
    error_from_response,
    unavailable,
    unexpected_body,
)
from shipyard.client.governance import GovernanceMixin
from shipyard.client.monitoring import MonitoringMixin
from shipyard.client.monitoring_settings import MonitoringSettingsMixin
from shipyard.client.prediction import Prediction
from shipyard.core.errors import ConfigurationError, InvalidInputError
from shipyard.core.settings import Settings
from shipyard.core.types import Role, Status

NO_URL = (
    "No Shipyard server given: set SHIPYARD_URL (e.g. http://127.0.0.1:8000) or pass "
    "url= to Client. `shipyard serve` starts one."
)
AUDIT_PAGE = 1000  # the API's largest page; longer listings are fetched page by page

T = TypeVar("T")
Instances = Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]]
FeedbackItem = tuple[str, Any] | Mapping[str, Any]


class Client(GovernanceMixin, MonitoringMixin, AlertsMixin, MonitoringSettingsMixin):
    """A connection to a Shipyard server, acting as one API key.

    Example:
        >>> with Client("http://127.0.0.1:8000", api_key="sy_…") as client:  # doctest: +SKIP
        ...     answer = client.predict("credit-risk", [{"income": 52000, "age": 41}])
        ...     client.feedback("credit-risk", [(answer.request_id, 1)])

    Thread-safe: one client may serve many threads (it pools connections). Close it, or use it
    as a context manager, to release them.

    Args:
        url: The server's base URL (default ``SHIPYARD_URL``).
        api_key: The key to act as (default ``SHIPYARD_API_KEY``); its role decides what the
            server allows.
        timeout: Seconds to wait for connecting and for each answer.
        transport: An httpx transport, e.g. ``httpx.MockTransport`` in tests.

    Raises:
        ConfigurationError: no URL at all, a URL that is not http(s), or a key that cannot
            be sent in a header.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if url is None or api_key is None:
            settings = Settings.from_env()
            url = settings.url if url is None else url
            api_key = settings.api_key if api_key is None else api_key
        if not url:
            raise ConfigurationError(NO_URL)
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"The Shipyard URL {url!r} must start with http:// or https:// "
                "(e.g. http://127.0.0.1:8000)."
            )
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._api_key = api_key or None
        headers = {"Accept": "application/json", "User-Agent": f"shipyard-client/{__version__}"}
        if self._api_key is not None:
            if not self._api_key.isascii() or not self._api_key.isprintable():
                raise ConfigurationError(
                    "The API key contains characters that cannot be sent in a header; "
                    "check SHIPYARD_API_KEY for a stray newline or quote."
                )
            headers["Authorization"] = f"Bearer {self._api_key.strip()}"
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"Client(url={self.url!r}, api_key={_mask(self._api_key)})"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections (idempotent)."""
        self._http.close()

    # -- data plane -----------------------------------------------------------------------

    def predict(
        self,
        endpoint: str,
        instances: Instances,
        *,
        metadata: Mapping[str, Any] | None = None,
        return_probabilities: bool = False,
        request_id: str | None = None,
        routing_key: str | None = None,
    ) -> Prediction:
        """Predict with whatever the endpoint's traffic policy routes to.

        Args:
            endpoint: The endpoint name: a named endpoint (``create_endpoint``/``deploy``),
                whose traffic policy picks the version, or the name of a model with a
                production version and no endpoint of its own name, served under that name.
            instances: Objects ``{feature: value}`` or rows ``[v1, v2, …]`` in signature
                order (a 2-D numpy array works too).
            metadata: Logged with the prediction, e.g. a sensitive attribute for fairness.
            return_probabilities: Also return class probabilities (classifiers).
            request_id: Your own id for the request (default: one made by the server).
            routing_key: Sticky routing key, so one user keeps seeing one variant.

        Raises:
            InvalidInputError: the instances do not fit the signature (the message names the
                field); MalformedRequestError, PayloadTooLargeError, NotReadyError (nothing
                served under that name), ModelError (the model raised; ``request_id`` set).
        """
        body = _predict_body(instances, metadata, return_probabilities, request_id, routing_key)
        return self._prediction(f"/v1/endpoints/{_segment(endpoint)}/predict", body)

    def predict_version(
        self,
        name: str,
        version: int,
        instances: Instances,
        *,
        metadata: Mapping[str, Any] | None = None,
        return_probabilities: bool = False,
        request_id: str | None = None,
    ) -> Prediction:
        """Predict with one pinned version, bypassing the traffic policy.

        Arguments and errors as :meth:`predict`; VersionNotFoundError for an unknown version.
        """
        body = _predict_body(instances, metadata, return_probabilities, request_id, None)
        path = f"/v1/models/{_segment(name)}/versions/{_segment(version)}/predict"
        return self._prediction(path, body)

    def feedback(self, endpoint: str, items: Iterable[FeedbackItem]) -> int:
        """Send ground truth for earlier predictions; returns how many labels were accepted.

        Args:
            endpoint: The endpoint that answered.
            items: ``(request_id, label)`` pairs, or dicts ``{"request_id", "label", "row"?}``
                where ``row`` is the instance's index in a multi-instance request.

        Raises:
            InvalidInputError: a malformed item (named by its index).
        """
        body = {"endpoint": endpoint, "items": [_feedback_item(item) for item in items]}
        answer = self._object("POST", "/v1/feedback", body)
        return int(answer["accepted"])

    def unlogged_request_ids(self, endpoint: str, request_ids: Sequence[str]) -> list[str]:
        """The ids among ``request_ids`` the endpoint's prediction log does not hold (yet).

        Labels for them are kept by ``feedback`` and count once the predictions are logged;
        ids that never appear are usually typos. Needs a viewer key (the control plane).
        """
        path = f"/api/v1/monitoring/{_segment(endpoint)}/unlogged-ids"
        answer = self._object("POST", path, {"request_ids": list(request_ids)})
        return [str(i) for i in answer["unlogged"]]

    # -- control plane --------------------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        """Every registered model (``Model.to_dict()`` shape)."""
        return self._list("GET", "/api/v1/models")

    def model(self, name: str) -> dict[str, Any]:
        """One model and a summary of its versions, newest first (ModelNotFoundError)."""
        return self._object("GET", f"/api/v1/models/{_segment(name)}")

    def version(self, name: str, version: int) -> dict[str, Any]:
        """One version's full record (``ModelVersion.to_dict()`` shape)."""
        return self._object("GET", f"/api/v1/models/{_segment(name)}/versions/{_segment(version)}")

    def history(self, name: str) -> list[dict[str, Any]]:
        """A model's status changes, oldest first (``StatusChange.to_dict()`` shape)."""
        return self._list("GET", f"/api/v1/models/{_segment(name)}/history")

    def promote(
        self, name: str, version: int, to: Status | str, reason: str | None = None
    ) -> dict[str, Any]:
        """Move a version to ``to`` (staging, production, archived, rejected), audited as the key.

        Raises:
            InvalidTransitionError: the lifecycle forbids the move.
            PermissionDeniedError: production needs an approver or admin key, unless the
                model's gate policy asks for approvals (then a deployer may request it: the
                version waits in ``pending_approval``).
            GatesFailedError: the version has not passed its gates.
        """
        body = {"to": str(to), "reason": reason}
        return self._object(
            "POST", f"/api/v1/models/{_segment(name)}/versions/{_segment(version)}/promote", body
        )

    def endpoints(self) -> dict[str, Any]:
        """What the server serves: each endpoint's version, and versions loading or failed.

        ``configured`` lists every stored endpoint (``Endpoint.to_dict()`` shape), including
        ones this server does not serve yet.
        """
        return self._object("GET", "/api/v1/endpoints")

    def create_endpoint(
        self, name: str, model: str, description: str | None = None
    ) -> dict[str, Any]:
        """Create an endpoint for ``model`` that serves nothing until a version is deployed.

        Returns:
            The endpoint (``Endpoint.to_dict()`` shape).

        Raises:
            InvalidNameError: ``name`` cannot be an endpoint name.
            ConflictError: an endpoint of that name exists.
            ModelNotFoundError: no such model.
            PermissionDeniedError: the key is not a deployer (or above).
        """
        body = {"name": name, "model": model, "description": description}
        return self._object("POST", "/api/v1/endpoints", body)

    def endpoint(self, name: str) -> dict[str, Any]:
        """One endpoint, its current policy, its revisions (newest first) and what is served.

        Returns:
            ``Endpoint.to_dict()`` plus ``history`` (``EndpointRevision.to_dict()`` each) and
            ``serving`` (what this server routes for it now, or None).

        Raises:
            EndpointNotFoundError: no endpoint of that name.
        """
        return self._object("GET", f"/api/v1/endpoints/{_segment(name)}")

    def deploy(
        self,
        endpoint: str,
        ref: str,
        *,
        canary: float | None = None,
        shadow: bool = False,
        sticky_key: str | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Send version ``ref`` all of the endpoint's traffic, a canary share of it, or copies.

        Creates the endpoint on first use. Audited under the key.

        Args:
            endpoint: The endpoint name.
            ref: The exact version, e.g. ``credit:3``.
            canary: Percent of traffic (above 0, at most 100) taken from the stable version.
            shadow: Send copies only: answers are logged, never returned.
            sticky_key: The feature that keeps a caller on one version; None (default) leaves
                the endpoint's sticky key as it is, ``""`` clears it.
            reason: Why, kept in the revision and the audit log.

        Returns:
            The new revision (``EndpointRevision.to_dict()`` shape).

        Raises:
            InvalidInputError: a reference that is not an exact version, bad percentages, a
                canary with no stable version, a version of another model, or a status that
                may not take that traffic.
            ModelNotFoundError, VersionNotFoundError: no such model or version.
            PermissionDeniedError: the key is not a deployer (or above).
        """
        body: dict[str, Any] = {"version": ref, "canary": canary, "shadow": shadow}
        if sticky_key is not None:
            body["sticky_key"] = sticky_key
        body["reason"] = reason
        return self._object("POST", f"/api/v1/endpoints/{_segment(endpoint)}/deploy", body)

    def set_traffic(
        self,
        endpoint: str,
        weights: Mapping[int, float],
        *,
        shadows: Iterable[int] | None = None,
        sticky_key: str | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Set the endpoint's traffic policy: percent per version, shadows, sticky key.

        Sticky keys move only as much as the new weights require.

        Args:
            endpoint: The endpoint name.
            weights: ``{version: percent}`` summing to 100, e.g. ``{1: 90, 2: 10}``.
            shadows: Versions that get copies of the traffic; None (default) keeps the
                current ones, an empty list removes them.
            sticky_key: As for :meth:`deploy`: None keeps it, ``""`` clears it.
            reason: Why, kept in the revision and the audit log.

        Returns:
            The new revision (``EndpointRevision.to_dict()`` shape).

        Raises:
            InvalidInputError: weights that are not positive or do not sum to 100, versions the
                endpoint's model does not have, or a status that may not take live traffic.
            EndpointNotFoundError: no endpoint of that name.
            PermissionDeniedError: the key is not a deployer (or above).
        """
        body: dict[str, Any] = {"weights": {str(v): w for v, w in weights.items()}}
        if shadows is not None:
            body["shadows"] = list(shadows)
        if sticky_key is not None:
            body["sticky_key"] = sticky_key
        body["reason"] = reason
        return self._object("PUT", f"/api/v1/endpoints/{_segment(endpoint)}/traffic", body)

    def rollback(
        self, endpoint: str, *, to_revision: int | None = None, reason: str | None = None
    ) -> dict[str, Any]:
        """Restore an earlier revision's policy (default: the previous one) as a new revision.

        Returns:
            The new revision (``EndpointRevision.to_dict()`` shape); its policy is the restored
            one, so the rollback can itself be rolled back.

        Raises:
            InvalidInputError: nothing earlier to restore, or ``to_revision`` is the current one.
            RevisionNotFoundError: no such revision.
            ConflictError: the revision routes to a version that was rejected since.
            EndpointNotFoundError: no endpoint of that name.
            PermissionDeniedError: the key is not a deployer (or above).
        """
        body = {"to_revision": to_revision, "reason": reason}
        return self._object("POST", f"/api/v1/endpoints/{_segment(endpoint)}/rollback", body)

    def audit(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        target: str | None = None,
        before_seq: int | None = None,
    ) -> list[dict[str, Any]]:
        """Newest audit entries first (``AuditEntry.to_dict()`` shape).

        Args:
            limit: How many at most (fetched in pages of 1000).
            action: Only this action, e.g. ``version.promote``.
            target: Only targets starting with this.
            before_seq: Only entries older than this sequence number (for paging).
        """
        if limit < 1:
            raise InvalidInputError(f"limit must be at least 1 (got {limit}).")
        entries: list[dict[str, Any]] = []
        cursor = before_seq
        while len(entries) < limit:
            size = min(AUDIT_PAGE, limit - len(entries))
            params: dict[str, Any] = {"limit": size}
            params.update((k, v) for k, v in (("action", action), ("target", target)) if v)
            if cursor is not None:
                params["before_seq"] = cursor
            page = self._list("GET", "/api/v1/audit", params=params)
            entries.extend(page)
            if len(page) < size:
                break
            cursor = int(page[-1]["seq"])
        return entries

    def verify_audit(self) -> dict[str, Any]:
        """Check the audit hash chain (``ok``, ``entries_checked``, ``first_bad_seq``, …)."""
        return self._object("GET", "/api/v1/audit/verify")

    def keys(self) -> list[dict[str, Any]]:
        """Every API key's record, never a secret (needs an admin key)."""
        return self._list("GET", "/api/v1/keys")

    def create_key(
        self, role: Role | str, name: str | None = None, expires_at: datetime | None = None
    ) -> dict[str, Any]:
        """Create an API key (admin); the answer's ``secret`` is shown this once only."""
        body = {
            "role": str(role),
            "name": name,
            "expires_at": expires_at.isoformat() if expires_at else None,
        }
        return self._object("POST", "/api/v1/keys", body)

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        """Revoke a key (admin, idempotent); KeyNotFoundError for an unknown id."""
        return self._object("DELETE", f"/api/v1/keys/{_segment(key_id)}")

    # -- operations -----------------------------------------------------------------------

    def health(self) -> bool:
        """True if the server process answers ``/healthz``; False if not (never raises)."""
        try:
            response = self._http.get("/healthz")
        except httpx.TransportError:
            return False
        return response.status_code == httpx.codes.OK

    def ready(self) -> dict[str, Any]:
        """The ``/readyz`` detail: ``ready`` plus what is served, loading and failed.

        Answers while the server is still loading too (``ready`` is then False).
        """
        response = self._send("GET", "/readyz", accept=(httpx.codes.SERVICE_UNAVAILABLE,))
        return _as(dict, self._decode(response), response)

    def metrics(self) -> str:
        """The Prometheus exposition text of ``/metrics`` (any valid key)."""
        return self._send("GET", "/metrics").text

    # -- plumbing -------------------------------------------------------------------------

    def _prediction(self, path: str, body: dict[str, Any]) -> Prediction:
        response = self._send("POST", path, body)
        data = _as(dict, self._decode(response), response)
        try:
            return Prediction.from_dict(data)
        except (KeyError, TypeError, ValueError):
            raise unexpected_body(response) from None

    def _object(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        response = self._send(method, path, body, params=params, timeout=timeout)
        return _as(dict, self._decode(response), response)

    def _list(
        self, method: str, path: str, body: Any = None, *, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        response = self._send(method, path, body, params=params)
        return _as(list, self._decode(response), response)

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        accept: tuple[int, ...] = (),
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request; ``timeout`` overrides the client's for slow operations."""
        content = None
        headers = None
        if body is not None:
            try:
                content = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
            except TypeError as exc:
                raise InvalidInputError(f"The request cannot be sent as JSON: {exc}.") from None
            headers = {"Content-Type": "application/json"}
        try:
            response = self._http.request(
                method,
                path,
                content=content,
                params=params,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as exc:
            raise unavailable(self.url, exc, timeout or self.timeout) from exc
        if response.is_success or response.status_code in accept:
            return response
        raise error_from_response(response, has_key=self._api_key is not None)

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise unexpected_body(response) from None


def _as(kind: type[T], value: Any, response: httpx.Response) -> T:
    if not isinstance(value, kind):
        raise unexpected_body(response)
    return value


def _predict_body(
    instances: Instances,
    metadata: Mapping[str, Any] | None,
    return_probabilities: bool,
    request_id: str | None,
    routing_key: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"instances": instances}
    if metadata is not None:
        body["metadata"] = dict(metadata)
    if return_probabilities:
        body["return_probabilities"] = True
    if request_id is not None:
        body["request_id"] = request_id
    if routing_key is not None:
        body["routing_key"] = routing_key
    return body


def _feedback_item(item: FeedbackItem) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    request_id, label = item
    return {"request_id": request_id, "label": label}


def _segment(value: str | int) -> str:
    """One URL path segment: ``/``, ``?`` and ``#`` in a name cannot change the route."""
    return quote(str(value), safe="")


def _mask(key: str | None) -> str:
    """``sy_<id>_***``: the public id (what ``keys list`` shows), never the secret part."""
    if key is None:
        return "None"
    prefix, _, rest = key.partition("_")
    key_id, sep, _ = rest.partition("_")
    if prefix == "sy" and sep and key_id.isalnum():
        return f"'sy_{key_id}_***'"
    return "'***'"
