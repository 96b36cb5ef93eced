"""Executions (idempotent start, stop, listeners, timeouts, counting) and the EventBridge integration."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.local.asl_sim import START, SUCCEED, Sim, TransientError, callback, invoke, machine
from touchpoint import routing
from touchpoint.contract import EVENTS_PUT
from touchpoint.local import moto_bridge
from touchpoint.local.asl import ExecutionAlreadyExists, TaskTimedOut, status_change_event

# ---------------------------------------------------------------------------------------------
# Executions: idempotent start, stop, listeners, timeouts, counting


def test_start_execution_is_idempotent_while_running() -> None:
    sim = Sim()
    definition = machine(("w", {"Type": "Wait", "Seconds": 60, "End": True}))
    first = sim.run(definition, {"a": 1}, name="same", go=False)
    machine_arn = sim.describe(first)["stateMachineArn"]
    assert sim.executor.start_execution(machine_arn, "same", json.dumps({"a": 1})) == first
    assert sim.executor.usage.executions_started == 1
    with pytest.raises(ExecutionAlreadyExists):
        sim.executor.start_execution(machine_arn, "same", json.dumps({"a": 2}))
    sim.clock.run_all()
    with pytest.raises(ExecutionAlreadyExists):  # closed: the name is taken
        sim.executor.start_execution(machine_arn, "same", json.dumps({"a": 1}))


def test_stop_execution() -> None:
    sim = Sim()
    tokens: list[str] = []
    sim.handler(lambda event: tokens.append(event["token"]))
    arn = sim.run(machine(("t", callback(TimeoutSeconds=600))), go=False)
    sim.clock.run_for(10)
    stopped = sim.executor.stop_execution(arn, error="Journey.Exit", cause="order.placed")
    described = sim.describe(arn)
    assert (described["status"], described["error"], described["cause"]) == (
        "ABORTED",
        "Journey.Exit",
        "order.placed",
    )
    assert stopped == described["stopDate"] == START + dt.timedelta(seconds=10)
    assert sim.clock.next_time() is None  # the task's timeout was cancelled
    with pytest.raises(TaskTimedOut):
        sim.executor.send_task_success(tokens[0], "{}")
    assert sim.executor.stop_execution(arn) == stopped  # stopping again changes nothing
    assert [c["status"] for c in sim.ended] == ["ABORTED"]


def test_stopping_during_a_wait() -> None:
    sim = Sim()
    arn = sim.run(
        machine(("w", {"Type": "Wait", "Seconds": 600, "Next": "after"}), ("after", SUCCEED)), go=False
    )
    sim.clock.run_for(1)
    sim.executor.stop_execution(arn)
    sim.clock.run_all()
    assert sim.executor.path(arn) == ["w"]
    assert sim.clock.now() == START + dt.timedelta(seconds=1)


def test_status_change_detail_and_event() -> None:
    sim = Sim()
    arn = sim.run(machine(("w", {"Type": "Wait", "Seconds": 5, "End": True})), {"u": 1}, name="e-1")
    (change,) = sim.ended
    assert change == {
        "executionArn": arn,
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:touchpoint-test",
        "name": "e-1",
        "status": "SUCCEEDED",
        "startDate": int(START.timestamp() * 1000),
        "stopDate": int(START.timestamp() * 1000) + 5000,
        "input": '{"u": 1}',
        "inputDetails": {"included": True},
        "output": '{"u":1}',
        "outputDetails": {"included": True},
        "error": None,
        "cause": None,
    }
    event = status_change_event(change, region="us-east-1", account_id="123456789012", event_id="id-1")
    rule = next(r for r in routing.RULES if r.name == "execution-status")
    assert moto_bridge.rule_matches(rule.pattern, event)
    assert event["time"] == "2026-12-01T00:00:05Z"


def test_execution_timeout() -> None:
    sim = Sim()
    arn = sim.run(machine(("w", {"Type": "Wait", "Seconds": 600, "End": True}), TimeoutSeconds=60))
    described = sim.describe(arn)
    assert (described["status"], described["error"]) == ("TIMED_OUT", "States.Timeout")
    assert described["stopDate"] == START + dt.timedelta(seconds=60)


def test_transitions_are_counted_per_state_entered_and_per_retry() -> None:
    sim = Sim()
    sim.handler(TransientError("x"), {"result": True}, {"result": True})
    definition = machine(
        ("w", {"Type": "Wait", "Seconds": 1, "Next": "t"}),
        (
            "t",
            invoke(
                "c", Retry=[{"ErrorEquals": ["TransientError"]}], ResultSelector={"r.$": "$.Payload.result"}
            ),
        ),
        ("c", {"Type": "Choice", "Choices": [{"Variable": "$.r", "BooleanEquals": True, "Next": "p"}]}),
        ("p", {"Type": "Pass", "Next": "s"}),
        ("s", SUCCEED),
    )
    first = sim.run(definition, name="one")
    second = sim.run(definition, name="two")
    assert sim.executor.path(first) == ["w", "t", "c", "p", "s"]
    assert sim.executor.execution(first).transitions == 6
    assert sim.executor.execution(second).transitions == 5  # no retry the second time
    assert sim.executor.usage.state_transitions == 11
    assert sim.executor.usage.executions_started == 2


def test_runs_are_reproducible_for_a_seed() -> None:
    def history(seed: int) -> list[tuple[str, str | None, dt.datetime, str]]:
        sim = Sim(seed=seed)
        sim.handler(TransientError("x"), lambda e: sim.executor.send_task_success(e["token"], "{}"))
        retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "JitterStrategy": "FULL"}]
        arn = sim.run(machine(("t", callback(Retry=retry))))
        return [
            (e.type, e.state, e.timestamp, json.dumps(e.detail))
            for e in sim.executor.get_execution_history(arn)
        ]

    assert history(3) == history(3)
    assert history(3) != history(4)


def test_a_runaway_loop_fails_instead_of_hanging() -> None:
    sim = Sim()
    arn = sim.run(machine(("a", {"Type": "Pass", "Next": "b"}), ("b", {"Type": "Pass", "Next": "a"})))
    assert sim.describe(arn)["error"] == "States.Runtime"
    assert "maximum number of history events" in sim.describe(arn)["cause"]


# ---------------------------------------------------------------------------------------------
# The EventBridge integration (moto)


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("events", region_name="us-east-1")


def put_events(detail: Any, next_state: str | None = None, **fields: Any) -> dict[str, Any]:
    entry = {"EventBusName": "touchpoint", "Source": "touchpoint.journey", "DetailType": "lead.qualified"}
    return invoke(next_state, Resource=EVENTS_PUT, Parameters={"Entries": [{**entry, "Detail": detail}]},
                  ResultPath=None, **fields)  # fmt: skip


def test_events_put_events(aws: Any) -> None:
    events = aws
    sqs = boto3.client("sqs", region_name="us-east-1")
    events.create_event_bus(Name="touchpoint")
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="all", EventBusName="touchpoint", EventPattern=json.dumps({"source": ["touchpoint.journey"]})
    )
    events.put_targets(Rule="all", EventBusName="touchpoint", Targets=[{"Id": "q", "Arn": queue_arn}])
    sim = Sim(events=events)
    detail = {"event_id.$": "States.Format('{}:emit', $$.Execution.Name)", "user_id.$": "$.user_id"}
    arn = sim.run(machine(("emit", put_events(detail))), {"user_id": "u-1"}, name="x-1")
    assert sim.describe(arn)["status"] == "SUCCEEDED"
    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(message["Body"])
    assert event["detail"] == {"event_id": "x-1:emit", "user_id": "u-1"}
    assert event["resources"] == [sim.describe(arn)["stateMachineArn"], arn]
    assert sim.executor.usage.requests["events"] == 1


def test_events_failed_entry(aws: Any) -> None:
    events = aws
    sim = Sim(events=events)
    events.create_event_bus(Name="touchpoint")
    retry = [{"ErrorEquals": ["EventBridge.FailedEntry"], "IntervalSeconds": 1, "MaxAttempts": 2}]
    arn = sim.run(machine(("emit", put_events("not json", Retry=retry))))
    described = sim.describe(arn)
    assert (described["status"], described["error"]) == ("FAILED", "EventBridge.FailedEntry")
    assert json.loads(described["cause"])["Entries"][0]["ErrorCode"] == "MalformedDetail"
    assert sim.executor.usage.requests["events"] == 3
    assert described["stopDate"] == START + dt.timedelta(seconds=3)
