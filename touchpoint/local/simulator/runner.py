"""``touchpoint simulate``: a scenario, run on the local cloud, measured.

The simulator only does what the outside world does in AWS: apps put events on the bus, SES and
End User Messaging publish feedback, EventBridge Scheduler fires, time passes. Everything else —
entries, sends, waits, exits, KPIs — is the compiled state machines and the real handlers."""

from __future__ import annotations

import tempfile
from pathlib import Path

from touchpoint import registry as registry_module
from touchpoint.journey.model import Journey
from touchpoint.local.clock import VirtualClock
from touchpoint.local.cloud import LocalCloud, local_settings
from touchpoint.local.faults import Injector
from touchpoint.local.results import SimulationResults
from touchpoint.local.scenario import Scenario
from touchpoint.local.simulator.loop import Progress, run_clock
from touchpoint.local.simulator.observe import Observer
from touchpoint.local.simulator.reactions import Reactions
from touchpoint.local.simulator.results import assemble_results
from touchpoint.local.simulator.schedule import schedule
from touchpoint.local.simulator.world import World, bundle, populate


class Simulation:
    def __init__(self, scenario: Scenario, base: Path, progress: Progress | None = None) -> None:
        self.scenario, self.base, self.progress = scenario, base, progress
        self.journeys: dict[str, Journey] = {}

    def run(self) -> SimulationResults:
        """Build the world, schedule what happens in it, let the clock run, and measure."""
        scenario = self.scenario
        with tempfile.TemporaryDirectory(prefix="touchpoint-sim-") as tmp:
            bundled = bundle(scenario, self.base, Path(tmp))
            self.journeys = bundled.journeys
            registry = registry_module.load(bundled.root / "statemachines" / "registry.json")
            settings = local_settings(bundled.root, dict(scenario.settings))
            clock = VirtualClock(scenario.start)
            faults = (
                Injector(tuple(scenario.faults), scenario.seed, scenario.start, clock.now)
                if scenario.faults
                else None
            )
            with LocalCloud(settings, clock, scenario.seed, scenario.backend, faults) as cloud:
                self.cloud = cloud
                world = World(scenario, clock, cloud, registry, bundled.journeys, faults)
                reactions = Reactions(world)
                observer = Observer(world, reactions)
                cloud.send_listeners.append(observer.send_attempt)
                populate(world)
                cloud.arm_faults()
                schedule(world, reactions)
                run_clock(world, observer.observe, self.progress)
                cloud.disarm_faults()
                return assemble_results(world)
