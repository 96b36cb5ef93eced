"""A corpus of malformed inputs, each a kind an app, a broken producer or an attacker can send,
with what the rejection reason must say about it (a substring: the reason names the problem).

Bodies are SQS message bodies as the EventBridge rule delivers them (the event JSON)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NOW = "2026-12-01T02:00:00+00:00"


@dataclass(frozen=True)
class Bad:
    kind: str
    body: str
    reason: str  # a substring of the rejection reason


def event(detail_type: str = "page.viewed", source: str = "shop.web", **detail: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"event_id": "e-1", "user_id": "u-bad", "occurred_at": NOW, "properties": {}}
    base.update(detail)
    for key in [k for k, v in base.items() if v is _DROP]:
        del base[key]
    return {
        "version": "0",
        "id": "id-1",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": NOW,
        "region": "us-east-1",
        "resources": [],
        "detail": base,
    }


_DROP = object()


def body(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def patch(**profile: Any) -> str:
    return body(event("profile.updated", profile=profile))


def attrs(**attributes: Any) -> str:
    return patch(attributes=attributes)


def deep(levels: int, leaf: str = "0") -> str:
    return "[" * levels + leaf + "]" * levels


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


def _ses(**changes: Any) -> str:
    detail: dict[str, Any] = {
        "eventType": "Delivery",
        "mail": {"timestamp": NOW, "messageId": "m-1", "tags": {}},
        "delivery": {"timestamp": NOW},
    }
    detail.update(changes)
    return body({**event(), "source": "aws.ses", "detail-type": "Email Delivered", "detail": detail})


def _sms(**changes: Any) -> str:
    detail: dict[str, Any] = {"eventType": "TEXT_DELIVERED", "isFinal": True, "messageId": "m-2"}
    detail.update({"eventTimestamp": 1796090400000, **changes})
    return body(
        {
            **event(),
            "source": "aws.sms-voice",
            "detail-type": "Text Message Delivery Status Updated",
            "detail": detail,
        }
    )


def _valid() -> str:
    return body(event())


CORPUS: list[Bad] = [
    # ---- not JSON, or JSON Touchpoint cannot take
    Bad("not json", "not json at all", "not JSON"),
    Bad("empty body", "", "not JSON"),
    Bad("truncated json", _valid()[:-7], "not JSON"),
    Bad("NaN", _replace(_valid(), '"properties": {}', '"properties": {"x": NaN}'), "NaN is not a number"),
    Bad("Infinity", _replace(_valid(), '"properties": {}', '"properties": {"x": Infinity}'), "Infinity"),
    Bad("-Infinity", _replace(_valid(), '"properties": {}', '"properties": {"x": -Infinity}'), "Infinity"),
    Bad("1e400", _replace(_valid(), '"properties": {}', '"properties": {"x": 1e400}'), "outside the range"),
    Bad(
        "100,000-deep array",
        _replace(_valid(), '"properties": {}', f'"properties": {{"x": {deep(100_000)}}}'),
        "nested",
    ),
    Bad("100,000-deep object", '{"a":' * 100_000 + "1" + "}" * 100_000, "nested"),
    Bad(
        "40-deep properties",
        _replace(_valid(), '"properties": {}', f'"properties": {{"x": {deep(40)}}}'),
        "nested more than",
    ),
    Bad(
        "lone surrogate value",
        _replace(_valid(), '"properties": {}', '"properties": {"x": "\\ud800"}'),
        "surrogate",
    ),
    Bad(
        "lone surrogate key",
        _replace(_valid(), '"properties": {}', '"properties": {"\\udfff": 1}'),
        "surrogate",
    ),
    Bad("a JSON array", "[1, 2, 3]", "not a JSON object"),
    Bad("a JSON string", '"user.registered"', "not a JSON object"),
    Bad("null", "null", "not a JSON object"),
    Bad("oversized body", body({**event(), "pad": "x" * 1_100_000}), "characters; at most"),
    # ---- the envelope
    Bad("no source", body({k: v for k, v in event().items() if k != "source"}), "needs source, detail-type"),
    Bad(
        "no detail-type",
        body({k: v for k, v in event().items() if k != "detail-type"}),
        "needs source, detail-type",
    ),
    Bad("detail is a string", body({**event(), "detail": "{}"}), "a detail object"),
    Bad("detail is null", body({**event(), "detail": None}), "a detail object"),
    Bad("detail-type a number", body({**event(), "detail-type": 7}), "needs source, detail-type"),
    Bad("detail-type with spaces", body(event("Order Placed")), "is not an event type"),
    Bad("detail-type upper case", body(event("Order.placed")), "is not an event type"),
    Bad("detail-type trailing newline", body(event("order.placed\n")), "is not an event type"),
    Bad("detail-type zero-width space", body(event("order\u200b.placed")), "is not an event type"),
    Bad("detail-type 200 characters", body(event("a" * 200)), "is not an event type"),
    Bad(
        "detail-type injection", body(event("order.placed'; DROP TABLE profiles;--")), "is not an event type"
    ),
    Bad("detail-type log4j", body(event("${jndi:ldap://x/a}")), "is not an event type"),
    Bad("feedback type from an app", body(event("email.clicked")), "reserved for message feedback"),
    # ---- the detail
    Bad("no event_id", body(event(event_id=_DROP)), "detail.event_id: Field required"),
    Bad("empty event_id", body(event(event_id="")), "detail.event_id"),
    Bad("event_id 129 characters", body(event(event_id="e" * 129)), "detail.event_id"),
    Bad("event_id with a newline", body(event(event_id="e-1\n")), "detail.event_id"),
    Bad("event_id a number", body(event(event_id=7)), "detail.event_id"),
    Bad("no user_id", body(event(user_id=_DROP)), "detail.user_id: Field required"),
    Bad("user_id with NUL", body(event(user_id="u\x00")), "detail.user_id"),
    Bad("user_id with DEL", body(event(user_id="u\x7f")), "detail.user_id"),
    Bad("user_id a list", body(event(user_id=["u"])), "detail.user_id"),
    Bad("no occurred_at", body(event(occurred_at=_DROP)), "detail.occurred_at: Field required"),
    Bad("occurred_at without offset", body(event(occurred_at="2026-12-01T10:00:00")), "detail.occurred_at"),
    Bad("occurred_at soon", body(event(occurred_at="soon")), "detail.occurred_at"),
    Bad("occurred_at year 1", body(event(occurred_at="0001-01-01T00:00:00+14:00")), "must be between 1970"),
    Bad(
        "occurred_at year 9999", body(event(occurred_at="9999-12-31T23:59:59-12:00")), "must be between 1970"
    ),
    Bad("occurred_at a number", body(event(occurred_at=1796090400)), "must be an ISO 8601 string"),
    Bad("unknown field", body(event(extra=1)), "detail.extra: Extra inputs are not permitted"),
    Bad("properties a list", body(event(properties=[1])), "detail.properties"),
    Bad("profile a string", body(event("profile.updated", profile="x")), "detail.profile"),
    Bad("profile unknown field", patch(nickname="x"), "detail.profile.nickname"),
    Bad("email not an address", patch(email="not an address"), "is not an email address"),
    Bad("email trailing newline", patch(email="a@example.com\n"), "is not an email address"),
    Bad("email with a header", patch(email="a@example.com\r\nBcc: b@example.com"), "is not an email address"),
    Bad("phone not E.164", patch(phone="138 0000 0000"), "is not an E.164 phone number"),
    Bad("phone trailing newline", patch(phone="+8613800000000\n"), "is not an E.164 phone number"),
    Bad("timezone unknown", patch(timezone="Mars/Olympus"), "detail.profile.timezone"),
    Bad("timezone path", patch(timezone="../../etc/passwd"), "detail.profile.timezone"),
    Bad("locale injection", patch(locale="en'; --"), "detail.profile.locale"),
    Bad("consent_email as attribute", attrs(consent_email={"granted": True}), "consent_email cannot be set"),
    Bad("suppressed_sms as attribute", attrs(suppressed_sms=None), "suppressed_sms cannot be set"),
    Bad("consent_log as attribute", attrs(consent_log=[]), "consent_log cannot be set"),
    Bad("event counter as attribute", attrs(**{"order.placed.count": 0}), "order.placed.count cannot be set"),
    Bad("attribute name with a dash", attrs(**{"a-b": 1}), "detail.profile.attributes"),
    Bad("attribute name template", attrs(**{"a}}{{": 1}), "detail.profile.attributes"),
    Bad("attribute value 9 KB", attrs(note="x" * 9000), "at most 8,192"),
    Bad("attributes 40 KB", attrs(**{f"n{i}": "x" * 5000 for i in range(8)}), "at most 32,768"),
    Bad("attribute nested 20 deep", attrs(a=json.loads(deep(20))), "nested more than"),
    Bad("attribute 40-digit integer", attrs(a=int("9" * 40)), "is not a number DynamoDB can store"),
    Bad("attribute 1e300", attrs(a=1e300), "is not a number DynamoDB can store"),
    Bad("attribute empty map key", attrs(a={"": 1}), "a key is empty"),
    Bad("tags.add a string", patch(tags={"add": "vip"}), "detail.profile.tags.add"),
    Bad("tag with markup", patch(tags={"add": ["<script>"]}), "detail.profile.tags.add"),
    Bad("51 tags", patch(tags={"add": [f"t{i}" for i in range(51)]}), "detail.profile.tags.add"),
    Bad(
        "consent for an unknown channel",
        body(event(consent={"push": {"granted": True, "source": "s"}})),
        "detail.consent",
    ),
    Bad(
        "consent granted a string",
        body(event(consent={"email": {"granted": "yes", "source": "s"}})),
        "detail.consent.email.granted",
    ),
    Bad(
        "consent without source",
        body(event(consent={"email": {"granted": True, "source": ""}})),
        "detail.consent.email.source",
    ),
    Bad(
        "consent source 300 chars",
        body(event(consent={"email": {"granted": True, "source": "s" * 300}})),
        "detail.consent.email.source",
    ),
    Bad(
        "amount with 40 digits",
        body(event("order.placed", properties={"amount": "1" * 40})),
        "properties.amount",
    ),
    Bad("amount a word", body(event("order.placed", properties={"amount": "lots"})), "properties.amount"),
    Bad("cart items 1e200", body(event("cart.updated", properties={"items": 1e200})), "properties.items"),
    # ---- provider events and actions
    Bad("SES without mail", _ses(mail=None), "without eventType and mail.messageId"),
    Bad(
        "SES message id with spaces", _ses(mail={"messageId": "m 1", "timestamp": NOW}), "is not a message id"
    ),
    Bad(
        "SES unknown detail-type",
        _replace(_ses(), "Email Delivered", "Email Exploded"),
        'unknown SES event "Email Exploded"',
    ),
    Bad("SES eventType a number", _ses(eventType=3), "without eventType"),
    Bad(
        "SES garbage timestamp",
        _ses(delivery={"timestamp": "yesterday"}, mail={"messageId": "m-1"}),
        "without a timestamp",
    ),
    Bad("SMS status lower case", _sms(eventType="text_delivered"), "not one End User Messaging sends"),
    Bad("SMS message id 300 chars", _sms(messageId="m" * 300), "not one End User Messaging sends"),
    Bad(
        "SMS timestamp year 9999", _sms(eventTimestamp=253402300799000 + 10**12), "without an eventTimestamp"
    ),
    Bad(
        "execution status without arn",
        body(
            {
                **event(),
                "source": "aws.states",
                "detail-type": "Step Functions Execution Status Change",
                "detail": {"status": "FAILED"},
            }
        ),
        "without executionArn",
    ),
    Bad("unknown action", body({"action": "nope"}), "Input tag 'nope'"),
    Bad("schedule without journey", body({"action": "schedule"}), "journey_id"),
]

#: Valid events mixed into the batches, and what each must leave behind.
VALID: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    (
        body(event("page.viewed", user_id="u-ok", event_id="ok-1", properties={"category": "beans"})),
        lambda p: p.get("viewed_categories") == {"beans"},
    ),
    (
        body(event("order.placed", user_id="u-ok", event_id="ok-2", properties={"amount": 19.5})),
        lambda p: p.get("orders_count") == 1,
    ),
    (
        body(event("cart.updated", user_id="u-ok", event_id="ok-3", properties={"items": 2})),
        lambda p: p.get("cart_items") == 2,
    ),
]
