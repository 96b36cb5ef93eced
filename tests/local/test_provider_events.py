"""The simulator's SES and End User Messaging events have AWS's shape: the keys of the published
samples in ``tests/fixtures/aws_events/``, the address only where AWS puts it, and they mean to
``touchpoint.events`` what AWS's mean (the deployed routing rules take them, too)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from touchpoint import routing
from touchpoint.channels import tags as message_tags
from touchpoint.channels.email import build_message
from touchpoint.events import Feedback, Ignored, parse_envelope
from touchpoint.local import moto_bridge, provider_events
from touchpoint.local.provider_events import Email, SesMessages
from touchpoint.local.sms_voice import TextMessage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws_events"
ACCOUNT, REGION = "123456789012", "us-east-1"
SENT = dt.datetime(2026, 12, 9, 2, 0, tzinfo=dt.UTC)
LATER = SENT + dt.timedelta(minutes=3)
ADDRESS, PHONE = "mei@example.com", "+8613800000001"
CONFIGURATION_SET = "touchpoint"
STEP = "if-1.then.send-1"  # a step inside an if branch: dots, encoded into SES's charset


def matches(rule: routing.Rule, envelope: dict[str, Any]) -> bool:
    """Whether the rule takes the event, as EventBridge (moto's EventPattern) decides."""
    return bool(moto_bridge.rule_matches(rule.pattern, envelope))


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


class _Clock:
    def now(self) -> dt.datetime:
        return SENT


def accepted_email(configuration_set: str | None = CONFIGURATION_SET) -> Email:
    """A message as SES keeps it after a SendEmail like SesEmail's (the real MIME, encoded tags)."""
    raw = build_message(
        "Touchpoint Coffee <news@touchpoint.example>",
        ADDRESS,
        "双十二 coupon",
        "Hi",
        "<p>Hi</p>",
        "https://unsubscribe.touchpoint.example/?t=token",
    )
    tags = {"journey": "d12-launch", "step": STEP, "template": "d12_coupon", "send": "ab" * 16}
    params: dict[str, Any] = {
        "FromEmailAddress": "Touchpoint Coffee <news@touchpoint.example>",
        "Destination": {"ToAddresses": [ADDRESS]},
        "Content": {"Raw": {"Data": raw}},
        "EmailTags": [{"Name": k, "Value": message_tags.encode(v)} for k, v in sorted(tags.items())],
    }
    if configuration_set:
        params["ConfigurationSetName"] = configuration_set
    ledger = SesMessages(_Clock(), ACCOUNT, REGION)
    ledger.accept("SendEmail", params, {"MessageId": "0100019a-test-message-000000"})
    return ledger.messages["0100019a-test-message-000000"]


def text_message() -> TextMessage:
    return TextMessage(
        "f3b2c1d0-0000-4000-8000-000000000001",
        PHONE,
        "【Touchpoint】双十二明天开始，回T退订",
        "PROMOTIONAL",
        "+12065550100",
        "touchpoint-sms",
        {"journey_id": "d12-launch", "step_id": STEP, "template": "d12_coupon", "send": "cd" * 16},
        SENT,
    )


# kind, detail → the sample it must look like, what touchpoint.events makes of it
SES_CASES: list[tuple[str, str | None, str, str | None, dict[str, Any]]] = [
    ("delivered", None, "ses_email_delivered.awsdocs_wrapped.json", "email.delivered", {}),
    ("delayed", None, "ses_email_delivery_delayed.awsdocs_wrapped.json", None, {}),
    ("opened", None, "ses_email_opened.awsdocs_wrapped.json", "email.opened", {}),
    (
        "clicked",
        None,
        "ses_email_clicked.awsdocs_wrapped.json",
        "email.clicked",
        {"link": "https://shop.example.com/"},
    ),
    (
        "bounced",
        "Permanent/General",
        "ses_email_bounced_permanent_general.awsdocs_wrapped.json",
        "email.bounced",
        {"bounce_type": "permanent", "bounce_subtype": "General", "permanent": True},
    ),
    (
        "bounced",
        "Transient/MailboxFull",
        "ses_email_bounced_permanent_general.awsdocs_wrapped.json",
        "email.bounced",
        {"bounce_type": "transient", "bounce_subtype": "MailboxFull", "permanent": False},
    ),
    (
        "bounced",
        "Undetermined/Undetermined",
        "ses_email_bounced_permanent_general.awsdocs_wrapped.json",
        "email.bounced",
        {"bounce_type": "undetermined", "bounce_subtype": "Undetermined", "permanent": False},
    ),
    (
        "bounced",
        "Permanent/OnAccountSuppressionList",
        "ses_email_bounced_permanent_general.awsdocs_wrapped.json",
        "email.failed",
        {"reason": "ses_suppressed", "suppression_list": "OnAccountSuppressionList", "permanent": False},
    ),
    (
        "complained",
        None,
        "ses_email_complaint_received_abuse_simulator.recorded_wrapped.json",
        "email.complained",
        {"permanent": True},
    ),
    ("failed", None, "ses_email_rejected.awsdocs_wrapped.json", "email.failed", {"reason": "rejected"}),
    (
        "rendering_failed",
        None,
        "ses_email_rendering_failed.awsdocs_wrapped.json",
        "email.failed",
        {"reason": "rendering_failed"},
    ),
]


@pytest.mark.parametrize(("kind", "detail", "sample", "expected", "properties"), SES_CASES)
def test_ses_events_have_the_samples_keys_and_parse_to_their_feedback(
    kind: str, detail: str | None, sample: str, expected: str | None, properties: dict[str, Any]
) -> None:
    message = accepted_email()
    envelope = provider_events.ses_event(message, kind, LATER, ACCOUNT, REGION, detail)
    aws = fixture(sample)
    assert set(envelope) == set(aws)
    assert set(envelope["detail"]) == set(aws["detail"])
    section = next(k for k in aws["detail"] if k not in ("eventType", "mail"))
    assert set(envelope["detail"][section]) == set(aws["detail"][section])
    # the Open and Click samples lack sourceArn, which every other SES sample has (fixtures README)
    assert set(envelope["detail"]["mail"]) == set(aws["detail"]["mail"]) | {"sourceArn"}
    assert envelope["detail"]["eventType"] == aws["detail"]["eventType"]
    assert envelope["detail-type"] == aws["detail-type"]
    assert envelope["resources"] == [f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/{CONFIGURATION_SET}"]
    parsed = parse_envelope(json.loads(json.dumps(envelope)))  # as it arrives through SQS
    if expected is None:
        assert isinstance(parsed, Ignored)
        return
    assert isinstance(parsed, Feedback)
    assert (parsed.type, parsed.message_id) == (expected, message.message_id)
    properties = dict(properties)
    assert parsed.permanent is properties.pop("permanent", False)
    assert parsed.properties == {
        "channel": "email",
        "journey_id": "d12-launch",
        "step_id": STEP,
        "template": "d12_coupon",
        **properties,
    }
    assert parsed.send == "ab" * 16


def test_ses_tags_are_ses_own_and_the_requests_as_sent() -> None:
    message = accepted_email()
    delivered = provider_events.ses_event(message, "delivered", LATER, ACCOUNT, REGION)
    tags = delivered["detail"]["mail"]["tags"]
    assert tags["ses:configuration-set"] == [CONFIGURATION_SET]
    assert tags["ses:from-domain"] == ["touchpoint.example"]
    assert set(tags) == {
        "ses:configuration-set",
        "ses:source-ip",
        "ses:from-domain",
        "ses:caller-identity",
        "ses:outgoing-ip",
        "journey",
        "step",
        "template",
        "send",
    }
    assert tags["step"] == ["if-1_dthen_dsend-1"]  # what SesEmail sent, not the step id itself
    opened = provider_events.ses_event(message, "opened", LATER, ACCOUNT, REGION)
    assert "ses:outgoing-ip" not in opened["detail"]["mail"]["tags"]
    delayed = provider_events.ses_event(message, "delayed", LATER, ACCOUNT, REGION)
    assert set(delayed["detail"]["mail"]["tags"]) == {
        "ses:configuration-set",
        "journey",
        "step",
        "template",
        "send",
    }


def test_ses_headers_are_the_messages_with_ses_message_id() -> None:
    message = accepted_email()
    mail = provider_events.ses_event(message, "delivered", LATER, ACCOUNT, REGION)["detail"]["mail"]
    names = [h["name"] for h in mail["headers"]]
    assert names[:3] == ["From", "To", "Subject"]
    assert "List-Unsubscribe" in names
    message_ids = [h["value"] for h in mail["headers"] if h["name"] == "Message-ID"]
    assert message_ids == [f"<{message.message_id}@email.amazonses.com>"]
    assert mail["commonHeaders"]["subject"] == "双十二 coupon"  # decoded, as SES reports it
    assert mail["commonHeaders"]["messageId"] == message.message_id
    assert mail["timestamp"] == "2026-12-09T02:00:00.000Z"


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, str) else []


#: Where AWS puts the recipient (fixtures): nowhere else.
ADDRESS_FIELDS = {
    ".detail.mail.destination[0]",
    ".detail.mail.commonHeaders.to[0]",
    ".detail.delivery.recipients[0]",
    ".detail.bounce.bouncedRecipients[0].emailAddress",
    ".detail.complaint.complainedRecipients[0].emailAddress",
    ".detail.deliveryDelay.delayedRecipients[0].emailAddress",
}


@pytest.mark.parametrize(("kind", "detail"), sorted({(c[0], c[1] or "") for c in SES_CASES}))
def test_the_address_is_only_where_aws_puts_it(kind: str, detail: str) -> None:
    envelope = provider_events.ses_event(accepted_email(), kind, LATER, ACCOUNT, REGION, detail or None)
    found = {path for path, text in _strings(envelope) if ADDRESS in text}
    headers = envelope["detail"]["mail"].get("headers", [])
    to = {f".detail.mail.headers[{i}].value" for i, h in enumerate(headers) if h["name"] == "To"}
    assert found
    assert found <= ADDRESS_FIELDS | to


def test_no_configuration_set_is_named_in_the_event_as_sent() -> None:
    """SES names the message's own configuration set (the deployed rule matches on it)."""
    envelope = provider_events.ses_event(accepted_email("other-app"), "delivered", LATER, ACCOUNT, REGION)
    rule = next(r for r in routing.deployed(CONFIGURATION_SET) if r.name == "ses-events")
    assert not matches(rule, envelope)
    ours = provider_events.ses_event(accepted_email(), "delivered", LATER, ACCOUNT, REGION)
    assert matches(rule, ours)


def test_only_the_event_types_the_configuration_set_publishes_are_published() -> None:
    ledger = SesMessages(_Clock(), ACCOUNT, REGION)
    message = accepted_email()
    assert ledger.publishes(provider_events.ses_event(message, "delivered", LATER, ACCOUNT, REGION))
    assert not ledger.publishes(provider_events.ses_event(message, "delayed", LATER, ACCOUNT, REGION))
    bounce = provider_events.ses_event(message, "bounced", LATER, ACCOUNT, REGION, "Transient/MailboxFull")
    assert ledger.publishes(bounce)
    assert dict(ledger.published) == {"Delivery": 1, "Bounce Transient/MailboxFull": 1}
    assert dict(ledger.not_published) == {"DeliveryDelay": 1}


# --------------------------------------------------------------------------- End User Messaging

SMS_SAMPLES = sorted(p.name for p in FIXTURES.glob("sms_text_*.json"))
#: Keys of the context sample (the record of a send with Context: ours) and the isoCountryCode
#: every other text sample has; carrierName and protectConfiguration are not sent (no carrier
#: lookup, no protect configuration in the stack).
SMS_KEYS = set(fixture("sms_text_successful_final_with_context.awsdocs_wrapped.json")["detail"]) | {
    "isoCountryCode"
}

SMS_CASES: list[tuple[str, bool, Any, dict[str, Any]]] = [
    ("TEXT_DELIVERED", True, "sms.delivered", {}),
    ("TEXT_SUCCESSFUL", True, "sms.delivered", {}),
    ("TEXT_PENDING", False, None, {}),
    ("TEXT_CARRIER_UNREACHABLE", False, None, {}),
    ("TEXT_CARRIER_UNREACHABLE", True, "sms.failed", {"reason": "text_carrier_unreachable"}),
    ("TEXT_BLOCKED", True, "sms.failed", {"reason": "text_blocked"}),
    ("TEXT_TTL_EXPIRED", True, "sms.failed", {"reason": "text_ttl_expired"}),
    ("TEXT_INVALID", True, "sms.failed", {"reason": "text_invalid", "permanent": True}),
]


@pytest.mark.parametrize(("status", "final", "expected", "properties"), SMS_CASES)
def test_sms_events_have_the_samples_keys_and_parse_to_their_feedback(
    status: str, final: bool, expected: str | None, properties: dict[str, Any]
) -> None:
    message = text_message()
    envelope = provider_events.sms_event(message, status, final, LATER, ACCOUNT, REGION)
    sample = fixture("sms_text_successful_final_with_context.awsdocs_wrapped.json")
    assert set(envelope) == set(sample)
    assert set(envelope["detail"]) == SMS_KEYS
    every = set().union(*(fixture(name)["detail"] for name in SMS_SAMPLES))
    assert set(envelope["detail"]) <= every  # no field the samples do not have
    detail = envelope["detail"]
    assert (detail["eventType"], detail["isFinal"], detail["messageStatus"]) == (
        status,
        final,
        status.removeprefix("TEXT_"),
    )
    assert detail["context"] == dict(message.context)
    assert (detail["isoCountryCode"], detail["messageEncoding"], detail["totalMessageParts"]) == (
        "CN",
        "UNICODE",
        1,
    )
    assert envelope["time"] == "2026-12-09T02:03:00Z"
    assert [path for path, text in _strings(envelope) if PHONE in text] == [".detail.destinationPhoneNumber"]
    parsed = parse_envelope(json.loads(json.dumps(envelope)))
    if expected is None:
        assert isinstance(parsed, Ignored)
        return
    assert isinstance(parsed, Feedback)
    assert (parsed.type, parsed.message_id, parsed.send) == (expected, message.message_id, "cd" * 16)
    properties = dict(properties)
    assert parsed.permanent is properties.pop("permanent", False)
    assert parsed.properties == {
        "channel": "sms",
        "journey_id": "d12-launch",
        "step_id": STEP,
        "template": "d12_coupon",
        **properties,
    }


def test_the_deployed_sms_rule_takes_events_of_the_origination_number() -> None:
    envelope = provider_events.sms_event(text_message(), "TEXT_DELIVERED", True, LATER, ACCOUNT, REGION)
    ours = next(r for r in routing.deployed(CONFIGURATION_SET, "+12065550100") if r.name == "sms-events")
    other = next(r for r in routing.deployed(CONFIGURATION_SET, "+12065550199") if r.name == "sms-events")
    assert matches(ours, envelope)
    assert not matches(other, envelope)


def test_an_envelope_becomes_the_put_events_entry_the_service_sends() -> None:
    envelope = provider_events.ses_event(accepted_email(), "opened", LATER, ACCOUNT, REGION)
    entry = provider_events.entry(envelope)
    assert (entry["Source"], entry["DetailType"]) == ("aws.ses", "Email Opened")
    assert json.loads(entry["Detail"]) == envelope["detail"]
    assert entry["Resources"] == envelope["resources"]
    assert entry["Time"] == LATER
    assert provider_events.label(envelope) == "Open"
    pending = provider_events.sms_event(text_message(), "TEXT_PENDING", False, LATER, ACCOUNT, REGION)
    assert provider_events.label(pending) == "TEXT_PENDING (not final)"
