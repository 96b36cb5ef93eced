"""A provider call happens at most once per send, whatever fails around it (issue 11, defect 1).

Provider calls are not idempotent: SES and End User Messaging take no client token. The send is
intent → one provider call → record; these tests break each link (the record after an accepted
call, the response, the invocation itself, the SDK's own retries) and count the messages moto
actually stored."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from tests.functional.conftest import World, lambda_context
from touchpoint.aws import wiring
from touchpoint.aws.messaging import EndUserMessagingSms, SesEmail
from touchpoint.aws.profiles import DynamoProfiles
from touchpoint.channels import tags
from touchpoint.engine.kpi.counting import plan_for
from touchpoint.engine.send import SendRequest
from touchpoint.errors import SendAmbiguous, TransientError
from touchpoint.profiles import Profile, contact_digest
from touchpoint.state.repository import StateRepository


class Crash(BaseException):
    """The invocation died after the provider accepted (a Lambda timeout): nothing catches it."""


def _after_send(world: World, effect: Any) -> None:
    """Run ``effect`` after moto has accepted the SendEmail, before the caller sees the answer."""
    ses = world.email.email
    assert isinstance(ses, SesEmail)
    ses.client.meta.events.register("after-call.sesv2.SendEmail", effect)


def _crash_after_the_provider_accepted(world: World) -> SendRequest:
    """Send u1's welcome email and crash once SES has accepted it; the crashed invocation's time
    runs out before Step Functions retries (Sandbox.Timedout). Returns the request to retry."""

    def crash(**_: Any) -> None:
        raise Crash

    _after_send(world, crash)
    request = world.send_request("new-user-7day", "welcome", "u1", token="t1")
    world.email.once.register_lambda_context(  # type: ignore[attr-defined]
        SimpleNamespace(get_remaining_time_in_millis=lambda: -1000)
    )
    with pytest.raises(Crash):
        world.send(request)
    world.email.once.register_lambda_context(lambda_context("touchpoint-send-email"))  # type: ignore[attr-defined]
    ses = world.email.email
    assert isinstance(ses, SesEmail)
    ses.client.meta.events.unregister("after-call.sesv2.SendEmail", crash)
    return request


def _lost(**_: Any) -> None:
    raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")


def test_provider_clients_make_one_attempt_while_others_retry(aws: Any) -> None:
    clients = wiring.Clients(aws)
    for service in ("sesv2", "sns", "pinpoint-sms-voice-v2"):
        assert clients.provider(service).meta.config.retries["total_max_attempts"] == 1
    assert clients("dynamodb").meta.config.retries["total_max_attempts"] == 4  # 1 + 3 retries


def test_a_timeout_on_a_provider_call_is_one_attempt_and_ambiguous(aws: Any) -> None:
    """With the SDK's standard retries, a read timeout would re-send SendEmail twice more."""
    client = wiring.Clients(aws).provider("sesv2")
    attempts = []

    def timeout(**_: Any) -> None:
        attempts.append(1)
        raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")

    client.meta.events.register("before-send.sesv2.SendEmail", timeout)
    with pytest.raises(SendAmbiguous):
        SesEmail(client, "news@example.com", None, None).send("a@example.com", b"x", {})
    assert attempts == [1]


def test_a_record_that_fails_after_ses_accepted_never_sends_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.register("u1")
    request = world.send_request("new-user-7day", "welcome", "u1", token="t1")

    def throttled(self: StateRepository, intent: Any, ttl: Any) -> None:
        raise TransientError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(StateRepository, "finish_send", throttled)
    with pytest.raises(TransientError):
        world.send(request)
    monkeypatch.undo()
    retried = world.send(request.model_copy(update={"token": "t2"}))  # Step Functions retries the Task
    assert retried.status == "sent_unconfirmed"
    assert len(world.emails()) == 1
    assert world.callback("t2")["status"] == "sent_unconfirmed"


