"""Directories as blobs: a deterministic tar (sorted names, zeroed times and owners).

The same directory content always packs to the same bytes, hence the same SHA-256, so a
directory artifact is content-addressed like a file.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

DIRECTORY_SUFFIX = "/"


def pack_directory(source: Path, dest: Path) -> Path:
    """Write ``source``'s files to the tar ``dest`` deterministically; returns ``dest``."""

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime = 0
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = 0o755 if info.isdir() else 0o644
        return info

    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                continue
            if "__pycache__" in path.parts:
                continue
            archive.add(
                path, arcname=str(path.relative_to(source)), recursive=False, filter=normalise
            )
    return dest


def unpack_directory(archive_path: Path, dest: Path) -> Path:
    """Extract a packed directory into ``dest`` (refusing links and paths outside it)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive_path) as archive:
        archive.extractall(dest, filter="data")
    return dest
