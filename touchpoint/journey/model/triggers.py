"""What starts a journey for a user: an event, a schedule, a date in the profile, a changed attribute."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AfterValidator, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from touchpoint.journey.model.base import Strict, by_key, tags
from touchpoint.journey.model.conditions import WHERE_DESCRIPTION, Where
from touchpoint.journey.types import AttributeName, Duration, EventType, LocalTime, Offset, Scalar
from touchpoint.schedules import check_schedule


class EventTrigger(Strict):
    kind: ClassVar[str] = "event"
    event: EventType = Field(
        description="App or message event type that starts the journey, e.g. cart.updated."
    )
    where: Where = Field(default_factory=dict, description=WHERE_DESCRIPTION)


def _schedule(value: str) -> str:
    problem = check_schedule(value)
    if problem:
        raise PydanticCustomError("schedule", "{problem}", {"problem": problem})
    return value


class DailySchedule(Strict):
    daily: LocalTime = Field(description="Every day of the campaign stage's window, at this local time.")


class OnceSchedule(Strict):
    at: Offset = Field(description="Once, this long before (-3d) or after (2d) the campaign date.")
    time: LocalTime = Field("10:00", description="Local time of day, in the campaign's time zone.")


_Relative = Annotated[
    Annotated[DailySchedule, Tag("daily")] | Annotated[OnceSchedule, Tag("at")],
    by_key("campaign schedule", ("daily", "at")),
]
RelativeSchedule = DailySchedule | OnceSchedule


def _schedule_kind(value: object) -> str:
    return "expression" if isinstance(value, str) else "relative"


class ScheduleTrigger(Strict):
    kind: ClassVar[str] = "schedule"
    schedule: Annotated[
        Annotated[Annotated[str, AfterValidator(_schedule)], Tag("expression")]
        | Annotated[_Relative, Tag("relative")],
        Discriminator(_schedule_kind),
    ] = Field(
        description="EventBridge Scheduler expression, in the journey time zone: "
        'cron(0 10 ? * MON *) or rate(1 day); in a campaign stage also {daily: "10:00"} '
        'or {at: -3d, time: "10:00"} (docs/campaigns.md).',
        examples=["cron(0 10 ? * MON *)", "rate(7 days)"],
    )

    @property
    def expression(self) -> str:
        """The Scheduler expression; a relative schedule has one only once its campaign resolved it."""
        if not isinstance(self.schedule, str):
            raise ValueError("a campaign-relative schedule has no expression before its campaign resolves it")
        return self.schedule


class DateSpec(Strict):
    attribute: AttributeName = Field(
        description="Profile attribute holding a date, e.g. birthday or member_until."
    )
    at: LocalTime = Field("09:00", description="Local time of day (profile time zone, else the journey's).")
    yearly: bool = Field(
        True, description="true: every year on the month and day (birthdays); false: once, on the exact date."
    )
    before: Duration | None = Field(
        None, description="Fire this long before the date (e.g. 7d before expiry)."
    )
    after: Duration | None = Field(None, description="Fire this long after the date.")

    @model_validator(mode="after")
    def _one_offset(self) -> DateSpec:
        if self.before is not None and self.after is not None:
            raise PydanticCustomError("offset", "use either before or after, not both")
        return self


class DateTrigger(Strict):
    kind: ClassVar[str] = "date"
    date: DateSpec = Field(
        description="Fires on a date held in a profile attribute (birthday, membership expiry)."
    )


class AttributeChange(Strict):
    name: AttributeName = Field(description="Attribute to watch; `tags` watches the tag set.")
    added: Scalar | None = Field(None, description="Fires when this element is added (tags, lists).")
    removed: Scalar | None = Field(None, description="Fires when this element is removed (tags, lists).")
    to: Scalar | None = Field(None, description="Fires when the attribute changes to this value.")
    changed: bool | None = Field(None, description="true: fires on any change of the value.")

    @model_validator(mode="after")
    def _one_change(self) -> AttributeChange:
        given = [k for k in ("added", "removed", "to", "changed") if k in self.model_fields_set]
        if len(given) != 1:
            raise PydanticCustomError("change", "needs exactly one of: added, removed, to, changed")
        return self


class AttributeTrigger(Strict):
    kind: ClassVar[str] = "attribute"
    attribute: AttributeChange = Field(description="Fires when a profile attribute or tag changes.")


_Triggers = (
    Annotated[EventTrigger, Tag("event")]
    | Annotated[ScheduleTrigger, Tag("schedule")]
    | Annotated[DateTrigger, Tag("date")]
    | Annotated[AttributeTrigger, Tag("attribute")]
)
TRIGGER_KINDS: tuple[str, ...] = tags(_Triggers)
Trigger = Annotated[_Triggers, by_key("trigger", TRIGGER_KINDS)]
