"""Everything the outside world will do, onto the virtual clock before it starts: the scripted
users' events, the population's, EventBridge Scheduler's journey schedules and date sweeps, the
operator's pauses and resumes, and the KPI rollups."""

from __future__ import annotations

import datetime as dt
from functools import partial
from zoneinfo import ZoneInfo

from touchpoint.aws import wiring
from touchpoint.journey.model import DateTrigger, ScheduleTrigger
from touchpoint.local.population import PlannedEvent
from touchpoint.local.scenario import Operation
from touchpoint.local.simulator.reactions import Reactions
from touchpoint.local.simulator.world import World
from touchpoint.registry import RegistryEntry
from touchpoint.schedules import Cron, parse_schedule

ROLLUP_EVERY = dt.timedelta(days=1)  # the stack runs it hourly; daily keeps simulations fast


def schedule(world: World, reactions: Reactions) -> None:
    scenario, clock, cloud = world.scenario, world.clock, world.cloud
    for user in scenario.users:
        for scripted in user.events:
            at = scenario.start + dt.timedelta(seconds=scripted.at)
            planned = PlannedEvent(
                at,
                scripted.type,
                dict(scripted.properties),
                scripted.profile,
                scripted.consent,
                event_id=scripted.event_id,
            )
            copies = [at] * scripted.deliveries
            copies += [at + dt.timedelta(seconds=after) for after in scripted.redeliver_after]
            for arrival in copies:  # every delivery of the same event: one event id
                clock.call_at(
                    arrival, partial(reactions.scripted, user.id, planned), label=f"script {user.id}"
                )
    for person in world.people.values():
        for event in person.events:
            clock.call_at(
                event.at,
                partial(reactions.app_event, person.user_id, event),
                label=f"{person.user_id} {event.type}",
            )
    for journey in world.registry.journeys.values():
        if isinstance(journey.trigger, ScheduleTrigger):
            for at in _fire_times(journey, scenario.start, scenario.end):
                clock.call_at(
                    at,
                    partial(  # as the stack's schedule: its run id is the scheduled time
                        cloud.invoke_retried,
                        "trigger-eval",
                        {"action": "schedule", "journey_id": journey.id, "run_id": _scheduled_time(at)},
                    ),
                    label=f"schedule {journey.id}",
                )
    if any(isinstance(j.trigger, DateTrigger) for j in world.registry.journeys.values()):
        every = cloud.settings.date_sweep_minutes
        sweep = scenario.start.astimezone(dt.UTC)
        sweep = sweep.replace(minute=sweep.minute - sweep.minute % every, second=0, microsecond=0)
        while sweep < scenario.end:
            if sweep >= scenario.start:
                clock.call_at(
                    sweep,
                    lambda: cloud.invoke_retried("trigger-eval", {"action": "dates"}),
                    label="date sweep",
                )
            sweep += dt.timedelta(minutes=every)
    for operation in scenario.operations:
        at = scenario.start + dt.timedelta(seconds=operation.at)
        clock.call_at(at, partial(_operate, world, operation), label=f"operator {operation.command}")
    rollup = scenario.start + ROLLUP_EVERY
    while rollup <= scenario.end:
        clock.call_at(
            rollup,
            lambda: cloud.invoke_retried("kpi-rollup", {"action": "rollup"}),
            label="rollup",
        )
        rollup += ROLLUP_EVERY


def _operate(world: World, operation: Operation) -> None:
    """An operator pausing, resuming or stopping a journey, through the same operations the
    CLI runs against a deployment."""
    command, journey_id = operation.command
    cloud = world.cloud
    operations = wiring.operations(cloud.settings, cloud.clients, world.clock)
    getattr(operations, command)(journey_id, "scenario", operation.reason)
    world.seen.note("scenario", journey_id, world.clock.now(), "operation", {"command": command})
    cloud.wake_scheduled()  # a resume schedules the held sends and steps


def _fire_times(journey: RegistryEntry, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """When EventBridge Scheduler fires this journey's schedule (in the journey's time zone)."""
    assert isinstance(journey.trigger, ScheduleTrigger)
    schedule = parse_schedule(journey.trigger.expression)
    zone = ZoneInfo(journey.timezone)
    times: list[dt.datetime] = []
    if isinstance(schedule, Cron):
        cursor = start.astimezone(zone) - dt.timedelta(minutes=1)
        while (nxt := schedule.next_after(cursor)) is not None and nxt.astimezone(dt.UTC) < end:
            times.append(nxt.astimezone(dt.UTC))
            cursor = nxt
    else:
        moment = start
        while moment < end:
            times.append(moment)
            moment = schedule.next_after(moment, start)
    return times


def _scheduled_time(at: dt.datetime) -> str:
    """``<aws.scheduler.scheduled-time>`` as EventBridge Scheduler fills it in."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
