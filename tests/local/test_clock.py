"""The virtual clock: ordering, cancellation and time only ever moving when events run."""

from __future__ import annotations

import datetime as dt

import pytest

from touchpoint.local.clock import VirtualClock

START = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


def test_events_run_in_time_then_insertion_order() -> None:
    clock = VirtualClock(START)
    ran: list[tuple[str, dt.datetime]] = []
    for label, seconds in [("b", 10), ("a1", 5), ("c", 20), ("a2", 5), ("a3", 5)]:
        clock.call_later(seconds, lambda label=label: ran.append((label, clock.now())), label=label)
    assert clock.run_all() == 5
    assert [label for label, _ in ran] == ["a1", "a2", "a3", "b", "c"]
    assert [at - START for _, at in ran] == [dt.timedelta(seconds=s) for s in (5, 5, 5, 10, 20)]


def test_callbacks_schedule_more_events_including_now() -> None:
    clock = VirtualClock(START)
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        clock.call_later(0, lambda: ran.append("same instant, after the ones already due"), label="now")
        clock.call_later(60, lambda: ran.append("a minute later"), label="later")

    clock.call_later(0, first, label="first")
    clock.call_later(0, lambda: ran.append("second"), label="second")
    clock.run_until(START)
    assert ran == ["first", "second", "same instant, after the ones already due"]
    clock.run_all()
    assert ran[-1] == "a minute later"
    assert clock.now() == START + dt.timedelta(minutes=1)


def test_cancel_and_pending() -> None:
    clock = VirtualClock(START)
    ran: list[str] = []
    keep = clock.call_later(2, lambda: ran.append("keep"), label="keep")
    drop = clock.call_later(1, lambda: ran.append("drop"), label="drop")
    assert clock.pending() == [drop, keep]
    assert clock.cancel(drop) is True
    assert clock.cancel(drop) is False
    assert clock.next_time() == START + dt.timedelta(seconds=2)
    clock.run_all()
    assert ran == ["keep"]
    assert clock.cancel(keep) is False  # already ran
    assert clock.next_time() is None
    assert not clock.step()


def test_run_until_stops_at_the_target_time() -> None:
    clock = VirtualClock(START)
    ran: list[int] = []
    for seconds in (10, 20, 30):
        clock.call_later(seconds, lambda s=seconds: ran.append(s), label=str(seconds))
    assert clock.run_until(START + dt.timedelta(seconds=20)) == 2
    assert ran == [10, 20]
    assert clock.now() == START + dt.timedelta(seconds=20)
    clock.run_for(5)
    assert clock.now() == START + dt.timedelta(seconds=25)
    assert ran == [10, 20]


def test_now_is_aware_utc() -> None:
    clock = VirtualClock(dt.datetime(2026, 12, 1, 16, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    assert clock.now() == START
    assert clock.now().tzinfo is dt.UTC


@pytest.mark.parametrize(
    "misuse",
    [
        lambda c: VirtualClock(dt.datetime(2026, 1, 1)),
        lambda c: c.call_at(dt.datetime(2026, 12, 2), lambda: None, label="naive"),
        lambda c: c.call_at(START - dt.timedelta(seconds=1), lambda: None, label="past"),
        lambda c: c.call_later(-1, lambda: None, label="negative"),
        lambda c: c.run_until(START - dt.timedelta(seconds=1)),
    ],
)
def test_misuse_is_an_error(misuse: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        misuse(VirtualClock(START))  # type: ignore[operator]


def test_running_the_clock_from_a_callback_is_an_error() -> None:
    clock = VirtualClock(START)
    clock.call_later(1, clock.run_all, label="re-entrant")
    with pytest.raises(RuntimeError, match="inside one of its callbacks"):
        clock.run_all()


def test_a_runaway_loop_is_stopped() -> None:
    clock = VirtualClock(START)

    def again() -> None:
        clock.call_later(1, again, label="again")

    again()
    with pytest.raises(RuntimeError, match="more than 100 events"):
        clock.run_all(limit=100)
