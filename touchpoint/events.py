"""Events in and out: the app event envelope, message feedback from SES and End User Messaging
normalised to ``email.*`` / ``sms.*``, Step Functions status changes, and the journey lifecycle
events Touchpoint puts on the bus.

Parsing never raises on bad input: it returns a ``Rejected`` with the reason, so one malformed
event is reported and the rest of the batch goes on."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

from touchpoint import contract
from touchpoint.attributes import RESERVED
from touchpoint.clock import iso
from touchpoint.journey.types import AttributeName, Channel, TagName, TimeZone
from touchpoint.routing import JOURNEY_EVENT_PREFIX, SES_DETAIL_TYPES, SFN_STATUS_CHANGE, SMS_STATUS

EVENT_SCHEMA_ID = "touchpoint/event-v1"
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsentChange(_Strict):
    granted: bool = Field(description="true: the user opted in; false: the user opted out.")
    source: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="Where the decision was made, e.g. signup-form, settings-page, support-ticket-123."
    )


class TagPatch(_Strict):
    add: list[TagName] = Field(default_factory=list, description="Tags to add.")
    remove: list[TagName] = Field(default_factory=list, description="Tags to remove.")


class ProfilePatch(_Strict):
    attributes: dict[AttributeName, JsonValue] = Field(
        default_factory=dict, description="Attributes to set; null removes one."
    )
    tags: TagPatch | None = Field(None, description="Tag changes.")
    email: str | None = Field(None, description="Email address (contact point).")
    phone: str | None = Field(None, description="Phone number in E.164, e.g. +8613800000000.")
    timezone: TimeZone | None = Field(None, description="IANA time zone.")
    locale: Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] | None = Field(
        None, description="Template language, e.g. zh-CN."
    )

    @field_validator("attributes")
    @classmethod
    def _not_reserved(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        reserved = sorted(set(value) & (RESERVED | {"tags", "timezone", "locale"}))
        if reserved:
            raise ValueError(f"{', '.join(reserved)} cannot be set as attributes; use the dedicated fields")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError("is not an email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not E164.match(value):
            raise ValueError("is not an E.164 phone number (+ country code and number, digits only)")
        return value


class EventDetail(_Strict):
    """The ``detail`` of every app event (``detail-type`` is the event type)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Touchpoint app event detail")

    event_id: Annotated[str, Field(min_length=1, max_length=128, pattern=_PRINTABLE)] = Field(
        description="Unique id of this event; redeliveries carry the same id and are applied once."
    )
    user_id: Annotated[str, Field(min_length=1, max_length=128, pattern=_PRINTABLE)] = Field(
        description="The app's user id."
    )
    occurred_at: AwareDatetime = Field(description="When it happened, ISO 8601 with offset.")
    properties: dict[str, JsonValue] = Field(default_factory=dict, description="Event-specific data.")
    profile: ProfilePatch | None = Field(None, description="Profile changes carried by the event.")
    consent: dict[Channel, ConsentChange] | None = Field(None, description="Consent decisions, per channel.")


_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


@dataclass(frozen=True)
class Event:
    """An app event, or message feedback attributed to its user."""

    type: str
    source: str
    detail: EventDetail

    @property
    def id(self) -> str:
        return self.detail.event_id

    @property
    def user_id(self) -> str:
        return self.detail.user_id

    @property
    def at(self) -> dt.datetime:
        return self.detail.occurred_at

    @property
    def properties(self) -> dict[str, Any]:
        return self.detail.properties

    @property
    def is_message_event(self) -> bool:
        return self.type.startswith(("email.", "sms."))


@dataclass(frozen=True)
class Feedback:
    """SES / SMS feedback about one message, before it is attributed to a user."""

    type: (
        str  # email.delivered, email.opened, email.clicked, email.bounced, email.complained, sms.delivered …
    )
    event_id: str
    message_id: str
    occurred_at: dt.datetime
    properties: dict[str, Any] = field(default_factory=dict)  # journey_id, step_id, template, reason …
    permanent: bool = False  # a hard bounce / invalid number: the contact point is suppressed

    @property
    def channel(self) -> str:
        return self.type.split(".", 1)[0]

    def attributed(self, user_id: str, context: dict[str, Any]) -> Event:
        """The feedback as an event of ``user_id``; ``context`` (from our message index) wins over
        what the provider echoed back in tags."""
        properties = {**self.properties, **context, "message_id": self.message_id}
        detail = EventDetail(
            event_id=self.event_id, user_id=user_id, occurred_at=self.occurred_at, properties=properties
        )
        return Event(self.type, "touchpoint.feedback", detail)


