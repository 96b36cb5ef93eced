"""Scenario files for ``touchpoint simulate``: when, how long, which journeys, which users.

Loaded like journeys: YAML with line numbers, errors as ``file:line field: message``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from touchpoint import durations
from touchpoint.catalogue import unknown_event, unknown_properties
from touchpoint.journey.loader import load_catalogue
from touchpoint.journey.source import JsonPath, Source, SourceError, read_source
from touchpoint.journey.types import Duration, EventType, JourneyId, TimeZone
from touchpoint.journey.violations import Violation, at, from_validation_error

_OFFSET = re.compile(r"^(?:[0-9]+[smhdw])+$")


def _offset(value: object) -> int:
    """``0h``, ``30h``, ``3d`` or a sum like ``4d3h`` / ``89h30m``: a scripted time reads best as
    the day and the hour."""
    text = str(value).strip() if isinstance(value, (str, int)) else ""
    if text == "0":
        return 0
    if _OFFSET.fullmatch(text):
        return sum(
            int(number) * durations.UNITS[unit] for number, unit in re.findall(r"([0-9]+)([smhdw])", text)
        )
    raise PydanticCustomError(
        "offset", '"{text}" is not an offset; use 0h, 30m, 24h, 3d or 4d3h', {"text": str(value)}
    )


Offset = Annotated[
    int,
    BeforeValidator(_offset),
    PlainSerializer(durations.format_duration, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["0h", "30h", "3d", "4d3h"]}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScriptedProfile(_Strict):
    email: str | None = Field(None, description="Email address.")
    phone: str | None = Field(None, description="Phone number in E.164.")
    timezone: TimeZone | None = Field(None, description="IANA time zone.")
    locale: str | None = Field(None, description="Template language, e.g. zh-CN.")
    attributes: dict[str, JsonValue] = Field(default_factory=dict, description="Profile attributes.")
    tags: list[str] = Field(default_factory=list, description="Tags.")
    consent: dict[str, bool] = Field(default_factory=dict, description="Marketing consent per channel.")


class ScriptedEvent(_Strict):
    at: Offset = Field(description="Offset from the scenario start, e.g. 0h or 30h.")
    type: EventType = Field(description="Event type. email.* / sms.* are feedback on a message the user got.")
    properties: dict[str, JsonValue] = Field(default_factory=dict, description="Event properties.")
    profile: dict[str, JsonValue] | None = Field(None, description="A profile patch carried by the event.")
    consent: dict[str, JsonValue] | None = Field(
        None, description='A consent block, e.g. {email: {granted: false, source: "settings-page"}}.'
    )
    event_id: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        None,
        description="The event's id (default: derived from the user, type and time). Script the same "
        "id twice to rehearse a duplicate.",
    )
    deliveries: int = Field(
        1,
        ge=1,
        le=5,
        description="How many times EventBridge delivers it (at-least-once), at the same moment.",
    )
    redeliver_after: list[Offset] = Field(
        default_factory=list,
        max_length=4,
        description="Copies delivered this long after it, e.g. [1h, 3d] (an SQS redrive, a replay).",
    )

    @model_validator(mode="after")
    def _copies(self) -> ScriptedEvent:
        if self.type.startswith(("email.", "sms.")) and (
            self.event_id or self.deliveries > 1 or self.redeliver_after
        ):
            raise ValueError(
                "event_id, deliveries and redeliver_after are for app events, not message feedback"
            )
        return self


class Outage(_Strict):
    """A window in which every call is refused."""

    at: Offset = Field(description="When it starts, as an offset from the scenario start, e.g. 2d.")
    for_: Duration = Field(alias="for", description="How long, e.g. 10m.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Share = Annotated[float, Field(ge=0, le=1)]


class ChannelFault(_Strict):
    """A message provider misbehaving (SES for email, End User Messaging or SNS for SMS)."""

    channel: Literal["email", "sms"] = Field(description="Whose provider.")
    throttle: Share | None = Field(None, description="Share of calls refused with throttling (retried).")
    outage: Outage | None = Field(None, description="A window of refusals (503, retried).")
    crash_after_accept: Share | None = Field(
        None, description="Share of sends where the provider took the message and the function died."
    )
    lost_response: Share | None = Field(
        None, description="Share of sends where the provider took the message and its answer was lost."
    )

    @model_validator(mode="after")
    def _one(self) -> ChannelFault:
        named = [n for n in ("throttle", "outage", "crash_after_accept", "lost_response") if getattr(self, n)]
        if len(named) != 1:
            raise ValueError("give exactly one of throttle, outage, crash_after_accept, lost_response")
        return self


class ServiceFault(_Strict):
    """DynamoDB refusing requests (every table, every function, the state machines' updates)."""

    service: Literal["dynamodb"] = Field(description="The AWS service.")
    throttle: Share | None = Field(None, description="Share of requests refused with throttling.")
    outage: Outage | None = Field(None, description="A window of refusals.")

    @model_validator(mode="after")
    def _one(self) -> ServiceFault:
        if (self.throttle is None) == (self.outage is None):
            raise ValueError("give exactly one of throttle, outage")
        return self


class Redelivery(_Strict):
    """Every app event delivered 1 to ``deliveries`` times, each copy up to ``late`` after it."""

    service: Literal["events"] = Field(description="EventBridge (app events).")
    deliveries: int = Field(ge=1, le=5, description="At most this many deliveries of each app event.")
    late: Offset = Field(0, description="A copy arrives up to this long after the event, e.g. 3d.")


Fault = ChannelFault | ServiceFault | Redelivery


class Operation(_Strict):
    """An operator's launch control at a moment of the scenario (R13): ``{at: 2d, pause: j}``."""

    at: Offset = Field(description="When, as an offset from the scenario start.")
    pause: JourneyId | None = Field(None, description="Pause this journey: sends and steps are held.")
    resume: JourneyId | None = Field(None, description="Resume it: the held sends and steps go on.")
    stop: JourneyId | None = Field(None, description="Stop it: nothing more, running executions end.")
    reason: str = Field("rehearsal", description="Why, as the audit record keeps it.")

    @model_validator(mode="after")
    def _one(self) -> Operation:
        if sum(x is not None for x in (self.pause, self.resume, self.stop)) != 1:
            raise ValueError("give exactly one of pause, resume, stop")
        return self

    @property
    def command(self) -> tuple[Literal["pause", "resume", "stop"], str]:
        for name in ("pause", "resume", "stop"):
            journey = getattr(self, name)
            if journey is not None:
                return name, journey
        raise AssertionError(self)


class ScriptedUser(_Strict):
    id: str = Field(min_length=1, description="User id.")
    profile: ScriptedProfile = Field(default_factory=ScriptedProfile, description="The profile at the start.")
    events: list[ScriptedEvent] = Field(default_factory=list, description="What the user does, and when.")


class Behaviour(_Strict):
    """How synthetic users react to messages, and what the providers report about them
    (probabilities per message, except the two lists, which are per address or number)."""

    open: Share = Field(0.32, description="An email is opened.")
    click: Share = Field(0.22, description="An opened email (or a delivered SMS) is clicked.")
    sms_click: Share = Field(0.07, description="A delivered SMS is clicked.")
    bounce: Share = Field(0.01, description="An email hard-bounces.")
    unsubscribe: Share = Field(
        0.004,
        description="A delivered message leads to an unsubscribe (for SMS through End User Messaging: "
        "a STOP reply).",
    )
    convert_after_click: Share = Field(0.18, description="A click leads to an order within hours.")
    transient_bounce: Share = Field(
        0.004,
        description="An email bounces transiently (a full mailbox): SES retries, gives up and reports "
        "a Bounce with bounceType Transient hours later; never delivered.",
    )
    undetermined_bounce: Share = Field(0.001, description="An email bounces with bounceType Undetermined.")
    account_suppressed: Share = Field(
        0.003,
        description="Share of addresses on SES's account-level suppression list: SES reports every "
        "email to them as a Bounce OnAccountSuppressionList and never sends it.",
    )
    delivery_delay: Share = Field(
        0.02,
        description="SES cannot deliver an email at once: a DeliveryDelay, then the Delivery minutes "
        "to hours later.",
    )
    rendering_failure: Share = Field(
        0.0,
        description="SES reports a Rendering Failure. SES renders only templated sends and Touchpoint "
        "sends finished MIME, so 0 is real; set it to see what one does.",
    )
    sms_not_final: Share = Field(
        0.05,
        description="An SMS reports a non-final status (TEXT_PENDING, or TEXT_CARRIER_UNREACHABLE not "
        "final) before it is delivered.",
    )
    sms_carrier_unreachable: Share = Field(0.006, description="An SMS ends TEXT_CARRIER_UNREACHABLE (final).")
    sms_blocked: Share = Field(0.004, description="An SMS ends TEXT_BLOCKED.")
    sms_invalid: Share = Field(0.008, description="An SMS ends TEXT_INVALID: the number is suppressed.")
    sms_ttl_expired: Share = Field(0.002, description="An SMS ends TEXT_TTL_EXPIRED.")
    carrier_opt_out: Share = Field(
        0.01,
        description="Share of phone numbers on the opt-out list (they replied STOP before): End User "
        "Messaging refuses every SMS to them.",
    )

    @model_validator(mode="after")
    def _shares_add_up(self) -> Behaviour:
        """The outcomes drawn from one roll must fit in it."""
        email = self.transient_bounce + self.undetermined_bounce + self.rendering_failure
        sms = self.sms_carrier_unreachable + self.sms_blocked + self.sms_invalid + self.sms_ttl_expired
        if email > 1:
            raise ValueError("transient_bounce + undetermined_bounce + rendering_failure is more than 1")
        if sms > 1:
            raise ValueError(
                "sms_carrier_unreachable + sms_blocked + sms_invalid + sms_ttl_expired is more than 1"
            )
        return self


class Population(_Strict):
    count: int = Field(ge=0, le=1_000_000, description="Number of synthetic users.")
    new_share: Share = Field(0.25, description="Share who register during the scenario.")
    email_consent: Share = Field(0.78, description="Share with email marketing consent.")
    sms_consent: Share = Field(0.42, description="Share with SMS marketing consent.")
    customers: Share = Field(0.55, description="Share of existing users who have ordered before.")
    dormant: Share = Field(0.3, description="Share of existing customers not seen for 30+ days.")
    members: Share = Field(0.2, description="Share with a membership (an expiry date).")
    b2b: Share = Field(0.06, description="Share who download a whitepaper.")
    behaviour: Behaviour = Field(default_factory=Behaviour, description="Reactions to messages.")


class Scenario(_Strict):
    start: AwareDatetime = Field(description="Virtual clock start, with offset.")
    duration: Duration = Field(description="How long to simulate, e.g. 30d.")
    seed: int = Field(0, description="Seed of every random choice: same seed, same result.")
    journeys: str | list[str] = Field(
        "journeys/", description="A journeys directory, or a list of journey files."
    )
    settings: dict[str, JsonValue] = Field(default_factory=dict, description="Engine-setting overrides.")
    users: list[ScriptedUser] = Field(default_factory=list, description="Scripted test users.")
    population: Population | None = Field(None, description="Synthetic users generated from the seed.")
    backend: Literal["moto", "memory"] = Field(
        "moto",
        description="moto: every AWS request through boto3 into moto. memory: the same handlers on "
        "in-memory tables and moto's models without HTTP, ~20x faster, for large populations.",
    )
    faults: list[Fault] = Field(
        default_factory=list, description="What goes wrong, and how often (docs/simulation.md#faults)."
    )
    operations: list[Operation] = Field(
        default_factory=list, description="Pauses, resumes and stops by an operator, and when."
    )

    @model_validator(mode="after")
    def _unique_users(self) -> Scenario:
        ids = [u.id for u in self.users]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"user ids must be unique: {', '.join(duplicates)}")
        return self

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.duration)

    def journey_paths(self, base: Path) -> list[Path]:
        items = [self.journeys] if isinstance(self.journeys, str) else self.journeys
        return [(base / item).resolve() for item in items]


