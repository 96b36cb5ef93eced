"""The message providers' adapters: SES v2 for email, End User Messaging SMS (the default) and SNS
for SMS. Each makes one attempt and classifies its failure (touchpoint/aws/provider.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from touchpoint.aws.provider import classify
from touchpoint.channels import tags as message_tags
from touchpoint.errors import ContactOptedOut

#: End User Messaging refuses a number that replied STOP (or is on the account's opt-out list)
#: with ConflictException and this reason: the number is suppressed, later sends are skipped.
OPTED_OUT = "DESTINATION_PHONE_NUMBER_OPTED_OUT"


class SesEmail:
    def __init__(
        self, client: Any, sender: str, configuration_set: str | None, identity_arn: str | None
    ) -> None:
        self.client, self.sender = client, sender
        self.configuration_set, self.identity_arn = configuration_set, identity_arn

    def send(self, recipient: str, raw: bytes, tags: Mapping[str, str]) -> str:
        request: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": raw}},
            "EmailTags": [{"Name": k, "Value": message_tags.encode(v)} for k, v in sorted(tags.items())],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        if self.identity_arn:
            request["FromEmailAddressIdentityArn"] = self.identity_arn
        try:
            return str(self.client.send_email(**request)["MessageId"])
        except Exception as error:  # one attempt: classify says whether it may have gone out
            raise classify(error) from None  # the provider text may echo the address


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
