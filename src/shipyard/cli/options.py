"""Parsing of repeated ``K=V`` options and other small CLI argument types."""

from __future__ import annotations

from datetime import UTC, datetime

import typer


def key_values(items: list[str] | None, option: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}``; a clear error for anything else."""
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        result[key.strip()] = value.strip()
    return result


def metrics(items: list[str] | None, option: str = "--metric") -> dict[str, float]:
    """Like ``key_values`` but the values must be numbers."""
    result: dict[str, float] = {}
    for key, value in key_values(items, option).items():
        try:
            result[key] = float(value)
        except ValueError:
            raise typer.BadParameter(
                f"metric {key!r} must be a number, got {value!r}", param_hint=option
            ) from None
    return result


def timestamp(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or datetime (UTC if no zone given)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected an ISO 8601 date such as 2026-11-01 or 2026-11-01T12:00:00Z, got {value!r}",
            param_hint=option,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
