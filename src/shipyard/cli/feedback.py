"""``shipyard feedback ENDPOINT --input FILE``: ground truth in bulk, by request id.

Labels are validated like ``POST /v1/feedback`` and stored in chunks (locally, or through the
server at SHIPYARD_URL). Labels for request ids the prediction log does not hold are stored
too — the log may not be flushed yet — but reported by id, never silently accepted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli import output
from shipyard.cli.context import open_registry
from shipyard.core.errors import DataFileError, InvalidInputError

SHOWN_UNKNOWN = 10


def feedback(
    endpoint: Annotated[str, typer.Argument(help="The endpoint that made the predictions.")],
    input_file: Annotated[
        Path, typer.Option("--input", help="CSV/Parquet with request ids and labels.")
    ],
    id_column: Annotated[str, typer.Option(help="Column of request ids.")] = "request_id",
    label_column: Annotated[str, typer.Option(help="Column of labels.")] = "label",
    row_column: Annotated[
        str | None, typer.Option(help="Column of instance indexes in multi-instance requests.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Store ground-truth labels for earlier predictions (bulk /v1/feedback).

    Goes through the server at SHIPYARD_URL when set, as SHIPYARD_API_KEY.
    """
    # PyArrow loads here, not with the CLI: every other command starts faster.
    from shipyard.registry.datafiles import read_table
    from shipyard.serving.feedback import MAX_FEEDBACK_ITEMS, FeedbackStore, parse_feedback

    if not input_file.is_file():
        raise InvalidInputError(f"--input: {input_file} does not exist.")
    table = read_table(input_file)
    wanted = [id_column, label_column, *([row_column] if row_column else [])]
    absent = [c for c in wanted if c not in table.column_names]
    if absent:
        raise DataFileError(
            f"{input_file.name} has no column {', '.join(map(repr, absent))}; its columns are: "
            f"{', '.join(table.column_names)}. Name them with --id-column/--label-column."
        )
    ids = [None if v is None else str(v) for v in table.column(id_column).to_pylist()]
    labels = table.column(label_column).to_pylist()
    rows = table.column(row_column).to_pylist() if row_column else [0] * len(ids)
    items = [
        {"request_id": i, "label": label, "row": row}
        for i, label, row in zip(ids, labels, rows, strict=True)
    ]
    chunks = [
        items[start : start + MAX_FEEDBACK_ITEMS]
        for start in range(0, len(items), MAX_FEEDBACK_ITEMS)
    ]
    batches = []
    for number, chunk in enumerate(chunks):
        try:
            batches.append(parse_feedback({"endpoint": endpoint, "items": chunk}))
        except InvalidInputError as exc:  # name the file rows, not the chunk's items
            first = number * MAX_FEEDBACK_ITEMS
            raise InvalidInputError(
                f"{input_file.name}, rows {first + 1}-{first + len(chunk)}: {exc.message}"
            ) from None
    with open_registry() as registry:
        from shipyard.cli.remote import RemoteRegistry

        if isinstance(registry, RemoteRegistry):
            for batch in batches:
                registry.client.feedback(endpoint, _items(batch))
            unknown: list[str] | None = registry.client.unlogged_request_ids(
                endpoint, sorted({str(i) for i in ids if i is not None})
            )
        else:
            from shipyard.monitoring.outcomes import logged_request_ids
            from shipyard.registry.analysis import model_of
            from shipyard.registry.service import Registry

            assert isinstance(registry, Registry)  # the only other ControlPlane there is

            model_of(registry, endpoint)  # EndpointNotFoundError for a typo
            logs = registry.settings.home / "logs"
            store = FeedbackStore(logs, f"cli-{os.getpid()}")
            for batch in batches:
                store.write(batch, actor=registry.actor)
            known = logged_request_ids(logs, endpoint, sorted(set(ids)))  # type: ignore[arg-type]
            unknown = sorted({i for i in ids if i is not None and i not in known})
    result: dict[str, Any] = {"endpoint": endpoint, "accepted": len(items), "unknown": unknown}
    if json_out:
        output.emit_json(result)
        return
    output.console.print(
        f"Stored {len(items):,} labels for {endpoint} from {input_file.name}.", highlight=False
    )
    if unknown:
        shown = ", ".join(unknown[:SHOWN_UNKNOWN]) + (" …" if len(unknown) > SHOWN_UNKNOWN else "")
        output.warn(
            f"{len(unknown):,} request ids are not in {endpoint}'s prediction log (yet): {shown}. "
            "Their labels are kept and count once the predictions are logged; check the ids "
            "if they never are."
        )


def _items(batch: Any) -> list[dict[str, Any]]:
    return [
        {"request_id": i, "label": label, "row": row}
        for i, label, row in zip(batch.request_ids, batch.labels, batch.rows, strict=True)
    ]
