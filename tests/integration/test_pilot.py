"""The pilot load test against a real isolated server (uvicorn on 127.0.0.1:0) and real models."""

from __future__ import annotations

import logging
import textwrap
import threading
from datetime import UTC
from pathlib import Path

import pytest

from shipyard.artifacts.base import blob_key
from shipyard.core.errors import ConflictError, IntegrityError, InvalidInputError
from shipyard.core.settings import Settings
from shipyard.core.types import Status
from shipyard.registry import Registry
from shipyard.registry.setup import initialise
from shipyard.server.app import NO_AUTH_WARNING
from shipyard.server.pilot import (
    BAD_RANGE,
    NO_REFERENCE_SAMPLE,
    REJECTED,
    PilotResult,
    run_pilot,
)
from tests.fixtures.serving import Served

# Registration scores the sample's rows all at once, so the model registers; served one row per
# call, it fails on the rows whose `a` is 2 (one of the three rows of ab.csv).
MOODY_MODEL = '''
"""MoodyModel: the row sums, but a lone row with a == 2 makes it raise."""


class MoodyModel:
    feature_names = ["a", "b"]

    def predict(self, batch):
        if len(batch) == 1 and (batch.column("a") == 2).any():
            raise ValueError("a lone two: secret internal detail")
        return batch.matrix().sum(axis=1)


def load_model(artifact_dir):
    return MoodyModel()
'''


def _no_pilot_threads() -> bool:
    return not any(t.name == "shipyard-pilot-server" for t in threading.enumerate())


def test_pilot_measures_a_production_version(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[int, int]] = []
    caplog.set_level(logging.WARNING)

    result = run_pilot(
        served.registry,
        "cancer:production",
        requests=60,
        concurrency=4,
        warmup=5,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert result.ref == "cancer:1"
    assert (result.requests, result.concurrency, result.rows_per_request) == (60, 4, 1)
    assert result.errors == 0
    assert result.error_examples == ()
    assert 0 < result.p50_ms <= result.p90_ms <= result.p99_ms <= result.max_ms
    assert result.mean_ms <= result.max_ms
    assert result.throughput_rps > 0
    assert result.duration_s > 0
    assert result.throughput_rps == pytest.approx(60 / result.duration_s)
    assert result.started_at.tzinfo is not None
    assert result.started_at.utcoffset() == UTC.utcoffset(None)
    assert seen == [(n, 60) for n in range(1, 61)]
    assert PilotResult.from_dict(result.to_dict()) == result
    # Pilot traffic never reaches the real prediction log (or feedback) of the home.
    logs = served.settings.home / "logs"
    assert not logs.exists() or not any(logs.rglob("*"))
    assert _no_pilot_threads()
    # The private server runs without keys; its "auth is off" warning would only alarm.
    assert NO_AUTH_WARNING not in caplog.text


def test_a_failing_progress_callback_stops_the_pilot_cleanly(served: Served) -> None:
    def progress(done: int, total: int) -> None:
        if done == 3:
            raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        run_pilot(served.registry, "sum:1", requests=50, concurrency=4, progress=progress)

    assert _no_pilot_threads()


def test_pilot_serves_a_version_that_is_not_in_production(served: Served, model_dir: Path) -> None:
    served.registry.register(
        "cancer", model_dir / "model.skops", sample_data=model_dir / "sample.csv", target="target"
    )
    assert served.registry.get_version("cancer:2").status == Status.REGISTERED

    result = run_pilot(
        served.registry, "cancer:2", requests=20, concurrency=2, rows_per_request=5, warmup=0
    )

    assert (result.ref, result.rows_per_request, result.errors) == ("cancer:2", 5, 0)
    assert result.p50_ms <= result.p99_ms <= result.max_ms


def test_model_failures_are_counted_with_examples(
    served: Served, model_dir: Path, tmp_path: Path
) -> None:
    model = tmp_path / "moody_model.py"
    model.write_text(textwrap.dedent(MOODY_MODEL))
    served.registry.register("moody", model, sample_data=model_dir / "ab.csv")
    # One request in flight: every model call holds exactly one request's row.
    result = run_pilot(served.registry, "moody:1", requests=60, concurrency=1, warmup=0)

    assert 0 < result.errors < 60
    assert len(result.error_examples) == 1  # the same failure, whatever its request id
    example = result.error_examples[0]
    assert example.startswith("HTTP 500: ")
    assert "request id" in example
    assert "secret internal detail" not in example
    assert result.p50_ms <= result.p99_ms <= result.max_ms


def test_a_rejected_version_is_refused(served: Served, model_dir: Path) -> None:
    served.registry.register("sum", model_dir / "sum_model.py", sample_data=model_dir / "ab.csv")
    served.registry.promote("sum:2", "rejected")

    with pytest.raises(ConflictError) as caught:
        run_pilot(served.registry, "sum:2", requests=5)

    assert caught.value.code == "conflict"
    assert caught.value.message == REJECTED.format(ref="sum:2")


def test_a_version_without_reference_sample_is_refused(served: Served, model_dir: Path) -> None:
    served.registry.register("sum", model_dir / "sum_model.py")

    with pytest.raises(InvalidInputError) as caught:
        run_pilot(served.registry, "sum:2", requests=5)

    assert caught.value.code == "invalid_input"
    assert caught.value.message == NO_REFERENCE_SAMPLE.format(ref="sum:2", model="sum")
    assert "--sample-data" in caught.value.message


def test_a_version_that_cannot_load_is_refused_before_measuring(
    served: Served, model_dir: Path
) -> None:
    version = served.registry.register(
        "sum", model_dir / "dir_model", sample_data=model_dir / "ab.csv"
    ).version
    blob = Path(served.settings.artifact_uri) / blob_key(version.artifact.sha256)
    blob.chmod(0o644)
    blob.write_bytes(b"tampered")
    seen: list[tuple[int, int]] = []

    with pytest.raises(IntegrityError) as caught:
        run_pilot(served.registry, "sum:2", requests=5, progress=lambda *p: seen.append(p))

    assert caught.value.code == "integrity_error"
    assert caught.value.message.startswith("The pilot server could not serve sum:2: ")
    assert seen == []
    assert _no_pilot_threads()


@pytest.mark.parametrize(
    ("arguments", "name", "low", "high", "value"),
    [
        ({"requests": 0}, "requests", 1, 1_000_000, 0),
        ({"requests": 1_000_001}, "requests", 1, 1_000_000, 1_000_001),
        ({"concurrency": 0}, "concurrency", 1, 1024, 0),
        ({"concurrency": 1025}, "concurrency", 1, 1024, 1025),
        ({"rows_per_request": 0}, "rows per request", 1, 10_000, 0),
        ({"warmup": -1}, "warmup", 0, 100_000, -1),
    ],
)
def test_bad_arguments_are_refused(
    tmp_path: Path, arguments: dict[str, int], name: str, low: int, high: int, value: int
) -> None:
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'shipyard.db'}",
        artifact_uri=str(tmp_path / "artifacts"),
    )
    initialise(settings, actor="test:setup")
    with Registry.open(settings) as registry, pytest.raises(InvalidInputError) as caught:
        # Checked before the version is even looked up: this model does not exist.
        run_pilot(registry, "nothing:1", **arguments)  # type: ignore[arg-type]

    assert caught.value.message == BAD_RANGE.format(name=name, low=low, high=high, value=value)
