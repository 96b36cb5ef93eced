"""Local-time arithmetic for send windows and ``wait until``: wall-clock times in the user's zone,
so "08:00" stays 08:00 across a daylight-saving change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from touchpoint.journey.types import WEEKDAYS


def _local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(zone))


def _at(day: dt.date, hhmm: str, zone: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    wall = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))
    # A wall time inside a spring-forward gap does not exist; normalise it through UTC (02:30 → 03:30).
    return wall.astimezone(dt.UTC).astimezone(ZoneInfo(zone))


def next_local_time(now: dt.datetime, zone: str, hhmm: str, weekday: str | None = None) -> dt.datetime:
    """The first moment at or after ``now`` when the user's clock shows ``hhmm`` (on ``weekday``)."""
    local = _local(now, zone)
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        if weekday is not None and WEEKDAYS[day.weekday()] != weekday:
            continue
        candidate = _at(day, hhmm, zone)
        if candidate >= now:
            return candidate.astimezone(dt.UTC)
    raise AssertionError("unreachable: a weekday recurs within 8 days")


def window_opens(
    now: dt.datetime, zone: str, start: str, end: str, days: Sequence[str] | None = None
) -> dt.datetime | None:
    """None when ``now`` is inside the send window, else the moment it next opens (UTC).

    ``end`` before ``start`` is an overnight window (22:00–06:00); ``days`` limits the days on
    which a window *opens*."""
    local = _local(now, zone)
    for offset in range(-1, 9):
        day = local.date() + dt.timedelta(days=offset)
        if days is not None and WEEKDAYS[day.weekday()] not in days:
            continue
        opens = _at(day, start, zone)
        closes = _at(day + dt.timedelta(days=1) if end <= start else day, end, zone)
        if opens <= now < closes:
            return None
        if opens > now:
            return opens.astimezone(dt.UTC)
    raise ValueError(f"the send window {start}–{end} on {days} never opens")
