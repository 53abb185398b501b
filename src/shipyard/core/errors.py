"""Every error a Shipyard user can see, in one tree.

Each error carries a stable machine-readable ``code`` and the HTTP status the API maps it to;
its message says what was wrong and what to do. Nothing here imports a web framework.

    ShipyardError
    ├── NotFoundError (404)
    │   ├── ModelNotFoundError
    │   ├── VersionNotFoundError
    │   ├── ArtifactNotFoundError
    │   ├── KeyNotFoundError
    │   ├── EndpointNotFoundError
    │   ├── RevisionNotFoundError
    │   ├── AlertRuleNotFoundError
    │   └── AlertNotFoundError
    ├── InvalidInputError (422)
    │   ├── MalformedRequestError (400)    body is not valid JSON / not the protocol's shape
    │   ├── InvalidNameError
    │   ├── DataFileError
    │   ├── SampleDataMismatchError
    │   ├── FlavorDetectionError
    │   ├── GatePolicyError                a gate policy file names the line and field
    │   ├── MonitoringSettingsError        a monitoring settings file names the line and field
    │   └── InvalidTransitionError (409)
    ├── ConflictError (409)
    │   └── GatesFailedError               promotion refused: the failed checks are listed
    ├── PayloadTooLargeError (413)
    ├── AuthenticationError (401)          no, unknown, revoked or expired API key
    ├── PermissionDeniedError (403)        the key's role does not allow the operation
    │   └── SelfApprovalError              a requester may not approve their own request
    ├── ModelError (500)                   the model itself raised while predicting
    ├── NotReadyError (503)                nothing is serving under that name yet
    ├── UnsafeArtifactError (422)          pickle without --trust-pickle, untrusted skops types
    ├── IntegrityError (422)               artifact hash mismatch
    ├── ModelLoadError (422)
    ├── MissingExtraError (400)            an optional dependency is not installed
    ├── ConfigurationError (400)
    │   ├── DatabaseUnavailableError (503)
    │   ├── SchemaOutOfDateError (503)
    │   ├── ArtifactStoreUnavailableError (503)
    │   └── ServerUnavailableError (503)   the client cannot reach the server at SHIPYARD_URL
    ├── AuditChainError (500)              only raised by explicit verification requests
    └── RemoteError (as answered)          a server error whose code this client does not know
"""

from __future__ import annotations

from http import HTTPStatus


class ShipyardError(Exception):
    """Base of every error Shipyard reports to a user.

    Attributes:
        code: Stable identifier (``snake_case``) that clients may branch on.
        http_status: Status the HTTP API answers with.
        message: One human sentence or two: what was wrong and what to do.
    """

    code = "shipyard_error"
    http_status = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The error as the API's JSON error body."""
        return {"code": self.code, "message": self.message}


class NotFoundError(ShipyardError):
    """Something named by the user does not exist."""

    code = "not_found"
    http_status = HTTPStatus.NOT_FOUND


class ModelNotFoundError(NotFoundError):
    """No model of that name is registered."""

    code = "model_not_found"


class VersionNotFoundError(NotFoundError):
    """The model exists but not that version."""

    code = "version_not_found"


class ArtifactNotFoundError(NotFoundError):
    """An artifact file, or a blob in the artifact store, is missing."""

    code = "artifact_not_found"


class KeyNotFoundError(NotFoundError):
    """No API key with that id."""

    code = "key_not_found"


class EndpointNotFoundError(NotFoundError):
    """No endpoint of that name."""

    code = "endpoint_not_found"


class RevisionNotFoundError(NotFoundError):
    """The endpoint exists but not that revision."""

    code = "revision_not_found"


class AlertRuleNotFoundError(NotFoundError):
    """The endpoint has no alert rule of that name."""

    code = "alert_rule_not_found"


class AlertNotFoundError(NotFoundError):
    """No alert with that id."""

    code = "alert_not_found"


class InvalidInputError(ShipyardError):
    """The request or command arguments are wrong."""

    code = "invalid_input"
    http_status = HTTPStatus.UNPROCESSABLE_ENTITY


class MalformedRequestError(InvalidInputError):
    """A request body that cannot be parsed (bad JSON, wrong top-level shape)."""

    code = "malformed_request"
    http_status = HTTPStatus.BAD_REQUEST


class InvalidNameError(InvalidInputError):
    """A model name does not follow the naming rule."""

    code = "invalid_name"


class DataFileError(InvalidInputError):
    """A CSV/Parquet file cannot be read or has the wrong shape."""

    code = "invalid_data_file"


class SampleDataMismatchError(InvalidInputError):
    """Sample data columns do not fit the model."""

    code = "sample_data_mismatch"


class FlavorDetectionError(InvalidInputError):
    """The artifact's flavor is unknown or ambiguous."""

    code = "unknown_flavor"


class GatePolicyError(InvalidInputError):
    """A gate policy that cannot be parsed: the message names the source, line and field."""

    code = "invalid_gate_policy"


