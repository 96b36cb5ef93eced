"""What every command prints the same way, and the one way a command fails on bad input."""

from __future__ import annotations

import sys
from pathlib import Path

from touchpoint.journey.loader import journey_files
from touchpoint.journey.violations import Violation
from touchpoint.suggest import did_you_mean


class UsageError(Exception):
    """A wrong name, a missing file, a missing setting: one line on stderr and exit code 2, never a
    traceback. Raise it anywhere below a command; ``main`` prints it."""


USAGE_EXIT = 2


def existing(path: Path, what: str, pattern: str = "*.yaml") -> Path:
    """``path`` if it exists, else a UsageError naming the closest file beside it."""
    if path.exists():
        return path
    folder = path.parent if path.parent.is_dir() else Path()
    known = [str(p) for p in sorted(folder.glob(pattern))]
    raise UsageError(f"no {what} {path}{did_you_mean(str(path), known)}")


def journey_file(name: str, journeys: Path) -> Path:
    """A journey named by its file or by its id in ``journeys``."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return existing(Path(name), "journey file")
    path = journeys / f"{name}.yaml"
    if path.exists():
        return path
    if not journeys.is_dir():
        raise UsageError(f"no journeys directory {journeys}; pass --journeys DIR")
    known = [p.stem for p in journey_files([journeys])]
    hint = did_you_mean(name, known) or f"; the journeys there: {', '.join(known) or 'none'}"
    raise UsageError(f'no journey "{name}" in {journeys}/{hint}')


def print_violations(violations: list[Violation]) -> None:
    for violation in violations:
        print(violation, file=sys.stderr)


def fail(message: str) -> int:
    print(f"touchpoint: {message}", file=sys.stderr)
    return USAGE_EXIT
