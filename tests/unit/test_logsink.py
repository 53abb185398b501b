"""The prediction log sink: Parquet round trip, segments, drops, failures, flush and close."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from shipyard.serving.logsink import (
    DROPPED,
    MALFORMED,
    WRITE_FAILED,
    PredictionLogSink,
    PredictionRecord,
)

T0 = 1_767_323_045.25  # 2026-01-02 03:04:05.25 UTC, exact in binary
NAME = re.compile(r"^part-w1-\d+-\d{6}\.parquet$")


def record(
    request_id: str = "r1",
    *,
    n: int = 1,
    time: float = T0,
    endpoint: str = "credit",
    model: str = "risk",
    version: int = 1,
    probabilities: bool = True,
    metadata: dict[str, Any] | None = None,
) -> PredictionRecord:
    x = np.arange(n, dtype=np.float64) + 0.5
    return PredictionRecord(
        request_id=request_id,
        time=time,
        endpoint=endpoint,
        model=model,
        version=version,
        inputs={"x": x, "k": np.arange(n, dtype=np.int64)},
        predictions=(x > 1).astype(np.int64),
        probabilities=np.column_stack([1 - x / n, x / n]) if probabilities else None,
        latency_ms=2.5,
        metadata=metadata,
    )


def segments(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if not p.name.startswith((".", "_")))


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[PredictionLogSink]:
    s = PredictionLogSink(tmp_path / "logs", worker_id="w1")
    s.start()
    yield s
    s.close()


def test_records_round_trip_with_native_types(sink: PredictionLogSink, tmp_path: Path) -> None:
    first = PredictionRecord(
        request_id="a",
        time=T0,
        endpoint="credit",
        model="risk",
        version=3,
        inputs={
            "amount": np.array([1.5, np.nan, -3.0]),
            "count": np.array([1, 2, 3], dtype=np.int32),
            "flag": np.array([True, False, True]),
            "city": np.array(["Oslo", "Lima", ""]),
            "seen": np.array(["2026-01-01T00:00", "NaT", "1999-12-31T23:59"], "datetime64[ms]"),
        },
        predictions=np.array(["yes", "no", "yes"]),
        probabilities=np.array([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]], dtype=np.float32),
        latency_ms=12.75,
        metadata={"user": "u1", "score": np.float64(0.5), "tags": ["a"]},
    )
    second = PredictionRecord(
        request_id="b",
        time=T0 + 1.000001,
        endpoint="credit",
        model="risk",
        version=3,
        inputs={
            "amount": np.array([7.0]),
            "count": np.array([9], dtype=np.int32),
            "flag": np.array([False]),
            "city": np.array(["Rome"], dtype=object),
            "seen": np.array(["2026-01-02"], "datetime64[ms]"),
        },
        predictions=np.array(["no"]),
        probabilities=None,
        latency_ms=1.0,
        metadata=None,
    )
    assert sink.log(first) and sink.log(second)
    sink.flush()

    [path] = segments(tmp_path / "logs")
    assert path.parent == tmp_path / "logs" / "credit" / "date=2026-01-02"
    assert NAME.match(path.name)
    table = pq.read_table(path)
    assert table.schema == pa.schema(
        [
            ("request_id", pa.string()),
            ("row", pa.int32()),
            ("time", pa.timestamp("us", tz="UTC")),
            ("endpoint", pa.string()),
            ("model", pa.string()),
            ("version", pa.int32()),
            ("latency_ms", pa.float64()),
            ("prediction", pa.string()),
            ("probabilities", pa.list_(pa.float64())),
            ("metadata", pa.string()),
            ("role", pa.string()),
            ("input.amount", pa.float64()),
            ("input.count", pa.int32()),
            ("input.flag", pa.bool_()),
            ("input.city", pa.string()),
            ("input.seen", pa.timestamp("ms")),
        ]
    )
    rows = table.to_pylist()
    assert [(r["request_id"], r["row"]) for r in rows] == [("a", 0), ("a", 1), ("a", 2), ("b", 0)]
    arrived = datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)
    assert [r["time"] for r in rows][2:] == [arrived, arrived.replace(second=6, microsecond=250001)]
    assert {(r["endpoint"], r["model"], r["version"]) for r in rows} == {("credit", "risk", 3)}
    assert [r["latency_ms"] for r in rows] == [12.75, 12.75, 12.75, 1.0]
    assert [r["prediction"] for r in rows] == ["yes", "no", "yes", "no"]
    assert [r["probabilities"] for r in rows] == [[0.25, 0.75], [1.0, 0.0], [0.5, 0.5], None]
    assert orjson.loads(rows[0]["metadata"]) == {"user": "u1", "score": 0.5, "tags": ["a"]}
    assert rows[3]["metadata"] is None
    amount = table.column("input.amount").to_numpy()
    np.testing.assert_array_equal(amount, [1.5, np.nan, -3.0, 7.0])  # NaN stays NaN, not null
    assert table.column("input.count").to_pylist() == [1, 2, 3, 9]
    assert table.column("input.flag").to_pylist() == [True, False, True, False]
    assert table.column("input.city").to_pylist() == ["Oslo", "Lima", "", "Rome"]
    seen = table.column("input.seen").to_pylist()
    assert seen[1] is None and seen[3] == datetime(2026, 1, 2)
    assert sink.written == 4 and sink.dropped == 0 and sink.queued == 0


def test_multi_output_predictions_are_lists(sink: PredictionLogSink, tmp_path: Path) -> None:
    rec = record(n=2, probabilities=False)
    multi = PredictionRecord(**{**_fields(rec), "predictions": np.array([[1.0, 2.0], [3.0, 4.0]])})
    sink.log(multi)
    sink.flush()
    table = ds.dataset(tmp_path / "logs", partitioning="hive").to_table()
    assert table.schema.field("prediction").type == pa.list_(pa.float64())
    assert table.column("prediction").to_pylist() == [[1.0, 2.0], [3.0, 4.0]]
    assert table.column("probabilities").to_pylist() == [None, None]
    assert table.schema.field("probabilities").type == pa.list_(pa.float64())


def _fields(rec: PredictionRecord) -> dict[str, Any]:
    return {name: getattr(rec, name) for name in PredictionRecord.__slots__}


def test_one_segment_per_endpoint_model_version_and_date(
    sink: PredictionLogSink, tmp_path: Path
) -> None:
    day = 86_400.0
    keys = [("credit", "risk", 1, 0.0), ("credit", "risk", 2, 0.0), ("credit", "other", 1, 0.0)]
    keys += [("fraud", "risk", 1, 0.0), ("credit", "risk", 1, day)]
    for i in range(3):  # interleaved, as requests arrive
        for endpoint, model, version, shift in keys:
            sink.log(
                record(f"{i}", endpoint=endpoint, model=model, version=version, time=T0 + shift)
            )
    sink.flush()

    found = segments(tmp_path / "logs")
    assert len(found) == len(keys)
    seen = set()
    for path in found:
        table = pq.read_table(path)
        groups = {(r["endpoint"], r["model"], r["version"]) for r in table.to_pylist()}
        assert len(groups) == 1 and table.num_rows == 3
        assert path.parent.parent.name == groups.pop()[0]
        seen.add(path.parent.name)
    assert seen == {"date=2026-01-02", "date=2026-01-03"}
    dataset = ds.dataset(tmp_path / "logs" / "credit", partitioning="hive")
    assert dataset.count_rows() == 12


def test_segments_are_capped_at_max_segment_rows(tmp_path: Path) -> None:
    sink = PredictionLogSink(tmp_path, worker_id="w1", max_segment_rows=5)
    for i in range(6):
        sink.log(record(str(i), n=2))
    sink.close()
    sizes = [pq.read_metadata(p).num_rows for p in segments(tmp_path)]
    assert sorted(sizes) == [4, 4, 4]  # records are never split across segments
    assert sink.written == 12


def test_a_full_queue_drops_counts_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    drops: list[int] = []
    sink = PredictionLogSink(tmp_path, worker_id="w1", max_queue_records=2, on_drop=drops.append)
    with caplog.at_level(logging.WARNING, logger="shipyard.serving.logsink"):
        results = [sink.log(record(str(i), n=2)) for i in range(5)]  # no thread: queue stays full
    assert results == [True, True, False, False, False]
    assert sink.dropped == 6 and drops == [2, 2, 2] and sink.queued == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # rate-limited, not one per request
    assert warnings[0].getMessage() == DROPPED % (2, 2, tmp_path)

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="shipyard.serving.logsink"):
        sink.close()
    assert sink.written == 4
    assert DROPPED % (4, 6, tmp_path) in caplog.text  # the rest is reported at close


def test_close_flushes_everything_and_is_idempotent(tmp_path: Path) -> None:
    drops: list[int] = []
    sink = PredictionLogSink(tmp_path, worker_id="w1", flush_interval=60, on_drop=drops.append)
    sink.start()
    for i in range(10):
        sink.log(record(str(i)))
    sink.close()
    assert sink.written == 10
    assert sum(pq.read_metadata(p).num_rows for p in segments(tmp_path)) == 10
    sink.close()
    assert sink.log(record("late")) is False
    assert sink.dropped == 1 and drops == [1]
    with pytest.raises(RuntimeError, match="closed"):
        sink.start()


def test_flush_without_a_thread_writes_in_the_caller(tmp_path: Path) -> None:
    sink = PredictionLogSink(tmp_path, worker_id="w1")
    sink.log(record())
    sink.flush()
    assert sink.written == 1 and len(segments(tmp_path)) == 1


def test_the_interval_writes_without_flush(tmp_path: Path) -> None:
    written = threading.Event()
    calls: list[tuple[int, float]] = []

    def on_write(rows: int, seconds: float) -> None:
        calls.append((rows, seconds))
        written.set()

    sink = PredictionLogSink(tmp_path, worker_id="w1", flush_interval=0.05, on_write=on_write)
    sink.start()
    sink.log(record(n=3))
    assert written.wait(10)
    assert calls[0][0] == 3 and calls[0][1] >= 0
    sink.close()


def test_a_full_segment_wakes_the_writer_early(tmp_path: Path) -> None:
    written = threading.Event()
    sink = PredictionLogSink(
        tmp_path,
        worker_id="w1",
        flush_interval=3600,
        max_segment_rows=4,
        on_write=lambda rows, _: written.set(),
    )
    sink.start()
    sink.log(record("a", n=2))
    sink.log(record("b", n=2))
    assert written.wait(10)
    assert sink.written == 4
    sink.close()


def test_a_failing_write_is_counted_logged_and_the_sink_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    drops: list[int] = []
    written = threading.Event()
    sink = PredictionLogSink(
        tmp_path,
        worker_id="w1",
        flush_interval=0.01,
        on_drop=drops.append,
        on_write=lambda *_: written.set(),
    )
    sink.start()
    blocker = tmp_path / "credit"
    blocker.write_text("not a directory")  # works as root too, unlike a read-only mode
    with caplog.at_level(logging.ERROR, logger="shipyard.serving.logsink"):
        sink.log(record("a", n=3))
        sink.flush()
    assert sink.dropped == 3 and drops == [3] and sink.written == 0
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.msg == WRITE_FAILED and error.args[0] == 3
    assert str(blocker / "date=2026-01-02") in error.getMessage()
    assert "Not a directory" in error.getMessage()
    assert temp_files(tmp_path) == []

    blocker.unlink()
    sink.log(record("b", n=2))
    assert written.wait(10)  # no flush(): the thread itself must still be at work
    assert sink.written == 2 and sink.dropped == 3
    sink.close()


def test_a_failure_after_writing_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sink = PredictionLogSink(tmp_path, worker_id="w1")

    def disk_full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("shipyard.serving.logsink.os.fsync", disk_full)
    sink.log(record())
    sink.flush()
    assert sink.dropped == 1 and "No space left on device" in caplog.text
    assert temp_files(tmp_path) == [] and segments(tmp_path) == []


def test_a_malformed_record_is_dropped_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = PredictionLogSink(tmp_path, worker_id="w1")
    bad = PredictionRecord(**{**_fields(record("bad", n=2)), "inputs": {"x": np.zeros(3)}})
    escape = record("escape", endpoint="../x")
    assert sink.log(bad) and sink.log(escape) and sink.log(record("good"))
    sink.flush()
    assert sink.written == 1 and sink.dropped == 3
    assert MALFORMED % (3, "") in caplog.text
    assert "input 'x' is not an array of 2 rows" in caplog.text
    assert [p.parent.parent.name for p in segments(tmp_path)] == ["credit"]


def test_an_unwritable_column_is_logged_with_its_trace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = PredictionLogSink(tmp_path, worker_id="w1")
    odd = PredictionRecord(**{**_fields(record("odd")), "inputs": {"z": np.array([1 + 2j])}})
    sink.log(odd)
    sink.log(record("fine", endpoint="other"))
    sink.flush()
    assert sink.dropped == 1 and sink.written == 1
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.msg == WRITE_FAILED and error.exc_info is not None  # not an OSError: a bug
    assert temp_files(tmp_path) == []


def test_flush_times_out_while_the_writer_is_stuck(tmp_path: Path) -> None:
    release = threading.Event()
    sink = PredictionLogSink(tmp_path, worker_id="w1", on_write=lambda *_: release.wait(10))
    sink.start()
    sink.log(record("a"))
    sink.log(record("b", endpoint="other"))
    with pytest.raises(TimeoutError, match="not written within"):
        sink.flush(timeout=0.05)
    release.set()
    sink.flush()
    assert sink.written == 2
    sink.close()


def test_callback_failures_do_not_escape(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("metrics down")

    sink = PredictionLogSink(
        tmp_path, worker_id="w1", max_queue_records=1, on_drop=broken, on_write=broken
    )
    assert sink.log(record("a")) is True
    assert sink.log(record("b")) is False
    sink.close()
    assert sink.written == 1 and sink.dropped == 1
    assert "on_drop callback failed" in caplog.text and "on_write callback failed" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"worker_id": "a/b"}, "worker_id"),
        ({"worker_id": ""}, "worker_id"),
        ({"worker_id": "w", "max_queue_records": 0}, "must be > 0"),
        ({"worker_id": "w", "flush_interval": 0}, "must be > 0"),
        ({"worker_id": "w", "max_segment_rows": 0}, "must be > 0"),
    ],
)
def test_invalid_settings_are_refused(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PredictionLogSink(tmp_path, **kwargs)