@dataclass(frozen=True)
class ExecutionEnded:
    execution_arn: str
    state_machine_arn: str
    name: str
    status: str
    stopped_at: dt.datetime
    input: dict[str, Any] | None
    output: dict[str, Any] | None


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class Rejected:
    reason: str


Parsed = Event | Feedback | ExecutionEnded | Ignored | Rejected


def parse_envelope(raw: Any) -> Parsed:
    """An EventBridge event (as delivered through SQS) → what it means to Touchpoint."""
    if not isinstance(raw, dict):
        return Rejected("not a JSON object")
    source, detail_type, detail = raw.get("source"), raw.get("detail-type"), raw.get("detail")
    if not isinstance(source, str) or not isinstance(detail_type, str) or not isinstance(detail, dict):
        return Rejected("not an EventBridge event: needs source, detail-type and a detail object")
    if source == "aws.ses":
        return _ses(detail_type, detail)
    if source == "aws.sms-voice":
        return _sms(detail_type, detail)
    if source == "aws.states":
        return _execution(detail_type, detail)
    if detail_type.startswith(JOURNEY_EVENT_PREFIX):
        return Ignored("journey lifecycle events are for kpi_rollup")
    return parse_app_event(detail_type, source, detail)


def parse_app_event(event_type: str, source: str, detail: dict[str, Any]) -> Event | Rejected:
    if not _EVENT_TYPE.match(event_type):
        return Rejected(f'detail-type "{event_type}" is not an event type; use dot-separated lowercase words')
    if event_type.startswith(("email.", "sms.")):
        return Rejected(f'"{event_type}" is reserved for message feedback from SES and End User Messaging')
    try:
        return Event(event_type, source, EventDetail.model_validate(detail))
    except ValidationError as error:
        return Rejected(describe_errors(error))


def describe_errors(error: ValidationError) -> str:
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"]) or "detail"
        message = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"detail.{where}: {message}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- SES

_SES_TYPES = {
    "Delivery": "email.delivered",
    "Open": "email.opened",
    "Click": "email.clicked",
    "Bounce": "email.bounced",
    "Complaint": "email.complained",
    "Reject": "email.failed",
    "Rendering Failure": "email.failed",
}


def _ses(detail_type: str, detail: dict[str, Any]) -> Parsed:
    if detail_type not in SES_DETAIL_TYPES:
        return Rejected(f'unknown SES event "{detail_type}"')
    kind = detail.get("eventType")
    mail = detail.get("mail") or {}
    message_id = mail.get("messageId")
    if not isinstance(kind, str) or not isinstance(message_id, str):
        return Rejected("SES event without eventType and mail.messageId")
    normalised = _SES_TYPES.get(kind)
    if normalised is None:
        return Ignored(f"SES {kind} events are not used")
    section = detail.get(kind[0].lower() + kind[1:].replace(" ", ""), {}) or {}
    stamp = section.get("timestamp") or mail.get("timestamp")
    when = _time(stamp)
    if when is None:
        return Rejected(f"SES {kind} event without a timestamp")
    tags = mail.get("tags") or {}
    properties: dict[str, Any] = {"channel": "email"}
    for tag, key in (("journey", "journey_id"), ("step", "step_id"), ("template", "template")):
        values = tags.get(tag)
        if isinstance(values, list) and values:
            properties[key] = values[0]
    permanent = False
    if kind == "Bounce":
        bounce_type = str(section.get("bounceType", "Undetermined"))
        properties["bounce_type"] = bounce_type.lower()
        permanent = bounce_type == "Permanent"
    if kind == "Click" and isinstance(section.get("link"), str):
        properties["link"] = section["link"]
    if kind == "Complaint":
        permanent = True
    event_id = f"ses:{message_id}:{kind}:{stamp}"
    return Feedback(normalised, event_id, message_id, when, properties, permanent)


# --------------------------------------------------------------------------- SMS

_SMS_DELIVERED = {"TEXT_DELIVERED"}
_SMS_PENDING = {"TEXT_PENDING", "TEXT_QUEUED"}
_SMS_PERMANENT = {"TEXT_INVALID", "TEXT_OPTED_OUT"}


