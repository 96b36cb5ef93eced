"""Dates (pure): the date index's keys, and when a date trigger is due in a user's zone."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from touchpoint.journey.model import DateTrigger
from touchpoint.profiles import Profile
from touchpoint.registry import RegistryEntry


def date_keys(value: Any) -> list[str]:
    """Index keys of a date attribute: ``MM-DD`` for yearly triggers and the full date for one-offs."""
    text = str(value)[:10]
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return []
    return [day.strftime("%m-%d"), day.isoformat()]


def due_at(local: dt.datetime, at: str, window: dt.timedelta) -> dt.datetime | None:
    """The moment a clock showing ``local`` last showed ``at``, if that lies in the sweep window
    ``(local - window, local]`` (at most a day): yesterday's, when the window spans midnight."""
    hour, minute = map(int, at.split(":"))
    for day in (local.date(), local.date() - dt.timedelta(days=1)):
        due = dt.datetime.combine(day, dt.time(hour, minute), local.tzinfo)
        if local - window < due <= local:
            return due
    return None


def due_local_days(now: dt.datetime, at: str, window: dt.timedelta) -> list[dt.date]:
    """The local dates on which a zone's clock shows ``at`` during the sweep window ending now:
    zone offsets run from UTC-12 to UTC+14, so at most two dates — usually one — have a user due."""
    utc = now.astimezone(dt.UTC)
    days = set()
    for offset_quarters in range(-48, 14 * 4 + 1):
        due = due_at(utc + dt.timedelta(minutes=15 * offset_quarters), at, window)
        if due is not None:
            days.add(due.date())
    return sorted(days)


def due_day(
    profile: Profile, journey: RegistryEntry, now: dt.datetime, window: dt.timedelta
) -> dt.date | None:
    """The user's local date if the trigger is due within this sweep's window, else None."""
    assert isinstance(journey.trigger, DateTrigger)
    spec = journey.trigger.date
    zone = ZoneInfo(profile.timezone(journey.timezone))
    due = due_at(now.astimezone(zone), spec.at, window)
    if due is None:
        return None
    value = profile.value(spec.attribute)
    try:
        date = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
    target = due.date() + dt.timedelta(seconds=(spec.before or 0) - (spec.after or 0))
    if spec.yearly:
        matches = (date.month, date.day) == (target.month, target.day) or (
            (date.month, date.day) == (2, 29)
            and (target.month, target.day) == (2, 28)
            and not leap_year(target.year)
        )
    else:
        matches = date == target
    return due.date() if matches else None


def leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
