"""A local End User Messaging SMS (``pinpoint-sms-voice-v2``): moto has none, and the simulator
must send SMS the way a deployment does, through ``EndUserMessagingSms``, to see what End User
Messaging would refuse and publish.

``LocalSmsVoice`` is a boto3-shaped client with one operation, SendTextMessage. It checks each
request as botocore and the service would (botocore's ParamValidator on the model's input shape,
then the strict layer: the model's lengths, patterns and enums and an E.164 destination), refuses
numbers on its opt-out list with the ConflictException End User Messaging returns, keeps every
message it accepted for the simulator's delivery events, and meters each call as the request
botocore would send."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from touchpoint.aws.messaging import OPTED_OUT
from touchpoint.clock import Clock
from touchpoint.local import strict
from touchpoint.local.meter import Meter

SERVICE, SEND = strict.SMS_VOICE, "SendTextMessage"


@dataclass(frozen=True)
class TextMessage:
    """A message End User Messaging accepted: what its delivery events report."""

    message_id: str
    destination: str
    body: str
    message_type: str
    origination_identity: str | None
    configuration_set: str | None
    context: Mapping[str, str]
    at: dt.datetime


@dataclass
class LocalSmsVoice:
    """The account's End User Messaging SMS in one region: its default opt-out list (numbers
    that replied STOP, or were put on it: the simulator's carrier opt-outs) and what it sent."""

    meter: Meter
    clock: Clock
    seed: int = 0
    messages: dict[str, TextMessage] = field(default_factory=dict)
    opted_out: set[str] = field(default_factory=set)
    refused: Counter[str] = field(default_factory=Counter)  # by Reason: what it would not send
    published: Counter[str] = field(default_factory=Counter)  # the status events it published

    def __post_init__(self) -> None:
        self.exceptions = strict.exceptions(SERVICE)
        self._ids = random.Random(f"{self.seed}:sms-voice")

    def send_text_message(self, **params: Any) -> dict[str, Any]:
        billed = self._meter(params)
        strict.check(SERVICE, SEND, params)  # ParamValidationError, or the service's ValidationException
        destination = str(params["DestinationPhoneNumber"])
        if destination in self.opted_out:
            self.refused[OPTED_OUT] += 1
            raise strict.client_error(
                SERVICE,
                SEND,
                strict.Refusal(
                    "ConflictException",
                    409,
                    "The destination phone number is opted out",
                    {"Reason": OPTED_OUT, "ResourceType": "opted-out-number", "ResourceId": destination},
                ),
            )
        message_id = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
        self.messages[message_id] = TextMessage(
            message_id,
            destination,
            str(params.get("MessageBody", "")),
            str(params.get("MessageType", "TRANSACTIONAL")),
            params.get("OriginationIdentity"),
            params.get("ConfigurationSetName"),
            dict(params.get("Context") or {}),
            self.clock.now(),
        )
        if not billed:
            self.meter.units["sms"] += 1
        return {"MessageId": message_id}

    def opt_out(self, phone: str) -> None:
        """The number replied STOP (End User Messaging manages opt-outs itself unless the
        configuration asks for self-managed ones): later sends to it are refused."""
        self.opted_out.add(phone)

    def _meter(self, params: Mapping[str, Any]) -> bool:
        """The request as botocore would send it; whether the meter billed an SMS for it. ``Meter``
        bills SMS for SNS Publish only, so an accepted SendTextMessage is billed here instead
        (a refused one sends nothing and costs nothing)."""
        before = self.meter.units["sms"]
        self.meter.record(SERVICE, SEND, dict(params))
        return self.meter.units["sms"] != before
