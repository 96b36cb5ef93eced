"""The guarantees an adversarial review broke at the edges (issue 11), one test per defect class:
consent and suppression rewritten by a patch, late redeliveries, unbounded profiles, erasure that
was not final, unsubscribe links with several spellings, and patterns that admitted a newline."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from tests.functional.conftest import World, lambda_context, sqs_event
from touchpoint import profiles as profile_rules
from touchpoint.aws.profiles import DynamoProfiles
from touchpoint.engine.optout import OptOut
from touchpoint.events import E164, EMAIL, parse_app_event
from touchpoint.profiles import Profile
from touchpoint.unsubscribe import InvalidToken, Unsubscribe, sign, verify


def profile(world: World, user_id: str) -> dict[str, Any]:
    return DynamoProfiles(world.client("dynamodb"), world.settings.profiles_table).get(user_id)


# --------------------------------------------------------------------------- consent & suppression


@pytest.mark.parametrize(
    "attribute",
    [
        "consent_email",
        "consent_sms",
        "suppressed_email",
        "suppressed_sms",
        "consent_log",
        "consent",
        "erased_at",
    ],
)
def test_a_profile_patch_cannot_write_consent_or_suppression(world: World, attribute: str) -> None:
    world.register("u1", email_consent=False)
    granted = {"granted": True, "at": "2026-12-01T00:00:00Z", "source": "forged"}
    outcome = world.event("profile.updated", "u1", profile={"attributes": {attribute: granted}})
    assert outcome.status == "rejected"
    assert attribute in str(outcome.reason)
    assert "consent block" in str(outcome.reason)
    assert not Profile(profile(world, "u1")).has_consent("email")


def test_event_counters_and_engine_bookkeeping_are_reserved_too() -> None:
    for name in ("order.placed.count", "user.registered.last_at", "profile_full", "timezone"):
        detail = {"event_id": "e", "user_id": "u", "occurred_at": "2026-12-01T00:00:00Z"}
        parsed = parse_app_event("profile.updated", "app", {**detail, "profile": {"attributes": {name: 1}}})
        assert "cannot be set" in getattr(parsed, "reason", ""), name


def test_consent_changes_through_the_consent_block_and_every_decision_is_logged(world: World) -> None:
    world.register("u1", email_consent=False)
    world.clock.advance(minutes=1)
    world.event("consent.updated", "u1", consent={"email": {"granted": True, "source": "settings-page"}})
    assert Profile(profile(world, "u1")).has_consent("email")
    ledger = [i for i in world.state.user_items("u1") if i["sk"].startswith("CONSENT#")]
    assert [(i["channel"], i["granted"], i["source"]) for i in ledger] == [
        ("email", False, "signup-form"),
        ("sms", False, "signup-form"),
        ("email", True, "settings-page"),
    ]


# --------------------------------------------------------------------------- late redeliveries


def test_a_late_copy_of_the_entering_event_changes_nothing(world: World) -> None:
    world.register("u1", event_id="reg-1")
    record = world.state.user_state("u1").entries["new-user-7day"]
    world.clock.advance(days=3)
    copy = world.register("u1", event_id="reg-1")  # SQS redrive, three days late
    assert copy.status == "duplicate"
    after = world.state.user_state("u1").entries["new-user-7day"]
    assert after == record  # entered_at (the goal window) and the execution unchanged
    assert len(world.executions_of("new-user-7day")) == 1


def test_a_late_copy_whose_dedupe_marker_was_trimmed_still_enters_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profile_rules, "SEEN_SECONDS", 3600)  # the marker is gone after an hour
    world.register("u1")
    world.event("cart.updated", "u1", event_id="cart-1", properties={"items": 1})
    for n in range(profile_rules.SEEN_TRIM_BATCH):
        world.clock.advance(hours=2)
        world.event("page.viewed", "u1", properties={"n": n})
    record = world.state.user_state("u1").entries["cart-abandonment"]
    late = world.event("cart.updated", "u1", event_id="cart-1", properties={"items": 1})
    assert late.status == "processed"  # the profile no longer recognises it ...
    assert [(d.journey_id, d.enter, d.reason) for d in late.decisions] == [
        ("cart-abandonment", False, "already_entered")  # ... the journey's own history does
    ]
    assert world.state.user_state("u1").entries["cart-abandonment"] == record


def test_a_late_exit_event_cannot_end_a_run_that_started_after_it(world: World) -> None:
    world.register("u1")
    world.event("cart.updated", "u1", properties={"items": 1})
    world.event("order.placed", "u1", event_id="order-1")  # exits the first run
    first = world.state.user_state("u1").entries["cart-abandonment"]
    world.trigger.on_execution_ended(_ended(world, first.execution_arn))
    world.clock.advance(days=8)  # past the re-entry wait
    world.event("cart.updated", "u1", properties={"items": 2})
    second = world.state.user_state("u1").entries["cart-abandonment"]
    assert second.execution_arn != first.execution_arn
    world.clock.advance(hours=1)
    late = world.event(
        "order.placed", "u1", event_id="order-0", at=second.entered_at - dt.timedelta(days=9)
    )  # an order from before this run, delivered late
    assert late.exited == []
    assert world.state.user_state("u1").entries["cart-abandonment"].status == "running"


def _ended(world: World, arn: str) -> Any:
    from touchpoint.events import ExecutionEnded

    return ExecutionEnded(
        arn,
        world.settings.state_machine_arn("cart-abandonment"),
        arn.rsplit(":", 1)[-1],
        "ABORTED",
        world.clock.now(),
        {"user_id": "u1"},
        None,
    )


def test_two_events_entering_at_once_start_one_execution(world: World) -> None:
    from touchpoint.engine import entry as rules

    world.register("u1")
    state = world.state.user_state("u1")  # both decide on the same read
    journey = world.trigger.registry.journeys["post-purchase-cross-sell"]  # no group slot to race on
    decision = rules.Decision(journey.id, True, None, True)
    now = world.clock.now()
    a = world.trigger._start(journey, decision, "u1", state, "order-a", "order.placed", now, None)
    b = world.trigger._start(journey, decision, "u1", state, "order-b", "order.placed", now, None)
    assert (a.enter, b.enter, b.reason) == (True, False, "in_journey")
    assert len(world.executions_of(journey.id)) == 1


# --------------------------------------------------------------------------- bounded profiles


def test_a_profile_cannot_grow_past_its_bound_and_an_opt_out_always_applies(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profile_rules, "FULL_BYTES", 60_000)  # the default is 300 KB: same mechanism
    world.register("u1")
    big = "x" * 8000
    outcomes = []
    for n in range(12):
        attributes = {f"note_{n}_{i}": big for i in range(3)}
        outcomes.append(world.event("profile.updated", "u1", profile={"attributes": attributes}))
    item = profile(world, "u1")
    assert item.get(profile_rules.FULL) is True
    assert [o.status for o in outcomes].count("rejected") >= 1
    rejected = outcomes[-1]
    assert rejected.status == "rejected"
    assert str(rejected.reason).startswith("profile_full")
    order = world.event("order.placed", "u1")
    assert order.status == "rejected"
    revoke = world.event("consent.updated", "u1", consent={"email": {"granted": False, "source": "app"}})
    assert revoke.status != "rejected"
    assert not Profile(profile(world, "u1")).has_consent("email")
    cleanup = world.event(
        "profile.updated",
        "u1",
        profile={"attributes": {f"note_{n}_{i}": None for n in range(12) for i in range(3)}},
    )
    assert cleanup.status == "processed"
    assert profile_rules.FULL not in profile(world, "u1")  # cleaned: it takes events again
    assert world.event("order.placed", "u1").status == "processed"


def test_one_patch_is_bounded() -> None:
    detail = {"event_id": "e", "user_id": "u", "occurred_at": "2026-12-01T00:00:00Z"}
    huge = parse_app_event("profile.updated", "app", {**detail, "profile": {"attributes": {"a": "x" * 9000}}})
    assert "at most 8,192" in getattr(huge, "reason", "")
    many = {f"a{i}": "x" * 5000 for i in range(8)}
    total = parse_app_event("profile.updated", "app", {**detail, "profile": {"attributes": many}})
    assert "at most 32,768" in getattr(total, "reason", "")


def test_viewed_categories_stay_bounded(world: World) -> None:
    world.register("u1")
    for n in range(profile_rules.VIEWED_CATEGORIES_KEEP + 5):
        world.event("page.viewed", "u1", properties={"category": f"c{n:03d}"})
    assert len(profile(world, "u1")["viewed_categories"]) == profile_rules.VIEWED_CATEGORIES_KEEP


# --------------------------------------------------------------------------- erasure


def test_erasure_is_final_and_a_redelivered_event_does_not_recreate_the_person(env: World) -> None:
    from functions.trigger_eval import app

    env.register("u1", event_id="reg-1", attributes={"birthday": "1990-12-02"})
    env.event("cart.updated", "u1", properties={"items": 1})
    bad = env.envelope("order.placed", "u1", properties={"amount": "1" * 40})  # rejected: references u1
    app.handler(sqs_event([json.dumps(bad)], "trigger", "m"), lambda_context("trigger-eval"))
    assert env.state.rejected(env.clock.now().date())
    env.state.put_hold("new-user-7day", "x:welcome", {"user_id": "u1", "step_id": "welcome"})
    env.clock.advance(hours=1)
    app.handler({"action": "erase", "user_id": "u1"}, lambda_context("trigger-eval"))
    assert env.state.user_items("u1") == []
    assert env.state.holds("new-user-7day") == []
    assert env.state.rejected(env.clock.now().date()) == []
    assert set(profile(env, "u1")) == {"user_id", "erased_at"}

    env.clock.advance(minutes=5)
    copy = env.event(
        "user.registered", "u1", event_id="reg-1", at=env.clock.now() - dt.timedelta(hours=2)
    )  # a redelivery of the registration, from before the erasure
    assert copy.status == "rejected"
    assert str(copy.reason).startswith("erased")
    assert set(profile(env, "u1")) == {"user_id", "erased_at"}
    env.clock.current = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 on the birthday
    assert env.trigger.run_dates().decisions == []  # nobody to congratulate
    stub = env.state.rejected(env.clock.now().date() - dt.timedelta(days=1))
    assert all("u1" not in json.dumps(i, default=str) for i in stub)


def test_a_new_registration_after_erasure_is_a_new_person(world: World) -> None:
    world.register("u1", event_id="reg-1", attributes={"nickname": "Lin"})
    world.clock.advance(hours=1)
    from touchpoint.aws import wiring

    privacy = wiring.privacy(world.settings, wiring.Clients(world.session), world.clock)
    privacy.erase("u1")
    world.clock.advance(days=30)
    world.register("u1", event_id="reg-2")
    item = profile(world, "u1")
    assert "nickname" not in item
    assert item["user.registered.count"] == 1
    assert item["erased_at"] < item["created_at"]  # older events stay refused


# --------------------------------------------------------------------------- unsubscribe links


def _optout(world: World) -> OptOut:
    from touchpoint.aws.services import EventBus

    return OptOut(
        "test-secret",
        DynamoProfiles(world.client("dynamodb"), "profiles"),
        world.state,
        EventBus(world.client("events"), "touchpoint"),
        world.clock,
    )


def test_a_token_has_exactly_one_accepted_spelling() -> None:
    token = sign("k", Unsubscribe("u1", "email", "j", 1_700_000_000))
    payload, mac = token.split(".")
    verify("k", token, 1_700_000_100)
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sibling = mac[:-1] + last[(last.index(mac[-1]) + 1) % 64]  # same bytes, other unused trailing bits
    variants = [f"{payload}.{mac}=", f"{payload}.{mac[:5]}!{mac[5:]}", f"{payload}.{mac[:-1]}"]
    if base64.urlsafe_b64decode(sibling + "=") == base64.urlsafe_b64decode(mac + "="):
        variants.append(f"{payload}.{sibling}")
    for variant in variants:
        with pytest.raises(InvalidToken):
            verify("k", variant, 1_700_000_100)


def test_a_used_link_works_again_after_the_user_opts_back_in(world: World) -> None:
    world.register("u1")
    token = sign(
        "test-secret", Unsubscribe("u1", "email", "new-user-7day", int(world.clock.now().timestamp()))
    )
    optout = _optout(world)
    world.clock.advance(minutes=1)
    optout.unsubscribe(token)
    assert not Profile(profile(world, "u1")).has_consent("email")
    world.clock.advance(days=1)
    world.event("consent.updated", "u1", consent={"email": {"granted": True, "source": "settings-page"}})
    assert Profile(profile(world, "u1")).has_consent("email")
    world.clock.advance(days=1)
    optout.unsubscribe(token)  # the same link in the same old email
    assert not Profile(profile(world, "u1")).has_consent("email")
    ledger = [i for i in world.state.user_items("u1") if i["sk"].startswith("CONSENT#")]
    assert [i["source"] for i in ledger if i["channel"] == "email"] == [
        "signup-form",
        "unsubscribe-link",
        "settings-page",
        "unsubscribe-link",
    ]


def test_an_unsubscribe_for_an_erased_user_recreates_nothing(world: World) -> None:
    world.register("u1")
    token = sign(
        "test-secret", Unsubscribe("u1", "email", "new-user-7day", int(world.clock.now().timestamp()))
    )
    world.clock.advance(hours=1)
    DynamoProfiles(world.client("dynamodb"), "profiles").erase("u1", world.clock.now())
    world.clock.advance(hours=1)
    assert _optout(world).unsubscribe(token).status == 200
    assert set(profile(world, "u1")) == {"user_id", "erased_at"}


# --------------------------------------------------------------------------- patterns


@pytest.mark.parametrize("value", ["a@example.com\n", "+8613800000000\n"])
def test_contact_patterns_refuse_a_trailing_newline(value: str) -> None:
    assert EMAIL.fullmatch(value) is None
    assert E164.fullmatch(value) is None
    detail = {"event_id": "e", "user_id": "u", "occurred_at": "2026-12-01T00:00:00Z"}
    key = "email" if "@" in value else "phone"
    assert hasattr(parse_app_event("profile.updated", "app", {**detail, "profile": {key: value}}), "reason")
    assert hasattr(parse_app_event("order.placed\n", "app", detail), "reason")
