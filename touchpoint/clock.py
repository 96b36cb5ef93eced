"""Time as a dependency: AWS uses the system clock, the simulator a virtual one."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """UTC ISO 8601 with a Z, to the millisecond: how timestamps are stored and compared."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
