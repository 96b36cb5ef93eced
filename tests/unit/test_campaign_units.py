"""The small pure pieces campaigns rely on: windows and their crons, revenue in cents, the goal's
interval and verdict (docs/campaigns.md, docs/decisions.md D18)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from touchpoint.engine.kpi.campaign import goal_verdict, wilson
from touchpoint.events import to_cents
from touchpoint.journey.campaigns import expression_of, fires_within, span_of
from touchpoint.journey.model.campaign import CampaignFile
from touchpoint.journey.model.triggers import DailySchedule, OnceSchedule
from touchpoint.schedules import Cron, parse_schedule


def campaign(window: dict[str, Any], date: str = "2026-12-12", until: str | None = None) -> CampaignFile:
    data: dict[str, Any] = {
        "schema": "touchpoint/campaign-v1",
        "id": "c",
        "name": "c",
        "owner": "o@example.com",
        "timezone": "Europe/Berlin",
        "date": date,
        "stages": [{"id": "s", "window": window, "journey": "j"}],
    }
    if until:
        data["until"] = until
    return CampaignFile.model_validate(data)


@pytest.mark.parametrize(
    ("window", "until", "local"),
    [
        ({"from": "-7d", "to": "-3d"}, None, ("2026-12-05 00:00", "2026-12-09 00:00")),
        ({"during": True}, "2026-12-14", ("2026-12-12 00:00", "2026-12-15 00:00")),
        ({"after": "3d"}, "2026-12-14", ("2026-12-15 00:00", "2026-12-18 00:00")),
        ({"from": "-36h", "to": "2h"}, None, ("2026-12-10 12:00", "2026-12-12 02:00")),
    ],
)
def test_a_window_is_computed_on_the_local_wall_clock(
    window: dict[str, Any], until: str | None, local: tuple[str, str]
) -> None:
    c = campaign(window, until=until)
    span = span_of(c, c.stages[0].window)
    assert (f"{span.start:%Y-%m-%d %H:%M}", f"{span.end:%Y-%m-%d %H:%M}") == local
    assert span.start.tzname() == "CET"


def test_a_day_stays_a_day_across_a_dst_change() -> None:
    c = campaign({"from": "-7d", "to": "0d"}, date="2026-04-01")  # Berlin moves to CEST on 29 March
    span = span_of(c, c.stages[0].window)
    assert (span.start.hour, span.end.hour) == (0, 0)
    assert span.end.astimezone(dt.UTC) - span.start.astimezone(dt.UTC) == dt.timedelta(days=7, hours=-1)


def _fires(expression: str, after: dt.datetime) -> list[dt.datetime]:
    cron = parse_schedule(expression)
    assert isinstance(cron, Cron)
    found = []
    while (fire := cron.next_after(after)) is not None and len(found) < 400:
        found.append(fire)
        after = fire
    return found


@pytest.mark.parametrize(
    ("window", "date", "expression", "in_window"),
    [
        ({"during": True}, "2026-12-12", "cron(0 10 12 12 ? 2026)", 1),
        ({"from": "-7d", "to": "-3d"}, "2026-12-12", "cron(0 10 5-8 12 ? 2026)", 4),
        ({"from": "-3d", "to": "3d"}, "2026-12-01", "cron(0 10 * 11-12 ? 2026)", 6),
        ({"from": "-3d", "to": "3d"}, "2027-01-01", "cron(0 10 * * ? 2026-2027)", 6),
    ],
)
def test_a_daily_stage_schedule_is_the_tightest_cron_around_its_window(
    window: dict[str, Any], date: str, expression: str, in_window: int
) -> None:
    c = campaign(window, date=date)
    span = span_of(c, c.stages[0].window)
    assert expression_of(c, DailySchedule(daily="10:00"), c.stages[0].window) == expression
    fires = _fires(expression, span.start - dt.timedelta(days=400))
    assert sum(span.start <= f < span.end for f in fires) == in_window  # every day of the window


def test_in_an_after_stage_a_one_off_counts_from_the_sales_last_day() -> None:
    c = campaign({"after": "3d"}, until="2026-12-14")
    review = OnceSchedule.model_validate({"at": "2d", "time": "10:00"})
    assert expression_of(c, review, c.stages[0].window) == "cron(0 10 16 12 ? 2026)"


def test_a_one_off_stage_schedule_and_one_outside_its_window() -> None:
    c = campaign({"from": "-7d", "to": "-3d"})
    span = span_of(c, c.stages[0].window)
    inside = expression_of(c, OnceSchedule.model_validate({"at": "-7d", "time": "10:00"}), c.stages[0].window)
    assert inside == "cron(0 10 5 12 ? 2026)"
    assert fires_within(inside, span) == dt.datetime(2026, 12, 5, 10, 0, tzinfo=span.start.tzinfo)
    outside = expression_of(
        c, OnceSchedule.model_validate({"at": "-8d", "time": "10:00"}), c.stages[0].window
    )
    assert fires_within(outside, span) is None


@pytest.mark.parametrize(
    ("value", "cents"),
    [(268, 26800), (19.99, 1999), ("59.5", 5950), (0.125, 12), (0.135, 14), (0, 0)],
)
def test_revenue_is_whole_cents_half_to_even(value: object, cents: int) -> None:
    assert to_cents(value) == cents


@pytest.mark.parametrize("value", [None, True, "12 yuan", -1, float("nan"), float("inf"), 10**10, [1], {}])
def test_what_is_not_a_sum_of_money_adds_no_revenue(value: object) -> None:
    assert to_cents(value) is None


def test_the_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson(20, 100) or (math.nan, math.nan)
    # by hand: centre (0.2 + 1.96²/200) / (1 + 1.96²/100) = 0.2111, half-width 0.0777
    assert (round(low, 4), round(high, 4)) == (0.1334, 0.2888)
    zero = wilson(0, 10)
    assert zero is not None
    assert zero[0] == 0.0
    assert 0.27 < zero[1] < 0.28  # the interval is not empty at a rate of 0, unlike the normal one
    assert wilson(0, 0) is None


@pytest.mark.parametrize(
    ("converted", "participants", "verdict"),
    [
        (30, 99, "not_enough_data"),  # a rate of 30% on fewer than 100 participants decides nothing
        (300, 1000, "met"),  # 30%, interval 27.2–32.9% ≥ 25%
        (260, 1000, "inconclusive"),  # 26%, interval 23.4–28.8% straddles 25%
        (200, 1000, "missed"),  # 20%, interval 17.6–22.6% < 25%
    ],
)
def test_the_goal_is_met_or_missed_only_when_the_interval_says_so(
    converted: int, participants: int, verdict: str
) -> None:
    assert goal_verdict(converted, participants, 0.25) == verdict
