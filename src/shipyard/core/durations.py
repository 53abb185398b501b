"""Durations as people type them: ``90``, ``30s``, ``5m``, ``1h``, ``7d`` — read and written."""

from __future__ import annotations

import re

from shipyard.core.errors import InvalidInputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str, what: str = "duration") -> float:
    """Seconds in ``text`` (a bare number is seconds).

    Raises:
        InvalidInputError: not a positive duration, naming ``what``.
    """
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise InvalidInputError(
            f"{what} must be a positive duration like 30s, 5m, 1h or 7d; got {text!r}."
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_seconds(seconds: float) -> str:
    """``3600`` → ``1h``: the largest unit that divides the duration, exactly.

    The text parses back to the same number of seconds (``parse_duration``), so a window sent
    through the API as text is the window the user gave.
    """
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{seconds:.6f}".rstrip("0").rstrip(".") + "s"
