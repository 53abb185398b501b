"""Artifact storage: immutable, content-addressed blobs on a local directory or S3.

Public seam: ``ArtifactStore`` and ``open_artifact_store(uri)``.
"""

from __future__ import annotations

from pathlib import Path

from shipyard.artifacts.base import ArtifactStore, file_sha256
from shipyard.artifacts.local import LocalArtifactStore


def open_artifact_store(uri: str) -> ArtifactStore:
    """The store for ``uri``: ``s3://bucket/prefix``, ``file:///path`` or a plain path."""
    if uri.startswith("s3://"):
        from shipyard.artifacts.s3 import S3ArtifactStore

        return S3ArtifactStore(uri)
    return LocalArtifactStore(Path(uri.removeprefix("file://")).expanduser())


__all__ = ["ArtifactStore", "LocalArtifactStore", "file_sha256", "open_artifact_store"]
