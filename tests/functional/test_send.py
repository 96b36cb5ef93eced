"""send_email / send_sms on moto: the gate, rendering, providers, idempotency, caps and windows."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import threading
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.functional.conftest import World, lambda_context
from touchpoint import contract
from touchpoint.aws.messaging import EndUserMessagingSms
from touchpoint.channels.sms import compose, segments
from touchpoint.engine.send import SendRequest
from touchpoint.errors import TemplateError, TransientError
from touchpoint.unsubscribe import verify


def enter_cart(world: World, user: str, **register: Any) -> None:
    world.register(user, **register)
    world.event("cart.updated", user, properties={"items": 2, "value": 129})


def parse(raw: Any) -> email.message.EmailMessage:
    message = email.message_from_string(
        raw.raw_data if hasattr(raw, "raw_data") else raw.body, policy=email.policy.default
    )
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_the_welcome_email_is_rendered_sent_and_called_back(world: World) -> None:
    world.register("u1", attributes={"nickname": "Lin <b>&</b>"}, locale="zh-CN")
    request = world.send_request("new-user-7day", "welcome", "u1", token="t1")
    handled = world.send(request)
    assert handled.status == "sent"
    callback = world.callback("t1")
    assert callback["status"] == "sent"
    assert callback["message_id"]
    assert callback["template_file"] == "welcome.zh.email.j2"
    [sent] = world.emails()
    message = parse(sent)
    assert set(sent.destinations) == {"u1@example.com"}  # moto lists the To header and the API destination
    assert "Lin" in str(message["Subject"])
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Lin &lt;b&gt;&amp;&lt;/b&gt;" in html
    assert "<b>&</b>" not in html
    assert "Lin <b>&</b>" in text
    assert "None" not in html + text
    unsubscribe = str(message["List-Unsubscribe"])
    assert unsubscribe.startswith("<https://unsubscribe.example.com/?t=")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = unsubscribe.strip("<>").split("t=", 1)[1]
    assert verify("test-secret", token, int(world.clock.now().timestamp())).user_id == "u1"
    index = world.state.message(callback["message_id"])
    assert index is not None
    assert (index.journey_id, index.step_id) == ("new-user-7day", "welcome")
    events = [e for e in world.journey_events() if e["detail-type"] == "journey.message"]
    assert events[-1]["detail"]["properties"]["status"] == "sent"
    assert events[-1]["detail"]["event_id"] == f"message:{request.key}"


def test_a_send_retried_after_ses_accepted_sends_one_email(world: World) -> None:
    world.register("u1")
    first = world.send_request("new-user-7day", "welcome", "u1", token="t1")
    retry = first.model_copy(update={"token": "t2"})  # Step Functions retries with a new token
    world.send(first)
    world.send(retry)
    assert len(world.emails()) == 1
    assert world.callback("t1") == world.callback("t2")


def test_consent_denied_is_skipped_with_the_reason(world: World) -> None:
    world.register("u1", sms_consent=False, phone="+8613800000001")
    world.event("consent.updated", "u1", consent={"email": {"granted": False, "source": "settings-page"}})
    request = world.send_request("new-user-7day", "welcome", "u1", token="t1")
    assert world.send(request).reason == "no_consent"
    assert world.callback("t1") == {
        "status": "skipped",
        "reason": "no_consent",
        "at": "2026-12-01T02:00:00.000Z",
    }
    assert world.emails() == []


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("holdout", "holdout"),
        ("stopped", "stopped"),
        ("exited", "exited"),
        ("no_email", "no_contact"),
        ("bounced", "suppressed"),
    ],
)
def test_gate_skips(world: World, setup: str, reason: str) -> None:
    world.register("u1")
    request = world.send_request("new-user-7day", "welcome", "u1", token="t", holdout=setup == "holdout")
    if setup == "stopped":
        world.state.set_flag("new-user-7day", "stopped", "ops", "test", world.clock.now())
    if setup == "exited":
        world.event("order.placed", "u1")
    if setup == "no_email":
        world.client("dynamodb").update_item(
            TableName="profiles", Key={"user_id": {"S": "u1"}}, UpdateExpression="REMOVE email"
        )
    if setup == "bounced":
        world.client("dynamodb").update_item(
            TableName="profiles",
            Key={"user_id": {"S": "u1"}},
            UpdateExpression="SET suppressed_email = :s",
            ExpressionAttributeValues={":s": {"M": {"reason": {"S": "bounce"}}}},
        )
    assert world.send(request).reason == reason
    assert world.emails() == []


def test_unsubscribe_mid_journey_stops_later_sends(world: World) -> None:
    world.register("u1")
    world.send(world.send_request("new-user-7day", "welcome", "u1", token="t1"))
    message = parse(world.emails()[0])
    token = str(message["List-Unsubscribe"]).strip("<>").split("t=", 1)[1]
    from touchpoint.aws.profiles import DynamoProfiles
    from touchpoint.aws.services import EventBus
    from touchpoint.engine.optout import OptOut

    optout = OptOut(
        "test-secret",
        DynamoProfiles(world.client("dynamodb"), "profiles"),
        world.state,
        EventBus(world.client("events"), "touchpoint"),
        world.clock,
    )
    assert optout.confirm(token).status == 200  # a GET (or a link scanner) changes nothing
    assert optout.unsubscribe(token).status == 200
    assert optout.unsubscribe("forged.token").status == 400
    world.clock.advance(days=2)
    later = world.send(world.send_request("new-user-7day", "offer", "u1", token="t3"))
    assert later.reason == "no_consent"
    assert len(world.emails()) == 1
    unsubscribed = [e for e in world.journey_events() if e["detail-type"] == "journey.unsubscribed"]
    assert len(unsubscribed) == 1


def test_quiet_hours_defer_to_the_window_start_across_dst(world: World) -> None:
    """Two zones, each across its daylight-saving change, each deferred to 08:00 local."""
    cases = [
        (
            "ny",
            "America/New_York",
            dt.datetime(2026, 11, 1, 3, 30, tzinfo=dt.UTC),  # 23:30 EDT, Oct 31
            dt.datetime(2026, 11, 1, 13, 0, tzinfo=dt.UTC),
        ),  # 08:00 EST, Nov 1 (UTC-5 after the change)
        (
            "berlin",
            "Europe/Berlin",
            dt.datetime(2027, 3, 27, 21, 0, tzinfo=dt.UTC),  # 22:00 CET, Mar 27
            dt.datetime(2027, 3, 28, 6, 0, tzinfo=dt.UTC),
        ),
    ]  # 08:00 CEST, Mar 28 (UTC+2 after the change)
    for user, zone, at, expected in cases:
        world.clock.current = at
        world.register(user, timezone=zone)
        request = world.send_request("new-user-7day", "welcome", user, token=f"t-{user}")
        handled = world.send(request)
        assert (handled.status, handled.reason) == ("deferred", "send_window")
        assert handled.result["until"] == expected.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    wakeups = {json.loads(s["Target"]["Input"])["user_id"]: s for s in world.schedules()}
    assert wakeups["ny"]["ScheduleExpression"] == "at(2026-11-01T13:00:00)"
    assert wakeups["berlin"]["ScheduleExpression"] == "at(2027-03-28T06:00:00)"
    assert world.emails() == []
    world.clock.current = dt.datetime(2026, 11, 1, 13, 0, tzinfo=dt.UTC)  # the wake-up runs the gate again
    woken = SendRequest.model_validate(json.loads(wakeups["ny"]["Target"]["Input"]))
    assert world.send(woken).status == "sent"
    assert world.callback("t-ny")["status"] == "sent"


def test_caps_hold_under_20_concurrent_sends_for_one_user(world: World) -> None:
    """DynamoDB applies each request atomically; moto does not lock, so its request handling is
    serialised here. The threads still interleave between requests, where the cap logic must hold."""
    from touchpoint.local.moto_bridge import serialised_requests

    world.register("u1")
    base = world.send_request("new-user-7day", "welcome", "u1")
    requests = [base.model_copy(update={"token": f"t{i}", "step_id": f"step-{i}"}) for i in range(20)]
    results: list[Any] = []
    threads = [threading.Thread(target=lambda r=r: results.append(world.send(r))) for r in requests]
    with serialised_requests():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    statuses = sorted((r.status, r.reason) for r in results)
    assert statuses.count(("sent", None)) == 1  # the journey's own cap: 1 email per 24 h
    assert statuses.count(("deferred", "frequency_cap")) == 19
    assert len(world.emails()) == 1
    items = world.state.user_items("u1")
    caps = {i["sk"]: len(i["sends"]) for i in items if i["sk"].startswith("CAP#")}
    assert caps == {"CAP#global:marketing": 1, "CAP#journey:new-user-7day:email": 1}


def test_the_global_cap_spans_journeys_and_defers_until_the_window_frees(world: World) -> None:
    enter_cart(world, "u1")
    world.send(world.send_request("new-user-7day", "welcome", "u1", token="a"))
    world.clock.advance(hours=2)
    world.send(world.send_request("cart-abandonment", "coupon", "u1", token="b"))
    world.clock.advance(hours=1)
    world.register("u1", event_id="x")  # nothing new; the user is in both journeys
    third = world.send(world.send_request("cart-abandonment", "recommend", "u1", token="c"))
    assert (third.status, third.reason) == ("deferred", "frequency_cap")
    assert third.result["until"] == "2026-12-02T02:00:00.000Z"  # 24 h after the first of the two


def test_a_cap_window_never_closes_early_on_a_fraction_of_a_second(world: World) -> None:
    """A send at 02:00:00.7 still counts at 02:00:00.0 a day later: DynamoDB keeps whole
    seconds, and a truncated time would have let a third message through 0.7 s early."""
    enter_cart(world, "u1")
    world.clock.advance(seconds=0.7)
    world.send(world.send_request("new-user-7day", "welcome", "u1", token="a"))
    world.clock.advance(hours=2)
    world.send(world.send_request("cart-abandonment", "coupon", "u1", token="b"))
    world.clock.advance(hours=22, seconds=-0.7)  # 24 h after the first, to the whole second
    third = world.send(world.send_request("cart-abandonment", "recommend", "u1", token="c"))
    assert (third.status, third.reason) == ("deferred", "frequency_cap")
    assert third.result["until"] == "2026-12-02T02:00:01.000Z"  # the next whole second after 24 h
    world.clock.advance(seconds=1)
    assert world.send(world.send_request("cart-abandonment", "recommend", "u1", token="d")).status == "sent"


def test_sms_to_china_gets_signature_opt_out_and_segments(world: World) -> None:
    world.register("u1", phone="+8613800000001", sms_consent=True, locale="zh-CN")
    world.clock.advance(days=6)
    request = world.send_request("new-user-7day", "reminder-sms", "u1", token="t1")
    handled = world.send(request)
    assert handled.status == "sent", handled
    [(phone, body)] = world.sms_messages()
    assert phone == "+8613800000001"
    assert body.startswith("【Touchpoint】")
    assert body.endswith("回T退订")
    callback = world.callback("t1")
    assert callback["encoding"] == "UCS-2"
    assert callback["segments"] == segments(body)[1]


def test_segments_count_like_carriers() -> None:
    assert segments("a" * 160) == ("GSM-7", 1)
    assert segments("a" * 161) == ("GSM-7", 2)
    assert segments("{" * 80) == ("GSM-7", 1)  # extension characters count twice
    assert segments("{" * 81) == ("GSM-7", 2)
    assert segments("好" * 70) == ("UCS-2", 1)
    assert segments("好" * 71) == ("UCS-2", 2)
    assert segments("好" * 134) == ("UCS-2", 2)
    assert segments("😀" * 35) == ("UCS-2", 1)  # two UTF-16 units each
    assert compose("hi", "+14155550100", True, "【T】", "回T退订") == "hi"
    assert compose("活动", "+8613800000001", False, "", "回T退订") == "活动"


def test_end_user_messaging_request_shape() -> None:
    """moto has no End User Messaging SMS; botocore's Stubber checks the request against the real
    service model instead."""
    import boto3

    client = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "send_text_message",
            {"MessageId": "m-1"},
            {
                "DestinationPhoneNumber": "+8613800000001",
                "MessageBody": "hi",
                "MessageType": "PROMOTIONAL",
                "Context": {"journey_id": "j", "step_id": "s"},
                "OriginationIdentity": "pool-1",
                "ConfigurationSetName": "touchpoint",
            },
        )
        stub.add_client_error("send_text_message", service_error_code="ThrottlingException")
        adapter = EndUserMessagingSms(client, "pool-1", "touchpoint")
        assert adapter.send("+8613800000001", "hi", True, {"journey_id": "j", "step_id": "s"}) == "m-1"
        with pytest.raises(TransientError):
            adapter.send("+8613800000001", "hi", True, {"journey_id": "j", "step_id": "s"})


def test_a_throttled_provider_retries_and_releases_the_cap(world: World) -> None:
    world.register("u1")
    request = world.send_request("new-user-7day", "welcome", "u1", token="t1")
    ses = world.email.email
    assert ses is not None
    with Stubber(ses.client) as stub:  # type: ignore[attr-defined]
        stub.add_client_error("send_email", service_error_code="TooManyRequestsException")
        with pytest.raises(TransientError):
            world.send(request)
    caps = [i for i in world.state.user_items("u1") if i["sk"].startswith("CAP#")]
    assert all(not i["sends"] for i in caps)
    assert world.send(request.model_copy(update={"token": "t2"})).status == "sent"


def test_paused_journeys_hold_sends_until_resumed(world: World) -> None:

    ops = world.operations()
    world.register("u1")
    ops.pause("new-user-7day", "ops@example.com", "wrong coupon")
    held = world.send(world.send_request("new-user-7day", "welcome", "u1", token="t1"))
    assert (held.status, held.reason) == ("deferred", "paused")
    assert world.emails() == []
    assert ops.resume("new-user-7day", "ops@example.com", "fixed")["woken"] == 1
    wake = [s for s in world.schedules() if s["Name"].startswith("defer-") and "resume" not in s["Name"]]
    assert wake
    woken = SendRequest.model_validate(
        json.loads(sorted(wake, key=lambda s: s["ScheduleExpression"])[0]["Target"]["Input"])
    )
    assert woken.held
    world.clock.advance(minutes=2)
    assert world.send(woken).status == "sent"
    assert world.state.holds("new-user-7day") == []


def test_paused_longer_than_seven_days_skips(world: World) -> None:
    world.register("u1")
    world.state.set_flag("new-user-7day", "paused", "ops", "x", world.clock.now())
    request = world.send_request("new-user-7day", "welcome", "u1", token="t1")
    assert world.send(request).reason == "paused"
    woken = SendRequest.model_validate(json.loads(world.schedules()[0]["Target"]["Input"]))
    world.clock.advance(days=7, seconds=1)
    assert world.send(woken).reason == "paused"
    assert world.callback("t1")["status"] == "skipped"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{% import os %}{{ os.system('id') }}",
        "{{ self._TemplateReference__context }}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_template_injection_fails_safely(world: World, tmp_path: Any, source: str) -> None:
    import shutil

    from touchpoint.attributes import EMPTY
    from touchpoint.profiles import Profile
    from touchpoint.render import Renderer

    shutil.copytree(world.settings.journeys_dir / "templates", tmp_path / "templates")
    (tmp_path / "templates" / "evil.sms.j2").write_text(source)
    renderer = Renderer(tmp_path, EMPTY)
    with pytest.raises(TemplateError):
        renderer.render("sms", "evil", Profile({"user_id": "u1"}), {})


def test_profile_values_are_data_never_template_code(world: World) -> None:
    world.register("u1", attributes={"nickname": "{{ ''.__class__.__mro__ }}{% raw %}"})
    world.send(world.send_request("new-user-7day", "welcome", "u1", token="t1"))
    message = parse(world.emails()[0])
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "{{ ''.__class__.__mro__ }}{% raw %}" in text


def test_a_missing_variable_fails_the_step_with_its_name(world: World, tmp_path: Any) -> None:
    from touchpoint.attributes import EMPTY
    from touchpoint.profiles import Profile
    from touchpoint.render import Renderer

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "x.sms.j2").write_text("Hi {{ nickname }}, {{ points | default(0) }} points")
    renderer = Renderer(tmp_path, EMPTY)
    with pytest.raises(TemplateError, match="'nickname' is undefined"):
        renderer.render("sms", "x", Profile({"user_id": "u1"}), {})
    assert (
        renderer.render("sms", "x", Profile({"user_id": "u1", "nickname": "Li"}), {}).text
        == "Hi Li, 0 points"
    )


def test_the_handler_entry_point(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """functions/send_email/app.py as Lambda runs it: settings from the environment."""
    from touchpoint.settings import Settings

    for name, variable in Settings.env_names().items():
        value = getattr(world.settings, name)
        if value not in (None, ()):
            monkeypatch.setenv(variable, str(value))
    world.register("u1", attributes={"member_until": "2026-12-10"})  # no send window: any real time works
    world.clock.current = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)
    world.trigger.run_dates()
    request = world.send_request("membership-expiry", "notice", "u1", token="t1")
    from functions.send_email import app

    response = app.handler(request.model_dump(), lambda_context("touchpoint-send-email"))
    assert response == {"status": "sent", "reason": None, "until": None}
    assert len(world.emails()) == 1


def test_a_guarded_send_whose_condition_is_false_calls_back_without_a_message(world: World) -> None:
    """membership-expiry's ``if: {consent: sms}`` around its only send compiles into the send (D22)."""
    world.register("u1", attributes={"member_until": "2026-12-10"}, phone="+8613800000001")
    world.clock.current = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)
    world.trigger.run_dates()
    request = world.send_request("membership-expiry", "sms-ok", "u1", token="t1")
    assert (request.step_id, request.when) == ("offer", {"consent": "sms"})
    handled = world.send(request)
    assert (handled.status, handled.reason) == ("skipped", contract.CONDITION_FALSE)
    assert world.callback("t1")["reason"] == contract.CONDITION_FALSE
    assert world.sms_messages() == []
    assert not [e for e in world.journey_events() if e["detail-type"] == "journey.message"]


