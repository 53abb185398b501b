"""Ground truth that arrives after the prediction: validated, then stored as Parquet.

Feedback is written before the request is answered (a client that got 200 may forget the
label), one segment per request under ``logs/{endpoint}/feedback/date=…/``, with the same
temp-name-then-rename discipline as the prediction log so readers never see half a file.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shipyard.core.errors import InvalidInputError, MalformedRequestError, PayloadTooLargeError
from shipyard.core.types import MODEL_NAME_PATTERN

MAX_FEEDBACK_ITEMS = 10_000
_LABEL_TYPES = (bool, int, float, str)


@dataclass(frozen=True, slots=True)
class FeedbackBatch:
    """Validated feedback for one endpoint."""

    endpoint: str
    request_ids: list[str]
    labels: list[Any]
    rows: list[int]


def parse_feedback(body: Any) -> FeedbackBatch:
    """Validate a ``/v1/feedback`` body: ``{"endpoint", "items": [{"request_id", "label"}]}``.

    Raises:
        MalformedRequestError, InvalidInputError, PayloadTooLargeError.
    """
    if not isinstance(body, dict):
        raise MalformedRequestError(
            'The body must be a JSON object like {"endpoint": "…", "items": '
            '[{"request_id": "…", "label": …}]}.'
        )
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not MODEL_NAME_PATTERN.fullmatch(endpoint):
        raise InvalidInputError("'endpoint' must name an endpoint, e.g. \"credit-risk\".")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise InvalidInputError("'items' must be a non-empty list of {request_id, label}.")
    if len(items) > MAX_FEEDBACK_ITEMS:
        raise PayloadTooLargeError(
            f"{len(items)} feedback items in one request; the limit is {MAX_FEEDBACK_ITEMS}."
        )
    ids: list[str] = []
    labels: list[Any] = []
    rows: list[int] = []
    kinds: set[type] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "request_id" not in item or "label" not in item:
            raise InvalidInputError(f"items[{i}] must be an object with 'request_id' and 'label'.")
        request_id, label = item["request_id"], item["label"]
        if not isinstance(request_id, str) or not request_id:
            raise InvalidInputError(f"items[{i}].request_id must be a non-empty string.")
        if not isinstance(label, _LABEL_TYPES):
            raise InvalidInputError(
                f"items[{i}].label must be a number, a string or a boolean (got "
                f"{type(label).__name__})."
            )
        row = item.get("row", 0)
        if not isinstance(row, int) or isinstance(row, bool) or row < 0:
            raise InvalidInputError(f"items[{i}].row must be a non-negative integer.")
        kinds.add(float if type(label) is int else type(label))
        ids.append(request_id)
        labels.append(label)
        rows.append(row)
    if len(kinds) > 1:
        raise InvalidInputError("All labels in one request must have the same type.")
    return FeedbackBatch(endpoint, ids, labels, rows)


class FeedbackStore:
    """Writes feedback segments under a log root."""

    def __init__(self, root: Path, worker_id: str) -> None:
        self.root = root
        self.worker_id = worker_id

    def write(self, feedback: FeedbackBatch, *, actor: str) -> Path:
        """Durably store ``feedback``; returns the segment path."""
        now = time.time()
        labels = feedback.labels
        if labels and all(type(v) in (int, float) for v in labels):
            label_array = pa.array([float(v) for v in labels], pa.float64())
        else:
            label_array = pa.array(labels)
        table = pa.table(
            {
                "request_id": pa.array(feedback.request_ids, pa.string()),
                "row": pa.array(feedback.rows, pa.int32()),
                "label": label_array,
                "time": pa.array([int(now * 1e6)] * len(labels), pa.timestamp("us", tz="UTC")),
                "actor": pa.array([actor] * len(labels), pa.string()),
            }
        )
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        directory = self.root / feedback.endpoint / "feedback" / f"date={day}"
        directory.mkdir(parents=True, exist_ok=True)
        name = f"fb-{self.worker_id}-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        temporary = directory / f".{name}.tmp"
        try:
            pq.write_table(table, temporary)
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, directory / name)
        finally:
            temporary.unlink(missing_ok=True)
        return directory / name
