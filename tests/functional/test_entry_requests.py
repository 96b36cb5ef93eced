"""Requests an entering event makes (issue 18 item 3), counted on moto: DescribeExecution only for
a group slot held by another journey in a group one of the event's candidates would enter."""

from __future__ import annotations

from typing import Any

from tests.functional.conftest import World


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
