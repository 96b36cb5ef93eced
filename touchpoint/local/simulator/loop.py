"""The clock loop: virtual time passes event by event until the scenario ends, and after each
step whatever the engine put on the bus is observed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from touchpoint.local.simulator.world import World

Progress = Callable[[float, str], None]


def run_clock(world: World, observe: Callable[[dict[str, Any]], None], progress: Progress | None) -> None:
    scenario, clock, cloud = world.scenario, world.clock, world.cloud
    end, total = scenario.end, (scenario.end - scenario.start).total_seconds()
    last = -1.0
    while True:
        upcoming = clock.next_time()
        if upcoming is None or upcoming > end:
            break
        clock.step()
        if cloud.pending():
            for event in cloud.drain():
                observe(event)
        if progress is not None:
            done = (clock.now() - scenario.start).total_seconds() / total
            if done - last >= 0.005:
                last = done
                progress(min(done, 1.0), _local(world, clock.now()))
    if progress is not None:
        progress(1.0, _local(world, end))


def _local(world: World, moment: dt.datetime) -> str:
    """A time as the scenario wrote its start (its offset), for the progress bar."""
    return moment.astimezone(world.scenario.start.tzinfo).strftime("%Y-%m-%d %H:%M")
