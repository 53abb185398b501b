"""The artifact-store seam: immutable blobs addressed by SHA-256, verified on every read.

``put_file`` never exposes a partial blob (temp name + rename locally; S3 objects appear only
when their upload completes); ``fetch`` streams a blob into a private file while hashing it and
refuses it, naming both hashes, if the bytes are not the ones registered.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from shipyard.core.errors import IntegrityError

CHUNK = 1024 * 1024


class ArtifactStore(Protocol):
    """Content-addressed blob storage."""

    uri: str

    def check(self) -> None:
        """Verify the store is reachable and usable.

        Raises:
            ArtifactStoreUnavailableError: naming what is wrong (missing bucket, credentials…).
        """
        ...

    def put_file(self, path: Path) -> tuple[str, int]:
        """Store the file's bytes; idempotent for identical content.

        Returns:
            (sha256 hex digest, size in bytes).
        """
        ...

    def exists(self, sha256: str) -> bool:
        """True if a blob with this digest is stored."""
        ...

    def fetch(self, sha256: str, dest: Path) -> Path:
        """Copy the blob to ``dest`` (atomically), verifying its hash on the way.

        Raises:
            ArtifactNotFoundError: if no such blob.
            IntegrityError: if the stored bytes do not hash to ``sha256`` (``dest`` untouched).
        """
        ...


def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 hex digest and size of a file, streamed."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def blob_key(sha256: str) -> str:
    """Relative key of a blob: ``sha256/ab/abcdef…`` (fan-out keeps directories small)."""
    return f"sha256/{sha256[:2]}/{sha256}"


@contextmanager
def atomic_destination(dest: Path) -> Iterator[BinaryIO]:
    """A temp file beside ``dest``, renamed onto it on success and removed on any failure."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def copy_verified(source: BinaryIO, sha256: str, dest: Path, where: str) -> Path:
    """Stream ``source`` to ``dest`` while hashing; keep it only if the digest matches."""
    digest = hashlib.sha256()
    with atomic_destination(dest) as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
        actual = digest.hexdigest()
        if actual != sha256:
            raise IntegrityError(
                f"Artifact {where} failed its integrity check: expected SHA-256 {sha256}, "
                f"got {actual}. The stored bytes were altered or corrupted; the model was not "
                "loaded. Restore the blob from a backup or register the model again."
            )
    return dest
