"""Artifact store on S3 or an S3-compatible server (``AWS_ENDPOINT_URL`` picks the endpoint).

S3 makes an object visible only once its upload (single or multipart) completes, so an
interrupted registration leaves nothing readable behind.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from shipyard.artifacts.base import blob_key, copy_verified, file_sha256
from shipyard.core.errors import (
    ArtifactNotFoundError,
    ArtifactStoreUnavailableError,
    MissingExtraError,
)

_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "403",
    "ExpiredToken",
    "InvalidToken",
}


class S3ArtifactStore:
    """Blobs under ``s3://bucket/prefix/sha256/ab/<digest>``."""

    def __init__(self, uri: str, client: Any = None) -> None:
        without_scheme = uri.removeprefix("s3://")
        bucket, _, prefix = without_scheme.partition("/")
        if not bucket:
            raise ArtifactStoreUnavailableError(
                f"SHIPYARD_ARTIFACT_URI {uri!r} names no bucket; use s3://bucket/prefix."
            )
        self.uri = uri
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client if client is not None else _make_client()

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}/{blob_key(sha256)}" if self.prefix else blob_key(sha256)

    def check(self) -> None:
        """See ArtifactStore.check."""
        self._call(self._client.head_bucket, Bucket=self.bucket)

    def put_file(self, path: Path) -> tuple[str, int]:
        """See ArtifactStore.put_file."""
        sha256, size = file_sha256(path)
        if self.exists(sha256):
            return sha256, size
        from boto3.exceptions import S3UploadFailedError

        with tempfile.TemporaryDirectory(prefix="shipyard-upload-") as tmp:
            # Upload a private copy verified against the digest: the user's file could change
            # between hashing and uploading, and the key must name exactly the stored bytes.
            with path.open("rb") as source:
                private = copy_verified(source, sha256, Path(tmp) / "blob", str(path))
            try:
                self._upload(private, sha256)
            except S3UploadFailedError as exc:
                self.check()  # names a missing bucket or bad credentials precisely
                raise ArtifactStoreUnavailableError(f"Upload to {self.uri} failed: {exc}") from exc
        return sha256, size

    def _upload(self, path: Path, sha256: str) -> None:
        self._call(
            self._client.upload_file,
            str(path),
            self.bucket,
            self._key(sha256),
            # S3 checks the SHA-256 of what it receives, so transit corruption is refused too.
            ExtraArgs={"Metadata": {"sha256": sha256}, "ChecksumAlgorithm": "SHA256"},
        )

    def exists(self, sha256: str) -> bool:
        """See ArtifactStore.exists."""
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as exc:
            if _code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise self._translate(exc) from exc
        return True

    def fetch(self, sha256: str, dest: Path) -> Path:
        """See ArtifactStore.fetch."""
        from botocore.exceptions import ClientError

        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as exc:
            if _code(exc) in {"404", "NoSuchKey", "NotFound"}:
                raise ArtifactNotFoundError(
                    f"Artifact {sha256} is missing from {self.uri}. It was deleted or "
                    "SHIPYARD_ARTIFACT_URI points at another store."
                ) from exc
            raise self._translate(exc) from exc
        body = response["Body"]
        try:
            return copy_verified(body, sha256, dest, f"{sha256} in {self.uri}")
        finally:
            body.close()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            raise self._translate(exc) from exc
        except NoCredentialsError as exc:
            raise ArtifactStoreUnavailableError(
                f"No AWS credentials found for the S3 artifact store {self.uri}. Set "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or configure an AWS profile."
            ) from exc
        except BotoCoreError as exc:
            raise ArtifactStoreUnavailableError(
                f"Cannot reach the S3 artifact store {self.uri}: {exc}. Check "
                "AWS_ENDPOINT_URL, the network and your AWS credentials."
            ) from exc

    def _translate(self, exc: Exception) -> ArtifactStoreUnavailableError:
        code = _code(exc)
        if code in {"NoSuchBucket", "404"}:
            return ArtifactStoreUnavailableError(
                f"The S3 bucket {self.bucket!r} does not exist (SHIPYARD_ARTIFACT_URI="
                f"{self.uri}). Create it or point SHIPYARD_ARTIFACT_URI at an existing bucket."
            )
        if code in _CREDENTIAL_CODES:
            return ArtifactStoreUnavailableError(
                f"S3 refused access to bucket {self.bucket!r} ({code}): the credentials are "
                "invalid or lack permission. Check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                "(or your AWS profile) and the bucket policy."
            )
        return ArtifactStoreUnavailableError(f"S3 error on {self.uri}: {code}: {exc}")


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _make_client() -> Any:
    try:
        import boto3
    except ModuleNotFoundError as exc:
        raise MissingExtraError("An s3:// artifact store", "s3", "boto3") from exc
    return boto3.client("s3")
