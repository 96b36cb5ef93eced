"""Building the scenario's world: its journeys compiled and bundled as CDK would package them,
and its users imported or generated onto the local cloud."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from touchpoint.clock import iso
from touchpoint.compiler.build import compile_journey, outputs, write
from touchpoint.engine.trigger.dates import date_keys
from touchpoint.journey.loader import load_project
from touchpoint.journey.model import DateTrigger, Journey
from touchpoint.journey.violations import Violation
from touchpoint.local.clock import VirtualClock
from touchpoint.local.cloud import LocalCloud
from touchpoint.local.faults import Injector
from touchpoint.local.population import Person, carrier_opted_out, generate
from touchpoint.local.scenario import Scenario, ScenarioError, ScriptedUser
from touchpoint.local.simulator.record import Run
from touchpoint.profiles import consent_key
from touchpoint.registry import Registry


@dataclass
class Bundle:
    root: Path
    journeys: dict[str, Journey]


@dataclass
class World:
    """Everything a run reads and what it saw: one object the scheduling, the reactions, the clock
    loop and the results share."""

    scenario: Scenario
    clock: VirtualClock
    cloud: LocalCloud
    registry: Registry
    journeys: dict[str, Journey]
    faults: Injector | None
    seen: Run = field(default_factory=Run)
    people: dict[str, Person] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)
    scripted: dict[str, ScriptedUser] = field(init=False)

    def __post_init__(self) -> None:
        self.scripted = {u.id: u for u in self.scenario.users}


def bundle(scenario: Scenario, base: Path, root: Path) -> Bundle:
    """Compile the scenario's journeys into a deployment bundle, as CDK would package it."""
    paths = scenario.journey_paths(base)
    project = load_project(paths, cwd=base)
    if project.errors():
        raise ScenarioError(project.errors())
    if not project.journeys:
        raise ScenarioError([Violation(str(paths[0]), 1, "journeys", "no journeys found")])
    compiled = [compile_journey(j) for _, j in project.valid()]
    journeys = {c.journey.id: c.journey for c in compiled}
    write(root / "statemachines", outputs(compiled, project.valid_campaigns()))
    # journeys/ as the code asset ships it: templates, profile.yaml and the journeys themselves
    # (kpi_rollup reads which channel each send step uses), only the scenario's journeys
    directory = next(iter(project.contexts))
    shutil.copytree(directory, root / "journeys", ignore=shutil.ignore_patterns("*.yaml", "*.yml"))
    profile = directory / "profile.yaml"
    if profile.exists():
        shutil.copy(profile, root / "journeys" / "profile.yaml")
    for loaded, journey in project.valid():
        shutil.copy(loaded.path, root / "journeys" / f"{journey.id}.yaml")
    return Bundle(root, journeys)


def scripted_item(user: ScriptedUser, start: str) -> dict[str, Any]:
    """A scripted user's profile item as the scenario's start imports it."""
    item: dict[str, Any] = {"user_id": user.id, "created_at": start, "updated_at": start}
    profile = user.profile
    for key in ("email", "phone", "timezone", "locale"):
        if getattr(profile, key):
            item[key] = getattr(profile, key)
    item.update({k: _dynamo(v) for k, v in profile.attributes.items()})
    if profile.tags:
        item["tags"] = set(profile.tags)
    for channel, granted in profile.consent.items():
        item[consent_key(channel)] = {"granted": granted, "at": start, "source": "scenario"}
    return item


def profile_of(scenario: Scenario, user_id: str) -> dict[str, Any] | None:
    """The profile a scenario gives ``user_id``: scripted, imported at the start, or as they
    register (attributes and consent of their user.registered). None: not one of its users."""
    start = iso(scenario.start)
    for user in scenario.users:
        if user.id == user_id:
            return scripted_item(user, start)
    if scenario.population is None:
        return None
    for person in generate(scenario.population, scenario.seed, scenario.start, scenario.end):
        if person.user_id != user_id:
            continue
        if person.existing is not None:
            return dict(person.existing)
        registration = person.events[0]
        patch = dict(registration.profile or {})
        item = {"user_id": user_id, **{k: v for k, v in patch.items() if k not in ("attributes", "tags")}}
        item.update({k: _dynamo(v) for k, v in patch.get("attributes", {}).items()})
        for channel, record in (registration.consent or {}).items():
            item[consent_key(channel)] = {**record, "at": iso(registration.at)}
        return item
    return None


def populate(world: World) -> None:
    """Existing users are imported (as a team backfills its customer base); new ones register."""
    scenario = world.scenario
    population = scenario.population
    sale_days = frozenset(
        c.date + dt.timedelta(days=n)
        for c in world.registry.campaigns.values()
        for n in range((c.until - c.date).days + 1)
    )
    if population is not None:
        for person in generate(population, scenario.seed, scenario.start, scenario.end, sale_days):
            world.people[person.user_id] = person
    items = [p.existing for p in world.people.values() if p.existing]
    start = iso(scenario.start)
    items += [scripted_item(user, start) for user in scenario.users]
    profiles, state = world.cloud.profiles(), world.cloud.state()
    dated = sorted(
        {
            j.trigger.date.attribute
            for j in world.registry.journeys.values()
            if isinstance(j.trigger, DateTrigger)
        }
    )
    for item in items:
        profiles.put(item)
        for attribute in dated:
            if item.get(attribute) is not None:
                state.index_date(attribute, date_keys(item[attribute]), item["user_id"], add=True)
        if item.get("phone"):
            world.phones[item["user_id"]] = str(item["phone"])
    for person in world.people.values():
        for event in person.events:
            if event.profile and event.profile.get("phone"):
                world.phones[person.user_id] = str(event.profile["phone"])
    _carrier_opt_outs(world)


def _carrier_opt_outs(world: World) -> None:
    """Synthetic users' numbers on End User Messaging's opt-out list before the scenario starts
    (through SNS the list is never asked)."""
    population = world.scenario.population
    if population is None:
        return
    for user_id in world.people:
        phone = world.phones.get(user_id)
        if phone and carrier_opted_out(population.behaviour, world.scenario.seed, user_id):
            world.cloud.sms_voice.opt_out(phone)


def _dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value
