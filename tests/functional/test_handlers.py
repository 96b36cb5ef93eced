"""The Lambda handlers as Lambda calls them (settings from the environment), and what they log."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
from typing import Any

import pytest

from tests.functional.conftest import World, lambda_context, sqs_event
from touchpoint.unsubscribe import Unsubscribe, sign

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+?86?1[3-9]\d{9}|\+1\d{10}")


def sqs(bodies: list[str]) -> dict[str, Any]:
    return sqs_event(bodies, "trigger", "m")


def test_a_batch_with_a_malformed_event_processes_the_rest(env: World) -> None:
    from functions.trigger_eval import app

    good = env.envelope(
        "user.registered",
        "u1",
        profile={"email": "lin@example.com", "phone": "+8613800000001"},
        consent={"email": {"granted": True, "source": "signup"}},
    )
    bad = env.envelope("order.placed", "u2")
    bad["detail"]["occurred_at"] = "soon"
    later = env.envelope("page.viewed", "u1", properties={"category": "beans"})
    batch = sqs([json.dumps(good), json.dumps(bad), "not json", json.dumps(later)])
    response = app.handler(batch, lambda_context("trigger-eval"))
    assert response == {"batchItemFailures": []}  # rejected, stored with a reason, never retried
    assert len(env.state.rejected(env.clock.now().date())) == 2
    assert env.executions_of("new-user-7day")
    profile = env.client("dynamodb").get_item(TableName="profiles", Key={"user_id": {"S": "u1"}})["Item"]
    assert profile["viewed_categories"] == {"SS": ["beans"]}


def test_a_transient_failure_reports_only_that_record(env: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.trigger_eval import app
    from touchpoint.errors import TransientError

    service = app.service()
    original = service.on_event

    def flaky(event: Any) -> Any:
        if event.user_id == "u2":
            raise TransientError("ThrottlingException")
        return original(event)

    monkeypatch.setattr(service, "on_event", flaky)
    bodies = [json.dumps(env.envelope("page.viewed", u)) for u in ("u1", "u2", "u3")]
    assert app.handler(sqs(bodies), lambda_context("trigger-eval")) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}]
    }


def test_state_machine_actions(env: World) -> None:
    from functions.trigger_eval import app

    env.register("u1", attributes={"nickname": "Lin"})
    assert app.handler(
        {"action": "evaluate", "user_id": "u1", "condition": {"attribute": "nickname", "eq": "Lin"}},
        lambda_context("trigger-eval"),
    ) == {"result": True}
    until = app.handler(
        {"action": "next_time", "user_id": "u1", "time": "10:00", "timezone": "Asia/Shanghai"},
        lambda_context("trigger-eval"),
    )["until"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT02:00:00Z", until)  # 10:00 in Shanghai, in the ASL timestamp format
    with pytest.raises(Exception, match="action"):
        app.handler({"action": "dance"}, lambda_context("trigger-eval"))


def test_unsubscribe_endpoint(env: World) -> None:
    from functions.unsubscribe import app

    env.register("u1")
    token = sign("test-secret", Unsubscribe("u1", "email", "new-user-7day", int(env.clock.now().timestamp())))

    def call(method: str, query: dict[str, str]) -> dict[str, Any]:
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/",
            "rawQueryString": "",
            "queryStringParameters": query,
            "headers": {},
            "isBase64Encoded": False,
            "body": "List-Unsubscribe=One-Click" if method == "POST" else None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "x",
                "domainName": "x.lambda-url.aws",
                "domainPrefix": "x",
                "requestId": "r",
                "routeKey": "$default",
                "stage": "$default",
                "time": "01/Dec/2026:00:00:00 +0000",
                "timeEpoch": 1,
                "http": {
                    "method": method,
                    "path": "/",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "1.2.3.4",
                    "userAgent": "mail",
                },
            },
        }
        return app.handler(event, lambda_context("unsubscribe"))  # type: ignore[no-any-return]

    page = call("GET", {"t": token})
    assert page["statusCode"] == 200
    assert '<form method="post"' in page["body"]
    item = env.client("dynamodb").get_item(TableName="profiles", Key={"user_id": {"S": "u1"}})["Item"]
    assert item["consent_email"]["M"]["granted"] == {"BOOL": True}
    assert call("POST", {"t": token})["statusCode"] == 200
    item = env.client("dynamodb").get_item(TableName="profiles", Key={"user_id": {"S": "u1"}})["Item"]
    assert item["consent_email"]["M"]["granted"] == {"BOOL": False}
    assert item["consent_email"]["M"]["source"] == {"S": "unsubscribe-link"}
    assert call("POST", {"t": token + "x"})["statusCode"] == 400
    assert call("GET", {})["statusCode"] == 400


def test_privacy_export_and_erase(env: World) -> None:
    from functions.trigger_eval import app

    env.register("u1", attributes={"birthday": "1990-12-02"}, phone="+8613800000001")
    env.event("cart.updated", "u1", properties={"items": 1})
    exported = app.handler({"action": "export", "user_id": "u1"}, lambda_context("trigger-eval"))
    assert exported["profile"]["email"] == "u1@example.com"
    assert {i["sk"] for i in exported["journeys"]} >= {"ENTRY#new-user-7day", "ENTRY#cart-abandonment"}
    json.dumps(exported)  # plain JSON: what a data subject receives
    erased = app.handler({"action": "erase", "user_id": "u1"}, lambda_context("trigger-eval"))
    assert erased["stopped_journeys"] == ["cart-abandonment", "new-user-7day"]
    assert erased["profile_deleted"] is True
    assert env.state.user_items("u1") == []
    assert env.state.users_on("birthday", "12-02") == []
    tombstone = env.client("dynamodb").get_item(TableName="profiles", Key={"user_id": {"S": "u1"}})["Item"]
    assert set(tombstone) == {"user_id", "erased_at"}  # nothing personal: only what rejects a redelivery
    for execution in env.executions_of("new-user-7day") + env.executions_of("cart-abandonment"):
        assert execution["status"] == "ABORTED"


def test_no_email_or_phone_appears_in_any_log_line(
    env: World, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Every handler, on paths that touch contact points: registration, a malformed update that
    carries an address, an email and an SMS sent, and a provider error that echoes the address."""
    from botocore.stub import Stubber

    from functions.send_email import app as email_app
    from functions.send_sms import app as sms_app
    from functions.trigger_eval import app as trigger_app
    from touchpoint.aws import send_handler
    from touchpoint.errors import SendFailed

    caplog.set_level(logging.DEBUG)
    buffer = io.StringIO()
    for powertools in (trigger_app.logger, send_handler.logger):
        for handler in powertools.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(buffer)
    address, phone = "lin.wei@example.com", "+8613812345678"
    register = env.envelope(
        "user.registered",
        "u1",
        profile={"email": address, "phone": phone, "timezone": "UTC"},
        consent={"email": {"granted": True, "source": "s"}, "sms": {"granted": True, "source": "s"}},
    )
    bad = env.envelope("profile.updated", "u1", profile={"email": f"not an address {address}", "phone": "12"})
    trigger_app.handler(sqs([json.dumps(register), json.dumps(bad)]), lambda_context("trigger-eval"))
    env.clock.current = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    welcome = env.send_request("new-user-7day", "welcome", "u1", token="t1")
    assert email_app.handler(welcome.model_dump(), lambda_context("send-email"))["status"] == "sent"
    reminder = env.send_request("new-user-7day", "reminder-sms", "u1", token="t2")
    assert sms_app.handler(reminder.model_dump(), lambda_context("send-sms"))["status"] == "sent"
    env.clock.current += dt.timedelta(days=1)  # past the global cap of two a day
    offer = env.send_request("new-user-7day", "offer", "u1", token="t3")
    ses = env.email.email
    assert ses is not None
    with Stubber(ses.client) as stub:  # type: ignore[attr-defined]
        stub.add_client_error(
            "send_email",
            service_error_code="MessageRejected",
            service_message=f"Address blacklisted: {address}",
        )
        with pytest.raises(SendFailed) as failure:
            env.send(offer)
    logging.getLogger("touchpoint").error("send failed", exc_info=failure.value)
    output = buffer.getvalue() + capsys.readouterr().out + caplog.text + str(failure.value)
    assert '"status":"sent"' in output.replace(" ", "")  # the handlers did log their outcomes
    assert address not in output
    assert phone not in output
    assert EMAIL.findall(output) == []
    assert PHONE.findall(output) == []
