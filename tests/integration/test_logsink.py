"""The prediction log sink under load: real threads, real files, a reader racing the writer."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from shipyard.serving.logsink import PredictionLogSink, PredictionRecord

T0 = 1_767_323_045.0


def record(request_id: str, n: int = 2) -> PredictionRecord:
    return PredictionRecord(
        request_id=request_id,
        time=T0,
        endpoint="credit",
        model="risk",
        version=1,
        inputs={"x": np.full(n, 1.5), "city": np.array(["Oslo"] * n)},
        predictions=np.zeros(n, dtype=np.int64),
        probabilities=np.full((n, 2), 0.5),
        latency_ms=1.0,
        metadata={"worker": request_id},
    )


def visible_segments(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.parquet") if not p.name.startswith((".", "_"))]


def test_many_threads_logging_at_once_lose_nothing(tmp_path: Path) -> None:
    threads, per_thread = 8, 2_000
    sink = PredictionLogSink(
        tmp_path, worker_id="w1", max_queue_records=threads * per_thread, flush_interval=0.01
    )
    sink.start()
    barrier = threading.Barrier(threads)

    def produce(t: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            assert sink.log(record(f"{t}-{i}"))

    workers = [threading.Thread(target=produce, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    sink.close()

    expected_rows = threads * per_thread * 2
    assert sink.written == expected_rows and sink.dropped == 0
    table = ds.dataset(tmp_path, partitioning="hive").to_table(columns=["request_id", "row"])
    assert table.num_rows == expected_rows
    ids = table.column("request_id").to_pylist()
    assert len(set(ids)) == threads * per_thread  # every request, none twice
    assert sorted(table.column("row").to_pylist()) == sorted([0, 1] * (threads * per_thread))


def test_a_reader_never_sees_a_partial_segment(tmp_path: Path) -> None:
    # Small segments, written often: many renames for the reader to race.
    sink = PredictionLogSink(tmp_path, worker_id="w1", flush_interval=0.001, max_segment_rows=500)
    sink.start()
    stop = threading.Event()

    def produce() -> None:
        i = 0
        while not stop.is_set():
            sink.log(record(str(i), n=50))
            i += 1
            if sink.queued >= 20:  # let the writer keep up instead of measuring drops
                time.sleep(0.001)

    producer = threading.Thread(target=produce)
    producer.start()
    checked: set[Path] = set()
    try:
        while len(checked) < 40:
            for path in visible_segments(tmp_path):
                if path not in checked:
                    assert pq.read_table(path).num_rows > 0  # a half file would fail to parse
                    checked.add(path)
            # Dataset discovery must skip the temp files being written beside the segments.
            ds.dataset(tmp_path, partitioning="hive").count_rows()
    finally:
        stop.set()
        producer.join()
        sink.close()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    total = sum(pq.read_metadata(p).num_rows for p in visible_segments(tmp_path))
    assert total == sink.written > 0  # the producer outruns the disk at times: drops are fine
