"""What SES and End User Messaging SMS publish to EventBridge about a message they accepted: the
envelopes as AWS sends them, field for field as ``tests/fixtures/aws_events/`` shows them, for the
simulator's feedback.

SES events carry the full ``mail`` object (the message's headers, ``commonHeaders``, and ``tags``:
SES's own ``ses:*`` tags beside the request's message tags, echoed as sent) and the section of
their kind; End User Messaging's carry the message's numbers, status, price and the ``Context`` of
the send. The recipient's address or number appears only where AWS puts it (``mail.destination``,
the To header, the section's recipients; ``destinationPhoneNumber``). What SES knows of a message
(its request's tags and configuration set, which moto drops) is kept by ``SesMessages``."""

from __future__ import annotations

import datetime as dt
import email.header
import email.parser
import email.policy
import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from touchpoint.channels.sms import segments
from touchpoint.clock import Clock, iso
from touchpoint.events import SMS_DELIVERED, SMS_IN_FLIGHT
from touchpoint.local.copies import deep_copy
from touchpoint.local.pricing import PRICES
from touchpoint.local.sms_voice import TextMessage
from touchpoint.local.strict import recipients
from touchpoint.routing import SES_CONFIGURATION_SET_TAG, SES_DETAIL_TYPES, SMS_STATUS

#: The simulator's outcome → (SES eventType, EventBridge detail-type, the section's key), as the
#: fixtures' README lists them.
SES_KINDS: Mapping[str, tuple[str, str, str]] = {
    "delivered": ("Delivery", "Email Delivered", "delivery"),
    "delayed": ("DeliveryDelay", "Email Delivery Delayed", "deliveryDelay"),
    "opened": ("Open", "Email Opened", "open"),
    "clicked": ("Click", "Email Clicked", "click"),
    "bounced": ("Bounce", "Email Bounced", "bounce"),
    "complained": ("Complaint", "Email Complaint Received", "complaint"),
    "failed": ("Reject", "Email Rejected", "reject"),
    "rendering_failed": ("Rendering Failure", "Email Rendering Failed", "failure"),
}
#: bounceType/bounceSubType → the DSN SES reports for the recipient (status, diagnostic code).
BOUNCES: Mapping[str, tuple[str, str]] = {
    "Permanent/General": ("5.1.1", "smtp; 550 5.1.1 user unknown"),
    "Permanent/Suppressed": (
        "5.1.1",
        "Amazon SES has suppressed sending to this address because it has a recent history of "
        "bouncing as an invalid address.",
    ),
    "Permanent/OnAccountSuppressionList": (
        "5.1.1",
        "Amazon SES did not send the message to this address because it is on the suppression "
        "list for your account.",
    ),
    "Transient/General": ("4.4.7", "smtp; 421 4.4.7 delivery time expired"),
    "Transient/MailboxFull": ("4.2.2", "smtp; 452 4.2.2 mailbox full"),
    "Undetermined/Undetermined": ("5.0.0", "smtp; 550 5.0.0 message bounced for an undetermined reason"),
}
#: Where SES's own tags appear, as in the samples: every tag on events of a sent message
#: (``ses:outgoing-ip`` once it left SES), only the configuration set on DeliveryDelay and
#: Rendering Failure.
_SES_TAGS_OUTGOING = ("Delivery",)
_SES_BARE = ("DeliveryDelay", "Rendering Failure")
#: Documentation-range addresses (RFC 5737) for the IPs SES reports.
SOURCE_IP, OUTGOING_IP, READER_IP = "192.0.2.10", "198.51.100.25", "203.0.113.7"
CALLER = "touchpoint-send-email"  # the send function's role, as ses:caller-identity names it
READER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148"
)
CLICK_LINK = "https://shop.example.com/"
SES_RETRIES_FOR = dt.timedelta(hours=14)  # when a delayed message's expirationTime falls (a choice)


@dataclass(frozen=True)
class Email:
    """A message SES accepted, as its events describe it (worked out once, at the send)."""

    message_id: str
    at: dt.datetime
    source: str  # FromEmailAddress as sent
    source_arn: str
    destination: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]  # the message's own headers, unfolded
    tags: Mapping[str, str]  # the request's EmailTags, as sent
    configuration_set: str | None
    common_headers: Mapping[str, Any]
    from_domain: str


