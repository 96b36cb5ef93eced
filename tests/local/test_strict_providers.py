"""The strict provider layer refuses what AWS refuses, with AWS's error, and accepts at the limit:
through a real boto3 client on moto (the moto backend) and through the in-memory backend's
boto3-shaped clients, which answer alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws

from touchpoint.aws.messaging import SesEmail
from touchpoint.channels import tags as message_tags
from touchpoint.channels.email import build_message
from touchpoint.errors import SendFailed
from touchpoint.local import strict
from touchpoint.local.memory.clients import SesV2Client, SnsClient
from touchpoint.local.meter import Meter

SENDER = "news@touchpoint.example"
ACCOUNT, REGION = "123456789012", "us-east-1"
RAW = b"From: news@touchpoint.example\r\nTo: mei@example.com\r\nSubject: hi\r\n\r\nHi\r\n"

CONFIGURATION_SETS = ("c" * 64, "touchpoint_1-a")  # the longest and an odd valid name

Send = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def providers() -> Iterator[dict[str, Any]]:
    """Both backends' SES and SNS clients, strict, on one moto account (for the module: what one
    test sends does not change what another may)."""
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.setenv(key, "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        session = boto3.session.Session(region_name=REGION)
        session.client("sesv2").create_email_identity(EmailIdentity=SENDER)
        session.client("ses").verify_email_identity(EmailAddress=SENDER)
        for name in CONFIGURATION_SETS:
            session.client("sesv2").create_configuration_set(ConfigurationSetName=name)
        meter = Meter()
        yield {
            "moto": {
                "sesv2": strict.install(session.client("sesv2")),
                "sns": strict.install(session.client("sns")),
            },
            "memory": {
                "sesv2": SesV2Client(meter, ACCOUNT, REGION),
                "sns": SnsClient(meter, ACCOUNT, REGION),
            },
        }


BACKENDS = ("moto", "memory")


def email(**overrides: Any) -> dict[str, Any]:
    return {
        "FromEmailAddress": SENDER,
        "Destination": {"ToAddresses": ["mei@example.com"]},
        "Content": {"Raw": {"Data": RAW}},
        "EmailTags": [{"Name": "journey", "Value": "d12-launch"}],
        **overrides,
    }


def refused(call: Send, **params: Any) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(**params)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return raised.value


def _tags(count: int, value: str = "v") -> list[dict[str, str]]:
    return [{"Name": f"tag{i}", "Value": value} for i in range(count)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("accepted", "refused_params", "code"),
    [
        ({"EmailTags": _tags(1, "v" * 256)}, {"EmailTags": _tags(1, "v" * 257)}, "BadRequestException"),
        (
            {"EmailTags": [{"Name": "n" * 256, "Value": "v"}]},
            {"EmailTags": [{"Name": "n" * 257, "Value": "v"}]},
            "BadRequestException",
        ),
        ({"EmailTags": _tags(1, "a_b-C9")}, {"EmailTags": _tags(1, "a b")}, "BadRequestException"),
        (
            {"EmailTags": _tags(1, "a_b-C9")},
            {"EmailTags": [{"Name": "ses:x", "Value": "v"}]},
            "BadRequestException",
        ),
        ({"EmailTags": _tags(50)}, {"EmailTags": _tags(51)}, "BadRequestException"),
        ({"ConfigurationSetName": "c" * 64}, {"ConfigurationSetName": "c" * 65}, "BadRequestException"),
        (
            {"ConfigurationSetName": "touchpoint_1-a"},
            {"ConfigurationSetName": "touchpoint.a"},
            "BadRequestException",
        ),
        (
            {  # without a To header: moto counts its addresses on top of the Destination's
                "Destination": {"ToAddresses": [f"u{i}@example.com" for i in range(50)]},
                "Content": {"Raw": {"Data": RAW.replace(b"To: mei@example.com\r\n", b"")}},
            },
            {
                "Destination": {
                    "ToAddresses": ["a@example.com"],
                    "BccAddresses": [f"u{i}@example.com" for i in range(50)],
                }
            },
            "MessageRejected",
        ),
        (
            {"Content": {"Raw": {"Data": RAW + b"x" * 998 + b"\r\n"}}},
            {"Content": {"Raw": {"Data": RAW + b"x" * 999 + b"\r\n"}}},
            "MessageRejected",
        ),
    ],
    ids=[
        "tag-value",
        "tag-name",
        "tag-chars",
        "tag-colon",
        "tag-count",
        "set-length",
        "set-chars",
        "recipients",
        "line",
    ],
)
def test_ses_limits(
    providers: dict[str, Any],
    backend: str,
    accepted: dict[str, Any],
    refused_params: dict[str, Any],
    code: str,
) -> None:
    ses = providers[backend]["sesv2"]
    assert ses.send_email(**email(**accepted))["MessageId"]
    error = refused(ses.send_email, **email(**refused_params))
    assert error.response["Error"]["Code"] == code
    assert type(error).__name__ == code


def test_the_size_limit_is_40_mb_after_base64() -> None:
    """Checked on the request alone: 40 MiB of base64 is 31,457,280 bytes of message."""
    lines = 31_457_280 // 80
    at_limit = b"x" * 78 + b"\r\n"
    assert strict.check_send_email(email(Content={"Raw": {"Data": at_limit * lines}})) is None
    over = strict.check_send_email(email(Content={"Raw": {"Data": at_limit * lines + b"x"}}))
    assert over is not None
    assert (over.code, over.status) == ("MessageRejected", 400)


def test_a_step_inside_an_if_branch_sends_because_its_tags_are_encoded(
    providers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ses = providers["moto"]["sesv2"]
    adapter = SesEmail(ses, f"Touchpoint <{SENDER}>", None, None)
    tags = {
        "journey": "new-user-7day",
        "step": "if-1.then.send-1",
        "template": "offer_reminder",
        "send": "ab" * 16,
    }
    raw = build_message(
        f"Touchpoint <{SENDER}>", "mei@example.com", "Hi", "Hi", "<p>Hi</p>", "https://u.example/?t=1"
    )
    assert adapter.send("mei@example.com", raw, tags)
    # the old cleaner kept the dots: SES refuses that tag value, moto on its own does not
    old = [{"Name": "step", "Value": "if-1.then.send-1"}]
    error = refused(ses.send_email, **email(EmailTags=old))
    assert isinstance(error, ses.exceptions.BadRequestException)
    assert "if-1.then.send-1" in error.response["Error"]["Message"]
    assert boto3.client("sesv2").send_email(**email(EmailTags=old))["MessageId"]
    # and through the adapter, a refused send is a failed send (it went nowhere)
    monkeypatch.setattr(message_tags, "encode", lambda value: value)
    with pytest.raises(SendFailed, match="BadRequestException"):
        adapter.send("mei@example.com", raw, tags)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sns_sms_limits(providers: dict[str, Any], backend: str) -> None:
    sns = providers[backend]["sns"]
    assert sns.publish(PhoneNumber="+8613800000001", Message="x" * 1600)["MessageId"]
    assert sns.publish(PhoneNumber="+861380000000123", Message="x")["MessageId"]  # 15 digits
    for params in (
        {"PhoneNumber": "+8613800000001", "Message": "x" * 1601},
        {"PhoneNumber": "+8613800000001", "Message": ""},
        {"PhoneNumber": "+8613800000001234", "Message": "x"},
        {"PhoneNumber": "8613800000001", "Message": "x"},
    ):
        error = refused(sns.publish, **params)
        assert error.response["Error"]["Code"] == "InvalidParameter", params
        assert type(error).__name__ == "InvalidParameterException"  # the modeled class, on both


@pytest.mark.parametrize("backend", BACKENDS)
def test_both_backends_give_the_same_answer(providers: dict[str, Any], backend: str) -> None:
    """The memory backend's clients raise what botocore raises from the wire, field for field."""
    ses = providers[backend]["sesv2"]
    error = refused(ses.send_email, **email(EmailTags=_tags(1, "a.b")))
    assert error.response["Error"] == {
        "Code": "BadRequestException",
        "Message": "Invalid tag value <a.b>: only alphanumeric ASCII characters, '_', and '-' are allowed, "
        "at most 256",
    }
    with pytest.raises(ParamValidationError):
        ses.send_email(**email(EmailTags="journey"))


def test_a_strict_client_still_hears_what_was_accepted(aws_env: str) -> None:
    seen: list[tuple[str, Any, Any]] = []
    with mock_aws():
        session = boto3.session.Session(region_name=aws_env)
        session.client("sesv2").create_email_identity(EmailIdentity=SENDER)
        session.client("ses").verify_email_identity(EmailAddress=SENDER)
        ses = strict.install(
            session.client("sesv2"), lambda op, params, response: seen.append((op, params, response))
        )
        message_id = ses.send_email(**email())["MessageId"]
        with pytest.raises(ClientError):
            ses.send_email(**email(EmailTags=_tags(1, "a.b")))
    assert [(op, params["EmailTags"], response["MessageId"]) for op, params, response in seen] == [
        ("SendEmail", [{"Name": "journey", "Value": "d12-launch"}], message_id)
    ]
