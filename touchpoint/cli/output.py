"""What every command prints the same way."""

from __future__ import annotations

import sys

from touchpoint.journey.violations import Violation


def print_violations(violations: list[Violation]) -> None:
    for violation in violations:
        print(violation, file=sys.stderr)
