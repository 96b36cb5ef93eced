"""The local End User Messaging SMS: requests validated from botocore's own model, opted-out
numbers refused as End User Messaging refuses them (and ``EndUserMessagingSms`` reads that as an
opt-out), accepted messages kept, every call metered as the request botocore would send."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from botocore.stub import Stubber

from touchpoint.aws.messaging import EndUserMessagingSms
from touchpoint.errors import ContactOptedOut
from touchpoint.local import strict
from touchpoint.local.meter import Meter
from touchpoint.local.sms_voice import OPTED_OUT, LocalSmsVoice

NOW = dt.datetime(2026, 12, 9, 2, 0, tzinfo=dt.UTC)
PHONE = "+8613800000001"


class _Clock:
    def now(self) -> dt.datetime:
        return NOW


def request(**overrides: Any) -> dict[str, Any]:
    """What EndUserMessagingSms sends (touchpoint/aws/messaging.py)."""
    return {
        "DestinationPhoneNumber": PHONE,
        "MessageBody": "【Touchpoint】双十二明天开始",
        "MessageType": "PROMOTIONAL",
        "Context": {
            "journey_id": "d12-launch",
            "step_id": "if-1.then.send-1",
            "template": "d12",
            "send": "ab",
        },
        "OriginationIdentity": "+12065550100",
        "ConfigurationSetName": "touchpoint-sms",
        **overrides,
    }


@pytest.fixture
def sms() -> LocalSmsVoice:
    return LocalSmsVoice(Meter(), _Clock(), seed=7)


def _max(member: str) -> int:
    """A limit as botocore's model states it: the one source of these numbers."""
    maximum: int = _members()[member].metadata["max"]
    return maximum


def _members() -> dict[str, Any]:
    shape: Any = strict.input_shape(strict.SMS_VOICE, "SendTextMessage")  # a StructureShape
    members: dict[str, Any] = shape.members
    return members


def test_the_limits_come_from_botocores_model() -> None:
    assert (_max("MessageBody"), _max("Context")) == (1600, 5)
    context = _members()["Context"]
    assert (context.key.metadata["max"], context.value.metadata["max"]) == (100, 800)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"MessageBody": "x" * 1601}, "MessageBody"),
        ({"Context": {f"k{i}": "v" for i in range(6)}}, "Context"),
        ({"Context": {"k" * 101: "v"}}, "Context.key"),
        ({"Context": {"journey_id": "v" * 801}}, "Context.journey_id"),
        ({"Context": {"journey_id": " padded"}}, "Context.journey_id"),  # the value's pattern
        ({"MessageType": "MARKETING"}, "MessageType"),
        ({"OriginationIdentity": "Touchpoint Coffee"}, "OriginationIdentity"),
        ({"ConfigurationSetName": "touchpoint.sms"}, "ConfigurationSetName"),
        ({"DestinationPhoneNumber": "8613800000001"}, "DestinationPhoneNumber"),  # model: ok; E.164: no
        ({"DestinationPhoneNumber": "+86138000000011234"}, "DestinationPhoneNumber"),
    ],
)
def test_what_the_model_forbids_is_a_validation_exception(
    sms: LocalSmsVoice, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ClientError) as raised:
        sms.send_text_message(**request(**overrides))
    assert isinstance(raised.value, sms.exceptions.ValidationException)
    response: dict[str, Any] = dict(raised.value.response)
    assert response["Error"]["Code"] == "ValidationException"
    assert response["Reason"] == "FIELD_VALIDATION_FAILED"
    assert [f["Name"] for f in response["Fields"]] == [field]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sms.messages == {}


def test_at_the_limits_a_message_is_accepted(sms: LocalSmsVoice) -> None:
    limits = request(
        MessageBody="x" * _max("MessageBody"),
        Context={f"k{i}": "v" * 800 for i in range(4)} | {"k" * 100: "v"},
        DestinationPhoneNumber="+861380000000123",  # 15 digits
    )
    message_id = sms.send_text_message(**limits)["MessageId"]
    kept = sms.messages[message_id]
    assert (kept.destination, kept.body, kept.message_type) == ("+861380000000123", "x" * 1600, "PROMOTIONAL")
    assert (kept.origination_identity, kept.configuration_set, kept.at) == (
        "+12065550100",
        "touchpoint-sms",
        NOW,
    )
    assert kept.context == limits["Context"]


