"""Durations as journeys write them (``30m``, ``24h``, ``7d``): one parser for the model, the
validator, the compiler and the runtime, so ``3d`` means the same thing everywhere."""

from __future__ import annotations

import re

UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"^([1-9][0-9]*)([smhdw])$")
HINT = "use 30m, 24h or 3d"
PATTERN = r"^[1-9][0-9]*[smhdw]$"

#: Step Functions' hard limit for one Standard execution, and so for any wait inside one.
ONE_YEAR = 365 * 86400


def parse_duration(text: str) -> int:
    """Seconds in ``text``; ValueError (with the fix in the message) when it is not a duration."""
    match = _PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f'"{text}" is not a duration; {HINT}')
    return int(match.group(1)) * UNITS[match.group(2)]


_SIGNED = re.compile(r"^([+-]?)(0|[1-9][0-9]*)([smhdw])$")
SIGNED_HINT = "use -7d for 7 days before, 3d for 3 days after"
SIGNED_PATTERN = r"^[+-]?(0|[1-9][0-9]*)[smhdw]$"


def parse_offset(text: str) -> int:
    """Signed seconds in ``-7d`` / ``+3d`` / ``3d``: an offset from a date, not a length."""
    match = _SIGNED.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f'"{text}" is not an offset; {SIGNED_HINT}')
    seconds = int(match.group(2)) * UNITS[match.group(3)]
    return -seconds if match.group(1) == "-" else seconds


def format_offset(seconds: int) -> str:
    """``-7d`` for -604800; zero is ``0d``."""
    if seconds == 0:
        return "0d"
    return ("-" if seconds < 0 else "") + format_duration(abs(seconds))


def format_duration(seconds: int) -> str:
    """The largest exact unit up to days: 86400 → ``1d``, 604800 → ``7d``, 5400 → ``90m``."""
    for unit in ("d", "h", "m"):
        size = UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
