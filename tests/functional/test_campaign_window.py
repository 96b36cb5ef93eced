"""Campaign stages on moto, through the real trigger_eval: a stage journey admits entries only
within its window (journeys/campaigns/d12.yaml, compiled into statemachines/registry.json), and a
participants stage admits only users who entered an earlier stage."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from tests.functional.conftest import World
from touchpoint.clock import iso
from touchpoint.engine.trigger.actions import ACTION

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
#: d12-launch admits entries from 2026-12-09 00:00 to 2026-12-11 00:00 in Shanghai (until excluded).
LAUNCH_FIRES = dt.datetime(2026, 12, 9, 10, 0, tzinfo=SHANGHAI)  # its cron(0 10 9 12 ? 2026)
WARMUP_FIRES = dt.datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)
REVIEW_FIRES = dt.datetime(2026, 12, 14, 10, 0, tzinfo=SHANGHAI)


def scheduled(world: World, journey_id: str, at: dt.datetime) -> dict[str, Any]:
    """What EventBridge Scheduler invokes trigger_eval with, at ``at``."""
    world.clock.current = at.astimezone(dt.UTC)
    payload = {"action": "schedule", "journey_id": journey_id, "run_id": iso(world.clock.current)}
    return world.trigger.run(ACTION.validate_python(payload))


def entries(world: World, journey_id: str) -> dict[str, tuple[bool, str | None]]:
    """user → (entered, reason) of the journey.entry events of this journey that reached the bus."""
    return {
        e["detail"]["user_id"]: (e["detail"]["properties"]["entered"], e["detail"]["properties"]["reason"])
        for e in world.journey_events()
        if e["detail-type"] == "journey.entry" and e["detail"]["properties"]["journey_id"] == journey_id
    }


def joined(world: World) -> list[tuple[str, str, str]]:
    """(user, campaign, stage journey) of each journey.campaign_joined event on the bus."""
    return [
        (
            e["detail"]["user_id"],
            e["detail"]["properties"]["campaign_id"],
            e["detail"]["properties"]["journey_id"],
        )
        for e in world.journey_events()
        if e["detail-type"] == "journey.campaign_joined"
    ]


def finish(world: World, user_id: str, journey_id: str) -> None:
    """The execution ends, as Step Functions reports it: the entry ends and the group is free."""
    ended = world.execution_ended(world.execution(user_id, journey_id), "SUCCEEDED", f"ended-{user_id}")
    world.trigger.handle_body(json.dumps(ended))
    state = world.state.user_state(user_id)
    assert state.entries[journey_id].status == "ended"
    assert "double-12" not in state.groups


@pytest.mark.parametrize(
    "at",
    [
        LAUNCH_FIRES - dt.timedelta(days=1),  # the warm-up's last day
        dt.datetime(2026, 12, 8, 23, 59, tzinfo=SHANGHAI),  # a minute before the window opens
        dt.datetime(2026, 12, 11, 0, 0, tzinfo=SHANGHAI),  # the window's end: no entries from then on
    ],
    ids=["day-before", "minute-before", "at-until"],
)
def test_a_stage_refuses_entries_outside_its_window(world: World, at: dt.datetime) -> None:
    world.register("ann")
    world.register("ben")
    result = scheduled(world, "d12-launch", at)
    assert result["entered"] == 0
    # a fire outside the window scans nobody (the stage's cron covers whole days; D18)
    assert entries(world, "d12-launch") == {}
    assert world.executions_of("d12-launch") == []
    assert "d12-launch" not in world.state.user_state("ann").entries
    assert joined(world) == []


def test_a_stage_admits_entries_inside_its_window(world: World) -> None:
    world.register("ann")
    world.register("ben")
    refused = scheduled(world, "d12-launch", dt.datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI))
    assert refused["entered"] == 0
    result = scheduled(world, "d12-launch", LAUNCH_FIRES)
    assert result == {"entered": 2, "run_id": "2026-12-09T02:00:00.000Z"}
    assert entries(world, "d12-launch") == {"ann": (True, None), "ben": (True, None)}
    executions = world.executions_of("d12-launch")
    assert len(executions) == 2
    assert {e["status"] for e in executions} == {"RUNNING"}
    started = {e["executionArn"] for e in executions}
    assert {world.execution(u, "d12-launch") for u in ("ann", "ben")} == started
    assert sorted(joined(world)) == [("ann", "d12", "d12-launch"), ("ben", "d12", "d12-launch")]


def test_the_review_admits_only_users_who_entered_an_earlier_stage(world: World) -> None:
    world.register("ann")
    assert scheduled(world, "d12-warmup", WARMUP_FIRES)["entered"] == 1
    finish(world, "ann", "d12-warmup")  # the warm-up's one email went out days ago
    world.clock.current = dt.datetime(2026, 12, 10, 2, 0, tzinfo=dt.UTC)
    world.register("ben")  # joined after the warm-up, took part in no stage
    result = scheduled(world, "d12-review", REVIEW_FIRES)
    assert result["entered"] == 1
    assert entries(world, "d12-review") == {"ann": (True, None), "ben": (False, "not_a_participant")}
    assert [e["executionArn"] for e in world.executions_of("d12-review")] == [
        world.execution("ann", "d12-review")
    ]
    assert "d12-review" not in world.state.user_state("ben").entries
