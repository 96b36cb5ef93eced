"""Everything about a journey except its steps: trigger, entry rules, rollout, goal, KPIs, caps, windows."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, get_args

from pydantic import AwareDatetime, Discriminator, Field, PlainValidator, Tag, WithJsonSchema, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from touchpoint.journey.model.base import Strict
from touchpoint.journey.model.conditions import WHERE_DESCRIPTION, Condition, Where
from touchpoint.journey.model.triggers import Trigger
from touchpoint.journey.types import (
    CampaignId,
    Category,
    Duration,
    EventType,
    GroupName,
    JourneyId,
    LocalTime,
    Percent,
    Rate,
    StageId,
    TimeZone,
    Weekday,
)


class ReentryAfter(Strict):
    after: Duration = Field(description="A user may enter again this long after their previous entry.")


def _reentry_word(value: object) -> Literal["never", "always"]:
    if value in {"never", "always"}:
        return value
    raise PydanticCustomError(
        "reentry", '"{text}" is not a re-entry rule; use never, always or {after: 7d}', {"text": str(value)}
    )


Reentry = Annotated[
    (
        Annotated[
            Literal["never", "always"],
            PlainValidator(_reentry_word),
            WithJsonSchema({"enum": ["never", "always"]}),
            Tag("word"),
        ]
        | Annotated[ReentryAfter, Tag("after")]
    ),
    Discriminator(lambda v: "after" if isinstance(v, dict | ReentryAfter) else "word"),
]


class Entry(Strict):
    reentry: Reentry = Field("never", description="never | always | {after: 7d}.")
    priority: int = Field(
        0, ge=-1000, le=1000, description="Within a group, the higher priority journey wins."
    )
    group: GroupName | None = Field(
        None, description="At most one journey of a group runs per user at a time (higher priority wins)."
    )


class Rollout(Strict):
    percent: Percent = Field(
        100, description="Canary: share of the audience that may enter (0 < percent ≤ 100)."
    )
    test_users: list[str] = Field(
        default_factory=list, description="User ids that always enter (QA accounts)."
    )
    segment: Condition | None = Field(None, description="Canary limited to this segment (e.g. one region).")


class Holdout(Strict):
    percent: float = Field(
        gt=0,
        lt=100,
        description="Share of entrants held out: they enter, are measured, never receive a message.",
    )


class ExitRule(Strict):
    event: EventType = Field(description="Event that ends the user's run of this journey at once.")
    where: Where = Field(default_factory=dict, description=WHERE_DESCRIPTION)


class Goal(Strict):
    event: EventType = Field(description="The conversion event, e.g. order.placed.")
    where: Where = Field(default_factory=dict, description=WHERE_DESCRIPTION)
    within: Duration = Field(description="A conversion counts when it happens this soon after entry.")
    target: Rate = Field(description="Target conversion rate (0..1), e.g. 0.12.")
    baseline: Rate | None = Field(
        None, description="Conversion rate before this journey, for the lift report."
    )
    deadline: dt.date | None = Field(None, description="Date by which the target should be met.")
    metric: str | None = Field(None, description="The goal in words (R1: what, from, to, by when).")


RateKpi = Literal[
    "reach_rate",
    "delivery_rate",
    "email_delivery_rate",
    "sms_delivery_rate",
    "open_rate",
    "click_rate",
    "click_to_open_rate",
    "conversion_rate",
    "unsubscribe_rate",
    "complaint_rate",
    "bounce_rate",
    "send_failure_rate",
    "email_send_failure_rate",
    "sms_send_failure_rate",
    "trigger_success_rate",
]
CountKpi = Literal["entered", "sent", "delivered", "opened", "clicked", "converted"]
KpiName = Literal[RateKpi, CountKpi]
RATE_KPIS: tuple[str, ...] = get_args(RateKpi)
COUNT_KPIS: tuple[str, ...] = get_args(CountKpi)


class KpiTarget(Strict):
    target: float | None = Field(None, ge=0, description="Value the team aims for.")
    floor: float | None = Field(None, ge=0, description="Alarm when the value falls below this.")
    ceiling: float | None = Field(None, ge=0, description="Alarm when the value rises above this.")
    min_sample: int = Field(
        100, ge=1, description="No alarm until the rate's denominator reaches this count."
    )

    @model_validator(mode="after")
    def _something(self) -> KpiTarget:
        if self.target is None and self.floor is None and self.ceiling is None:
            raise PydanticCustomError("kpi", "needs at least one of: target, floor, ceiling")
        return self


class Cap(Strict):
    max: int = Field(ge=1, description="At most this many messages …")
    per: Duration = Field(description="… in any window of this length (e.g. 24h).")


class Limits(Strict):
    email: Cap | None = Field(None, description="Cap on this journey's emails per user.")
    sms: Cap | None = Field(None, description="Cap on this journey's SMS per user.")
    on_cap: Literal["defer", "skip"] = Field(
        "defer", description="Over a cap: defer until the window frees (default) or skip the message."
    )


class SendWindow(Strict):
    from_: LocalTime = Field(alias="from", description="Earliest local send time, e.g. 08:00.")
    to: LocalTime = Field(
        description="Latest local send time (exclusive), e.g. 21:00; before from = overnight."
    )
    days: list[Weekday] | None = Field(None, description="Allowed weekdays (default: every day).")


class Campaign(Strict):
    """Written by the campaign file that lists this journey as a stage, never by the journey file:
    the registry and the report read it (docs/campaigns.md)."""

    id: CampaignId = Field(description="The campaign, e.g. d12.")
    stage: StageId = Field(description="The stage of the campaign's plan, e.g. warmup.")
    date: dt.date = Field(description="The campaign's event date.")
    participants_of: list[JourneyId] | None = Field(
        None, description="audience: participants — the journeys of the earlier stages."
    )


class Effective(Strict):
    from_: AwareDatetime | None = Field(
        None, alias="from", description="No entries before this time (with offset)."
    )
    until: AwareDatetime | None = Field(None, description="No entries from this time on (with offset).")


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
    campaign: SkipJsonSchema[Campaign | None] = Field(
        None, description="Set from the campaign file that lists this journey as a stage."
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
