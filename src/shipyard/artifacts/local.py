"""Artifact store on a local (or mounted) directory."""

from __future__ import annotations

import os
from pathlib import Path

from shipyard.artifacts.base import (
    blob_key,
    copy_verified,
    file_sha256,
)
from shipyard.core.errors import ArtifactNotFoundError, ArtifactStoreUnavailableError


class LocalArtifactStore:
    """Blobs under ``root/sha256/ab/<digest>``, written read-only via temp file + rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uri = str(root)

    def check(self) -> None:
        """See ArtifactStore.check."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArtifactStoreUnavailableError(
                f"Cannot create the artifact directory {self.root}: {exc.strerror}. "
                "Check SHIPYARD_ARTIFACT_URI and its permissions."
            ) from exc
        if not os.access(self.root, os.W_OK):
            raise ArtifactStoreUnavailableError(
                f"The artifact directory {self.root} is not writable. "
                "Check SHIPYARD_ARTIFACT_URI and its permissions."
            )

    def _path(self, sha256: str) -> Path:
        return self.root / blob_key(sha256)

    def put_file(self, path: Path) -> tuple[str, int]:
        """See ArtifactStore.put_file."""
        self.check()
        sha256, size = file_sha256(path)
        final = self._path(sha256)
        if final.exists():
            return sha256, size
        # Hash while copying too: the source may change between the two reads.
        with path.open("rb") as source:
            copy_verified(source, sha256, final, str(path))
        final.chmod(0o444)
        return sha256, size

    def exists(self, sha256: str) -> bool:
        """See ArtifactStore.exists."""
        return self._path(sha256).is_file()

    def fetch(self, sha256: str, dest: Path) -> Path:
        """See ArtifactStore.fetch."""
        source = self._path(sha256)
        try:
            handle = source.open("rb")
        except FileNotFoundError as exc:
            raise ArtifactNotFoundError(
                f"Artifact {sha256} is missing from {self.root}. It was deleted or "
                "SHIPYARD_ARTIFACT_URI points at another store."
            ) from exc
        with handle:
            return copy_verified(handle, sha256, dest, f"{sha256} in {self.root}")
