"""Time as a dependency: AWS uses the system clock, the simulator a virtual one."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


_process: Clock = SystemClock()


def process_clock() -> Clock:
    """The clock handlers run on: the system clock in Lambda; the simulator sets its virtual
    clock here, the way an endpoint URL points boto3 at moto (handlers never know which)."""
    return _process


def use_clock(clock: Clock) -> None:
    global _process  # noqa: PLW0603 - one process-wide setting, like boto3's default session
    _process = clock


def iso(moment: dt.datetime) -> str:
    """UTC ISO 8601 with a Z, to the millisecond: how timestamps are stored and compared."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
