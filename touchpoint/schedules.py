"""EventBridge Scheduler expressions (``cron(...)``, ``rate(...)``): checked at validate time and
stepped through by the simulator, so a schedule fires locally exactly when it would in AWS."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (  # name, low, high, names
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, {}),
)


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: '?'
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday, as EventBridge counts
    years: frozenset[int]

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        """First fire time strictly after ``after`` (wall clock in after's zone), or None."""
        t = after.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        limit = after + dt.timedelta(days=366 * 5)
        while t <= limit:
            if t.year not in self.years:
                t = t.replace(year=t.year + 1, month=1, day=1, hour=0, minute=0)
                continue
            if t.month not in self.months or not self._day_matches(t):
                t = (t + dt.timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if t.hour not in self.hours:
                t = (t + dt.timedelta(hours=1)).replace(minute=0)
                continue
            if t.minute not in self.minutes:
                t += dt.timedelta(minutes=1)
                continue
            return t
        return None

    def _day_matches(self, t: dt.datetime) -> bool:
        if self.days is not None:
            return t.day in self.days
        assert self.weekdays is not None
        return (t.isoweekday() % 7) + 1 in self.weekdays


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, after: dt.datetime, start: dt.datetime) -> dt.datetime:
        """First tick strictly after ``after`` of a rate started at ``start``."""
        elapsed = (after - start).total_seconds()
        ticks = int(elapsed // self.seconds) + 1 if elapsed >= 0 else 0
        return start + dt.timedelta(seconds=ticks * self.seconds)


def parse_schedule(expression: str) -> Cron | Rate:
    """Parse or raise ScheduleError whose message says what to write instead."""
    text = expression.strip()
    rate = _RATE.fullmatch(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ScheduleError(f'"{text}": a rate needs a positive value')
        if (value == 1) != (not unit.endswith("s")):
            fixed = unit.rstrip("s") + ("" if value == 1 else "s")
            raise ScheduleError(f'"{text}": write rate({value} {fixed})')
        return Rate(value * _UNIT_SECONDS[unit.rstrip("s")])
    cron = _CRON.fullmatch(text)
    if not cron:
        raise ScheduleError(f'"{text}" is not a schedule; use cron(0 10 ? * MON *) or rate(1 day)')
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ScheduleError(
            f'"{text}": cron needs 6 fields (minutes hours day-of-month month day-of-week year), '
            f"got {len(fields)}"
        )
    day, weekday = fields[2], fields[4]
    if (day == "?") == (weekday == "?"):
        raise ScheduleError(f'"{text}": exactly one of day-of-month and day-of-week must be ?')
    parsed = [None if f == "?" else _field(f, *spec, text) for f, spec in zip(fields, _FIELDS, strict=True)]
    minutes, hours, days, months, weekdays, years = parsed
    assert minutes is not None
    assert hours is not None
    assert months is not None
    assert years is not None
    return Cron(minutes, hours, days, months, weekdays, years)


def check_schedule(expression: str) -> str | None:
    try:
        parse_schedule(expression)
    except ScheduleError as error:
        return str(error)
    return None


def _field(text: str, name: str, low: int, high: int, names: dict[str, int], whole: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if any(ch in part for ch in "LW#"):
            raise ScheduleError(
                f'"{whole}": {name} "{part}": L, W and # are not supported; list the days instead'
            )
        step, span = 1, part
        if "/" in part:
            span, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleError(f'"{whole}": {name} step "{step_text}" must be a positive number')
            step = int(step_text)
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, b = span.split("-", 1)
            first, last = _value(a, name, low, high, names, whole), _value(b, name, low, high, names, whole)
        else:
            first = _value(span, name, low, high, names, whole)
            last = high if step > 1 else first
        if first > last:
            raise ScheduleError(f'"{whole}": {name} range "{span}" runs backwards')
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _value(text: str, name: str, low: int, high: int, names: dict[str, int], whole: str) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit() or not low <= int(text) <= high:
        raise ScheduleError(f'"{whole}": {name} "{text}" must be {low}-{high}')
    return int(text)