class SesMessages:
    """What SES keeps of every message it accepted (the request's tags and configuration set,
    which moto drops; the message's headers), and what it published about them."""

    def __init__(self, clock: Clock, account: str, region: str) -> None:
        self.clock, self.account, self.region = clock, account, region
        self.messages: dict[str, Email] = {}
        self.published: Counter[str] = Counter()
        self.not_published: Counter[str] = Counter()

    def accept(self, operation: str, params: Mapping[str, Any], response: Mapping[str, Any]) -> None:
        """``strict.Accepted``: remember a SendEmail that SES took."""
        if operation != "SendEmail" or "MessageId" not in response:
            return
        message_id = str(response["MessageId"])
        source = str(params.get("FromEmailAddress", ""))
        address = parseaddr(source)[1]
        raw = ((params.get("Content") or {}).get("Raw") or {}).get("Data") or b""
        headers = _headers(raw.encode() if isinstance(raw, str) else bytes(raw), message_id)
        arn = params.get("FromEmailAddressIdentityArn") or (
            f"arn:aws:ses:{self.region}:{self.account}:identity/{address}"
        )
        self.messages[message_id] = Email(
            message_id,
            self.clock.now(),
            source,
            str(arn),
            tuple(recipients(params)),
            headers,
            {str(t["Name"]): str(t["Value"]) for t in params.get("EmailTags") or []},
            params.get("ConfigurationSetName"),
            _common_headers(headers, message_id),
            address.rpartition("@")[2],
        )

    def publishes(self, envelope: Mapping[str, Any]) -> bool:
        """Whether the configuration set's event destination takes this event (the stack creates
        it with ``routing.SES_DETAIL_TYPES``; SES records the others, e.g. DeliveryDelay, and keeps
        them), counting it either way."""
        published = envelope["detail-type"] in SES_DETAIL_TYPES
        (self.published if published else self.not_published)[label(envelope)] += 1
        return published


def _headers(raw: bytes, message_id: str) -> tuple[tuple[str, str], ...]:
    """The message's headers as SES lists them; SES replaces the Message-ID with its own."""
    block = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    parsed = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(block)
    out = []
    for name, value in parsed.items():
        unfolded = str(value).replace("\r\n", "").replace("\n", "")
        if name.lower() == "message-id":
            unfolded = f"<{message_id}@email.amazonses.com>"
        out.append((name, unfolded))
    return tuple(out)


def _decoded(value: str) -> str:
    return str(email.header.make_header(email.header.decode_header(value)))


