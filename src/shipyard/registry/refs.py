"""Parsing ``NAME[:VERSION]`` references as the CLI and SDK spell them."""

from __future__ import annotations

from shipyard.core.errors import InvalidInputError
from shipyard.core.types import validate_model_name

SELECTORS = ("latest", "production")


def parse_ref(ref: str) -> tuple[str, str | None]:
    """Split ``name``, ``name:3``, ``name:latest`` or ``name:production``.

    Returns:
        (name, selector) where selector is digits, ``latest``, ``production`` or None.

    Raises:
        InvalidInputError: for a malformed reference.
    """
    name, sep, selector = ref.partition(":")
    validate_model_name(name)
    if not sep:
        return name, None
    if selector.isdigit() and int(selector) >= 1:
        return name, str(int(selector))
    if selector in SELECTORS:
        return name, selector
    raise InvalidInputError(
        f"Invalid model reference {ref!r}: use NAME, NAME:VERSION (a number from 1), "
        "NAME:latest or NAME:production."
    )


def parse_exact_ref(ref: str, verb: str) -> tuple[str, int]:
    """``(name, version)`` of ``NAME:N``; a clear error for any other form.

    ``verb`` names what the exact version is needed for ("promote", "deploy", …).

    Raises:
        InvalidInputError: a malformed reference, or one without a version number.
    """
    name, selector = parse_ref(ref)
    if selector is None or not selector.isdigit():
        raise InvalidInputError(f"Name the exact version to {verb}, e.g. {name}:3 (got {ref!r}).")
    return name, int(selector)
