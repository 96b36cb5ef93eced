"""A campaign file (``schema: touchpoint/campaign-v1``): one event date, its stages and their
windows, relative to the date, so moving the date moves everything (docs/campaigns.md)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from touchpoint.durations import format_duration
from touchpoint.journey.model.base import Strict
from touchpoint.journey.model.conditions import WHERE_DESCRIPTION, Where
from touchpoint.journey.model.settings import KpiName, KpiTarget
from touchpoint.journey.types import (
    AttributeName,
    CampaignId,
    Duration,
    EventType,
    JourneyId,
    Offset,
    Rate,
    StageId,
    TimeZone,
)

CAMPAIGN_SCHEMA_ID = "touchpoint/campaign-v1"
#: A campaign conversion is remembered this long (the kpi_rollup "seen" marker), so ``within`` is capped.
MAX_GOAL_WITHIN = 90 * 86400


class Window(Strict):
    """When a stage admits entries: ``{from, to}`` relative to the date, ``{during: true}`` (every day
    from the date to ``until``) or ``{after: 3d}`` (that long once the sale is over)."""

    from_: Offset | None = Field(
        None, alias="from", description="Start, relative to the date's midnight: -7d = seven days before."
    )
    to: Offset | None = Field(None, description="End (exclusive), relative to the date's midnight: -3d.")
    during: Literal[True] | None = Field(None, description="true: from the date to the end of `until`.")
    after: Offset | None = Field(
        None, description="This long from the end of the sale (the day after `until`)."
    )

    @model_validator(mode="after")
    def _one_form(self) -> Window:
        given = [k for k in ("from_", "to", "during", "after") if getattr(self, k) is not None]
        if given in (["from_", "to"], ["during"], ["after"]):
            return self
        forms = "{from: -7d, to: -3d}, {during: true} or {after: 3d}"
        if given in (["from_"], ["to"]):
            missing = "to" if given == ["from_"] else "from"
            raise PydanticCustomError(
                "window", "{missing} is missing: a window is " + forms, {"missing": missing}
            )
        if not given:
            raise PydanticCustomError("window", "the window is empty: write " + forms)
        raise PydanticCustomError("window", "use one form of window, not several: " + forms)


class Stage(Strict):
    id: StageId = Field(description="The stage's id in the plan, e.g. warmup.")
    name: str | None = Field(None, description="The stage in words, for the plan table.")
    window: Window = Field(description="When the stage's journey admits entries.")
    journey: JourneyId = Field(description="The stage journey (a file in the journeys directory).")
    owner: str | None = Field(
        None, min_length=1, description="Who answers for this stage (default: the journey's owner)."
    )
    audience: Literal["participants"] | None = Field(
        None, description="participants: only users who entered an earlier stage of this campaign."
    )
    kpis: dict[KpiName, KpiTarget] = Field(
        default_factory=dict, description="Stage KPIs (rates and counts), added to the journey's."
    )


class CampaignGoal(Strict):
    event: EventType = Field(description="The conversion event, e.g. order.placed.")
    where: Where = Field(default_factory=dict, description=WHERE_DESCRIPTION)
    within: Duration = Field(
        description="A participant converts when the event happens this soon after their first stage "
        "entry (at most 90d)."
    )
    target: Rate = Field(description="Target share of participants who convert (0..1).")
    value: AttributeName | None = Field(
        None, description="The event property that is revenue, e.g. amount (summed per campaign)."
    )
    metric: str | None = Field(None, description="The goal in words.")

    @model_validator(mode="after")
    def _within_bound(self) -> CampaignGoal:
        if self.within > MAX_GOAL_WITHIN:
            raise PydanticCustomError(
                "within",
                "within {within} is longer than 90d, how long a campaign conversion is remembered; "
                "shorten it",
                {"within": format_duration(self.within)},
            )
        return self


class CampaignFile(Strict):
    """One campaign file."""

    model_config = ConfigDict(title="Touchpoint campaign")

    schema_: Literal["touchpoint/campaign-v1"] = Field(
        alias="schema", description="Always touchpoint/campaign-v1."
    )
    id: CampaignId = Field(description="Unique campaign id; also the file name (<id>.yaml).")
    name: str = Field(min_length=1, description="Human name, any language.")
    description: str | None = Field(None, description="What the campaign is for.")
    owner: str = Field(min_length=1, description="Who answers for the campaign.")
    timezone: TimeZone = Field(description="IANA zone of the date, the windows and the schedules.")
    date: dt.date = Field(description="The event date (the first day of the sale), e.g. 2026-12-12.")
    until: dt.date | None = Field(None, description="The last day of the sale (default: date).")
    goal: CampaignGoal | None = Field(None, description="The campaign's goal over all its participants.")
    stages: list[Stage] = Field(min_length=1, description="The stages, in plan order.")

    @property
    def last_day(self) -> dt.date:
        return self.until or self.date
