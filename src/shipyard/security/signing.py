"""Artifact signatures: Ed25519 over the artifact's SHA-256, checked against trusted signers.

A team signs what it registers (``shipyard register … --sign-key key.pem``, an unencrypted
PEM Ed25519 private key such as ``openssl genpkey -algorithm ed25519`` makes); the signature,
the signer's public key and its id are stored with the version. A gate that requires a
signature verifies it and accepts it only from a key in ``SHIPYARD_TRUSTED_SIGNERS`` (PEM public
keys), so a signature made with some other key proves nothing.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.core.errors import InvalidInputError
from shipyard.core.types import ArtifactSignature

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

ALGORITHM = "ed25519"
PUBLIC_KEY_SUFFIXES = (".pub",)  # a directory may also hold private keys: read only these


def signed_message(sha256: str) -> bytes:
    """What is signed: the artifact digest, with a prefix that names what it is."""
    return f"shipyard-artifact-sha256:{sha256}".encode()


def sign_artifact(sha256: str, key: Ed25519PrivateKey) -> ArtifactSignature:
    """Sign an artifact digest with an Ed25519 private key (see ``load_signing_key``)."""
    public = _raw(key.public_key())
    return ArtifactSignature(
        algorithm=ALGORITHM,
        key_id=key_id(public),
        public_key=base64.b64encode(public).decode(),
        value=base64.b64encode(key.sign(signed_message(sha256))).decode(),
    )


def load_signing_key(key_file: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``key_file`` (unencrypted PEM).

    Raises:
        InvalidInputError: the file is missing, not PEM, encrypted, or not an Ed25519 key.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        data = key_file.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"--sign-key: cannot read {key_file}: {exc.strerror}.") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"--sign-key: {key_file} is not an unencrypted PEM private key ({exc}). Make one "
            "with `openssl genpkey -algorithm ed25519 -out key.pem`."
        ) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InvalidInputError(
            f"--sign-key: {key_file} holds a {type(key).__name__}; Shipyard signs with Ed25519 "
            "keys (`openssl genpkey -algorithm ed25519 -out key.pem`)."
        )
    return key


def key_id(raw_public_key: bytes) -> str:
    """A short, stable id of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


def trusted_signers(paths: Iterable[Path]) -> dict[str, Ed25519PublicKey]:
    """The trusted public keys in ``paths`` (PEM files, or directories of ``*.pub`` files).

    Raises:
        InvalidInputError: a file that is not a PEM Ed25519 public key (naming it).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    keys: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        files = (
            sorted(p for p in path.iterdir() if p.suffix in PUBLIC_KEY_SUFFIXES)
            if path.is_dir()
            else [path]
        )
        for file in files:
            try:
                key = serialization.load_pem_public_key(file.read_bytes())
            except (OSError, ValueError) as exc:
                raise InvalidInputError(
                    f"Trusted signer {file} is not a readable PEM public key ({exc}); fix "
                    "SHIPYARD_TRUSTED_SIGNERS."
                ) from None
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise InvalidInputError(
                    f"Trusted signer {file} is not an Ed25519 public key; fix "
                    "SHIPYARD_TRUSTED_SIGNERS."
                )
            keys[key_id(_raw(key))] = key
    return keys


def verify(
    signature: ArtifactSignature, sha256: str, trusted: Mapping[str, Ed25519PublicKey]
) -> tuple[bool, str]:
    """Whether ``signature`` signs ``sha256`` with a trusted key, and why not if it does not."""
    from cryptography.exceptions import InvalidSignature

    if signature.algorithm != ALGORITHM:
        return False, f"signed with {signature.algorithm!r}, which Shipyard does not verify"
    key = trusted.get(signature.key_id)
    if key is None:
        known = ", ".join(sorted(trusted)) or "none configured"
        return False, (
            f"signed by key {signature.key_id}, which is not a trusted signer (trusted: {known}; "
            "set SHIPYARD_TRUSTED_SIGNERS)"
        )
    try:
        key.verify(base64.b64decode(signature.value), signed_message(sha256))
    except (InvalidSignature, ValueError):
        return False, (
            f"the signature by key {signature.key_id} does not match the artifact: the artifact "
            "or its signature was altered"
        )
    return True, f"signed by trusted key {signature.key_id}"


def _raw(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
