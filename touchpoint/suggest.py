"""One home for "did you mean": the closest known name by edit distance (difflib's ratio)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, known: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(name, sorted(set(known)), n=1)
    return matches[0] if matches else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``'; did you mean "x"?'`` when a known name is close, else ``""``: appended to a message."""
    match = closest(name, known)
    return f'; did you mean "{match}"?' if match else ""
