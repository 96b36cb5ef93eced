"""trigger_eval on moto: profiles, entries, exits, goals, wait_for resumes, schedules and dates."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import REPO
from tests.functional.conftest import ACCOUNT, REGION, World
from touchpoint import bucketing
from touchpoint.aws.profiles import DynamoProfiles
from touchpoint.engine.trigger import schedule as schedule_module
from touchpoint.engine.trigger.actions import ACTION
from touchpoint.profiles import Profile


def profile(world: World, user_id: str) -> dict[str, Any]:
    return DynamoProfiles(world.client("dynamodb"), world.settings.profiles_table).get(user_id)


def test_registration_builds_the_profile_and_enters_the_nurture(world: World) -> None:
    outcome = world.register("u1", attributes={"nickname": "Lin"}, sms_consent=True)
    item = profile(world, "u1")
    assert item["email"] == "u1@example.com"
    assert item["nickname"] == "Lin"
    assert item["registered_at"] == item["user.registered.last_at"]
    assert item["user.registered.count"] == 1
    assert item["consent_email"]["granted"] is True
    assert item["consent_email"]["source"] == "signup-form"
    assert "consent_log" not in item  # the ledger is in the state table: the profile does not grow
    ledger = [i for i in world.state.user_items("u1") if i["sk"].startswith("CONSENT#")]
    assert sorted((i["channel"], i["granted"], i["source"]) for i in ledger) == [
        ("email", True, "signup-form"),
        ("sms", True, "signup-form"),
    ]
    assert [(d.journey_id, d.enter) for d in outcome.decisions] == [("new-user-7day", True)]
    executions = world.executions_of("new-user-7day")
    assert len(executions) == 1
    described = world.client("stepfunctions").describe_execution(executionArn=executions[0]["executionArn"])
    payload = json.loads(described["input"])
    assert payload["user_id"] == "u1"
    assert payload["entry"]["type"] == "user.registered"
    assert payload["holdout"] == bucketing.within(bucketing.bucket("u1", "new-user-7day", "holdout"), 10)
    entry = [e for e in world.journey_events() if e["detail-type"] == "journey.entry"]
    assert entry[0]["detail"]["properties"]["entered"] is True


def test_a_duplicate_event_three_times_is_applied_once_and_starts_one_execution(world: World) -> None:
    world.register("u1", event_id="reg-1")
    for _ in range(2):
        outcome = world.register("u1", event_id="reg-1")
        assert outcome.status == "duplicate"
    order = world.envelope("order.placed", "u1", event_id="order-1", properties={"amount": 59.5})
    for _ in range(3):
        world.trigger.handle_body(json.dumps(order))
    item = profile(world, "u1")
    assert item["user.registered.count"] == 1
    assert item["orders_count"] == 1
    assert item["total_spent"] == Decimal("59.5")
    assert len(world.executions_of("new-user-7day")) == 1


def test_malformed_events_are_rejected_with_a_reason_and_stored(world: World) -> None:
    bad = world.envelope("order.placed", "u1")
    bad["detail"]["occurred_at"] = "yesterday"
    del bad["detail"]["user_id"]
    outcome = world.trigger.handle_body(json.dumps(bad))
    assert outcome.status == "rejected"
    assert "detail.user_id: Field required" in (outcome.reason or "")
    assert "detail.occurred_at" in (outcome.reason or "")
    spoofed = world.trigger.handle_body(json.dumps(world.envelope("email.clicked", "u1")))
    assert spoofed.status == "rejected"
    assert world.trigger.handle_body("{not json").status == "rejected"
    stored = world.state.rejected(world.clock.now().date())
    assert len(stored) == 3
    assert {"detail.user_id: Field required" in r["reason"] for r in stored} == {True, False}


def test_exit_event_stops_the_running_execution_and_frees_it(world: World) -> None:
    world.register("u1")
    arn = world.execution("u1", "new-user-7day")
    outcome = world.event("order.placed", "u1", properties={"amount": 20})
    assert outcome.exited == ["new-user-7day"]
    described = world.client("stepfunctions").describe_execution(executionArn=arn)
    assert described["status"] == "ABORTED"
    record = world.state.user_state("u1").entries["new-user-7day"]
    assert record.status == "exiting"
    assert record.exit_reason == "exit:order.placed"
    ended = world.execution_ended(arn, "ABORTED")
    assert world.trigger.handle_body(json.dumps(ended)).reason == "exit:order.placed"
    assert world.trigger.handle_body(json.dumps(ended)).status == "duplicate"
    exited = [e for e in world.journey_events() if e["detail-type"] == "journey.exited"]
    assert len(exited) == 1
    assert exited[0]["detail"]["properties"]["reason"] == "exit:order.placed"
    assert world.state.user_state("u1").entries["new-user-7day"].status == "ended"


def test_goal_is_recorded_once_inside_its_window(world: World) -> None:
    world.register("u1")
    world.clock.advance(days=2)
    outcome = world.event("order.placed", "u1", properties={"amount": 10})
    assert outcome.converted == ["new-user-7day"]
    assert world.event("order.placed", "u1").converted == []
    world.register("u2")
    world.clock.advance(days=8)
    assert world.event("order.placed", "u2").converted == []  # outside the 7-day goal window


def _register_wait(world: World, user: str, step: str, execution: str, token: str) -> None:
    definition = json.loads((REPO / "statemachines" / "cart-abandonment.asl.json").read_text())
    payload = dict(definition["States"][step]["Parameters"]["Payload"])
    assert payload["where"] == {"step_id": "coupon", "journey_id": "cart-abandonment"}
    world.trigger.run(
        ACTION.validate_python(
            {
                **{k: v for k, v in payload.items() if not k.endswith(".$")},
                "token": token,
                "execution": execution,
                "user_id": user,
            }
        )
    )


def test_wait_for_is_resumed_by_the_matching_event_only(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.register("u1")
    world.event("cart.updated", "u1", properties={"items": 2, "value": 120})
    execution = world.execution("u1", "cart-abandonment")
    _register_wait(world, "u1", "coupon-click", execution, "token-1")
    resumed: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        world.trigger.executions, "succeed", lambda token, out: resumed.append((token, out)) or True
    )
    world.state.put_message(
        _message("m-other", "u1", "new-user-7day", "welcome", execution),
        world.clock.now() + dt.timedelta(days=1),
    )
    world.state.put_message(
        _message("m-coupon", "u1", "cart-abandonment", "coupon", execution),
        world.clock.now() + dt.timedelta(days=1),
    )
    assert world.trigger.handle_body(json.dumps(_ses_click("m-other"))).resumed == []
    assert resumed == []
    outcome = world.trigger.handle_body(json.dumps(_ses_click("m-coupon")))
    assert outcome.resumed == ["cart-abandonment/coupon-click"]
    assert resumed[0][0] == "token-1"
    assert resumed[0][1]["type"] == "email.clicked"
    assert (
        world.trigger.handle_body(json.dumps(_ses_click("m-coupon", when="2026-12-01T02:05:00Z"))).resumed
        == []
    )
    assert profile(world, "u1")["email.clicked.count"] == 3  # every click counts; only one resumed


def _message(message_id: str, user: str, journey: str, step: str, execution: str) -> Any:
    from touchpoint.engine.ports import MessageRecord

    return MessageRecord(
        message_id=message_id,
        user_id=user,
        journey_id=journey,
        step_id=step,
        template="t",
        channel="email",
        execution_arn=execution,
    )


def _ses_click(message_id: str, when: str = "2026-12-01T02:01:00Z") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e",
        "detail-type": "Email Clicked",
        "source": "aws.ses",
        "account": ACCOUNT,
        "time": when,
        "region": REGION,
        "resources": [],
        "detail": {
            "eventType": "Click",
            "mail": {"messageId": message_id, "timestamp": when, "tags": {"journey": ["x"], "step": ["y"]}},
            "click": {"timestamp": when, "link": "https://shop.example.com/cart"},
        },
    }


def make_dormant(world: World, user_id: str) -> None:
    """Last seen in October: in dormant-winback's audience (written straight to the table, as no
    app event sets last_seen_at back in time)."""
    world.client("dynamodb").update_item(
        TableName="profiles",
        Key={"user_id": {"S": user_id}},
        UpdateExpression="SET last_seen_at = :t",
        ExpressionAttributeValues={":t": {"S": "2026-10-01T00:00:00Z"}},
    )


def test_group_priority_preempts_a_lower_priority_journey(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.trigger.executions, "is_running", lambda arn: True)
    world.register("qa-dormant", attributes={"nickname": "Q"})
    world.event("order.placed", "qa-dormant", at=world.clock.now() - dt.timedelta(days=40))
    world.clock.advance(days=1)  # the nurture is running in another group; make the user dormant
    make_dormant(world, "qa-dormant")
    scheduled = world.trigger.run(
        ACTION.validate_python({"action": "schedule", "journey_id": "dormant-winback"})
    )
    assert scheduled["entered"] == 1  # the canary's test user enters; at 5% nobody else here does
    dormant = world.execution("qa-dormant", "dormant-winback")
    outcome = world.event("cart.updated", "qa-dormant", properties={"items": 1, "value": 30})
    decision = {d.journey_id: d for d in outcome.decisions}["cart-abandonment"]
    assert decision.enter
    assert decision.preempts is not None
    assert decision.preempts.journey_id == "dormant-winback"
    described = world.client("stepfunctions").describe_execution(executionArn=dormant)
    assert described["status"] == "ABORTED"
    state = world.state.user_state("qa-dormant")
    assert state.groups["recovery"].journey_id == "cart-abandonment"
    assert state.entries["dormant-winback"].exit_reason == "preempted:cart-abandonment"


def test_a_lower_priority_journey_waits_for_the_group(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world.trigger.executions, "is_running", lambda arn: True)
    world.register("qa-dormant")
    world.event("order.placed", "qa-dormant")
    world.event("cart.updated", "qa-dormant", properties={"items": 1})
    assert "recovery" in world.state.user_state("qa-dormant").groups
    make_dormant(world, "qa-dormant")
    outcome = world.trigger.run_schedule("dormant-winback", "run-1")
    # the only one in the audience
    assert [(d.enter, d.reason) for d in outcome.decisions] == [(False, "group_busy")]


def test_reentry_rules(world: World) -> None:
    world.register("u1")
    world.event("cart.updated", "u1", properties={"items": 1})
    assert world.event("cart.updated", "u1", properties={"items": 2}).decisions[0].reason == "in_journey"
    world.state.end_entry(
        "u1", "cart-abandonment", world.execution("u1", "cart-abandonment"), "SUCCEEDED", None
    )
    world.state.release_group("u1", "recovery", world.execution("u1", "cart-abandonment"))
    world.clock.advance(days=3)
    assert world.event("cart.updated", "u1", properties={"items": 2}).decisions[0].reason == "reentry_wait"
    world.clock.advance(days=5)
    assert world.event("cart.updated", "u1", properties={"items": 2}).decisions[0].enter
    world.state.end_entry("u1", "new-user-7day", world.execution("u1", "new-user-7day"), "SUCCEEDED", None)
    assert world.register("u1", event_id="again").decisions[0].reason == "already_entered"


def test_audience_and_canary(world: World) -> None:
    outcome = world.register("u1", email_consent=False)
    assert [(d.enter, d.reason, d.eligible) for d in outcome.decisions] == [(False, "audience", False)]
    in_rollout = [
        u
        for u in (f"user-{i}" for i in range(400))
        if bucketing.within(bucketing.bucket(u, "dormant-winback", "rollout"), 5)
    ]
    assert 8 <= len(in_rollout) <= 35  # about 5% of 400


def test_schedule_runs_page_by_page_through_the_queue(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule_module, "SCAN_PAGE", 2)
    for i in range(5):
        world.register(f"u{i}")
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(world.trigger.queue, "send", sent.append)
    world.clock.current = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)
    first = world.trigger.run(ACTION.validate_python({"action": "schedule", "journey_id": "d12-warmup"}))
    pages = 1
    while sent:
        message = sent.pop()
        world.trigger.handle_body(json.dumps(message))
        pages += 1
    assert pages == 3
    assert len(world.executions_of("d12-warmup")) == 5
    assert first["run_id"] == "2026-12-05T02:00:00.000Z"


@pytest.mark.parametrize(
    ("sweep", "kathmandu"),
    [
        (15, dt.datetime(2026, 12, 2, 3, 15, tzinfo=dt.UTC)),
        (60, dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.UTC)),
    ],
)
def test_date_trigger_fires_at_nine_local_time_once(world: World, sweep: int, kathmandu: dt.datetime) -> None:
    world.trigger.settings = world.settings.model_copy(update={"date_sweep_minutes": sweep})
    world.register("u-sh", attributes={"birthday": "1990-12-02"}, timezone="Asia/Shanghai")
    world.register("u-ber", attributes={"birthday": "1985-12-02"}, timezone="Europe/Berlin")
    world.register("u-ktm", attributes={"birthday": "1979-12-02"}, timezone="Asia/Kathmandu")  # UTC+5:45
    fired: dict[str, dt.datetime] = {}
    world.clock.current = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    while world.clock.now() < dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC):
        for decision in world.trigger.run_dates().decisions:
            assert decision.enter
        for user in ("u-sh", "u-ber", "u-ktm"):
            if user not in fired and "birthday" in world.state.user_state(user).entries:
                fired[user] = world.clock.now()
        world.clock.advance(minutes=sweep)
    assert fired["u-sh"] == dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    assert fired["u-ber"] == dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)  # 09:00 in Berlin
    assert fired["u-ktm"] == kathmandu  # 09:00 in Kathmandu, or the first sweep after it
    assert len(world.executions_of("birthday")) == 3


def test_membership_expiry_fires_seven_days_before_the_date(world: World) -> None:
    world.register("u1", attributes={"member_until": "2026-12-10"})
    world.clock.current = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)
    assert [d.journey_id for d in world.trigger.run_dates().decisions] == ["membership-expiry"]


def test_attribute_changes_reindex_dates(world: World) -> None:
    world.register("u1", attributes={"birthday": "1990-12-02"})
    assert world.state.users_on("birthday", "12-02") == ["u1"]
    world.event("profile.updated", "u1", profile={"attributes": {"birthday": "1990-05-01"}})
    assert world.state.users_on("birthday", "12-02") == []
    assert world.state.users_on("birthday", "05-01") == ["u1"]


def test_message_feedback_updates_the_profile_and_suppresses_hard_bounces(world: World) -> None:
    world.register("u1")
    execution = world.execution("u1", "new-user-7day")
    world.state.put_message(
        _message("m1", "u1", "new-user-7day", "welcome", execution), world.clock.now() + dt.timedelta(days=1)
    )
    bounce = {
        "version": "0",
        "id": "b",
        "detail-type": "Email Bounced",
        "source": "aws.ses",
        "account": ACCOUNT,
        "time": "2026-12-01T02:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventType": "Bounce",
            "mail": {"messageId": "m1", "timestamp": "2026-12-01T02:00:00Z"},
            "bounce": {"bounceType": "Permanent", "timestamp": "2026-12-01T02:00:05Z"},
        },
    }
    assert world.trigger.handle_body(json.dumps(bounce)).status == "processed"
    item = profile(world, "u1")
    assert item["suppressed_email"]["reason"] == "bounce"
    assert Profile(item).suppression("email") is not None
    assert item["email.bounced.count"] == 1
    unknown = dict(bounce, detail={**bounce["detail"], "mail": {"messageId": "not-ours", "timestamp": "x"}})
    assert world.trigger.handle_body(json.dumps(unknown)).status == "ignored"


def test_feedback_for_an_erased_user_does_not_recreate_the_profile(world: World) -> None:
    world.register("u1")
    execution = world.execution("u1", "new-user-7day")
    world.state.put_message(
        _message("m1", "u1", "new-user-7day", "welcome", execution), world.clock.now() + dt.timedelta(days=1)
    )
    world.clock.advance(hours=1)
    DynamoProfiles(world.client("dynamodb"), "profiles").erase("u1", world.clock.now())
    tombstone = profile(world, "u1")
    world.clock.advance(hours=1)  # a click after the erasure, on an email sent before it
    outcome = world.trigger.handle_body(json.dumps(_ses_click("m1")))
    assert outcome.status == "ignored", outcome.reason
    assert profile(world, "u1") == tombstone == {"user_id": "u1", "erased_at": tombstone["erased_at"]}


def test_an_entry_that_cannot_start_is_reported_and_frees_the_group(world: World) -> None:
    world.client("stepfunctions").delete_state_machine(
        stateMachineArn=world.settings.state_machine_arn("cart-abandonment")
    )
    world.register("u1")
    outcome = world.event("cart.updated", "u1", properties={"items": 1})
    assert [(d.journey_id, d.enter, d.reason) for d in outcome.decisions] == [
        ("cart-abandonment", False, "entry_failed")
    ]
    state = world.state.user_state("u1")
    assert state.entries["cart-abandonment"].status == "ended"
    assert "recovery" not in state.groups
    entry = [e["detail"]["properties"] for e in world.journey_events() if e["detail-type"] == "journey.entry"]
    assert {
        "journey_id": "cart-abandonment",
        "entered": False,
        "eligible": True,
        "reason": "entry_failed",
        "holdout": False,
        "trigger": "cart.updated",
    } in entry
