"""Events in and out: the app event envelope, message feedback from SES and End User Messaging
normalised to ``email.*`` / ``sms.*``, Step Functions status changes, and the journey lifecycle
events Touchpoint puts on the bus.

Parsing never raises on bad input: it returns a ``Rejected`` with the reason, so one malformed
event is reported and the rest of the batch goes on."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    ValidationError,
    field_validator,
)

from touchpoint import contract, wire
from touchpoint.attributes import is_reserved
from touchpoint.channels import tags as message_tags
from touchpoint.clock import iso
from touchpoint.journey.types import AttributeName, Channel, TagName, TimeZone
from touchpoint.routing import (
    JOURNEY_EVENT_PREFIX,
    SES_DETAIL_TYPES,
    SES_UNUSED_DETAIL_TYPES,
    SFN_STATUS_CHANGE,
    SMS_STATUS,
)

EVENT_SCHEMA_ID = "touchpoint/event-v1"
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
E164 = re.compile(r"\+[1-9][0-9]{6,14}")  # always fullmatch: "$" would admit a trailing newline
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
#: Bounds of a profile patch (docs/events.md): every stored attribute stays small, so a profile
#: cannot be grown past DynamoDB's item limit by a few events.
PATCH_VALUE_CHARS = 8_192
PATCH_CHARS = 32_768
PATCH_TAGS = 50
#: occurred_at must fall in these years (a year-1 or year-9999 time overflows UTC arithmetic).
FIRST_YEAR, LAST_YEAR = 1970, 2199


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsentChange(_Strict):
    # strictly a JSON boolean: a consent is never read into "yes", "1" or 1
    granted: StrictBool = Field(description="true: the user opted in; false: the user opted out.")
    source: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="Where the decision was made, e.g. signup-form, settings-page, support-ticket-123."
    )


class TagPatch(_Strict):
    add: list[TagName] = Field(default_factory=list, max_length=PATCH_TAGS, description="Tags to add.")
    remove: list[TagName] = Field(default_factory=list, max_length=PATCH_TAGS, description="Tags to remove.")


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
        reserved = sorted(name for name in value if is_reserved(name))
        if reserved:
            raise ValueError(
                f"{', '.join(reserved)} cannot be set as attributes: contact points, time zone, locale "
                "and tags have their own fields, consent changes only through the consent block, and "
                "suppressions, counters and bookkeeping are the engine's"
            )
        total = 0
        for name, attribute in value.items():
            problem = wire.storable(attribute, name)
            if problem is not None:
                raise ValueError(problem)
            chars = wire.size(attribute)
            if chars > PATCH_VALUE_CHARS:
                raise ValueError(f"{name} is {chars:,} characters as JSON; at most {PATCH_VALUE_CHARS:,}")
            total += chars
        if total > PATCH_CHARS:
            raise ValueError(f"the attributes are {total:,} characters as JSON; at most {PATCH_CHARS:,}")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.fullmatch(value):
            raise ValueError("is not an email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not E164.fullmatch(value):
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

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        if not isinstance(value, str | dt.datetime):
            raise ValueError("must be an ISO 8601 string with an offset, e.g. 2026-12-01T10:15:00+08:00")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _in_range(cls, value: dt.datetime) -> dt.datetime:
        return in_range(value)


def in_range(value: dt.datetime) -> dt.datetime:
    """A pydantic validator: times outside FIRST_YEAR..LAST_YEAR (in UTC) are refused, so no
    later arithmetic on them can overflow."""
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not FIRST_YEAR <= utc.year <= LAST_YEAR:
        raise ValueError(f"must be between {FIRST_YEAR} and {LAST_YEAR} (UTC)")
    return value


_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")


def event_digest(event_id: str) -> str:
    """A short, fixed-size stand-in for an event id, which embeds a user id: what the profile's
    dedupe markers, the entry history, the consent ledger and the rejected-events store keep."""
    return hashlib.sha256(event_id.encode()).hexdigest()[:16]


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
    send: str | None = None  # the send's digest from the message's tags (reconciles an ambiguous send)

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
    if len(event_type) > 128 or not _EVENT_TYPE.fullmatch(event_type):
        return Rejected(
            f'detail-type "{wire.show(event_type)}" is not an event type; use dot-separated lowercase words'
        )
    if event_type.startswith(("email.", "sms.")):
        return Rejected(f'"{event_type}" is reserved for message feedback from SES and End User Messaging')
    try:
        return Event(event_type, source, EventDetail.model_validate(detail))
    except ValidationError as error:
        return Rejected(describe_errors(error))


def describe_errors(error: ValidationError) -> str:
    parts = []
    for e in error.errors():
        where = ".".join(["detail", *(str(p) for p in e["loc"])])
        message = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- SES

#: SES event types → what they mean here. Send (accepted by SES), DeliveryDelay (SES keeps
#: trying) and Subscription (a list-management preference) say nothing final about a message.
_SES_TYPES = {
    "Delivery": "email.delivered",
    "Open": "email.opened",
    "Click": "email.clicked",
    "Bounce": "email.bounced",
    "Complaint": "email.complained",
    "Reject": "email.failed",
    "Rendering Failure": "email.failed",
}
#: The engine's own feedback events, as journeys name them, and the properties they carry.
FEEDBACK_TYPES: frozenset[str] = frozenset({*_SES_TYPES.values(), "sms.delivered", "sms.failed"})
FEEDBACK_PROPERTIES: frozenset[str] = frozenset(
    {"channel", "journey_id", "step_id", "template", "reason", "bounce_type", "bounce_subtype"}
    | {"suppression_list", "link"}
)
_SES_IN_FLIGHT = {"Send": "SES accepted the message", "DeliveryDelay": "SES is still trying to deliver"}
#: Bounces and complaints SES reports for an address on the account's suppression list: SES did
#: not send the message at all, so it is neither the user's bounce nor their complaint (AWS does
#: not count them in the account's bounce rate either).
SES_SUPPRESSED_SUBTYPES = frozenset({"OnAccountSuppressionList"})
# (bounceSubType "Suppressed", SES's global list, is different: AWS counts it as a bounce.)
SES_SUPPRESSED = "ses_suppressed"
_MESSAGE_ID = re.compile(r"[A-Za-z0-9._+=/:-]{1,100}")


def _ses(detail_type: str, detail: dict[str, Any]) -> Parsed:
    if detail_type in SES_UNUSED_DETAIL_TYPES:
        return Ignored(f"SES {detail_type} events say nothing final about a message")
    if detail_type not in SES_DETAIL_TYPES:
        return Rejected(f'unknown SES event "{wire.show(detail_type)}"')
    kind = detail.get("eventType")
    mail = detail.get("mail") or {}
    message_id = mail.get("messageId") if isinstance(mail, dict) else None
    if not isinstance(kind, str) or not isinstance(message_id, str):
        return Rejected("SES event without eventType and mail.messageId")
    if not _MESSAGE_ID.fullmatch(message_id):
        return Rejected("SES event whose mail.messageId is not a message id")
    if kind in _SES_IN_FLIGHT or kind == "Subscription":
        return Ignored(
            f"SES {kind} events are not used: {_SES_IN_FLIGHT.get(kind, 'a subscription preference')}"
        )
    normalised = _SES_TYPES.get(kind)
    if normalised is None:
        return Ignored(f"SES {wire.show(kind)} events are not used")
    section = detail.get(kind[0].lower() + kind[1:].replace(" ", ""), {}) or {}
    if not isinstance(section, dict):
        return Rejected(f"SES {kind} event whose {kind.lower()} section is not an object")
    stamp = section.get("timestamp") or mail.get("timestamp")
    when = _time(stamp)
    if when is None:
        return Rejected(f"SES {kind} event without a timestamp in {FIRST_YEAR}..{LAST_YEAR}")
    tags = mail.get("tags") or {}
    properties: dict[str, Any] = {"channel": "email"}
    for tag, key in (
        (message_tags.JOURNEY, "journey_id"),
        (message_tags.STEP, "step_id"),
        (message_tags.TEMPLATE, "template"),
    ):
        value = _tag(tags, tag)
        if value is not None:
            properties[key] = value
    send = _tag(tags, message_tags.SEND)
    permanent = False
    subtype = section.get("bounceSubType") if kind == "Bounce" else section.get("complaintSubType")
    if kind in ("Bounce", "Complaint") and subtype in SES_SUPPRESSED_SUBTYPES:
        normalised, properties["reason"] = "email.failed", SES_SUPPRESSED
        properties["suppression_list"] = str(subtype)
    elif kind == "Bounce":
        bounce_type = str(section.get("bounceType", "Undetermined"))
        properties["bounce_type"] = bounce_type.lower()
        if isinstance(subtype, str):
            properties["bounce_subtype"] = subtype
        permanent = bounce_type == "Permanent"
    elif kind == "Complaint":
        permanent = True
    elif kind in ("Reject", "Rendering Failure"):
        properties["reason"] = "rejected" if kind == "Reject" else "rendering_failed"
    if kind == "Click" and isinstance(section.get("link"), str):
        properties["link"] = section["link"][:2048]
    event_id = _feedback_id("ses", message_id, kind, iso(when))
    return Feedback(normalised, event_id, message_id, when, properties, permanent, send)


def _feedback_id(*parts: str) -> str:
    """A deterministic event id for provider feedback (its copies dedupe), within EventDetail's
    128 characters."""
    text = ":".join(parts)
    return text if len(text) <= 128 else f"{parts[0]}:{hashlib.sha256(text.encode()).hexdigest()}"


def _tag(tags: Any, name: str) -> str | None:
    """A Touchpoint tag of an SES event (``mail.tags`` maps names to lists), decoded; None when
    absent or not something Touchpoint wrote."""
    values = tags.get(name) if isinstance(tags, dict) else None
    if isinstance(values, list) and values and isinstance(values[0], str):
        return message_tags.decode(values[0])
    return None


# --------------------------------------------------------------------------- SMS

#: End User Messaging SMS statuses. Any status with ``isFinal: false`` is in flight (a carrier
#: may retry and deliver later); of the final ones these mean delivered …
SMS_DELIVERED = frozenset({"TEXT_DELIVERED", "TEXT_SUCCESSFUL"})
#: … these were never sent on, so they say nothing final …
SMS_IN_FLIGHT = frozenset({"TEXT_PENDING", "TEXT_QUEUED"})
#: … and these failures mean the number itself is wrong: it is suppressed. Every other final
#: status (unreachable, blocked, spam, expired, unknown) is a failure of this message only.
SMS_INVALID_NUMBER = frozenset({"TEXT_INVALID"})
_SMS_STATUS = re.compile(r"TEXT_[A-Z_]{2,40}")


def _sms(detail_type: str, detail: dict[str, Any]) -> Parsed:
    if detail_type != SMS_STATUS:
        return Ignored(f"End User Messaging {wire.show(detail_type)} events are not used")
    kind, message_id = detail.get("eventType"), detail.get("messageId")
    if not isinstance(kind, str) or not isinstance(message_id, str):
        return Rejected("SMS event without eventType and messageId")
    if not _SMS_STATUS.fullmatch(kind) or not _MESSAGE_ID.fullmatch(message_id):
        return Rejected("SMS event whose eventType or messageId is not one End User Messaging sends")
    final = detail.get("isFinal")
    if kind in SMS_IN_FLIGHT or final is False:
        return Ignored(f"{kind} is not a final status: the message is still in flight")
    when = _time(detail.get("eventTimestamp"))
    if when is None:
        return Rejected(f"SMS event without an eventTimestamp in {FIRST_YEAR}..{LAST_YEAR}")
    context = detail.get("context") or {}
    properties: dict[str, Any] = {"channel": "sms"}
    if isinstance(context, dict):
        properties.update(
            {
                k: v
                for k, v in context.items()
                if k in ("journey_id", "step_id", "template") and isinstance(v, str)
            }
        )
    send = context.get(message_tags.SEND) if isinstance(context, dict) else None
    delivered = kind in SMS_DELIVERED
    if not delivered:
        properties["reason"] = kind.lower()
    event_id = _feedback_id("sms", message_id, kind)
    return Feedback(
        "sms.delivered" if delivered else "sms.failed",
        event_id,
        message_id,
        when,
        properties,
        kind in SMS_INVALID_NUMBER,
        send if isinstance(send, str) else None,
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
    """A provider's timestamp (epoch milliseconds or ISO 8601) within FIRST_YEAR..LAST_YEAR."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            parsed = dt.datetime.fromtimestamp(value / 1000, dt.UTC)
        elif isinstance(value, str) and len(value) <= 40:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if FIRST_YEAR <= parsed.year <= LAST_YEAR else None


# --------------------------------------------------------------------------- journey lifecycle events


def to_cents(value: object) -> int | None:
    """A revenue property as whole cents (half to even), or None when it is not a sum of money:
    a number or a numeric string, finite and not negative."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | decimal.Decimal):
        return None
    try:
        amount = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_REVENUE:
        return None
    return int((amount * 100).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_EVEN))


#: An order value above this is a mistake or an attack, not revenue.
MAX_REVENUE = decimal.Decimal(10) ** 9

#: journey.entry, journey.message, journey.exited, journey.converted, journey.unsubscribed, or
#: the type of an event a journey emits (``lead.qualified``).
JourneyEventType = str


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
                "pattern": f"^{_EVENT_TYPE.pattern}$",
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
