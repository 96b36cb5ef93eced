"""Requests an entering event makes (issue 18 item 3), counted on moto: three DynamoDB requests
(the profile's UpdateItem, the user's Query, the entry's write: a PutItem, or one
TransactWriteItems with the group slot), the journey flags read once a few seconds
(touchpoint/engine/flags.py), one request for an event no journey concerns; DescribeExecution
only for a group slot held by another journey in a group one of the event's candidates would
enter."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.functional.conftest import World
from touchpoint.engine.flags import FLAGS_TTL_SECONDS
from touchpoint.engine.ports import GroupSlot


def count_describes(world: World) -> list[str]:
    """The executions trigger_eval describes from now on (botocore's own event, before the call)."""
    described: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        described.append(params["executionArn"])

    client = world.trigger.executions.client  # type: ignore[attr-defined]
    client.meta.events.register("provide-client-params.states.DescribeExecution", record)
    return described


def test_a_slot_in_a_group_no_candidate_enters_is_not_described(world: World) -> None:
    world.register("u1")
    assert "onboarding" in world.state.user_state("u1").groups  # the nurture holds its group
    described = count_describes(world)
    outcome = world.event("cart.updated", "u1", properties={"items": 1})
    assert [d.journey_id for d in outcome.decisions] == ["cart-abandonment"]
    assert described == []  # the old code described the onboarding slot's execution


def test_a_slot_another_journey_holds_in_the_candidates_group_is_described_once(world: World) -> None:
    world.register("qa-dormant")  # dormant-winback's test user (its rollout is 5%)
    world.event("order.placed", "qa-dormant")
    world.event("cart.updated", "qa-dormant", properties={"items": 1})
    slot = world.state.user_state("qa-dormant").groups["recovery"]
    assert slot.journey_id == "cart-abandonment"
    world.client("dynamodb").update_item(  # dormant: into dormant-winback's audience
        TableName="profiles",
        Key={"user_id": {"S": "qa-dormant"}},
        UpdateExpression="SET last_seen_at = :t",
        ExpressionAttributeValues={":t": {"S": "2026-10-01T00:00:00Z"}},
    )
    described = count_describes(world)
    # a candidate of the recovery group other than the holder: the holder's execution is asked about
    outcome = world.trigger.run_schedule("dormant-winback", "run-1")
    assert [(d.journey_id, d.eligible) for d in outcome.decisions] == [("dormant-winback", True)]
    assert described == [slot.execution_arn]


def count_dynamodb(world: World) -> Counter[str]:
    """The DynamoDB requests trigger_eval sends from now on, by operation (botocore's own event,
    once per request sent, retries of a throttled one included)."""
    sent: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        sent[model.name] += 1

    clients = {id(c): c for c in (world.trigger.state.storage.client, world.trigger.profiles.client)}  # type: ignore[attr-defined]
    for client in clients.values():
        client.meta.events.register("before-call.dynamodb", record)
    return sent


def count_starts(world: World) -> list[str]:
    """The executions trigger_eval starts from now on."""
    names: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        names.append(params["name"])

    client = world.trigger.executions.client  # type: ignore[attr-defined]
    client.meta.events.register("provide-client-params.states.StartExecution", record)
    return names


def entered(world: World, event_type: str, user_id: str, **kwargs: Any) -> list[str]:
    outcome = world.event(event_type, user_id, **kwargs)
    return [d.journey_id for d in outcome.decisions if d.enter]


def test_an_entering_event_makes_three_dynamodb_requests(world: World) -> None:
    for user in ("u1", "u2"):
        world.register(user)
    world.register("u3", attributes={"orders_count": 2})  # a buyer: not in new-user-7day, which
    assert world.state.user_state("u3").entries == {}  # an order would exit (more requests)
    sent = count_dynamodb(world)
    # the first entry into the journey in this process reads its flags
    assert entered(world, "cart.updated", "u1", properties={"items": 1}) == ["cart-abandonment"]
    assert sent == {"UpdateItem": 1, "BatchGetItem": 1, "Query": 1, "TransactWriteItems": 1}
    sent.clear()
    world.clock.advance(seconds=FLAGS_TTL_SECONDS - 1)  # the flags read is still fresh
    assert entered(world, "cart.updated", "u2", properties={"items": 1}) == ["cart-abandonment"]
    assert sent == {"UpdateItem": 1, "Query": 1, "TransactWriteItems": 1}  # the slot and the entry
    sent.clear()
    espresso = {"category": "espresso_machines", "order_id": "o1", "value": 500}
    assert entered(world, "order.placed", "u3", properties=espresso) == ["post-purchase-cross-sell"]
    assert sent == {"UpdateItem": 1, "BatchGetItem": 1, "Query": 1, "PutItem": 1}  # no group: a put
    sent.clear()
    world.clock.advance(seconds=FLAGS_TTL_SECONDS)  # older than the TTL: read again
    assert entered(world, "cart.updated", "u3", properties={"items": 1}) == ["cart-abandonment"]
    assert sent == {"UpdateItem": 1, "BatchGetItem": 1, "Query": 1, "TransactWriteItems": 1}


def test_an_event_no_journey_concerns_is_one_request(world: World) -> None:
    world.register("u1")
    sent = count_dynamodb(world)
    outcome = world.event("profile.updated", "u1", profile={"locale": "zh"})
    assert (outcome.status, outcome.decisions) == ("processed", [])
    assert sent == {"UpdateItem": 1}


def test_an_event_every_candidate_refuses_on_the_profile_alone_reads_no_journey_state(
    world: World,
) -> None:
    """user.registered only triggers (no journey exits, converts or waits on it), and a buyer is
    outside new-user-7day's audience: decided from the profile, the user's state is not read."""
    world.register("u1")  # the journey's flags are read now, fresh for the next event
    sent = count_dynamodb(world)
    outcome = world.register("u2", attributes={"orders_count": 2})
    assert [(d.journey_id, d.enter, d.reason) for d in outcome.decisions] == [
        ("new-user-7day", False, "audience")
    ]
    assert sent == {"UpdateItem": 1, "BatchWriteItem": 1}  # the profile, and the consent ledger
    sent.clear()
    outcome = world.register("u3")  # in the audience: the state is read, the entry written
    assert [(d.journey_id, d.enter) for d in outcome.decisions] == [("new-user-7day", True)]
    assert sent == {"UpdateItem": 1, "BatchWriteItem": 1, "Query": 1, "TransactWriteItems": 1}


def test_a_redelivered_entering_event_writes_nothing_and_starts_nothing_new(world: World) -> None:
    """A copy of the event that entered, soon after: it may finish a start that crashed, so it
    claims its group slot again (still its own) and asks Step Functions for the same execution
    (by name: one execution); no second entry. A later copy only reads."""
    world.register("u1")
    starts = count_starts(world)
    world.event("cart.updated", "u1", event_id="e-cart", properties={"items": 1})
    first = list(starts)
    entry = world.state.user_state("u1").entries["cart-abandonment"]
    started, sent = count_starts(world), count_dynamodb(world)
    outcome = world.event("cart.updated", "u1", event_id="e-cart", properties={"items": 1})
    assert [(d.journey_id, d.enter, d.resume) for d in outcome.decisions] == [
        ("cart-abandonment", True, entry)
    ]
    assert sent == {"UpdateItem": 1, "Query": 1, "PutItem": 1}  # the marker refuses; the slot again
    assert started == first  # the same execution name: Step Functions starts nothing new
    assert world.state.user_state("u1").entries["cart-abandonment"] == entry
    machine = world.settings.state_machine_arn("cart-abandonment")
    executions = world.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert [e["executionArn"] for e in executions] == [entry.execution_arn]
    world.clock.advance(hours=7)  # past RESUME_SECONDS: a late copy is reported, nothing more
    started, sent = count_starts(world), count_dynamodb(world)
    outcome = world.event("cart.updated", "u1", event_id="e-cart", properties={"items": 1})
    assert [(d.enter, d.reason, d.replay) for d in outcome.decisions] == [(False, "already_entered", True)]
    assert (sent, started) == ({"UpdateItem": 1, "BatchGetItem": 1, "Query": 1}, [])  # flags: stale


def test_a_slot_taken_between_the_read_and_the_write_refuses_the_entry_as_group_busy(
    world: World,
) -> None:
    """Another journey takes the user's group slot after trigger_eval read the user's state: the
    transaction's slot condition refuses, neither the slot nor the entry is written, nothing starts."""
    world.register("u1")
    rival = "arn:aws:states:us-east-1:123456789012:execution:rival:1"
    client = world.trigger.state.storage.client  # type: ignore[attr-defined]

    def take_slot(**_: Any) -> None:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", take_slot)
        world.state.claim_group("u1", GroupSlot("recovery", "rival", 90, rival), None)

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", take_slot)
    started = count_starts(world)
    outcome = world.event("cart.updated", "u1", properties={"items": 1})
    assert [(d.journey_id, d.enter, d.reason) for d in outcome.decisions] == [
        ("cart-abandonment", False, "group_busy")
    ]
    state = world.state.user_state("u1")
    assert "cart-abandonment" not in state.entries
    assert state.groups["recovery"].execution_arn == rival
    assert started == []


def test_a_pause_once_answered_takes_no_entry_even_with_the_flags_just_read(world: World) -> None:

    for user in ("u1", "u2"):
        world.register(user)
    assert entered(world, "cart.updated", "u1", properties={"items": 1}) == ["cart-abandonment"]  # read
    ops = world.operations()
    ops.pause("cart-abandonment", "ops@example.com", "wrong coupon")
    started = count_starts(world)
    outcome = world.event("cart.updated", "u2", properties={"items": 1})
    assert [(d.journey_id, d.enter, d.reason) for d in outcome.decisions] == [
        ("cart-abandonment", False, "paused")
    ]
    assert "cart-abandonment" not in world.state.user_state("u2").entries
    assert started == []
