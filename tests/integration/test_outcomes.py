"""Outcomes: real prediction-log and feedback segments joined by DuckDB."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.outcomes import Outcomes, load_outcomes
from shipyard.serving.feedback import FeedbackBatch, FeedbackStore
from shipyard.serving.logsink import PredictionLogSink, PredictionRecord

T0 = 1_767_323_045.25  # 2026-01-02 03:04:05.25 UTC
DAY = 86_400.0
ENDPOINT = "credit"


def record(
    request_id: str, predictions: Sequence[Any], *, version: int = 1, time: float = T0
) -> PredictionRecord:
    values = np.asarray(predictions)
    return PredictionRecord(
        request_id=request_id,
        time=time,
        endpoint=ENDPOINT,
        model="risk",
        version=version,
        inputs={"x": np.arange(len(values), dtype=np.float64)},
        predictions=values,
        probabilities=None,
        latency_ms=1.0,
        metadata=None,
    )


def log(root: Path, *records: PredictionRecord) -> None:
    sink = PredictionLogSink(root, worker_id="w1")
    sink.start()
    try:
        for item in records:
            assert sink.log(item)
        sink.flush(timeout=10)
    finally:
        sink.close(timeout=10)
    assert sink.dropped == 0


def feedback(root: Path, *items: tuple[str, Any] | tuple[str, Any, int]) -> None:
    ids = [item[0] for item in items]
    labels = [item[1] for item in items]
    rows = [item[2] if len(item) == 3 else 0 for item in items]
    FeedbackStore(root, "w1").write(FeedbackBatch(ENDPOINT, ids, labels, rows), actor="test")


def pairs(outcomes: Outcomes) -> list[tuple[int, Any, Any]]:
    return sorted(
        zip(
            outcomes.version.tolist(),
            outcomes.prediction.tolist(),
            outcomes.label.tolist(),
            strict=True,
        )
    )


def test_join_counts_rows_without_feedback_in_totals_only(tmp_path: Path) -> None:
    log(
        tmp_path,
        record("a", [1, 0], version=1),
        record("b", [1], version=1, time=T0 + 1),
        record("c", [0, 0, 1], version=2, time=T0 + 2),
    )
    feedback(tmp_path, ("a", 1, 0), ("a", 1, 1), ("c", 0, 2), ("unknown", 1))

    outcomes = load_outcomes(tmp_path, ENDPOINT)

    assert outcomes.is_numeric
    assert outcomes.prediction.dtype == np.float64 and outcomes.label.dtype == np.float64
    assert pairs(outcomes) == [(1, 0.0, 1.0), (1, 1.0, 1.0), (2, 1.0, 0.0)]
    assert dict(outcomes.predictions_total_by_version) == {1: 3, 2: 3}
    assert outcomes.versions == [1, 2]
    assert len(outcomes) == 3
    # Prediction times, oldest first, as UTC datetime64.
    assert outcomes.time.dtype == np.dtype("datetime64[us]")
    assert outcomes.time[0] == np.datetime64("2026-01-02T03:04:05.250000")
    assert outcomes.time[-1] == np.datetime64("2026-01-02T03:04:07.250000")


def test_the_latest_feedback_wins(tmp_path: Path) -> None:
    log(tmp_path, record("a", [1, 1]))
    feedback(tmp_path, ("a", 0, 0), ("a", 0, 1))
    feedback(tmp_path, ("a", 1, 0))  # a later correction of row 0
    feedback(tmp_path, ("a", 0, 1), ("a", 1, 1))  # same time: the later item wins

    outcomes = load_outcomes(tmp_path, ENDPOINT)

    assert pairs(outcomes) == [(1, 1.0, 1.0), (1, 1.0, 1.0)]
    assert dict(outcomes.predictions_total_by_version) == {1: 2}


def test_string_labels_and_predictions(tmp_path: Path) -> None:
    log(tmp_path, record("a", ["yes", "no"], version=4))
    feedback(tmp_path, ("a", "yes", 0), ("a", "yes", 1))

    outcomes = load_outcomes(tmp_path, ENDPOINT)

    assert not outcomes.is_numeric
    assert outcomes.prediction.dtype == object
    assert pairs(outcomes) == [(4, "no", "yes"), (4, "yes", "yes")]


def test_numeric_predictions_meet_string_labels_as_strings(tmp_path: Path) -> None:
    log(
        tmp_path,
        record("ints", np.array([1, 2], dtype=np.int64)),
        record("floats", np.array([1.0, 2.5]), time=T0 + 1),
    )
    feedback(tmp_path, ("ints", "1", 0), ("ints", "3", 1), ("floats", "1", 0), ("floats", "2.5", 1))

    outcomes = load_outcomes(tmp_path, ENDPOINT)

    assert not outcomes.is_numeric
    # A whole float prints as "1", so it matches the label "1".
    assert pairs(outcomes) == [(1, "1", "1"), (1, "1", "1"), (1, "2", "3"), (1, "2.5", "2.5")]


def test_boolean_labels_compare_with_integer_predictions(tmp_path: Path) -> None:
    log(tmp_path, record("a", np.array([1, 0], dtype=np.int64)))
    feedback(tmp_path, ("a", True, 0), ("a", True, 1))

    outcomes = load_outcomes(tmp_path, ENDPOINT)

    assert outcomes.is_numeric
    assert pairs(outcomes) == [(1, 0.0, 1.0), (1, 1.0, 1.0)]


def write_role_segment(root: Path) -> None:
    """A segment as the lead's new sink writes it: a ``role`` column, live and shadow rows."""
    directory = root / ENDPOINT / "date=2026-01-02"
    directory.mkdir(parents=True, exist_ok=True)
    time = pa.array([int((T0 + 10) * 1e6)] * 3, pa.timestamp("us", tz="UTC"))
    table = pa.table(
        {
            "request_id": ["s", "s", "t"],
            "row": pa.array([0, 0, 0], pa.int32()),
            "time": time,
            "endpoint": [ENDPOINT] * 3,
            "model": ["risk"] * 3,
            "version": pa.array([1, 3, 1], pa.int32()),
            "latency_ms": [1.0] * 3,
            "prediction": pa.array([1, 0, 1], pa.int64()),
            "metadata": pa.array([None] * 3, pa.string()),
            "input.x": [0.5] * 3,
            "role": [None, "shadow", "live"],  # a null role is live too
        }
    )
    pq.write_table(table, directory / "part-lead-1-000001.parquet")


