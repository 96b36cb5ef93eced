"""Time as a dependency: AWS uses the system clock, the simulator a virtual one."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


_process: Clock = SystemClock()
_sleep: Callable[[float], None] = time.sleep


def process_clock() -> Clock:
    """The clock handlers run on: the system clock in Lambda; the simulator sets its virtual
    clock here, the way an endpoint URL points boto3 at moto (handlers never know which)."""
    return _process


def use_clock(clock: Clock) -> None:
    global _process, _sleep  # noqa: PLW0603 - one process-wide setting, like boto3's default session
    _process = clock
    _sleep = time.sleep if isinstance(clock, SystemClock) else _stand_still


def pause(seconds: float) -> None:
    """Back off before retrying a request: real time in Lambda; none in a simulation, whose clock
    stands still while a handler runs (a retry there only costs the wall clock)."""
    _sleep(seconds)


def _stand_still(seconds: float) -> None:
    return None


def iso(moment: dt.datetime) -> str:
    """UTC ISO 8601 with a Z, to the millisecond: how timestamps are stored and compared."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
