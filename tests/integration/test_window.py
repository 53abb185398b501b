"""Prediction-log windows: real segments written by the log sink, read back by DuckDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.window import load_window
from shipyard.serving.logsink import PredictionLogSink, PredictionRecord

T0 = 1_767_323_045.0  # 2026-01-02 03:04:05 UTC


def write(root: Path, rows: int = 40) -> None:
    sink = PredictionLogSink(root, worker_id="w1")
    sink.start()
    try:
        for i in range(rows):
            version = 1 if i % 2 == 0 else 2
            sink.log(
                PredictionRecord(
                    request_id=f"r{i}",
                    time=T0 + i,
                    endpoint="web",
                    model="m",
                    version=version,
                    inputs={
                        "amount": np.array([float(i)]),
                        "city": np.array(["rome" if i % 3 else "oslo"], dtype=object),
                    },
                    predictions=np.array([i % 2]),
                    probabilities=None,
                    latency_ms=1.0,
                    metadata={"group": "a" if i < 20 else "b"} if i % 5 else None,
                    role="live" if i < 38 else "shadow",
                )
            )
        sink.flush(timeout=10)
    finally:
        sink.close(timeout=10)


def test_window_by_version_time_and_last(tmp_path: Path) -> None:
    write(tmp_path)
    everything = load_window(tmp_path, "web", metadata_fields=["group", "absent"])
    assert len(everything) == 38  # the two shadow rows are not live answers
    assert everything.features == ("amount", "city")
    table = everything.table
    assert table.column("amount").to_pylist() == [float(i) for i in range(38)]
    assert table.column("city").to_pylist()[:3] == ["oslo", "rome", "rome"]
    groups = table.column("metadata.group").to_pylist()
    assert groups[:6] == [None, "a", "a", "a", "a", None] and groups[-1] == "b"
    assert set(table.column("metadata.absent").to_pylist()) == {None}

    v2 = load_window(tmp_path, "web", version=2)
    assert set(v2.column("version").to_pylist()) == {2} and len(v2) == 19
    last = load_window(tmp_path, "web", last=5)
    assert last.column("request_id").to_pylist() == [f"r{i}" for i in range(33, 38)]
    start = datetime.fromtimestamp(T0 + 10, UTC)
    ranged = load_window(tmp_path, "web", since=start, until=start + timedelta(seconds=5))
    assert ranged.column("request_id").to_pylist() == [f"r{i}" for i in range(10, 15)]
    shadow = load_window(tmp_path, "web", role="shadow")
    assert shadow.column("request_id").to_pylist() == ["r38", "r39"]


def test_empty_and_bad_windows(tmp_path: Path) -> None:
    empty = load_window(tmp_path, "nothing", metadata_fields=["group"])
    assert len(empty) == 0 and empty.features == ()
    assert "metadata.group" in empty.table.column_names
    with pytest.raises(InvalidInputError, match="--last must be at least 1"):
        load_window(tmp_path, "web", last=0)
    moment = datetime(2026, 1, 2, tzinfo=UTC)
    with pytest.raises(InvalidInputError, match="The window is empty"):
        load_window(tmp_path, "web", since=moment, until=moment)
    with pytest.raises(KeyError, match="the window has"):
        empty.column("amount")
