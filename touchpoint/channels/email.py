"""Email through SES v2, as a MIME message we build ourselves: text and HTML alternatives, an
RFC 2047 subject for Chinese, and RFC 8058 one-click unsubscribe headers."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from botocore.exceptions import ClientError

from touchpoint.aws.dynamo import code
from touchpoint.errors import SendFailed, TransientError
from touchpoint.logs import redact

_TRANSIENT = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "LimitExceededException",
        "InternalFailure",
        "ServiceUnavailable",
        "Throttling",
    }
)
_TAG_SAFE = str.maketrans(dict.fromkeys(" !\"#$%&'()*+,/:;<=>?[\\]^`{|}~", "_"))


def build_message(
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    unsubscribe_url: str,
    domain: str = "touchpoint",
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=domain)
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message.as_bytes()


def tag_value(value: str) -> str:
    """SES tag values allow letters, digits, _ - . @ only."""
    return value.translate(_TAG_SAFE)[:256] or "_"


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
            "EmailTags": [{"Name": k, "Value": tag_value(v)} for k, v in sorted(tags.items())],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        if self.identity_arn:
            request["FromEmailAddressIdentityArn"] = self.identity_arn
        try:
            return str(self.client.send_email(**request)["MessageId"])
        except ClientError as error:
            if code(error) in _TRANSIENT:
                raise TransientError(code(error)) from error
            detail = redact(str(error.response.get("Error", {}).get("Message", "")))
            raise SendFailed(f"{code(error)}: {detail}") from None  # the provider text may echo the address