def _sms(detail_type: str, detail: dict[str, Any]) -> Parsed:
    if detail_type != SMS_STATUS:
        return Ignored(f"End User Messaging {detail_type} events are not used")
    kind, message_id = detail.get("eventType"), detail.get("messageId")
    if not isinstance(kind, str) or not isinstance(message_id, str):
        return Rejected("SMS event without eventType and messageId")
    if kind in _SMS_PENDING or (kind == "TEXT_SUCCESSFUL" and not detail.get("isFinal")):
        return Ignored(f"{kind} is not a final status")
    when = _time(detail.get("eventTimestamp"))
    if when is None:
        return Rejected("SMS event without eventTimestamp")
    context = detail.get("context") or {}
    properties: dict[str, Any] = {"channel": "sms"}
    properties.update({k: v for k, v in context.items() if k in ("journey_id", "step_id", "template")})
    delivered = kind in _SMS_DELIVERED or kind == "TEXT_SUCCESSFUL"
    if not delivered:
        properties["reason"] = kind.lower()
    event_id = f"sms:{message_id}:{kind}"
    return Feedback(
        "sms.delivered" if delivered else "sms.failed",
        event_id,
        message_id,
        when,
        properties,
        kind in _SMS_PERMANENT,
    )


# --------------------------------------------------------------------------- Step Functions


def _execution(detail_type: str, detail: dict[str, Any]) -> Parsed:
    if detail_type != SFN_STATUS_CHANGE:
        return Ignored(f"Step Functions {detail_type} events are not used")
    status = detail.get("status")
    arn, machine = detail.get("executionArn"), detail.get("stateMachineArn")
    if not isinstance(arn, str) or not isinstance(machine, str) or not isinstance(status, str):
        return Rejected("execution status event without executionArn, stateMachineArn and status")
    if status == "RUNNING":
        return Ignored("execution started")
    stopped = _time(detail.get("stopDate")) or dt.datetime.now(dt.UTC)
    return ExecutionEnded(
        arn,
        machine,
        str(detail.get("name", "")),
        status,
        stopped,
        _json_object(detail.get("input")),
        _json_object(detail.get("output")),
    )


def _json_object(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _time(value: Any) -> dt.datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


# --------------------------------------------------------------------------- journey lifecycle events

JourneyEventType = Literal[
    "journey.entry", "journey.message", "journey.exited", "journey.converted", "journey.unsubscribed"
]


@dataclass(frozen=True)
class JourneyEvent:
    """A lifecycle event Touchpoint puts on the bus (source touchpoint.journey) for kpi_rollup,
    dashboards and anyone else listening (a CRM, a data warehouse)."""

    type: JourneyEventType
    event_id: str
    user_id: str
    occurred_at: dt.datetime
    properties: dict[str, Any]

    def entry(self, bus: str) -> dict[str, Any]:
        """A PutEvents entry."""
        detail = {
            "event_id": self.event_id,
            "user_id": self.user_id,
            "occurred_at": iso(self.occurred_at),
            "properties": self.properties,
        }
        return {
            "EventBusName": bus,
            "Source": contract.JOURNEY_SOURCE,
            "DetailType": self.type,
            "Detail": json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str),
        }


def app_event_schema() -> dict[str, Any]:
    """JSON Schema of the app event envelope published in docs/ (detail-type is the event type)."""
    detail = EventDetail.model_json_schema()
    defs = detail.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://touchpoint.dev/schemas/event-v1.json",
        "title": "Touchpoint app event (EventBridge PutEvents entry)",
        "type": "object",
        "required": ["Source", "DetailType", "Detail", "EventBusName"],
        "properties": {
            "Source": {"type": "string", "description": "Your app, e.g. shop.web."},
            "DetailType": {
                "type": "string",
                "pattern": _EVENT_TYPE.pattern,
                "description": "The event type, e.g. order.placed.",
            },
            "EventBusName": {"type": "string", "description": "The Touchpoint bus."},
            "Detail": {
                "description": "A JSON string holding the detail object.",
                "contentMediaType": "application/json",
                "contentSchema": {"$ref": "#/$defs/EventDetail"},
            },
        },
        "$defs": {**defs, "EventDetail": detail},
    }
