from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from touchpoint.durations import format_duration, parse_duration
from touchpoint.schedules import Cron, Rate, ScheduleError, check_schedule, parse_schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "seconds", "formatted"),
    [
        ("30m", 1800, "30m"),
        ("24h", 86400, "1d"),
        ("7d", 604800, "7d"),
        ("2w", 1209600, "14d"),
        ("45s", 45, "45s"),
    ],
)
def test_parse_and_format(text: str, seconds: int, formatted: str) -> None:
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == formatted
    assert parse_duration(formatted) == seconds


@pytest.mark.parametrize("text", ["3 days", "0d", "1.5h", "d", "-1d", "", "7D"])
def test_bad_durations_say_what_to_write(text: str) -> None:
    with pytest.raises(ValueError, match="use 30m, 24h or 3d"):
        parse_duration(text)


def test_format_picks_the_largest_exact_unit() -> None:
    assert format_duration(5400) == "90m"
    assert format_duration(90000) == "25h"


def test_cron_every_monday_at_ten_in_local_time() -> None:
    cron = parse_schedule("cron(0 10 ? * MON *)")
    assert isinstance(cron, Cron)
    start = dt.datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)  # a Tuesday
    first = cron.next_after(start)
    assert first == dt.datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)
    assert cron.next_after(first) == dt.datetime(2026, 12, 14, 10, 0, tzinfo=SHANGHAI)


def test_cron_with_year_lists_ranges_and_steps() -> None:
    cron = parse_schedule("cron(0/30 9-10 5,12 DEC ? 2026)")
    assert isinstance(cron, Cron)
    t = dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)
    fires = []
    for _ in range(9):
        nxt = cron.next_after(t)
        if nxt is None:
            break
        fires.append(nxt.strftime("%d %H:%M"))
        t = nxt
    assert fires == [
        "05 09:00",
        "05 09:30",
        "05 10:00",
        "05 10:30",
        "12 09:00",
        "12 09:30",
        "12 10:00",
        "12 10:30",
    ]


def test_rate_ticks_from_its_start() -> None:
    rate = parse_schedule("rate(7 days)")
    assert isinstance(rate, Rate)
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert rate.next_after(start, start) == start + dt.timedelta(days=7)
    assert rate.next_after(start - dt.timedelta(hours=1), start) == start


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(0 10 * * MON)", "cron needs 6 fields"),
        ("cron(0 10 1 * MON *)", "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 25 * * ? *)", 'hours "25" must be 0-23'),
        ("cron(0 10 L * ? *)", "L, W and # are not supported"),
        ("rate(1 days)", "write rate(1 day)"),
        ("rate(2 hour)", "write rate(2 hours)"),
        ("every monday", "is not a schedule"),
    ],
)
def test_bad_schedules_are_explained(expression: str, problem: str) -> None:
    with pytest.raises(ScheduleError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_schedule(expression)
    assert check_schedule(expression) is not None
