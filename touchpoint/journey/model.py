"""The journey language (``schema: touchpoint/v1``) as pydantic models.

Unions are discriminated by which key is present (``send:``, ``wait:``, ``attribute:`` …), so a
mistake is reported against the one shape the author meant, never as a list of every branch.
Everything is ``extra="forbid"`` and frozen: a journey is reviewed data, not a mutable object."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    PlainValidator,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from touchpoint.journey.types import (
    AttributeName,
    Category,
    Channel,
    Duration,
    EventType,
    GroupName,
    JourneyId,
    LocalTime,
    Percent,
    Rate,
    Scalar,
    Slug,
    StepId,
    TagName,
    TemplateName,
    TimeZone,
    Weekday,
)
from touchpoint.schedules import check_schedule

SCHEMA_ID = "touchpoint/v1"


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=False
    )


def _key_discriminator(kinds: tuple[str, ...]) -> Any:
    """Pick the union member from the one kind key present (``None`` → a single clear error)."""

    def kind(value: Any) -> str | None:
        if isinstance(value, dict):
            present = [k for k in kinds if k in value]
            return present[0] if len(present) == 1 else None
        return getattr(value, "kind", None)

    return kind


# --------------------------------------------------------------------------- conditions

OPERATORS: tuple[str, ...] = (
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "contains",
    "exists",
    "within",
    "older_than",
)


class Ops(Strict):
    """Comparison operators; several in one mapping must all hold (``{gte: 18, lt: 30}``)."""

    eq: Scalar | None = Field(None, description="Equal to this value.")
    ne: Scalar | None = Field(None, description="Not equal to this value (true when the value is missing).")
    gt: Scalar | None = Field(None, description="Greater than (numbers, or ISO 8601 timestamps).")
    gte: Scalar | None = Field(None, description="Greater than or equal.")
    lt: Scalar | None = Field(None, description="Less than.")
    lte: Scalar | None = Field(None, description="Less than or equal.")
    in_: list[Scalar] | None = Field(None, alias="in", description="Equal to one of these values.")
    contains: Scalar | None = Field(None, description="A list or text value that contains this element.")
    exists: bool | None = Field(None, description="true: the value is present; false: it is missing.")
    within: Duration | None = Field(
        None, description="A timestamp no older than this duration (e.g. 7d). False when missing."
    )
    older_than: Duration | None = Field(
        None, description="A timestamp older than this duration (e.g. 30d). False when missing."
    )

    @model_validator(mode="after")
    def _needs_operator(self) -> Ops:
        if not self.operators():
            raise PydanticCustomError("no_operator", "needs an operator: one of " + ", ".join(OPERATORS))
        return self

    def operators(self) -> list[tuple[str, Any]]:
        """The operators written, in canonical order, with their operands."""
        fields = type(self).model_fields
        set_names = {fields[name].alias or name for name in self.model_fields_set}
        return [(op, getattr(self, "in_" if op == "in" else op)) for op in OPERATORS if op in set_names]


class AttributeCondition(Ops):
    kind: ClassVar[str] = "attribute"
    attribute: AttributeName = Field(
        description="Profile attribute name, e.g. orders_count or last_order_at."
    )


class TagCondition(Strict):
    kind: ClassVar[str] = "tag"
    tag: TagName = Field(description="True when the profile carries this tag.")


class ConsentCondition(Strict):
    kind: ClassVar[str] = "consent"
    consent: Channel = Field(
        description="True when the profile has granted marketing consent for this channel."
    )


class AllCondition(Strict):
    kind: ClassVar[str] = "all"
    all_: list[Condition] = Field(alias="all", min_length=1, description="True when every condition holds.")


class AnyCondition(Strict):
    kind: ClassVar[str] = "any"
    any_: list[Condition] = Field(
        alias="any", min_length=1, description="True when at least one condition holds."
    )


class NotCondition(Strict):
    kind: ClassVar[str] = "not"
    not_: Condition = Field(alias="not", description="True when the condition does not hold.")


CONDITION_KINDS: tuple[str, ...] = ("attribute", "tag", "consent", "all", "any", "not")

Condition = Annotated[
    (
        Annotated[AttributeCondition, Tag("attribute")]
        | Annotated[TagCondition, Tag("tag")]
        | Annotated[ConsentCondition, Tag("consent")]
        | Annotated[AllCondition, Tag("all")]
        | Annotated[AnyCondition, Tag("any")]
        | Annotated[NotCondition, Tag("not")]
    ),
    Discriminator(
        _key_discriminator(CONDITION_KINDS),
        custom_error_type="condition_kind",
        custom_error_message="a condition needs exactly one of: " + ", ".join(CONDITION_KINDS),
    ),
]

WhereValue = Annotated[
    (Annotated[Scalar, Tag("value")] | Annotated[Ops, Tag("ops")]),
    Discriminator(lambda v: "ops" if isinstance(v, dict | Ops) else "value"),
]
Where = dict[AttributeName, WhereValue]
"""Event property filters: ``{step_id: coupon}`` (equality) or ``{items: {gt: 0}}`` (operators)."""

_WHERE = "Event property filters: a value means equal, an operator map such as {gt: 0} compares."

# --------------------------------------------------------------------------- triggers


class EventTrigger(Strict):
    kind: ClassVar[str] = "event"
    event: EventType = Field(
        description="App or message event type that starts the journey, e.g. cart.updated."
    )
    where: Where = Field(default_factory=dict, description=_WHERE)


def _schedule(value: str) -> str:
    problem = check_schedule(value)
    if problem:
        raise PydanticCustomError("schedule", "{problem}", {"problem": problem})
    return value


class ScheduleTrigger(Strict):
    kind: ClassVar[str] = "schedule"
    schedule: Annotated[str, AfterValidator(_schedule)] = Field(
        description="EventBridge Scheduler expression, in the journey time zone: "
        "cron(0 10 ? * MON *) or rate(1 day).",
        examples=["cron(0 10 ? * MON *)", "rate(7 days)"],
    )


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


TRIGGER_KINDS: tuple[str, ...] = ("event", "schedule", "date", "attribute")

Trigger = Annotated[
    (
        Annotated[EventTrigger, Tag("event")]
        | Annotated[ScheduleTrigger, Tag("schedule")]
        | Annotated[DateTrigger, Tag("date")]
        | Annotated[AttributeTrigger, Tag("attribute")]
    ),
    Discriminator(
        _key_discriminator(TRIGGER_KINDS),
        custom_error_type="trigger_kind",
        custom_error_message="a trigger needs exactly one of: " + ", ".join(TRIGGER_KINDS),
    ),
]

# --------------------------------------------------------------------------- journey settings


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
    where: Where = Field(default_factory=dict, description=_WHERE)


class Goal(Strict):
    event: EventType = Field(description="The conversion event, e.g. order.placed.")
    where: Where = Field(default_factory=dict, description=_WHERE)
    within: Duration = Field(description="A conversion counts when it happens this soon after entry.")
    target: Rate = Field(description="Target conversion rate (0..1), e.g. 0.12.")
    baseline: Rate | None = Field(
        None, description="Conversion rate before this journey, for the lift report."
    )
    deadline: dt.date | None = Field(None, description="Date by which the target should be met.")
    metric: str | None = Field(None, description="The goal in words (R1: what, from, to, by when).")


RATE_KPIS: tuple[str, ...] = (
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
)
COUNT_KPIS: tuple[str, ...] = ("entered", "sent", "delivered", "opened", "clicked", "converted")
KpiName = Literal[
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
    "entered",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
]


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
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=48)] = Field(
        description="Campaign id shared by its journeys, e.g. double-12."
    )
    stage: Literal["warm-up", "launch", "sustain", "review"] = Field(
        description="Stage of the plan (R16): warm-up 7–3 days before, launch 3–1 days before, sustain "
        "during, review after."
    )
    date: dt.date = Field(description="The event date the stages are relative to, e.g. 2026-12-12.")


class Effective(Strict):
    from_: AwareDatetime | None = Field(
        None, alias="from", description="No entries before this time (with offset)."
    )
    until: AwareDatetime | None = Field(None, description="No entries from this time on (with offset).")


# --------------------------------------------------------------------------- steps


class StepBase(Strict):
    id: StepId | None = Field(
        None, description="Stable step id (needed to refer to the step); derived if omitted."
    )


class SendSpec(Strict):
    channel: Channel = Field(description="email or sms.")
    template: TemplateName = Field(
        description="Template in templates/ beside the journey: <name>.<channel>.j2."
    )
    category: Category | None = Field(None, description="Override the journey's category for this message.")
    on_cap: Literal["defer", "skip"] | None = Field(
        None, description="Override limits.on_cap for this message."
    )


class SendStep(StepBase):
    kind: ClassVar[str] = "send"
    send: SendSpec = Field(
        description="Send one message; every send is gated (consent, caps, window, pause)."
    )
    fallback: list[Step] = Field(
        default_factory=list,
        description="Steps to run instead when the message was not sent (skipped or failed).",
    )


class Until(Strict):
    time: LocalTime = Field(description="Local time of day to wait for.")
    weekday: Weekday | None = Field(None, description="Also wait for this weekday.")


class WaitUntil(Strict):
    until: Until = Field(description="Wait until the next local time (and weekday) in the user's time zone.")


WaitValue = Annotated[
    (Annotated[Duration, Tag("duration")] | Annotated[WaitUntil, Tag("until")]),
    Discriminator(lambda v: "until" if isinstance(v, dict | WaitUntil) else "duration"),
]


class WaitStep(StepBase):
    kind: ClassVar[str] = "wait"
    wait: WaitValue = Field(
        description='A duration (30m, 24h, 3d) or {until: {time: "10:00", weekday: mon}}.'
    )


class IfStep(StepBase):
    kind: ClassVar[str] = "if"
    if_: Condition = Field(
        alias="if", description="Condition on the profile, evaluated when the step is reached."
    )
    then: list[Step] = Field(default_factory=list, description="Steps when the condition holds.")
    else_: list[Step] = Field(default_factory=list, alias="else", description="Steps when it does not.")


class WaitForSpec(Strict):
    event: EventType = Field(description="The behaviour to wait for, e.g. email.clicked.")
    where: Where = Field(default_factory=dict, description=_WHERE)
    timeout: Duration = Field(description="Give up after this long and take on_timeout.")


class WaitForStep(StepBase):
    kind: ClassVar[str] = "wait_for"
    wait_for: WaitForSpec = Field(description="Wait until the user does something, at most timeout.")
    on_event: list[Step] = Field(default_factory=list, description="Steps when the event arrived in time.")
    on_timeout: list[Step] = Field(default_factory=list, description="Steps when it did not.")


class SplitPath(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=20)] = Field(
        description="Variant name (A, B, control …), used in reports."
    )
    percent: Percent = Field(description="Share of users on this path; the paths add up to 100.")
    steps: list[Step] = Field(default_factory=list, description="Steps of this variant.")


class SplitStep(StepBase):
    kind: ClassVar[str] = "split"
    split: list[SplitPath] = Field(min_length=2, description="Random but stable per user A/B(/n) paths.")


class TagSpec(Strict):
    add: list[TagName] = Field(default_factory=list, description="Tags to add.")
    remove: list[TagName] = Field(default_factory=list, description="Tags to remove.")

    @model_validator(mode="after")
    def _something(self) -> TagSpec:
        if not self.add and not self.remove:
            raise PydanticCustomError("tag", "needs add or remove (a list of tags)")
        return self


class TagStep(StepBase):
    kind: ClassVar[str] = "tag"
    tag: TagSpec = Field(description="Add or remove profile tags.")


class SetStep(StepBase):
    kind: ClassVar[str] = "set"
    set: dict[AttributeName, Scalar | None] = Field(
        min_length=1,
        description="Profile attributes to set (null removes one), e.g. {lifecycle_stage: active}.",
    )


def _plain_keys(properties: dict[str, Any]) -> dict[str, Any]:
    """Keys ending in ``.$`` would turn into JSONPath in the compiled ASL; none may contain ``$``."""

    def keys(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [*value, *(k for v in value.values() for k in keys(v))]
        if isinstance(value, list):
            return [k for v in value for k in keys(v)]
        return []

    bad = sorted(k for k in keys(properties) if "$" in k)
    if bad:
        raise PydanticCustomError(
            "key", 'property names may not contain "$" ({keys})', {"keys": ", ".join(bad)}
        )
    return properties


class EmitSpec(Strict):
    type: EventType = Field(
        description="Event type put on the bus, e.g. lead.qualified (CRM / sales hand-off)."
    )
    properties: Annotated[dict[AttributeName, JsonValue], AfterValidator(_plain_keys)] = Field(
        default_factory=dict, description="Static event properties."
    )


class EmitStep(StepBase):
    kind: ClassVar[str] = "emit"
    emit: EmitSpec = Field(description="Put an event on the bus for other systems (CRM, push, WeChat).")


class ExitStep(StepBase):
    kind: ClassVar[str] = "exit"
    exit: Slug = Field(description="End the journey here; the reason is recorded, e.g. cart_emptied.")


STEP_KINDS: tuple[str, ...] = ("send", "wait", "if", "wait_for", "split", "tag", "set", "emit", "exit")

Step = Annotated[
    (
        Annotated[SendStep, Tag("send")]
        | Annotated[WaitStep, Tag("wait")]
        | Annotated[IfStep, Tag("if")]
        | Annotated[WaitForStep, Tag("wait_for")]
        | Annotated[SplitStep, Tag("split")]
        | Annotated[TagStep, Tag("tag")]
        | Annotated[SetStep, Tag("set")]
        | Annotated[EmitStep, Tag("emit")]
        | Annotated[ExitStep, Tag("exit")]
    ),
    Discriminator(
        _key_discriminator(STEP_KINDS),
        custom_error_type="step_kind",
        custom_error_message="a step needs exactly one of: " + ", ".join(STEP_KINDS),
    ),
]

# --------------------------------------------------------------------------- the journey


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


for _model in (
    AllCondition,
    AnyCondition,
    NotCondition,
    Rollout,
    SendStep,
    IfStep,
    WaitForStep,
    SplitPath,
    SplitStep,
    JourneySettings,
    Journey,
):
    _model.model_rebuild()
