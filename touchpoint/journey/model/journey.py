"""A journey file: its settings (what trigger_eval's registry needs) and its steps."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from touchpoint.journey.model.base import Strict
from touchpoint.journey.model.conditions import Condition
from touchpoint.journey.model.settings import (
    Campaign,
    Effective,
    Entry,
    ExitRule,
    Goal,
    Holdout,
    KpiName,
    KpiTarget,
    Limits,
    Rollout,
    SendWindow,
)
from touchpoint.journey.model.steps import Step
from touchpoint.journey.model.triggers import Trigger
from touchpoint.journey.types import Category, JourneyId, TimeZone

SCHEMA_ID = "touchpoint/v1"


class JourneySettings(Strict):
    """Everything about a journey except its steps: what trigger_eval needs (the registry)."""

    id: JourneyId = Field(description="Unique id, [a-z][a-z0-9-]*; also the file name (<id>.yaml).")
    name: str = Field(min_length=1, description="Human name, any language.")
    description: str | None = Field(None, description="What the journey is for.")
    owner: str = Field(min_length=1, description="Who answers for it (R2), e.g. growth@example.com.")
    timezone: TimeZone = Field(
        description="IANA zone for schedules and users without one, e.g. Asia/Shanghai."
    )
    effective: Effective | None = Field(None, description="When entries are allowed (R2).")
    review: Literal["weekly", "monthly", "quarterly"] | None = Field(None, description="Review cycle (R2).")
    campaign: Campaign | None = Field(
        None, description="The campaign plan and stage this journey belongs to."
    )
    category: Category = Field(
        "marketing", description="marketing (consent + caps apply) or transactional (service messages)."
    )
    trigger: Trigger = Field(description="What starts the journey for a user.")
    audience: Condition | None = Field(
        None, description="Who may enter, checked at entry (default: everyone)."
    )
    entry: Entry = Field(default_factory=Entry, description="Re-entry, priority and group rules.")
    rollout: Rollout | None = Field(None, description="Canary rollout (R12).")
    holdout: Holdout | None = Field(None, description="Holdout group for measuring lift.")
    exit: list[ExitRule] = Field(
        default_factory=list, description="Events that end the journey for the user."
    )
    goal: Goal | None = Field(None, description="The SMART goal the engine measures (R1).")
    kpis: dict[KpiName, KpiTarget] = Field(
        default_factory=dict, description="KPI targets, floors and ceilings."
    )
    limits: Limits | None = Field(None, description="Per-journey frequency caps (global caps apply too).")
    send_window: SendWindow | None = Field(
        None, description="Allowed local send hours; outside them sends wait."
    )


class Journey(JourneySettings):
    """One journey file."""

    model_config = ConfigDict(title="Touchpoint journey")

    schema_: Literal["touchpoint/v1"] = Field(alias="schema", description="Always touchpoint/v1.")
    steps: list[Step] = Field(min_length=1, description="What happens, in order.")
