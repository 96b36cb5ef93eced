"""Paths, the context object and intrinsic functions in payload templates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.local.asl_sim import FN, SUCCEED, Sim, TransientError, callback, invoke, machine
from touchpoint.local.asl import iso

# ---------------------------------------------------------------------------------------------
# Paths, context object, intrinsics


def test_reference_paths_and_context_object() -> None:
    sim = Sim()
    params = {
        "first.$": "$.items[0].id",
        "last.$": "$.items[-1].id",
        "spaced.$": "$['a key']",
        "execution.$": "$$.Execution.Id",
        "name.$": "$$.Execution.Name",
        "input.$": "$$.Execution.Input.items[1]",
        "started.$": "$$.Execution.StartTime",
        "entered.$": "$$.State.EnteredTime",
        "state.$": "$$.State.Name",
        "machine.$": "$$.StateMachine.Id",
        "machine_name.$": "$$.StateMachine.Name",
        "nested": {"deep.$": "$.items[1].id", "list": [{"x.$": "$.items[0].id"}, 3]},
    }
    data = {"items": [{"id": "i0"}, {"id": "i1"}], "a key": True}
    arn = sim.run(
        machine(
            ("w", {"Type": "Wait", "Seconds": 3723, "Next": "p"}),
            ("p", {"Type": "Pass", "Parameters": params, "End": True}),
        ),
        data,
        name="ctx",
    )
    assert sim.output(arn) == {
        "first": "i0",
        "last": "i1",
        "spaced": True,
        "execution": "arn:aws:states:us-east-1:123456789012:execution:touchpoint-test:ctx",
        "name": "ctx",
        "input": {"id": "i1"},
        "started": "2026-12-01T00:00:00.000Z",
        "entered": "2026-12-01T01:02:03.000Z",
        "state": "p",
        "machine": "arn:aws:states:us-east-1:123456789012:stateMachine:touchpoint-test",
        "machine_name": "touchpoint-test",
        "nested": {"deep": "i1", "list": [{"x": "i0"}, 3]},
    }


def test_task_token_and_retry_count_in_the_context() -> None:
    sim = Sim()
    seen: list[Any] = []

    def handle(event: Any) -> None:
        seen.append(event)
        if len(seen) == 1:
            raise TransientError("once")
        sim.executor.send_task_success(event["token"], "{}")

    sim.handler(handle, handle)
    params = {"FunctionName": FN, "Payload": {"token.$": "$$.Task.Token", "retry.$": "$$.State.RetryCount"}}
    sim.run(machine(("t", callback(Parameters=params, Retry=[{"ErrorEquals": ["States.ALL"]}]))))
    assert [e["retry"] for e in seen] == [0, 1]
    assert all(isinstance(e["token"], str) and len(e["token"]) > 64 for e in seen)


def test_context_timestamps_keep_milliseconds() -> None:
    assert iso(dt.datetime(2026, 12, 1, 2, 3, 4, 567890, tzinfo=dt.UTC)) == "2026-12-01T02:03:04.567Z"
    assert (
        iso(dt.datetime(2026, 12, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))))
        == "2026-12-01T02:00:00.000Z"
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.Format('{}:coupon:failed', $$.Execution.Name)", "run-1:coupon:failed"),
        (
            "States.Format('{} has {} items, vip={}, note={}', $.user, $.count, $.vip, $.note)",
            "u has 3 items, vip=true, note=null",
        ),
        ("States.Format('literal \\{\\} and \\'quotes\\'')", "literal {} and 'quotes'"),
        ("States.Format('{}-{}', 'a', 42)", "a-42"),
        ("States.Format('{}', States.Format('[{}]', $.user))", "[u]"),
    ],
)
def test_states_format(expression: str, expected: str) -> None:
    sim = Sim()
    arn = sim.run(
        machine(("p", {"Type": "Pass", "Parameters": {"v.$": expression}, "End": True})),
        {"user": "u", "count": 3, "vip": True, "note": None},
        name="run-1",
    )
    assert sim.output(arn) == {"v": expected}


def test_a_missing_path_fails_with_states_runtime_which_catch_cannot_catch() -> None:
    sim = Sim()
    sim.handler("never")
    task = invoke(Parameters={"FunctionName": FN, "Payload": {"user.$": "$.user_id"}},
                  Catch=[{"ErrorEquals": ["States.ALL"], "Next": "caught"}])  # fmt: skip
    arn = sim.run(machine(("t", task), ("caught", SUCCEED)), {"other": 1})
    described = sim.describe(arn)
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert "$.user_id" in described["cause"]
    assert sim.calls == []
    assert sim.executor.path(arn) == ["t"]


def test_result_path_into_a_non_object_is_a_runtime_error() -> None:
    sim = Sim()
    arn = sim.run(machine(("p", {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": True})), {"a": 5})
    assert sim.describe(arn)["error"] == "States.Runtime"
