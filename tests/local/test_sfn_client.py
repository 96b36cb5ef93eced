"""The runtime's own Step Functions adapter and event parser, run against the local executor: the
simulator can hand them the boto3-shaped client and the status-change events unchanged."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from touchpoint.aws.services import StepFunctionsExecutions
from touchpoint.contract import LAMBDA_CALLBACK
from touchpoint.events import ExecutionEnded, parse_envelope
from touchpoint.local.asl import Executor, StatusChange, status_change_event
from touchpoint.local.clock import VirtualClock
from touchpoint.local.integrations import AwsIntegrations
from touchpoint.local.sfn_client import LocalStepFunctionsClient

START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
FN = "arn:aws:lambda:us-east-1:123456789012:function:touchpoint-trigger_eval"
WAIT_FOR = {
    "StartAt": "wait-for",
    "States": {
        "wait-for": {
            "Type": "Task",
            "Resource": LAMBDA_CALLBACK,
            "Parameters": {
                "FunctionName": FN,
                "Payload": {"token.$": "$$.Task.Token", "user_id.$": "$.user_id"},
            },
            "TimeoutSeconds": 3600,
            "ResultPath": "$.last",
            "End": True,
        }
    },
}


def setup() -> tuple[VirtualClock, Executor, StepFunctionsExecutions, list[str], str]:
    clock = VirtualClock(START)
    tokens: list[str] = []
    integrations = AwsIntegrations(functions={FN: lambda event, _: tokens.append(event["token"])})
    executor = Executor(clock, integrations, seed=0)
    machine = executor.create_state_machine("touchpoint-wait", WAIT_FOR)
    return clock, executor, StepFunctionsExecutions(LocalStepFunctionsClient(executor)), tokens, machine


def test_runtime_adapter_start_resume_and_gone_tokens() -> None:
    clock, executor, executions, tokens, machine = setup()
    arn = executions.start(machine, "u-1-entry", {"user_id": "u-1"})
    assert executions.start(machine, "u-1-entry", {"user_id": "u-1"}) == arn  # idempotent while running
    clock.run_for(60)
    assert executions.is_running(arn)
    assert executions.running(machine) == [arn]
    assert executions.succeed(tokens[0], {"event": "email.clicked"}) is True
    clock.run_all()
    assert executions.is_running(arn) is False
    assert json.loads(executor.describe_execution(arn)["output"])["last"] == {"event": "email.clicked"}
    assert executions.succeed(tokens[0], {"again": True}) is False  # TaskTimedOut: nothing to resume
    assert executions.fail("no-such-token", "E", "c") is False  # InvalidToken
    # a closed execution with that name: the entry was processed, reported as existing
    assert executions.start(machine, "u-1-entry", {"user_id": "u-1"}) == arn
    assert executor.usage.executions_started == 1
    assert executor.usage.requests["states"] >= 8


def test_runtime_adapter_stop_and_timeout() -> None:
    clock, executor, executions, tokens, machine = setup()
    stopped = executions.start(machine, "a", {"user_id": "u-1"})
    timed_out = executions.start(machine, "b", {"user_id": "u-2"})
    clock.run_for(1)
    executions.stop(stopped, "order.placed")
    executions.stop(stopped, "again")  # stopping a stopped execution is not an error
    clock.run_all()
    assert executor.describe_execution(stopped)["status"] == "ABORTED"
    assert executor.describe_execution(stopped)["error"] == "Touchpoint.Exit"
    assert executor.describe_execution(timed_out)["error"] == "States.Timeout"
    assert executions.succeed(tokens[1], {}) is False


def test_status_change_events_parse_as_execution_ended() -> None:
    clock, executor, executions, tokens, machine = setup()
    changes: list[StatusChange] = []
    executor.add_listener(changes.append)
    arn = executions.start(machine, "a", {"user_id": "u-1"})
    clock.run_for(5)
    executions.succeed(tokens[0], {"event": "x"})
    clock.run_all()
    event: dict[str, Any] = status_change_event(
        changes[0], region="us-east-1", account_id="123456789012", event_id="1"
    )
    parsed = parse_envelope(json.loads(json.dumps(event)))  # as delivered through SQS
    assert parsed == ExecutionEnded(
        arn,
        machine,
        "a",
        "SUCCEEDED",
        START + dt.timedelta(seconds=5),
        {"user_id": "u-1"},
        {"user_id": "u-1", "last": {"event": "x"}},
    )