class MonitoringSettingsError(InvalidInputError):
    """Monitoring settings that cannot be parsed: the message names the source, line and field."""

    code = "invalid_monitoring_settings"


class InvalidTransitionError(InvalidInputError):
    """A status change the lifecycle does not allow."""

    code = "invalid_transition"
    http_status = HTTPStatus.CONFLICT


class ConflictError(ShipyardError):
    """The request conflicts with the current state."""

    code = "conflict"
    http_status = HTTPStatus.CONFLICT


class GatesFailedError(ConflictError):
    """A promotion to production refused because the version failed its gates."""

    code = "gates_failed"


class PayloadTooLargeError(ShipyardError):
    """A request body, or its number of instances, exceeds the server's limit."""

    code = "payload_too_large"
    http_status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class AuthenticationError(ShipyardError):
    """No API key, or one that is unknown, revoked or expired."""

    code = "unauthenticated"
    http_status = HTTPStatus.UNAUTHORIZED


class PermissionDeniedError(ShipyardError):
    """The API key is valid but its role does not allow the operation."""

    code = "forbidden"
    http_status = HTTPStatus.FORBIDDEN


class SelfApprovalError(PermissionDeniedError):
    """An approval by the person who requested the promotion (four eyes means two people)."""

    code = "self_approval"


class ModelError(ShipyardError):
    """The model raised while predicting: a fault of the model, not of the request."""

    code = "model_error"
    http_status = HTTPStatus.INTERNAL_SERVER_ERROR
    request_id: str | None = None  # set by the data plane, quoted in the 500 answer


class NotReadyError(ShipyardError):
    """Nothing is serving under that name yet (no production version, or still loading)."""

    code = "not_ready"
    http_status = HTTPStatus.SERVICE_UNAVAILABLE


class UnsafeArtifactError(ShipyardError):
    """Loading the artifact would run code the user has not explicitly trusted."""

    code = "unsafe_artifact"
    http_status = HTTPStatus.UNPROCESSABLE_ENTITY


class IntegrityError(ShipyardError):
    """An artifact's bytes do not hash to the recorded SHA-256."""

    code = "integrity_error"
    http_status = HTTPStatus.UNPROCESSABLE_ENTITY


class ModelLoadError(ShipyardError):
    """The artifact could not be turned into a working predictor."""

    code = "model_load_failed"
    http_status = HTTPStatus.UNPROCESSABLE_ENTITY


class MissingExtraError(ShipyardError):
    """An optional dependency needed for this operation is not installed."""

    code = "missing_extra"

    def __init__(self, what: str, extra: str, module: str) -> None:
        super().__init__(
            f"{what} needs the Python package '{module}', which is not installed. "
            f"Install it with: pip install 'shipyard-ml[{extra}]'"
        )
        self.extra = extra


class ConfigurationError(ShipyardError):
    """Settings or the environment are wrong."""

    code = "configuration_error"


class DatabaseUnavailableError(ConfigurationError):
    """The metadata database cannot be reached."""

    code = "database_unavailable"
    http_status = HTTPStatus.SERVICE_UNAVAILABLE


class SchemaOutOfDateError(ConfigurationError):
    """The database schema is missing or older than this Shipyard."""

    code = "schema_out_of_date"
    http_status = HTTPStatus.SERVICE_UNAVAILABLE


class ArtifactStoreUnavailableError(ConfigurationError):
    """The artifact store (bucket, directory, credentials) is not usable."""

    code = "artifact_store_unavailable"
    http_status = HTTPStatus.SERVICE_UNAVAILABLE


class ServerUnavailableError(ConfigurationError):
    """The Shipyard server at ``SHIPYARD_URL`` cannot be reached (client side only)."""

    code = "server_unavailable"
    http_status = HTTPStatus.SERVICE_UNAVAILABLE


class AuditChainError(ShipyardError):
    """The audit log's hash chain is broken."""

    code = "audit_chain_broken"
    http_status = HTTPStatus.INTERNAL_SERVER_ERROR


class RemoteError(ShipyardError):
    """A server answered with an error this client cannot name: an unknown code or no JSON.

    Raised by ``shipyard.client`` for answers from a newer server, a proxy or something that
    is not Shipyard at all; ``code`` and ``http_status`` are what the server sent.

    Attributes:
        status_code: The HTTP status exactly as answered (``http_status`` falls back to 502
            for a number outside :class:`http.HTTPStatus`).
    """

    code = "remote_error"
    http_status = HTTPStatus.BAD_GATEWAY

    def __init__(self, message: str, *, code: str = "remote_error", status_code: int = 502) -> None:
        super().__init__(message)
        self.code = code
        self.status_code = status_code
        try:
            self.http_status = HTTPStatus(status_code)
        except ValueError:
            self.http_status = HTTPStatus.BAD_GATEWAY
