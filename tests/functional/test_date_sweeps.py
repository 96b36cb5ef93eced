"""Date sweeps that never skip anyone: a missed sweep is caught up, a crowd due at once is taken a
page at a time, and a sweep that fails part way keeps what it did (issue 18, item 6)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from tests.functional.conftest import World
from touchpoint.engine.trigger import schedule as schedule_module
from touchpoint.engine.trigger.dates import due_at, due_local_days
from touchpoint.errors import TransientError

UTC = dt.UTC
SHANGHAI_NINE = dt.datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 09:00 on 2 December in Shanghai


def _birthdays(world: World, count: int) -> list[str]:
    users = [f"b{n:03d}" for n in range(count)]
    for user in users:
        world.register(user, attributes={"birthday": "1990-12-02"}, timezone="Asia/Shanghai")
    return users


def _entered(world: World, users: list[str]) -> list[str]:
    return [u for u in users if "birthday" in world.state.user_state(u).entries]


def _drain(world: World, sent: list[dict[str, Any]]) -> int:
    """Every queued page processed, as the queue would deliver them; how many there were."""
    pages = 0
    while sent:
        world.trigger.handle_body(json.dumps(sent.pop(0)))
        pages += 1
    return pages


def test_a_sweep_that_never_ran_is_caught_up_by_the_next(world: World) -> None:
    users = _birthdays(world, 2)
    world.clock.current = dt.datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert world.trigger.run_dates().decisions == []  # 08:00 in Shanghai: not yet
    world.clock.current = dt.datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # the sweeps of 00:15-03:45 never ran
    decisions = world.trigger.run_dates().decisions
    assert sum(d.enter for d in decisions) == 2
    assert _entered(world, users) == users
    assert world.trigger.run_dates().decisions == []  # the same moment again: nothing is due twice
    assert len(world.executions_of("birthday")) == 2


def test_sweeps_stopped_for_longer_than_the_catch_up_say_what_was_not_swept(world: World) -> None:
    _birthdays(world, 1)
    world.clock.current = dt.datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    world.trigger.run_dates()
    world.clock.current = dt.datetime(2026, 12, 6, 0, 0, tzinfo=UTC)  # five days later
    outcome = world.trigger.run_dates()
    assert outcome.decisions == []  # 2 December fell more than three days back
    assert outcome.reason == (
        "birthday: dates due from 2026-12-01T00:00:00.000Z to 2026-12-03T00:00:00.000Z not swept; "
        "membership-expiry: dates due from 2026-12-01T00:00:00.000Z to 2026-12-03T00:00:00.000Z not swept"
    )


def test_a_crowd_due_at_once_is_entered_a_page_at_a_time_each_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = _birthdays(world, 10)
    world.clock.current = SHANGHAI_NINE - dt.timedelta(minutes=15)
    world.trigger.run_dates()
    # A page is what a sweep reads: every user on the day's key is read (the index has no zone)
    monkeypatch.setattr(schedule_module, "DATE_PAGE", 4)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(world.trigger.queue, "send", sent.append)
    world.clock.current = SHANGHAI_NINE
    first = world.trigger.run_dates()
    assert sum(d.enter for d in first.decisions) == 4
    assert sent == [{"action": "dates"}]
    assert _drain(world, sent) == 2  # 4 + 4 + 2
    assert _entered(world, users) == users
    assert len(world.executions_of("birthday")) == 10
    world.clock.current = SHANGHAI_NINE + dt.timedelta(minutes=15)  # 09:00 at UTC+7:45: read again
    assert world.trigger.run_dates().decisions == []
    assert _drain(world, sent) == 2
    assert len(world.executions_of("birthday")) == 10


def test_a_sweep_that_fails_part_way_keeps_its_progress_and_enters_no_one_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = _birthdays(world, 6)
    world.clock.current = SHANGHAI_NINE - dt.timedelta(minutes=15)
    world.trigger.run_dates()
    real = world.trigger.state.user_state
    calls = {"n": 0}

    def throttled_on_the_fourth(user_id: str) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:
            raise TransientError("DynamoDB throttled")
        return real(user_id)

    monkeypatch.setattr(world.trigger.state, "user_state", throttled_on_the_fourth)
    world.clock.current = SHANGHAI_NINE
    with pytest.raises(TransientError):
        world.trigger.run_dates()  # the invocation fails: Lambda retries it, or the next sweep runs
    assert len(_entered(world, users)) == 3
    world.clock.current = SHANGHAI_NINE + dt.timedelta(minutes=15)
    retried = world.trigger.run_dates()
    assert sum(d.enter for d in retried.decisions) == 3  # the other three, from the cursor on
    assert _entered(world, users) == users
    assert len(world.executions_of("birthday")) == 6


def test_a_due_time_just_before_midnight_is_found_by_the_sweep_after_midnight() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    midnight = dt.datetime(2026, 12, 3, 0, 0, tzinfo=shanghai)
    hour = dt.timedelta(hours=1)
    assert due_at(midnight, "23:30", hour) == dt.datetime(2026, 12, 2, 23, 30, tzinfo=shanghai)
    assert due_at(midnight, "00:00", hour) == midnight  # the window is (local - 1 h, local]
    assert due_at(midnight - dt.timedelta(minutes=31), "23:30", hour) is None
    assert due_local_days(midnight, "23:30", hour) == [dt.date(2026, 12, 2)]
