"""Durations as people type them: ``90``, ``30s``, ``5m``, ``1h``, ``7d``."""

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