def test_a_guarded_send_whose_condition_holds_is_an_ordinary_send(world: World) -> None:
    world.register("u1", attributes={"member_until": "2026-12-10"}, phone="+8613800000001", sms_consent=True)
    world.clock.current = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)
    world.trigger.run_dates()
    handled = world.send(world.send_request("membership-expiry", "sms-ok", "u1", token="t1"))
    assert handled.status == "sent"
    assert len(world.sms_messages()) == 1
    [event] = [e for e in world.journey_events() if e["detail-type"] == "journey.message"]
    assert event["detail"]["properties"]["step_id"] == "offer"


def test_a_guarded_send_with_an_else_fails_its_task_into_the_else_when_the_condition_is_false(
    world: World,
) -> None:
    """cart-abandonment's ``if: {cart_items > 0}`` (else: exit) is the coupon send (D27): an emptied
    cart fails the task with ConditionFalse, whose Catch is the exit; no message, no callback."""
    enter_cart(world, "u1")
    world.event("cart.updated", "u1", properties={"items": 0})
    request = world.send_request("cart-abandonment", "still-in-cart", "u1", token="t1")
    assert (request.step_id, request.when_false) == ("coupon", "fail")
    handled = world.send(request)
    assert (handled.status, handled.reason) == ("skipped", contract.CONDITION_FALSE)
    assert world.executions.failures == [("t1", contract.CONDITION_FALSE_ERROR)]
    assert world.executions.callbacks == []
    # a retry (a new token, same execution and step) gets the stored decision, not a new one
    world.event("cart.updated", "u1", properties={"items": 3})
    world.send(request.model_copy(update={"token": "t2"}))
    assert world.executions.failures == [
        ("t1", contract.CONDITION_FALSE_ERROR),
        ("t2", contract.CONDITION_FALSE_ERROR),
    ]
    assert world.emails() == []
    assert not [e for e in world.journey_events() if e["detail-type"] == "journey.message"]


def test_a_guarded_send_with_an_else_whose_condition_holds_sends_and_calls_back(world: World) -> None:
    enter_cart(world, "u1")
    handled = world.send(world.send_request("cart-abandonment", "still-in-cart", "u1", token="t1"))
    assert handled.status == "sent"
    assert world.callback("t1")["status"] == "sent"
    assert world.executions.failures == []
    [event] = [e for e in world.journey_events() if e["detail-type"] == "journey.message"]
    assert event["detail"]["properties"]["step_id"] == "coupon"


def test_a_guarded_send_woken_after_a_deferral_does_not_decide_again(world: World) -> None:
    """The if was decided when the send first ran; a wake-up only sends."""
    world.register("u1", attributes={"member_until": "2026-12-10"}, phone="+8613800000001")
    world.clock.current = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)
    world.trigger.run_dates()
    request = world.send_request("membership-expiry", "sms-ok", "u1", token="t1")
    woken = request.model_copy(update={"first_attempt_at": "2026-12-03T01:00:00.000Z"})
    handled = world.send(woken)  # no sms consent now: the gate's own consent check skips it
    assert (handled.status, handled.reason) == ("skipped", "no_consent")