def test_a_record_throttled_once_is_retried_in_the_invocation(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.register("u1")
    original, calls = StateRepository.finish_send, []

    def once_throttled(self: StateRepository, intent: Any, ttl: Any) -> None:
        calls.append(intent.status)
        if len(calls) == 1:
            raise TransientError("ThrottlingException")
        original(self, intent, ttl)

    monkeypatch.setattr(StateRepository, "finish_send", once_throttled)
    assert world.send(world.send_request("new-user-7day", "welcome", "u1", token="t1")).status == "sent"
    assert calls == ["accepted", "accepted"]
    assert world.state.message(world.callback("t1")["message_id"]) is not None


def test_a_lost_response_is_recorded_unconfirmed_and_never_retried(world: World) -> None:
    world.register("u1")
    _after_send(world, _lost)
    request = world.send_request("new-user-7day", "welcome", "u1", token="t1")
    handled = world.send(request)
    assert handled.status == "sent_unconfirmed"
    assert world.callback("t1")["reason"] == "ambiguous"
    assert world.send(request.model_copy(update={"token": "t2"})).status == "sent_unconfirmed"
    assert len(world.emails()) == 1  # moto took it once; nobody called it again
    events = [e for e in world.journey_events() if e["detail-type"] == "journey.message"]
    assert {e["detail"]["event_id"] for e in events} == {f"message:{request.key}"}  # one, for counting
    event = events[0]
    assert event["detail"]["properties"]["status"] == "sent_unconfirmed"
    plan = plan_for_event(event)
    assert plan.counters == ("unconfirmed",)


def test_a_crash_between_the_call_and_the_record_leaves_no_second_message(world: World) -> None:
    world.register("u1")
    request = _crash_after_the_provider_accepted(world)
    retried = world.send(request.model_copy(update={"token": "t2"}))
    assert retried.status == "sent_unconfirmed"
    assert "before its answer was recorded" in world.callback("t2")["detail"]
    assert len(world.emails()) == 1


def test_the_provider_s_events_reconcile_an_unconfirmed_send(world: World) -> None:
    world.register("u1")
    _after_send(world, _lost)
    request = world.send_request("new-user-7day", "welcome", "u1", token="t1")
    assert world.send(request).status == "sent_unconfirmed"
    [accepted] = world.emails()
    delivery = _ses_delivery(world, accepted.id, request.key)
    outcome = world.trigger.handle_body(json.dumps(delivery))
    assert outcome.status == "processed"
    record = world.state.message(accepted.id)
    assert record is not None
    assert (record.user_id, record.step_id) == ("u1", "welcome")
    reconciled = [
        e for e in world.journey_events() if e["detail"].get("event_id", "").endswith(":reconciled")
    ]
    assert len(reconciled) == 1
    assert plan_for_event(reconciled[0]).counters == ("sent", "reconciled")
    world.trigger.handle_body(json.dumps(delivery))  # a second copy reconciles nothing more
    assert (
        len([e for e in world.journey_events() if e["detail"].get("event_id", "").endswith(":reconciled")])
        == 1
    )


def test_events_that_reconcile_before_the_retry_leave_one_sent_message_counted(world: World) -> None:
    """A crash after SES accepted; SES's delivery event arrives before Step Functions retries
    the send. The retry must neither send again nor report a second ``sent``: the reconciliation
    already counted it."""
    world.register("u1")
    request = _crash_after_the_provider_accepted(world)
    [accepted] = world.emails()
    assert world.trigger.handle_body(json.dumps(_ses_delivery(world, accepted.id, request.key))).status == (
        "processed"
    )
    retried = world.send(request.model_copy(update={"token": "t2"}))
    assert retried.status == "sent_unconfirmed"
    assert world.callback("t2")["message_id"] == accepted.id
    assert len(world.emails()) == 1
    counted = [
        counter
        for event in world.journey_events()
        if event["detail-type"] == "journey.message"
        for counter in plan_for_event(event).counters
    ]
    assert counted.count("sent") == 1
    assert counted.count("reconciled") == 1
    assert counted.count("unconfirmed") == 1


def test_a_number_opted_out_with_the_carrier_is_suppressed_and_never_tried_again(world: World) -> None:
    import boto3

    world.register("u1", phone="+8613800000001", sms_consent=True)
    world.clock.current = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    client = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")
    world.sms.sms = EndUserMessagingSms(client, None, None)
    request = world.send_request("new-user-7day", "reminder-sms", "u1", token="t1")
    with Stubber(client) as stub:
        stub.add_client_error(
            "send_text_message",
            service_error_code="ConflictException",
            service_message="The destination phone number is opted out.",
            http_status_code=409,
            modeled_fields={
                "Message": "The destination phone number is opted out.",
                "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
                "ResourceType": "phone-number",
                "ResourceId": "+8613800000001",
            },
        )
        handled = world.send(request)
    assert (handled.status, handled.reason) == ("skipped", "carrier_opt_out")
    profile = Profile(DynamoProfiles(world.client("dynamodb"), "profiles").get("u1"))
    suppression = profile.suppression("sms")
    assert suppression is not None
    assert suppression["reason"] == "carrier_opt_out"
    assert suppression["contact"] == contact_digest("+8613800000001")
    again = request.model_copy(update={"token": "t2", "step_id": "reminder-sms-again"})  # a later send
    with Stubber(client):  # no response queued: a provider call would fail the test
        assert world.send(again).reason == "suppressed"


def test_every_send_carries_its_tags_in_ses_s_charset(world: World) -> None:
    """A send inside a branch has a derived id with dots (``sms-ok.else.reminder-email``); SES
    refuses anything but [A-Za-z0-9_-] in tag values, so the tags are encoded, and decoded back."""
    world.register("u1")
    seen: list[dict[str, Any]] = []
    ses = world.email.email
    assert isinstance(ses, SesEmail)
    ses.client.meta.events.register(
        "provide-client-params.sesv2.SendEmail", lambda params, **_: seen.append(params)
    )
    world.clock.current = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    request = world.send_request("new-user-7day", "reminder-email", "u1", token="t1")
    request = request.model_copy(update={"step_id": "sms-ok.else.reminder-email"})  # as a derived id
    assert world.send(request).status == "sent"
    [params] = seen
    values = {t["Name"]: t["Value"] for t in params["EmailTags"]}
    assert all(tags.SAFE.fullmatch(v) for v in values.values())
    assert tags.decode(values["step"]) == request.step_id
    assert values["send"] == tags.send_digest(request.key)


def plan_for_event(event: dict[str, Any]) -> Any:
    from touchpoint.engine.kpi.values import JourneyInput

    detail = event["detail"]
    occurred = dt.datetime.fromisoformat(detail["occurred_at"].replace("Z", "+00:00"))
    return plan_for(JourneyInput(event["detail-type"], detail["event_id"], occurred, detail["properties"]))


def _ses_delivery(world: World, message_id: str, key: str) -> dict[str, Any]:
    at = world.clock.now().isoformat()
    return {
        "version": "0",
        "id": "e1",
        "detail-type": "Email Delivered",
        "source": "aws.ses",
        "account": "123456789012",
        "time": at,
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventType": "Delivery",
            "mail": {
                "timestamp": at,
                "messageId": message_id,
                "tags": {
                    "journey": ["new-user-7day"],
                    "step": ["welcome"],
                    "send": [tags.send_digest(key)],
                    "ses:configuration-set": [world.settings.ses_configuration_set],
                },
            },
            "delivery": {"timestamp": at, "recipients": ["u1@example.com"]},
        },
    }
