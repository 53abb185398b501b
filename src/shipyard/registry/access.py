"""Authenticating API keys for the servers, with a short-lived cache in front of the store.

The cache keeps the hot path free of database reads; its time-to-live bounds how long a revoked
or expired key keeps working (one second by default). Unknown secrets are cached too, so a
client hammering with a bad key cannot turn every request into a query.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from shipyard.core.access import Permission, role_allows, roles_with
from shipyard.core.errors import AuthenticationError, PermissionDeniedError
from shipyard.core.types import ApiKey
from shipyard.security.keys import KEY_PREFIX, hash_secret
from shipyard.store import MetadataStore

MISSING_KEY = (
    "This route needs an API key: send 'Authorization: Bearer <key>'. "
    "`shipyard keys create --role predictor` makes one."
)
BAD_KEY = "The API key is unknown, revoked or expired. Ask an admin for a valid key."


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, if that is what it is."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class KeyAuthenticator:
    """Resolves ``Authorization`` secrets to API keys and checks their role.

    Thread-safe. Lookups go by the SHA-256 digest of the secret: the digest of a 256-bit random
    secret reveals nothing usable, so comparing digests in SQL leaks nothing about the secret.
    """

    def __init__(
        self, store: MetadataStore, *, ttl: float = 1.0, max_entries: int = 10_000
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._max_entries = max_entries
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def authenticate(self, secret: str | None) -> ApiKey:
        """The active key for ``secret``.

        Raises:
            AuthenticationError: no secret, or an unknown, revoked or expired one.
        """
        if not secret:
            raise AuthenticationError(MISSING_KEY)
        if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            raise AuthenticationError(BAD_KEY)
        digest = hash_secret(secret)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is None or now - cached[0] > self._ttl:
            with self._store.session() as s:
                key = s.keys.find_by_secret_hash(digest)
            with self._lock:
                if len(self._cache) >= self._max_entries:
                    self._cache.clear()
                self._cache[digest] = (now, key)
        else:
            key = cached[1]
        if key is None or key.revoked_at is not None:
            raise AuthenticationError(BAD_KEY)
        if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
            raise AuthenticationError(BAD_KEY)
        return key

    def authorize(self, secret: str | None, permission: Permission) -> ApiKey:
        """The key for ``secret`` if its role grants ``permission``.

        Raises:
            AuthenticationError: as for :meth:`authenticate`.
            PermissionDeniedError: naming the roles that would be allowed.
        """
        key = self.authenticate(secret)
        if not role_allows(key.role, permission):
            allowed = ", ".join(role.value for role in roles_with(permission))
            raise PermissionDeniedError(
                f"A {key.role.value} key may not {permission.value}; this needs one of: {allowed}."
            )
        return key

    def forget(self) -> None:
        """Drop every cached lookup (after revoking a key in this process)."""
        with self._lock:
            self._cache.clear()
