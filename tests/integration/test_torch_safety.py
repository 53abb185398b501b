"""A crafted torch.export archive must not run code on `register` without --trust-pickle.

torch.export.load unpickles weights marked ``use_pickle`` and retries non-tensor example inputs
with ``weights_only=False``; both are ways for a file to run code. Shipyard checks first.
"""

from __future__ import annotations

import json
import os
import pickle  # noqa: TID251 - builds malicious payloads; never loads one
import warnings
import zipfile
from pathlib import Path

import pytest

from shipyard.core.errors import UnsafeArtifactError
from shipyard.flavors import Trust, load_predictor


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"echo pwned > {self.marker}",))


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    import torch

    module = torch.nn.Sequential(torch.nn.Linear(2, 1)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(module, (torch.zeros(3, 2),))
    path = tmp_path / "good.pt2"
    torch.export.save(program, str(path))
    return path


def rewrite(source: Path, dest: Path, replace: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(dest, "w") as out:
        for info in archive.infolist():
            out.writestr(info, replace.get(info.filename, archive.read(info.filename)))
    return dest


def test_plain_export_loads(exported: Path) -> None:
    assert load_predictor("torch", exported).flavor == "torch"


def test_pickled_weight_is_refused_before_torch_sees_it(exported: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned.txt"
    with zipfile.ZipFile(exported) as archive:
        config_name = next(n for n in archive.namelist() if n.endswith("_weights_config.json"))
        config = json.loads(archive.read(config_name))
    key = next(iter(config["config"]))
    config["config"][key]["use_pickle"] = True
    weight_file = config_name.rsplit("/", 1)[0] + "/" + config["config"][key]["path_name"]
    evil = rewrite(
        exported,
        tmp_path / "evil.pt2",
        {config_name: json.dumps(config).encode(), weight_file: pickle.dumps(Payload(marker))},
    )
    with pytest.raises(UnsafeArtifactError, match=r"contains pickled data.*--trust-pickle"):
        load_predictor("torch", evil)
    assert not marker.exists()


def test_pickled_example_inputs_are_refused(exported: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned.txt"
    with zipfile.ZipFile(exported) as archive:
        inputs = next(n for n in archive.namelist() if "/sample_inputs/" in n)
    evil = rewrite(exported, tmp_path / "evil.pt2", {inputs: pickle.dumps(Payload(marker))})
    with pytest.raises(UnsafeArtifactError, match="example inputs that are not plain tensors"):
        load_predictor("torch", evil, Trust())
    assert not marker.exists()
