"""Artifact signatures: signing at registration, verification by the integrity gate."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from shipyard.core.errors import InvalidInputError, ModelNotFoundError
from shipyard.registry import Registry
from shipyard.security.signing import load_signing_key, sign_artifact, trusted_signers, verify

REQUIRE = "integrity:\n  require_signature: true\n"


def write_key(directory: Path, name: str) -> tuple[Path, Path]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = directory / f"{name}.pem"
    public = directory / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_signed_version_passes_a_signature_gate_only_with_a_trusted_key(
    registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    team, _ = write_key(tmp_path, "team")
    stranger, stranger_public = write_key(tmp_path, "stranger")
    signed = registry.register("m", model_dir / "sum_model.py", sign_key=team).version
    registry.register("m", model_dir / "sum_model.py")  # m:2, unsigned
    registry.register("m", model_dir / "sum_model.py", sign_key=stranger)  # m:3
    assert (
        signed.artifact_signature is not None and signed.artifact_signature.algorithm == "ed25519"
    )
    assert registry.get_version("m:1").artifact_signature == signed.artifact_signature
    entry = registry.audit_entries(action="version.register", target="m:1")[0]
    assert entry.details["signed_by"] == signed.artifact_signature.key_id

    registry.gates.set_policy("m", REQUIRE)
    trusting = Registry(
        registry.store,
        registry.artifacts,
        dataclasses.replace(registry.settings, trusted_signers=(tmp_path / "team.pub",)),
        actor="test:alice",
    )
    ok = trusting.gates.check("m:1")
    assert ok.passed, [c.message for c in ok.failed()]
    assert "signed by trusted key" in ok.checks[0].message
    no_signature = trusting.gates.check("m:2")
    assert "is not signed" in no_signature.failed()[0].message
    untrusted = trusting.gates.check("m:3")
    assert "not a trusted signer" in untrusted.failed()[0].message
    assert stranger_public.exists()


def test_a_signature_over_another_digest_does_not_verify(tmp_path: Path) -> None:
    private, public = write_key(tmp_path, "k")
    signature = sign_artifact("a" * 64, load_signing_key(private))
    trusted = trusted_signers([tmp_path])  # a directory: its *.pub files (k.pem is private)
    assert verify(signature, "a" * 64, trusted)[0]
    ok, why = verify(signature, "b" * 64, trusted)
    assert not ok and "does not match the artifact" in why
    assert public.exists()


def test_bad_signing_keys_are_refused_before_anything_is_stored(
    registry: Registry, model_dir: Path, tmp_path: Path
) -> None:
    rsa_key = tmp_path / "rsa.pem"
    rsa_key.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    for key, message in (
        (rsa_key, "Shipyard signs with Ed25519 keys"),
        (garbage, "is not an unencrypted PEM private key"),
        (tmp_path / "missing.pem", "cannot read"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            registry.register("m", model_dir / "sum_model.py", sign_key=key)
    with pytest.raises(ModelNotFoundError):
        registry.get_model("m")
    with pytest.raises(InvalidInputError, match="not a readable PEM public key"):
        trusted_signers([garbage])
