"""The registry: every compiled journey's entry rules, indexed for trigger_eval.

The compiler writes ``statemachines/registry.json``; trigger_eval (and the simulator) load it at
cold start and parse it back into the journey language's own types, so entry rules are checked
by the same models that validated them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, assert_never

from pydantic import BaseModel, ConfigDict, Field

from touchpoint import contract
from touchpoint.journey.campaigns import span_of
from touchpoint.journey.model import (
    AttributeTrigger,
    DateTrigger,
    Effective,
    EventTrigger,
    Journey,
    JourneySettings,
    KpiName,
    KpiTarget,
    ScheduleTrigger,
    SendStep,
    SplitStep,
    WaitForStep,
)
from touchpoint.journey.model.campaign import CampaignFile, CampaignGoal
from touchpoint.journey.steps import resolve, walk

SCHEMA_ID = "touchpoint/registry-v1"
FILE_NAME = "registry.json"


class Split(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    step_id: str
    key: str


class RegistryEntry(JourneySettings):
    version: str = Field(description="Content hash of the compiled journey.")
    splits: list[Split] = Field(default_factory=list, description="Split steps and their bucket keys.")
    channels: list[str] = Field(default_factory=list, description="Channels the journey sends on.")
    state_machine: str = Field(description="State machine name (the CDK stack names it so).")


class StageEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    id: str
    name: str | None = None
    journey: str
    owner: str
    audience: str | None = None
    window: Effective
    kpis: dict[KpiName, KpiTarget] = Field(default_factory=dict, description="The stage's own KPIs.")


class CampaignEntry(BaseModel):
    """A campaign as the engine and the report need it: the stages' windows already computed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    name: str
    owner: str
    timezone: str
    date: dt.date
    until: dt.date
    goal: CampaignGoal | None = None
    stages: list[StageEntry]

    @property
    def journeys(self) -> list[str]:
        return [s.journey for s in self.stages]


