"""What every command prints the same way, and the one way a command fails on bad input."""

from __future__ import annotations

import sys

from touchpoint.journey.violations import Violation


class UsageError(Exception):
    """A wrong name, a missing file, a missing setting: one line on stderr and exit code 2, never a
    traceback. Raise it anywhere below a command; ``main`` prints it."""


USAGE_EXIT = 2


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 warning``, ``2 warnings``, ``0 emails`` (``many`` for irregular plurals)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def clip(text: str, width: int) -> str:
    """At most ``width`` characters, cut at a word boundary with an ellipsis, never mid-word."""
    if len(text) <= width:
        return text
    head = text[: width - 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else head
    return cut.rstrip(" ,;:·-") + "…"


def print_violations(violations: list[Violation]) -> None:
    for violation in violations:
        print(violation, file=sys.stderr)


def fail(message: str) -> int:
    print(f"touchpoint: {message}", file=sys.stderr)
    return USAGE_EXIT