class ScenarioError(ValueError):
    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("\n".join(map(str, violations)))
        self.violations = violations


def load_scenario(path: Path, display: str | None = None) -> Scenario:
    shown = display or str(path)
    try:
        source = read_source(path, shown)
    except SourceError as error:
        raise ScenarioError([Violation(shown, error.line, "", error.message)]) from error
    try:
        scenario = Scenario.model_validate(source.data)
    except ValidationError as error:
        raise ScenarioError(from_validation_error(error, source, Scenario)) from error
    problems = list(_scripted_events(scenario, source, path.parent))
    if problems:
        raise ScenarioError(problems)
    return scenario


def _scripted_events(scenario: Scenario, source: Source, base: Path) -> Iterator[Violation]:
    """Scripted events are checked like a journey's: a misspelt type would simply never match."""
    directories = {p if p.is_dir() else p.parent for p in scenario.journey_paths(base)}
    catalogues = [load_catalogue(d)[0] for d in sorted(directories)]
    known = catalogues[0] if len(catalogues) == 1 else None
    for i, user in enumerate(scenario.users):
        for j, event in enumerate(user.events):
            where: JsonPath = ("users", i, "events", j)
            problem = unknown_event(known, event.type)
            if problem is not None:
                yield at(source, (*where, "type"), problem)
                continue
            for name, message in unknown_properties(known, event.type, event.properties):
                yield at(source, (*where, "properties", name), message)


def scenario_from(data: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(data)
