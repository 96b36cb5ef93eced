"""What every command prints the same way, and the one way a command fails on bad input."""

from __future__ import annotations

import sys

from touchpoint.journey.violations import Violation


class UsageError(Exception):
    """A wrong name, a missing file, a missing setting: one line on stderr and exit code 2, never a
    traceback. Raise it anywhere below a command; ``main`` prints it."""


USAGE_EXIT = 2


def print_violations(violations: list[Violation]) -> None:
    for violation in violations:
        print(violation, file=sys.stderr)


def fail(message: str) -> int:
    print(f"touchpoint: {message}", file=sys.stderr)
    return USAGE_EXIT