class Index(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    event: dict[str, list[str]] = Field(default_factory=dict)
    attribute: dict[str, list[str]] = Field(default_factory=dict)
    schedule: list[str] = Field(default_factory=list)
    date: list[str] = Field(default_factory=list)
    exit: dict[str, list[str]] = Field(default_factory=dict)
    goal: dict[str, list[str]] = Field(default_factory=dict)
    wait: list[str] = Field(default_factory=list, description="Event types some wait_for step waits for.")
    campaign_goal: dict[str, list[str]] = Field(
        default_factory=dict, description="Event type → campaigns whose goal it is."
    )


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_: str = Field(SCHEMA_ID, alias="schema")
    journeys: dict[str, RegistryEntry]
    campaigns: dict[str, CampaignEntry] = Field(default_factory=dict)
    index: Index

    def model_post_init(self, context: Any, /) -> None:
        # the trigger indexes are built here, once per load, so an event only looks journeys up
        _ = self.by_event, self.by_attribute, self.watched

    @cached_property
    def by_event(self) -> dict[str, list[RegistryEntry]]:
        """Event type → the journeys it starts (event triggers)."""
        return {t: [self.journeys[i] for i in ids] for t, ids in self.index.event.items()}

    @cached_property
    def by_attribute(self) -> dict[str, list[RegistryEntry]]:
        """Attribute name → the journeys a change of it can start (attribute triggers)."""
        return {a: [self.journeys[i] for i in ids] for a, ids in self.index.attribute.items()}

    @cached_property
    def watched(self) -> dict[str, int]:
        """The attributes some attribute trigger watches, each with its place in the index (the
        order their journeys are considered in)."""
        return {name: rank for rank, name in enumerate(self.index.attribute)}

    def triggered_by(self, event_type: str) -> list[RegistryEntry]:
        return self.by_event.get(event_type, [])

    def exits_on(self, event_type: str) -> list[RegistryEntry]:
        return [self.journeys[i] for i in self.index.exit.get(event_type, [])]

    def goals_on(self, event_type: str) -> list[RegistryEntry]:
        return [self.journeys[i] for i in self.index.goal.get(event_type, [])]

    def campaign_goals_on(self, event_type: str) -> list[CampaignEntry]:
        return [self.campaigns[i] for i in self.index.campaign_goal.get(event_type, [])]

    def concerns(self, event_type: str) -> bool:
        """Whether any journey starts, exits, converts or waits on this event type: if none does,
        trigger_eval only updates the profile."""
        return event_type in self.index.event or self.reacts_to(event_type)

    def reacts_to(self, event_type: str) -> bool:
        """Whether a journey exits, converts or waits on this event type (what needs the user's
        journey state whatever the entries; starting one needs it only past the audience)."""
        index = self.index
        return (
            event_type in index.exit
            or event_type in index.goal
            or event_type in index.campaign_goal
            or event_type in self._waits
        )

    @cached_property
    def _waits(self) -> frozenset[str]:
        return frozenset(self.index.wait)

    def watching(self, attribute: str) -> list[RegistryEntry]:
        return self.by_attribute.get(attribute, [])


def entry(journey: Journey, version: str) -> dict[str, Any]:
    """The registry entry of one journey, as JSON data."""
    nodes = list(walk(resolve(journey.steps)))
    data = journey.model_dump(mode="json", by_alias=True, exclude={"schema_", "steps"}, exclude_unset=True)
    data["version"] = version
    data["state_machine"] = contract.state_machine_name(journey.id)
    data["splits"] = [
        {"step_id": n.id, "key": contract.split_key(n.id)} for n in nodes if isinstance(n.step, SplitStep)
    ]
    data["channels"] = sorted({n.step.send.channel for n in nodes if isinstance(n.step, SendStep)})
    return data


def campaign_entry(campaign: CampaignFile, owners: Mapping[str, str]) -> dict[str, Any]:
    """The registry entry of one campaign, as JSON data. ``owners``: journey id → its owner."""
    stages = []
    for stage in campaign.stages:
        span = span_of(campaign, stage.window)
        data: dict[str, Any] = {
            "id": stage.id,
            "journey": stage.journey,
            "owner": stage.owner or owners.get(stage.journey, campaign.owner),
            "window": {"from": span.start.isoformat(), "until": span.end.isoformat()},
        }
        if stage.name is not None:
            data["name"] = stage.name
        if stage.audience is not None:
            data["audience"] = stage.audience
        if stage.kpis:
            data["kpis"] = {k: v.model_dump(mode="json", exclude_unset=True) for k, v in stage.kpis.items()}
        stages.append(data)
    entry: dict[str, Any] = {
        "id": campaign.id,
        "name": campaign.name,
        "owner": campaign.owner,
        "timezone": campaign.timezone,
        "date": campaign.date.isoformat(),
        "until": campaign.last_day.isoformat(),
        "stages": stages,
    }
    if campaign.goal is not None:
        entry["goal"] = campaign.goal.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return entry


def build(journeys: Iterable[tuple[Journey, str]], campaigns: Iterable[CampaignFile] = ()) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    index: dict[str, Any] = {
        "event": {},
        "attribute": {},
        "schedule": [],
        "date": [],
        "exit": {},
        "goal": {},
        "wait": set(),
    }
    for journey, version in sorted(journeys, key=lambda jv: jv[0].id):
        entries[journey.id] = entry(journey, version)
        trigger = journey.trigger
        match trigger:
            case EventTrigger():
                index["event"].setdefault(trigger.event, []).append(journey.id)
            case AttributeTrigger():
                index["attribute"].setdefault(trigger.attribute.name, []).append(journey.id)
            case ScheduleTrigger():
                index["schedule"].append(journey.id)
            case DateTrigger():
                index["date"].append(journey.id)
            case _:
                assert_never(trigger)
        for rule in journey.exit:
            ids = index["exit"].setdefault(rule.event, [])
            if journey.id not in ids:
                ids.append(journey.id)
        if journey.goal is not None:
            index["goal"].setdefault(journey.goal.event, []).append(journey.id)
        index["wait"].update(
            n.step.wait_for.event for n in walk(resolve(journey.steps)) if isinstance(n.step, WaitForStep)
        )
    index["wait"] = sorted(index["wait"])
    owners = {i: e["owner"] for i, e in entries.items()}
    chosen = {c.id: campaign_entry(c, owners) for c in sorted(campaigns, key=lambda c: c.id)}
    goals: dict[str, list[str]] = {}
    for campaign in sorted(campaigns, key=lambda c: c.id):
        if campaign.goal is not None:
            goals.setdefault(campaign.goal.event, []).append(campaign.id)
    if goals:
        index["campaign_goal"] = goals
    document: dict[str, object] = {"schema": SCHEMA_ID, "journeys": entries}
    if chosen:
        document["campaigns"] = chosen
    document["index"] = index
    return document


def load(path: Path) -> Registry:
    return Registry.model_validate(json.loads(path.read_text(encoding="utf-8")))