def test_role_filter_treats_a_missing_role_as_live(tmp_path: Path) -> None:
    log(tmp_path, record("old", [1]))  # no role column at all
    write_role_segment(tmp_path)
    feedback(tmp_path, ("old", 1), ("s", 1), ("t", 0))

    live = load_outcomes(tmp_path, ENDPOINT)
    shadow = load_outcomes(tmp_path, ENDPOINT, role="shadow")
    every = load_outcomes(tmp_path, ENDPOINT, role=None)

    assert pairs(live) == [(1, 1.0, 0.0), (1, 1.0, 1.0), (1, 1.0, 1.0)]
    assert dict(live.predictions_total_by_version) == {1: 3}
    assert pairs(shadow) == [(3, 0.0, 1.0)]
    assert dict(shadow.predictions_total_by_version) == {3: 1}
    # Both roles: the one label of request "s" scores the live and the shadow prediction.
    assert pairs(every) == sorted([*pairs(live), (3, 0.0, 1.0)])
    assert dict(every.predictions_total_by_version) == {1: 3, 3: 1}


def test_role_filter_on_old_segments_only(tmp_path: Path) -> None:
    log(tmp_path, record("a", [1]))
    feedback(tmp_path, ("a", 1))

    assert len(load_outcomes(tmp_path, ENDPOINT)) == 1
    shadow = load_outcomes(tmp_path, ENDPOINT, role="shadow")
    assert len(shadow) == 0 and dict(shadow.predictions_total_by_version) == {}


