"""A parsed state machine: typed states, retriers and catchers (``definitions`` builds them)."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, assert_never

from touchpoint.local.asl.choice import Rule
from touchpoint.local.asl.paths import Path
from touchpoint.local.asl.payload import Node

Json = Any

#: The largest MaxDelaySeconds ASL allows (a year and a day).
MAX_DELAY_SECONDS: Final = 31_622_400
#: AWS's default Task timeout when TimeoutSeconds is absent.
DEFAULT_TASK_TIMEOUT: Final = 99_999_999
CALLBACK_SUFFIX: Final = ".waitForTaskToken"
#: The run-a-job pattern (``.sync``, ``.sync:2``): AWS gives these Tasks a task token too.
_SYNC: Final = re.compile(r"\.sync(:\d+)?$")


@dataclass(frozen=True)
class Retrier:
    errors: tuple[str, ...]
    interval_seconds: int = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter: bool = False

    def delay(self, retries_done: int, rng: random.Random) -> float:
        """Seconds before retry number ``retries_done + 1``."""
        # Without MaxDelaySeconds the interval still stops at ASL's largest MaxDelaySeconds, so a
        # long back-off stays a finite time.
        cap = self.max_delay_seconds if self.max_delay_seconds is not None else MAX_DELAY_SECONDS
        seconds = min(self.interval_seconds * self.backoff_rate ** min(retries_done, 1000), cap)
        return rng.uniform(0, seconds) if self.jitter else seconds


@dataclass(frozen=True)
class Catcher:
    errors: tuple[str, ...]
    next: str
    result_path: Path | None  # None: ResultPath null (discard the error)


@dataclass(frozen=True)
class Io:
    """InputPath/OutputPath; None is JSON null (the state sees, or passes on, ``{}``)."""

    input_path: Path | None
    output_path: Path | None


@dataclass(frozen=True)
class TaskState:
    name: str
    io: Io
    resource: str
    parameters: Node | None
    result_selector: Node | None
    result_path: Path | None
    timeout_seconds: int
    retry: tuple[Retrier, ...]
    catch: tuple[Catcher, ...]
    next: str | None

    @property
    def callback(self) -> bool:
        return self.resource.endswith(CALLBACK_SUFFIX)

    @property
    def has_token(self) -> bool:
        """Whether ``$$.Task.Token`` is set: callback and ``.sync`` Tasks."""
        return self.callback or _SYNC.search(self.resource) is not None


@dataclass(frozen=True)
class WaitState:
    name: str
    io: Io
    seconds: int | None
    seconds_path: Path | None
    timestamp: dt.datetime | None
    timestamp_path: Path | None
    next: str | None


@dataclass(frozen=True)
class ChoiceState:
    name: str
    io: Io
    choices: tuple[tuple[Rule, str], ...]
    default: str | None


NO_RESULT: Final = object()


@dataclass(frozen=True)
class PassState:
    name: str
    io: Io
    parameters: Node | None
    result: Json  # NO_RESULT when absent
    result_path: Path | None
    next: str | None


@dataclass(frozen=True)
class SucceedState:
    name: str
    io: Io


@dataclass(frozen=True)
class FailState:
    name: str
    error: str | None
    cause: str | None


State = TaskState | WaitState | ChoiceState | PassState | SucceedState | FailState


def targets(state: State) -> tuple[str, ...]:
    match state:
        case TaskState():
            return (*((state.next,) if state.next else ()), *(c.next for c in state.catch))
        case WaitState() | PassState():
            return (state.next,) if state.next else ()
        case ChoiceState():
            return (*(n for _, n in state.choices), *((state.default,) if state.default else ()))
        case SucceedState() | FailState():
            return ()
        case _:
            assert_never(state)


@dataclass(frozen=True)
class StateMachine:
    name: str
    arn: str
    role_arn: str
    definition: Mapping[str, Json]
    start_at: str
    states: Mapping[str, State]
    timeout_seconds: int | None
