"""A failed or interrupted registration leaves no version row and no half-written blob."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.core.errors import ArtifactNotFoundError, ModelLoadError
from shipyard.core.settings import Settings
from shipyard.registry import Registry
from shipyard.store.sql_models import SqlModelRepository


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_interrupted_blob_write_leaves_nothing(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")

    def crash(_fd: int) -> None:
        raise OSError("disk unplugged")

    monkeypatch.setattr(os, "fsync", crash)  # fails after the bytes were written, before rename
    with pytest.raises(OSError, match="disk unplugged"):
        store.put_file(model_dir / "model.skops")
    assert files_under(tmp_path / "artifacts") == []  # no blob, no temp file


def test_failure_while_committing_leaves_no_version_and_no_audit_entry(
    registry: Registry, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = SqlModelRepository.add_version

    def add_then_crash(self: SqlModelRepository, name: str, new: object) -> object:
        original(self, name, new)  # type: ignore[arg-type]
        raise RuntimeError("connection lost before commit")

    monkeypatch.setattr(SqlModelRepository, "add_version", add_then_crash)
    with pytest.raises(RuntimeError, match="connection lost"):
        registry.register(
            "m", model_dir / "model.skops", sample_data=model_dir / "sample.csv", target="target"
        )
    monkeypatch.undo()
    assert registry.list_models() == []
    assert [e.action for e in registry.audit_entries()] == ["system.init", "key.create"]
    assert registry.verify_audit().ok
    # The next registration starts at version 1: the allocation was rolled back too.
    assert registry.register("m", model_dir / "model.skops").version.version == 1


def test_unreadable_artifact_is_reported(
    registry: Registry, model_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Tests run as root, which can read anything: simulate the OS refusing to open the file.
    artifact = tmp_path / "locked.skops"
    artifact.write_bytes((model_dir / "model.skops").read_bytes())
    real_open = Path.open

    def refuse(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if self == artifact:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(ArtifactNotFoundError, match="is not readable"):
        registry.register("m", artifact)


def test_registration_stores_nothing_when_the_model_fails_to_load(
    registry: Registry, settings: Settings, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a protobuf")
    with pytest.raises(ModelLoadError, match=r"Could not load broken\.onnx"):
        registry.register("m", broken)
    assert files_under(Path(settings.artifact_uri)) == []
    assert registry.list_models() == []
