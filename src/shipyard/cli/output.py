"""How the CLI talks to people (Rich) and to programs (``--json``, always the same shape)."""

from __future__ import annotations

import sys
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def emit_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout."""
    sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def error(message: str) -> None:
    """One clear line on stderr."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """A warning on stderr."""
    err_console.print(f"[bold yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a simple table."""
    view = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        view.add_column(column)
    for row in rows:
        view.add_row(*("" if v is None else str(v) for v in row))
    console.print(view)


def when(value: Any) -> str:
    """A datetime shortened for tables."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""
