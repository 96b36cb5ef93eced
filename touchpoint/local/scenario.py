"""Scenario files for ``touchpoint simulate``: when, how long, which journeys, which users.

Loaded like journeys: YAML with line numbers, errors as ``file:line field: message``."""

from __future__ import annotations

import datetime as dt
import re
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
from touchpoint.journey.source import SourceError, read_source
from touchpoint.journey.types import Duration, EventType, TimeZone
from touchpoint.journey.violations import Violation, from_validation_error

_OFFSET = re.compile(r"^(?:[0-9]+[smhdw])+$")


def _offset(value: object) -> int:
    """``0h``, ``30h``, ``3d`` or a sum like ``4d3h`` / ``89h30m``: a scripted time reads best as
    the day and the hour."""
    text = str(value).strip() if isinstance(value, (str, int)) else ""
    if text == "0":
        return 0
    if _OFFSET.match(text):
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


class ScriptedUser(_Strict):
    id: str = Field(min_length=1, description="User id.")
    profile: ScriptedProfile = Field(default_factory=ScriptedProfile, description="The profile at the start.")
    events: list[ScriptedEvent] = Field(default_factory=list, description="What the user does, and when.")


class Behaviour(_Strict):
    """How synthetic users react to messages (probabilities per message)."""

    open: float = Field(0.32, ge=0, le=1, description="An email is opened.")
    click: float = Field(0.22, ge=0, le=1, description="An opened email (or a delivered SMS) is clicked.")
    sms_click: float = Field(0.07, ge=0, le=1, description="A delivered SMS is clicked.")
    bounce: float = Field(0.01, ge=0, le=1, description="An email hard-bounces.")
    unsubscribe: float = Field(0.004, ge=0, le=1, description="A delivered message leads to an unsubscribe.")
    convert_after_click: float = Field(
        0.18, ge=0, le=1, description="A click leads to an order within hours."
    )


class Population(_Strict):
    count: int = Field(ge=0, le=1_000_000, description="Number of synthetic users.")
    new_share: float = Field(0.25, ge=0, le=1, description="Share who register during the scenario.")
    email_consent: float = Field(0.78, ge=0, le=1, description="Share with email marketing consent.")
    sms_consent: float = Field(0.42, ge=0, le=1, description="Share with SMS marketing consent.")
    customers: float = Field(0.55, ge=0, le=1, description="Share of existing users who have ordered before.")
    dormant: float = Field(0.3, ge=0, le=1, description="Share of existing customers not seen for 30+ days.")
    members: float = Field(0.2, ge=0, le=1, description="Share with a membership (an expiry date).")
    b2b: float = Field(0.06, ge=0, le=1, description="Share who download a whitepaper.")
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
        return Scenario.model_validate(source.data)
    except ValidationError as error:
        raise ScenarioError(from_validation_error(error, source, Scenario)) from error


def scenario_from(data: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(data)