@pytest.mark.parametrize(
    "overrides",
    [{"MessageBody": ""}, {"MessageBody": 42}, {"DestinationPhoneNumber": None}, {"Unknown": 1}],
)
def test_what_botocore_refuses_is_refused_before_sending(
    sms: LocalSmsVoice, overrides: dict[str, Any]
) -> None:
    params = {k: v for k, v in request(**overrides).items() if v is not None}
    with pytest.raises(ParamValidationError):
        sms.send_text_message(**params)


def test_an_opted_out_number_is_refused_as_end_user_messaging_refuses_it(sms: LocalSmsVoice) -> None:
    sms.opt_out(PHONE)
    with pytest.raises(ClientError) as raised:
        sms.send_text_message(**request())
    error = raised.value
    assert isinstance(error, sms.exceptions.ConflictException)
    response: dict[str, Any] = dict(error.response)
    assert response["Error"]["Code"] == "ConflictException"
    assert (response["Reason"], response["ResourceType"], response["ResourceId"]) == (
        OPTED_OUT,
        "opted-out-number",
        PHONE,
    )
    assert dict(sms.refused) == {OPTED_OUT: 1}
    assert sms.messages == {}
    sms.send_text_message(**request(DestinationPhoneNumber="+8613800000002"))  # another number goes


def test_the_adapter_reads_the_refusal_as_an_opt_out(sms: LocalSmsVoice) -> None:
    adapter = EndUserMessagingSms(sms, "+12065550100", "touchpoint-sms")
    context = {"journey_id": "d12-launch", "step_id": "reminder", "template": "d12", "send": "ab"}
    message_id = adapter.send(PHONE, "hello", marketing=True, context=context)
    assert sms.messages[message_id].context == context
    sms.opt_out(PHONE)
    with pytest.raises(ContactOptedOut) as raised:
        adapter.send(PHONE, "hello", marketing=True, context=context)
    assert raised.value.reason == "carrier_opt_out"


def test_the_refusal_is_what_botocore_parses_from_end_user_messaging(
    sms: LocalSmsVoice, aws_env: str
) -> None:
    """The same answer through a real client (stubbed with what the service returns) gives the
    same exception and response fields."""
    sms.opt_out(PHONE)
    with pytest.raises(ClientError) as ours:
        sms.send_text_message(**request())
    client = boto3.client("pinpoint-sms-voice-v2", region_name=aws_env)
    with Stubber(client) as stub:
        stub.add_client_error(
            "send_text_message",
            service_error_code="ConflictException",
            service_message=ours.value.response["Error"]["Message"],
            http_status_code=409,
            modeled_fields={"Reason": OPTED_OUT, "ResourceType": "opted-out-number", "ResourceId": PHONE},
        )
        with pytest.raises(client.exceptions.ConflictException) as theirs:
            client.send_text_message(**request())
    mine: dict[str, Any] = dict(ours.value.response)
    botocores: dict[str, Any] = dict(theirs.value.response)
    for key in ("Reason", "ResourceType", "ResourceId", "Error"):
        assert mine[key] == botocores[key]


def test_every_call_is_metered_as_botocore_sends_it(sms: LocalSmsVoice) -> None:
    sms.send_text_message(**request())
    sms.opt_out(PHONE)
    with pytest.raises(ClientError):
        sms.send_text_message(**request())
    with pytest.raises(ClientError):
        sms.send_text_message(**request(DestinationPhoneNumber="+1", MessageBody="x"))
    assert sms.meter.calls == {(strict.SMS_VOICE, "SendTextMessage"): 3}
    assert sms.meter.units["sms"] == 1  # billed: the message sent, not the two refused


def test_message_ids_follow_the_seed() -> None:
    def first(seed: int) -> str:
        return str(LocalSmsVoice(Meter(), _Clock(), seed=seed).send_text_message(**request())["MessageId"])

    assert first(1) == first(1) != first(2)
