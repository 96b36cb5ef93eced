"""What every command prints the same way, and the one way a command fails on bad input."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from touchpoint.journey.loader import journey_files
from touchpoint.journey.source import SourceError, read_source
from touchpoint.journey.violations import Violation
from touchpoint.logs import redact
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


def read_profile(path: Path) -> Mapping[str, Any]:
    """A profile item from a YAML or JSON file, as `touchpoint privacy export` prints its profile.
    Errors are masked: a parse error may quote the line that holds an address."""
    existing(path, "profile file", "*.y*ml")
    try:
        data = read_source(path).data
    except SourceError as error:
        raise UsageError(f"{path}:{error.line}: {redact(error.message)}") from None
    except OSError as error:  # a directory, no permission
        raise UsageError(f"{path}: {error.strerror or type(error).__name__}") from None
    if not isinstance(data, Mapping):
        raise UsageError(f"{path}: a profile is a mapping of attributes")
    return data


def print_violations(violations: list[Violation]) -> None:
    for violation in violations:
        print(violation, file=sys.stderr)


def fail(message: str) -> int:
    print(f"touchpoint: {message}", file=sys.stderr)
    return USAGE_EXIT
