"""API key secrets: generated with ``secrets``, shown once, stored only as SHA-256 digests.

A key is ``sy_<id>_<secret>``: the id is public (listing, revoking, audit), the rest is 256 bits
of randomness, so a plain SHA-256 is a safe digest (no password stretching needed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "sy_"


def generate_key() -> tuple[str, str]:
    """A new key: (public id, full secret to show once)."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    """The digest stored for a key secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secrets_match(secret: str, stored_digest: str) -> bool:
    """Constant-time comparison of a presented secret with a stored digest."""
    return hmac.compare_digest(hash_secret(secret), stored_digest)