def _common_headers(message_headers: tuple[tuple[str, str], ...], message_id: str) -> dict[str, Any]:
    """SES's ``commonHeaders``: the usual headers, decoded, with its own message id."""
    headers = {name.lower(): value for name, value in message_headers}
    common: dict[str, Any] = {}
    if "from" in headers:
        common["from"] = [_decoded(headers["from"])]
    if "date" in headers:
        common["date"] = headers["date"]
    if "to" in headers:
        common["to"] = [_decoded(headers["to"])]
    common["messageId"] = message_id
    if "subject" in headers:
        common["subject"] = _decoded(headers["subject"])
    return common


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def _event_id(*parts: str) -> str:
    """EventBridge gives every event an id; here a deterministic one (the bus assigns its own)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, ":".join(parts)))


def _feedback_id(message_id: str, kind: str) -> str:
    """An SES feedback id, shaped as SES writes them (``0100…-…-000000``)."""
    h = _digest(message_id, kind)
    return f"{h[:16]}-{h[16:24]}-{h[24:28]}-{h[28:32]}-{h[32:36]}-{h[36:48]}-000000"


def ses_event(
    message: Email,
    kind: str,
    at: dt.datetime,
    account: str,
    region: str,
    detail: str | None = None,
) -> dict[str, Any]:
    """The event SES publishes about ``message``. ``kind`` is one of ``SES_KINDS``; ``detail`` a
    bounce's ``Type/SubType`` (``BOUNCES``, default Permanent/General) or a click's link."""
    event_type, detail_type, section_name = SES_KINDS[kind]
    recipients = list(message.destination)
    stamp = iso(at)
    section: dict[str, Any]
    match kind:
        case "delivered":
            section = {
                "timestamp": stamp,
                "processingTimeMillis": max(0, int((at - message.at).total_seconds() * 1000)),
                "recipients": recipients,
                "smtpResponse": "250 2.6.0 Message received",
                "reportingMTA": f"a8-{int(_digest(message.message_id)[:2], 16)}.smtp-out.amazonses.com",
            }
        case "delayed":
            section = {
                "timestamp": stamp,
                "delayType": "TransientCommunicationFailure",
                "expirationTime": iso(message.at + SES_RETRIES_FOR),
                "delayedRecipients": [
                    {
                        "emailAddress": address,
                        "status": "4.4.1",
                        "diagnosticCode": "smtp; 421 4.4.1 Unable to connect to remote host",
                    }
                    for address in recipients
                ],
            }
        case "opened":
            section = {"ipAddress": READER_IP, "timestamp": stamp, "userAgent": READER_AGENT}
        case "clicked":
            section = {
                "ipAddress": READER_IP,
                "link": detail or CLICK_LINK,
                "linkTags": {},
                "timestamp": stamp,
                "userAgent": READER_AGENT,
            }
        case "bounced":
            bounce = detail or "Permanent/General"
            status, diagnostic = BOUNCES[bounce]
            bounce_type, subtype = bounce.split("/")
            section = {
                "bounceType": bounce_type,
                "bounceSubType": subtype,
                "bouncedRecipients": [
                    {"emailAddress": a, "action": "failed", "status": status, "diagnosticCode": diagnostic}
                    for a in recipients
                ],
                "timestamp": stamp,
                "feedbackId": _feedback_id(message.message_id, kind),
                "reportingMTA": "dns; amazonses.com"
                if subtype in ("OnAccountSuppressionList", "Suppressed")
                else f"dsn; a8-{int(_digest(message.message_id)[:2], 16)}.smtp-out.amazonses.com",
            }
        case "complained":
            section = {
                "feedbackId": _feedback_id(message.message_id, kind),
                "complaintSubType": None,
                "complainedRecipients": [{"emailAddress": a} for a in recipients],
                "timestamp": stamp,
                "userAgent": READER_AGENT,
                "complaintFeedbackType": "abuse",
                "arrivalDate": stamp,
            }
        case "failed":
            section = {"reason": "Bad content"}  # SES rejects a message only when it holds a virus
        case "rendering_failed":
            section = {
                "errorMessage": "Attribute 'nickname' is not present in the rendering data.",
                "templateName": message.tags.get("template", ""),
            }
        case _:
            raise ValueError(f"SES publishes no {kind!r} events")
    configuration_set = message.configuration_set or ""
    tags: dict[str, list[str]] = {SES_CONFIGURATION_SET_TAG: [configuration_set]}
    if event_type not in _SES_BARE:
        tags.update(
            {
                "ses:source-ip": [SOURCE_IP],
                "ses:from-domain": [message.from_domain],
                "ses:caller-identity": [CALLER],
            }
        )
        if event_type in _SES_TAGS_OUTGOING:
            tags["ses:outgoing-ip"] = [OUTGOING_IP]
    tags.update({name: [value] for name, value in sorted(message.tags.items())})
    mail: dict[str, Any] = {
        "timestamp": iso(message.at),
        "source": message.source,
        "sourceArn": message.source_arn,
        "sendingAccountId": account,
        "messageId": message.message_id,
        "destination": recipients,
        "headersTruncated": False,
    }
    if event_type not in _SES_BARE:
        mail["headers"] = [{"name": name, "value": value} for name, value in message.headers]
        mail["commonHeaders"] = deep_copy(dict(message.common_headers))  # the event's own
    mail["tags"] = tags
    when = at if kind not in ("failed", "rendering_failed") else message.at
    return {
        "version": "0",
        "id": _event_id("ses", message.message_id, event_type, stamp),
        "detail-type": detail_type,
        "source": "aws.ses",
        "account": account,
        "time": _seconds(when),
        "region": region,
        "resources": [f"arn:aws:ses:{region}:{account}:configuration-set/{configuration_set}"],
        "detail": {"eventType": event_type, "mail": mail, section_name: section},
    }


# --------------------------------------------------------------------------- End User Messaging SMS

#: Statuses and what End User Messaging says of them (``messageStatusDescription``).
SMS_DESCRIPTIONS: Mapping[str, str] = {
    "TEXT_DELIVERED": "Message has been accepted by phone",
    "TEXT_SUCCESSFUL": "Message has been accepted by phone carrier",
    "TEXT_PENDING": "Message is pending delivery",
    "TEXT_QUEUED": "Message is queued",
    "TEXT_CARRIER_UNREACHABLE": "Phone carrier is currently unreachable",
    "TEXT_BLOCKED": "Phone has blocked SMS",
    "TEXT_INVALID": "Invalid phone number",
    "TEXT_TTL_EXPIRED": "The delivery TTL has expired",
    "TEXT_UNREACHABLE": "Phone is currently unreachable or unavailable",
}
#: The final statuses that are failures (TEXT_PENDING and TEXT_QUEUED are never final).
SMS_FAILURES = frozenset(SMS_DESCRIPTIONS) - SMS_DELIVERED - SMS_IN_FLIGHT
#: Calling code → (ISO country, mcc, mnc of a large carrier): the countries the population lives in.
COUNTRIES: tuple[tuple[str, str, str, str], ...] = (
    ("+86", "CN", "460", "00"),
    ("+65", "SG", "525", "01"),
    ("+49", "DE", "262", "01"),
    ("+81", "JP", "440", "10"),
    ("+44", "GB", "234", "10"),
    ("+1", "US", "310", "260"),
)


def _country(number: str) -> tuple[str, str, str]:
    for prefix, country, mcc, mnc in COUNTRIES:
        if number.startswith(prefix):
            return country, mcc, mnc
    return "ZZ", "000", "00"


def sms_event(
    message: TextMessage, status: str, final: bool, at: dt.datetime, account: str, region: str
) -> dict[str, Any]:
    """The "Text Message Delivery Status Updated" event End User Messaging publishes about
    ``message`` (to the default bus, without an event destination)."""
    encoding, parts = segments(message.body)
    country, mcc, mnc = _country(message.destination)
    price = PRICES["sms_segment_cn"] if country == "CN" else PRICES["sms_segment_other"]
    detail: dict[str, Any] = {
        "eventType": status,
        "eventVersion": "1.0",
        "eventTimestamp": _millis(at),
        "isFinal": final,
        "originationPhoneNumber": message.origination_identity or "",
        "destinationPhoneNumber": message.destination,
        "isoCountryCode": country,
        "isInternationalSend": False,
        "mcc": mcc,
        "mnc": mnc,
        "messageId": message.message_id,
        "messageRequestTimestamp": _millis(message.at),
        "messageEncoding": "GSM" if encoding == "GSM-7" else "UNICODE",
        "messageType": message.message_type,
        "messageStatus": status.removeprefix("TEXT_"),
        "messageStatusDescription": SMS_DESCRIPTIONS.get(status, status),
    }
    if message.context:
        detail["context"] = dict(message.context)
    detail.update(totalMessageParts=parts, totalMessagePrice=round(parts * price, 5), totalCarrierFee=0.0)
    return {
        "version": "0",
        "id": _event_id("sms", message.message_id, status, str(final), iso(at)),
        "detail-type": SMS_STATUS,
        "source": "aws.sms-voice",
        "account": account,
        "time": _seconds(at),
        "region": region,
        "resources": [],
        "detail": detail,
    }


# --------------------------------------------------------------------------- on the bus


def entry(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope as a PutEvents entry: the service's part of it (the bus adds id, account,
    region and version, as it does for AWS's own events)."""
    return {
        "Source": envelope["source"],
        "DetailType": envelope["detail-type"],
        "Detail": json.dumps(envelope["detail"]),
        "Resources": list(envelope["resources"]),
        "Time": dt.datetime.fromisoformat(envelope["time"].replace("Z", "+00:00")),
    }


def label(envelope: Mapping[str, Any]) -> str:
    """How the report counts an event: SES's event type (a bounce with its type and subtype), or
    End User Messaging's status (``(not final)`` when it is)."""
    detail = envelope["detail"]
    kind = str(detail.get("eventType"))
    if envelope["source"] == "aws.ses":
        bounce = detail.get("bounce")
        return f"{kind} {bounce['bounceType']}/{bounce['bounceSubType']}" if bounce else kind
    return kind if detail.get("isFinal") else f"{kind} (not final)"


def _seconds(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)
