"""SMS: segment counting, the Chinese opt-out suffix, and the two providers (End User Messaging
SMS, the default, and SNS)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from botocore.exceptions import ClientError

from touchpoint.channels.provider import classify
from touchpoint.errors import ContactOptedOut

_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")
#: End User Messaging refuses a number that replied STOP (or is on the account's opt-out list)
#: with ConflictException and this reason: the number is suppressed, later sends are skipped.
OPTED_OUT = "DESTINATION_PHONE_NUMBER_OPTED_OUT"


def segments(body: str) -> tuple[Literal["GSM-7", "UCS-2"], int]:
    """Encoding and number of segments a carrier bills for ``body`` (GSM-7 160/153, UCS-2 70/67)."""
    if all(ch in _GSM7 or ch in _GSM7_EXTENDED for ch in body):
        septets = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in body)
        return "GSM-7", 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2  # characters outside the BMP take two units
    return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)


def compose(body: str, phone: str, marketing: bool, signature_cn: str, opt_out_cn: str) -> str:
    """Mainland China (+86) marketing SMS carry the sender signature and an opt-out instruction."""
    if not phone.startswith("+86"):
        return body
    text = body if not signature_cn or body.startswith(signature_cn) else f"{signature_cn}{body}"
    if marketing and opt_out_cn and not text.endswith(opt_out_cn):
        text = f"{text}{opt_out_cn}"
    return text


def _translate(error: Exception) -> Exception:
    if isinstance(error, ClientError) and error.response.get("Reason") == OPTED_OUT:
        return ContactOptedOut("carrier_opt_out")
    return classify(error)


class EndUserMessagingSms:
    """``pinpoint-sms-voice-v2`` SendTextMessage; the context travels to the delivery events
    (a second key beside the message id: trigger_eval attributes feedback by the message id)."""

    def __init__(self, client: Any, origination_identity: str | None, configuration_set: str | None) -> None:
        self.client, self.origination, self.configuration_set = (
            client,
            origination_identity,
            configuration_set,
        )

    def send(self, phone: str, body: str, marketing: bool, context: Mapping[str, str]) -> str:
        request: dict[str, Any] = {
            "DestinationPhoneNumber": phone,
            "MessageBody": body,
            "MessageType": "PROMOTIONAL" if marketing else "TRANSACTIONAL",
            "Context": dict(context),
        }
        if self.origination:
            request["OriginationIdentity"] = self.origination
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            return str(self.client.send_text_message(**request)["MessageId"])
        except Exception as error:  # one attempt: _translate says whether it may have gone out
            raise _translate(error) from None  # the provider text may echo the number


class SnsSms:
    """SNS Publish to a phone number: the alternative provider (no delivery events)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def send(self, phone: str, body: str, marketing: bool, context: Mapping[str, str]) -> str:
        attributes = {
            "AWS.SNS.SMS.SMSType": {
                "DataType": "String",
                "StringValue": "Promotional" if marketing else "Transactional",
            }
        }
        try:
            return str(
                self.client.publish(PhoneNumber=phone, Message=body, MessageAttributes=attributes)[
                    "MessageId"
                ]
            )
        except Exception as error:
            raise _translate(error) from None  # the provider text may echo the number