def test_time_window(tmp_path: Path) -> None:
    log(
        tmp_path,
        record("d0", [1], version=1, time=T0 - 2 * DAY),
        record("d1", [1], version=1, time=T0 - DAY),
        record("d2", [1], version=2, time=T0),
    )
    feedback(tmp_path, ("d0", 1), ("d1", 1), ("d2", 1))
    start = datetime.fromtimestamp(T0, UTC)

    middle = load_outcomes(
        tmp_path, ENDPOINT, since=start - timedelta(days=1), until=start - timedelta(seconds=1)
    )
    recent = load_outcomes(
        tmp_path, ENDPOINT, since=(start - timedelta(hours=1)).replace(tzinfo=None)
    )
    before = load_outcomes(tmp_path, ENDPOINT, until=start - timedelta(days=1))

    assert pairs(middle) == [(1, 1.0, 1.0)] and dict(middle.predictions_total_by_version) == {1: 1}
    assert pairs(recent) == [(2, 1.0, 1.0)]  # a naive datetime is UTC
    assert dict(before.predictions_total_by_version) == {1: 1}  # until is exclusive


def test_missing_directories_give_empty_outcomes(tmp_path: Path) -> None:
    nothing = load_outcomes(tmp_path / "missing", ENDPOINT)
    assert len(nothing) == 0 and nothing.versions == [] and nothing.endpoint == ENDPOINT

    (tmp_path / ENDPOINT / "date=2026-01-02").mkdir(parents=True)
    assert len(load_outcomes(tmp_path, ENDPOINT)) == 0

    log(tmp_path, record("a", [1, 0]))  # logs, but no feedback yet
    pending = load_outcomes(tmp_path, ENDPOINT)
    assert len(pending) == 0
    assert dict(pending.predictions_total_by_version) == {1: 2}
    assert pending.versions == [1]


def test_temporary_files_are_not_read(tmp_path: Path) -> None:
    log(tmp_path, record("a", [1]))
    feedback(tmp_path, ("a", 1))
    day = next((tmp_path / ENDPOINT).glob("date=*"))
    (day / ".part-w9-1-000001.parquet.tmp").write_bytes(b"half a file")

    assert len(load_outcomes(tmp_path, ENDPOINT)) == 1


@pytest.mark.parametrize("endpoint", ["../etc", "", ".hidden", "a/b"])
def test_unusable_endpoint_names_are_refused(tmp_path: Path, endpoint: str) -> None:
    with pytest.raises(InvalidInputError):
        load_outcomes(tmp_path, endpoint)


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    start = datetime.fromtimestamp(T0, UTC)
    with pytest.raises(InvalidInputError, match="window is empty"):
        load_outcomes(tmp_path, ENDPOINT, since=start, until=start)
    with pytest.raises(InvalidInputError, match="Unknown role"):
        load_outcomes(tmp_path, ENDPOINT, role="canary")


def test_a_missing_duckdb_names_the_extra(tmp_path: Path) -> None:
    log(tmp_path, record("a", [1]))
    code = (
        "import sys\n"
        "sys.modules['duckdb'] = None  # as if the monitoring extra were not installed\n"
        "from shipyard.core.errors import MissingExtraError\n"
        "from shipyard.monitoring import load_outcomes\n"
        "try:\n"
        f"    load_outcomes(sys.argv[1], {ENDPOINT!r})\n"
        "except MissingExtraError as exc:\n"
        "    print(exc.message)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'shipyard-ml[monitoring]'" in done.stdout


def test_extra_columns_carry_features_and_metadata_fields(tmp_path: Path) -> None:
    first = record("a", [1, 0], version=1)
    second = PredictionRecord(
        **{
            **{f: getattr(first, f) for f in first.__dataclass_fields__},
            "request_id": "b",
            "metadata": {"group": "north"},
            "time": T0 + 1,
        }
    )
    log(tmp_path, first, second)
    feedback(tmp_path, ("a", 1, 0), ("a", 0, 1), ("b", 1, 0), ("b", 1, 1))
    outcomes = load_outcomes(tmp_path, ENDPOINT, columns=["x", "metadata.group", "nope"])
    assert outcomes.extra["x"].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert outcomes.extra["metadata.group"].tolist() == [None, None, "north", "north"]
    assert outcomes.extra["nope"].tolist() == [None] * 4
    empty = load_outcomes(tmp_path / "none", ENDPOINT, columns=["x"])
    assert empty.extra["x"].tolist() == []
