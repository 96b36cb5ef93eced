"""Small value types the journey language shares (durations, local times, time zones, names).

Each one carries its own error message with the fix, because these messages reach marketers
as ``file:line field: message`` and must say what to write instead."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from touchpoint import durations
from touchpoint.suggest import closest

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")
Category = Literal["marketing", "transactional"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _seconds(parse: Callable[[str], int], kind: str, what: str, hint: str) -> Callable[[object], int]:
    """A validator of written durations or offsets: the parser's seconds, or one clear error."""

    def check(value: object) -> int:
        if isinstance(value, str):
            try:
                return parse(value)
            except ValueError:
                pass
        raise PydanticCustomError(
            kind,
            '"{text}" is not ' + f"{what}; {hint}",
            {"text": _show(value)},
        )

    return check


_duration = _seconds(durations.parse_duration, "duration", "a duration", durations.HINT)
_offset = _seconds(durations.parse_offset, "offset", "an offset", durations.SIGNED_HINT)


Duration = Annotated[
    int,
    BeforeValidator(_duration),
    PlainSerializer(durations.format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": durations.PATTERN, "examples": ["30m", "24h", "7d"]}),
]


Offset = Annotated[
    int,
    BeforeValidator(_offset),
    PlainSerializer(durations.format_offset, return_type=str),
    WithJsonSchema({"type": "string", "pattern": durations.SIGNED_PATTERN, "examples": ["-7d", "-3d", "3d"]}),
]
"""A signed offset from a date (``-7d`` = seven days before)."""

_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def _local_time(value: object) -> str:
    if isinstance(value, str) and _TIME.fullmatch(value):
        return value
    raise PydanticCustomError(
        "local_time",
        '"{text}" is not a time of day; use 24-hour HH:MM such as "09:00"',
        {"text": _show(value)},
    )


LocalTime = Annotated[
    str,
    PlainValidator(_local_time),
    WithJsonSchema({"type": "string", "pattern": _TIME.pattern, "examples": ["09:00", "21:30"]}),
]


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _time_zone(value: object) -> str:
    if isinstance(value, str) and value in _zones():
        return value
    text = _show(value)
    close = closest(text, _zones())
    hint = (
        f"; did you mean {close}?" if close else "; use an IANA name such as Asia/Shanghai or Europe/Berlin"
    )
    raise PydanticCustomError(
        "time_zone", '"{text}" is not an IANA time zone{hint}', {"text": text, "hint": hint}
    )


TimeZone = Annotated[
    str,
    PlainValidator(_time_zone),
    WithJsonSchema({"type": "string", "examples": ["Asia/Shanghai", "Europe/Berlin", "UTC"]}),
]


def _scalar(value: object) -> bool | int | float | str:
    if isinstance(value, bool | int | float | str):
        return value
    raise PydanticCustomError(
        "scalar", "must be a string, number or boolean, not {kind}", {"kind": _kind(value)}
    )


Scalar = Annotated[
    bool | int | float | str,
    PlainValidator(_scalar),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]


class _Name:
    """Annotated marker for a constrained name: its error shows the rule and an example, not a regex."""

    def __init__(self, what: str, regex: str, rule: str, example: str, max_length: int = 64) -> None:
        self.what, self.regex, self.example, self.max_length = what, re.compile(regex), example, max_length
        self.rule = f"{rule} (at most {max_length} characters)"

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self._check)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": self.regex.pattern,
            "maxLength": self.max_length,
            "examples": [self.example],
        }

    def _check(self, value: object) -> str:
        if isinstance(value, str) and self.regex.fullmatch(value) and len(value) <= self.max_length:
            return value
        raise PydanticCustomError(
            "name",
            '"{text}" is not a valid {what}; use {rule}, e.g. {example}',
            {"text": _show(value), "what": self.what, "rule": self.rule, "example": self.example},
        )


_SLUG = "lowercase letters, digits, _ and -, starting with a letter"
JourneyId = Annotated[
    str, _Name("journey id", r"^[a-z][a-z0-9-]*$", "lowercase letters, digits and -", "cart-abandonment", 48)
]
StepId = Annotated[str, _Name("step id", r"^[a-z][a-z0-9_-]*$", _SLUG, "coupon", 40)]
TemplateName = Annotated[
    str, _Name("template name", r"^[a-z0-9][a-z0-9_-]*$", "lowercase letters, digits, _ and -", "cart-coupon")
]
EventType = Annotated[
    str,
    _Name("event type", r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", "dot-separated lowercase words", "order.placed"),
]
TagName = Annotated[
    str, _Name("tag", r"^[a-z0-9][a-z0-9_:-]*$", "lowercase letters, digits, _, : and -", "high_intent")
]
AttributeName = Annotated[
    str, _Name("attribute name", r"^[A-Za-z_][A-Za-z0-9_.]*$", "letters, digits, _ and .", "orders_count")
]
CampaignId = Annotated[
    str, _Name("campaign id", r"^[a-z][a-z0-9-]*$", "lowercase letters, digits and -", "d12", 48)
]
StageId = Annotated[
    str, _Name("stage id", r"^[a-z][a-z0-9-]*$", "lowercase letters, digits and -", "warmup", 40)
]
GroupName = Annotated[str, _Name("group", r"^[a-z][a-z0-9_-]*$", _SLUG, "recovery")]
Slug = Annotated[str, _Name("reason", r"^[a-z][a-z0-9_-]*$", _SLUG, "cart_emptied")]

Percent = Annotated[float, Field(gt=0, le=100)]
Rate = Annotated[float, Field(ge=0, le=1)]


def _show(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


def _kind(value: object) -> str:
    match value:
        case None:
            return "null"
        case list():
            return "a list"
        case dict():
            return "a mapping"
        case _:
            return type(value).__name__
