"""What running a state produces: the next step or a stop, a Task attempt and its token, a task's
outcome; and how an error name matches a retrier's or catcher's ErrorEquals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from touchpoint.local.asl.errors import TIMEOUT
from touchpoint.local.asl.execution import Execution
from touchpoint.local.asl.states import TaskState
from touchpoint.local.clock import Handle

Json = Any


@dataclass
class Attempt:
    """A Task state being run: its input, when it was entered, and its retry counters."""

    run: Execution
    state: TaskState
    raw: Json
    entered: dt.datetime
    retries: list[int]
    retry_count: int = 0


@dataclass
class Waiter:
    """A task token: ``invoking`` while the resource runs, ``waiting`` for the callback, then closed."""

    attempt: Attempt
    phase: Literal["invoking", "waiting", "closed"] = "invoking"
    outcome: Success | Failure | None = None
    timeout: Handle | None = None


@dataclass(frozen=True)
class Success:
    output: Json


@dataclass(frozen=True)
class Failure:
    error: str | None  # SendTaskFailure may give neither: the error output then has nulls
    cause: str | None


@dataclass(frozen=True)
class Next:
    state: str
    data: Json


class Stop:
    """The execution is blocked on the clock, or has ended."""


STOP: Final = Stop()
Step = Next | Stop


def matches(patterns: Sequence[str], error: str | None) -> bool:
    for pattern in patterns:
        if pattern in ("States.ALL", error):
            return True
        if pattern == "States.TaskFailed" and error != TIMEOUT:
            return True
    return False
