"""The local executor, feature by feature, on small hand-written definitions.

Lambda tasks call plain Python handlers; DynamoDB and EventBridge tasks call moto. Time is the
virtual clock's, so every timing below is exact."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.events.models import EventPattern

from touchpoint import routing
from touchpoint.contract import EVENTS_PUT, LAMBDA_CALLBACK, LAMBDA_INVOKE
from touchpoint.local.asl import (
    ExecutionAlreadyExists,
    Executor,
    InvalidDefinition,
    InvalidOutput,
    InvalidToken,
    StatusChange,
    TaskTimedOut,
    iso,
    status_change_event,
)
from touchpoint.local.clock import VirtualClock
from touchpoint.local.integrations import AwsIntegrations, LambdaContext

START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
FN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
OTHER = "arn:aws:lambda:us-east-1:123456789012:function:other"


class TransientError(Exception):
    pass


class Boom(Exception):  # noqa: N818 - the error name the tests route on
    pass


Handler = Callable[[Any, LambdaContext], Any]


class Sim:
    """An executor on a fresh clock, with Lambda handlers that record when they were called."""

    def __init__(self, *, seed: int = 1, events: Any = None) -> None:
        self.clock = VirtualClock(START)
        self.integrations = AwsIntegrations(events=events)
        self.executor = Executor(self.clock, self.integrations, seed=seed)
        self.calls: list[tuple[float, Any]] = []
        self.ended: list[StatusChange] = []
        self.executor.add_listener(self.ended.append)

    def handler(self, *results: Any, arn: str = FN) -> None:
        """Register ``arn``: each call returns the next result (raises it, if an exception)."""
        queue = list(results)

        def handle(event: Any, context: LambdaContext) -> Any:
            self.calls.append((self.elapsed(), event))
            result = queue.pop(0) if queue else None
            if isinstance(result, Exception):
                raise result
            return result(event) if callable(result) else result

        self.integrations.register_function(arn, handle)

    def elapsed(self) -> float:
        return (self.clock.now() - START).total_seconds()

    def run(self, definition: dict[str, Any], data: Any = None, *, name: str = "run", go: bool = True) -> str:
        machine = self.executor.create_state_machine("touchpoint-test", definition)
        arn = self.executor.start_execution(machine, name, json.dumps({} if data is None else data))
        if go:
            self.clock.run_all()
        return arn

    def describe(self, arn: str) -> dict[str, Any]:
        return dict(self.executor.describe_execution(arn))

    def output(self, arn: str) -> Any:
        described = self.describe(arn)
        assert described["status"] == "SUCCEEDED", described
        return json.loads(described["output"])


def machine(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {"StartAt": states[0][0], "States": dict(states), **top}


def invoke(next_state: str | None = None, **fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": FN, "Payload.$": "$"},
        **fields,
    }
    return {**state, "Next": next_state} if next_state else {**state, "End": True}


def callback(next_state: str | None = None, **fields: Any) -> dict[str, Any]:
    fields.setdefault(
        "Parameters", {"FunctionName": FN, "Payload": {"token.$": "$$.Task.Token", "input.$": "$"}}
    )
    return invoke(next_state, Resource=LAMBDA_CALLBACK, **fields)


SUCCEED: dict[str, Any] = {"Type": "Succeed"}


# ---------------------------------------------------------------------------------------------
# Task, Retry, Catch


def test_lambda_invoke_result_shape_and_result_selector() -> None:
    sim = Sim()
    sim.handler({"result": True})
    arn = sim.run(
        machine(
            (
                "eval",
                invoke(
                    ResultSelector={"ok.$": "$.Payload.result", "code.$": "$.StatusCode"}, ResultPath="$.last"
                ),
            ),
        ),
        {"user_id": "u"},
    )
    assert sim.output(arn) == {"user_id": "u", "last": {"ok": True, "code": 200}}
    history = sim.executor.get_execution_history(arn)
    succeeded = next(e for e in history if e.type == "TaskSucceeded")
    raw = json.loads(succeeded.detail["output"])
    assert raw["Payload"] == {"result": True}
    assert raw["ExecutedVersion"] == "$LATEST"
    assert raw["StatusCode"] == 200
    assert sim.calls == [(0.0, {"user_id": "u"})]
    assert sim.executor.usage.lambda_invocations == {"fn": 1}
    assert sim.executor.usage.requests["lambda"] == 1


def test_retry_timing_with_backoff_and_max_delay_on_the_virtual_clock() -> None:
    sim = Sim()
    sim.handler(TransientError("1"), TransientError("2"), TransientError("3"), TransientError("4"), "done")
    retry = [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 2, "BackoffRate": 3.0, "MaxAttempts": 5,
              "MaxDelaySeconds": 10}]  # fmt: skip
    arn = sim.run(machine(("t", invoke(Retry=retry))))
    # 2, 2×3 = 6, 2×9 = 18 → capped at 10, 2×27 → 10
    assert [at for at, _ in sim.calls] == [0, 2, 8, 18, 28]
    assert sim.output(arn)["Payload"] == "done"
    assert sim.executor.path(arn) == ["t"]  # retries are not re-entries
    # 1 state entered + 4 retries, each billed as a transition
    assert sim.executor.execution(arn).transitions == 5
    assert sim.executor.usage.state_transitions == 5
    assert sim.describe(arn)["stopDate"] == START + dt.timedelta(seconds=28)


def test_retries_exhausted_then_caught_with_result_path() -> None:
    sim = Sim()
    sim.handler(*[TransientError("again")] * 3)
    retry = [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 1, "MaxAttempts": 2}]
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "recover", "ResultPath": "$.error"}]
    arn = sim.run(
        machine(("t", invoke("after", Retry=retry, Catch=catch)), ("after", SUCCEED), ("recover", SUCCEED)),
        {"keep": 1},
    )
    assert [at for at, _ in sim.calls] == [0, 1, 3]  # default BackoffRate 2.0
    assert sim.executor.path(arn) == ["t", "recover"]
    out = sim.output(arn)
    assert out["keep"] == 1
    assert out["error"]["Error"] == "TransientError"
    assert json.loads(out["error"]["Cause"]) == {"errorMessage": "again", "errorType": "TransientError"}


def test_full_jitter_is_seeded_and_bounded() -> None:
    def delays(seed: int) -> list[float]:
        sim = Sim(seed=seed)
        sim.handler(*[TransientError("x")] * 4, "ok")
        retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 4, "BackoffRate": 2.0,
                  "JitterStrategy": "FULL"}]  # fmt: skip
        sim.run(machine(("t", invoke(Retry=retry))))
        times = [at for at, _ in sim.calls]
        return [b - a for a, b in itertools.pairwise(times)]

    first = delays(1)
    assert first == delays(1)
    assert first != delays(2)
    for delay, ceiling in zip(first, [10, 20, 40, 80], strict=True):
        assert 0 <= delay <= ceiling


def test_the_first_matching_retrier_decides() -> None:
    sim = Sim()
    sim.handler(Boom("no"), "never")
    retry = [
        {"ErrorEquals": ["Boom"], "MaxAttempts": 0},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5},
    ]
    arn = sim.run(machine(("t", invoke(Retry=retry))))
    assert len(sim.calls) == 1
    assert sim.describe(arn)["status"] == "FAILED"
    assert sim.describe(arn)["error"] == "Boom"


@pytest.mark.parametrize(
    ("error", "catchers", "target"),
    [
        ("Boom", [["States.TaskFailed"], ["States.ALL"]], "c0"),
        ("States.Timeout", [["States.TaskFailed"], ["States.ALL"]], "c1"),
        ("States.Timeout", [["Boom", "States.Timeout"], ["States.ALL"]], "c0"),
        ("Boom", [["Other"], ["Boom"]], "c1"),
        ("Boom", [["Other"]], None),
    ],
)
def test_catch_matching(error: str, catchers: list[list[str]], target: str | None) -> None:
    sim = Sim()
    states = [(f"c{i}", SUCCEED) for i in range(len(catchers))]
    catch = [{"ErrorEquals": e, "Next": f"c{i}"} for i, e in enumerate(catchers)]
    if error == "States.Timeout":
        sim.handler(None)
        task = callback(TimeoutSeconds=5, Catch=catch)
    else:
        sim.handler(Boom("x"))
        task = invoke(Catch=catch)
    arn = sim.run(machine(("t", task), *states))
    if target is None:
        assert sim.describe(arn)["status"] == "FAILED"
        assert sim.executor.path(arn) == ["t"]
    else:
        assert sim.executor.path(arn) == ["t", target]
        assert sim.output(arn)["Error"] == error  # Catch's default ResultPath "$" replaces the input


def test_catch_result_path_null_keeps_the_input() -> None:
    sim = Sim()
    sim.handler(Boom("x"))
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "done", "ResultPath": None}]
    arn = sim.run(machine(("t", invoke(Catch=catch)), ("done", SUCCEED)), {"a": 1})
    assert sim.output(arn) == {"a": 1}


def test_uncaught_failure_fails_the_execution() -> None:
    sim = Sim()
    sim.handler(Boom("the cause"))
    arn = sim.run(machine(("t", invoke())))
    described = sim.describe(arn)
    assert described["status"] == "FAILED"
    assert described["error"] == "Boom"
    assert json.loads(described["cause"]) == {"errorMessage": "the cause", "errorType": "Boom"}
    assert "output" not in described
    assert [(c["status"], c["error"]) for c in sim.ended] == [("FAILED", "Boom")]


def test_unknown_function_is_lambda_resource_not_found() -> None:
    sim = Sim()
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "done"}]
    arn = sim.run(machine(("t", invoke(Catch=catch)), ("done", SUCCEED)))
    assert sim.output(arn)["Error"] == "Lambda.ResourceNotFoundException"


def test_tasks_take_no_virtual_time() -> None:
    sim = Sim()
    sim.handler("a", "b", "c")
    arn = sim.run(machine(("t1", invoke("t2")), ("t2", invoke("t3")), ("t3", invoke())))
    assert sim.describe(arn)["stopDate"] == START
    assert sim.executor.path(arn) == ["t1", "t2", "t3"]


def test_handler_gets_a_lambda_context_and_a_copy_of_the_payload() -> None:
    sim = Sim()
    seen: list[LambdaContext] = []

    def handle(event: Any, context: LambdaContext) -> Any:
        seen.append(context)
        event["mutated"] = True
        return event

    sim.integrations.register_function(FN, handle)
    arn = sim.run(machine(("t", invoke(ResultPath="$.r", ResultSelector={"p.$": "$.Payload"}))), {"a": 1})
    assert sim.output(arn) == {"a": 1, "r": {"p": {"a": 1, "mutated": True}}}  # the state input is untouched
    assert seen[0].function_name == "fn"
    assert seen[0].invoked_function_arn == FN
    assert seen[0].get_remaining_time_in_millis() == -1  # past: a crashed attempt's lock has expired


# ---------------------------------------------------------------------------------------------
# Callbacks (.waitForTaskToken)


def test_callback_completed_during_the_invoke() -> None:
    sim = Sim()

    def send(event: Any) -> None:
        sim.executor.send_task_success(event["token"], json.dumps({"status": "sent"}))

    sim.handler(send)
    arn = sim.run(machine(("send", callback(ResultPath="$.last"))), {"u": 1})
    assert sim.output(arn) == {"u": 1, "last": {"status": "sent"}}
    assert sim.describe(arn)["stopDate"] == START


def test_callback_completed_later() -> None:
    sim = Sim()
    tokens: list[str] = []
    sim.handler(lambda event: tokens.append(event["token"]))
    arn = sim.run(machine(("send", callback(TimeoutSeconds=86400))), go=False)
    sim.clock.run_for(3600)
    assert sim.describe(arn)["status"] == "RUNNING"
    sim.executor.send_task_success(tokens[0], '{"status": "sent", "deferred": true}')
    sim.clock.run_all()
    assert sim.output(arn) == {"status": "sent", "deferred": True}
    assert sim.describe(arn)["stopDate"] == START + dt.timedelta(hours=1)
    with pytest.raises(TaskTimedOut):  # the task is over
        sim.executor.send_task_success(tokens[0], "{}")


def test_callback_failure_is_caught() -> None:
    sim = Sim()
    sim.handler(lambda event: sim.executor.send_task_failure(event["token"], "Ses.Rejected", "not verified"))
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "failed", "ResultPath": "$.last"}]
    arn = sim.run(machine(("send", callback(Catch=catch)), ("failed", SUCCEED)), {"u": 1})
    assert sim.executor.path(arn) == ["send", "failed"]
    assert sim.output(arn) == {"u": 1, "last": {"Error": "Ses.Rejected", "Cause": "not verified"}}


def test_callback_timeout() -> None:
    sim = Sim()
    tokens: list[str] = []
    sim.handler(lambda event: tokens.append(event["token"]))
    catch = [{"ErrorEquals": ["States.Timeout"], "Next": "timed-out", "ResultPath": "$.last"}]
    arn = sim.run(machine(("wait-for", callback(TimeoutSeconds=259200, Catch=catch)), ("timed-out", SUCCEED)))
    assert sim.executor.path(arn) == ["wait-for", "timed-out"]
    assert sim.output(arn)["last"] == {"Error": "States.Timeout", "Cause": ""}
    assert sim.describe(arn)["stopDate"] == START + dt.timedelta(seconds=259200)
    assert [e.type for e in sim.executor.get_execution_history(arn)][2:5] == [
        "TaskScheduled",
        "TaskSubmitted",
        "TaskTimedOut",
    ]
    with pytest.raises(TaskTimedOut) as raised:
        sim.executor.send_task_success(tokens[0], "{}")
    assert isinstance(raised.value, ClientError)  # runtime code written against boto3 catches it
    assert raised.value.response["Error"]["Code"] == "TaskTimedOut"


def test_token_errors() -> None:
    sim = Sim()
    tokens: list[str] = []
    sim.handler(lambda event: tokens.append(event["token"]))
    sim.run(machine(("t", callback())), go=False)
    sim.clock.run_for(1)
    with pytest.raises(InvalidToken):
        sim.executor.send_task_success("not-a-token", "{}")
    with pytest.raises(InvalidToken):
        sim.executor.send_task_failure("not-a-token", "E", "c")
    with pytest.raises(InvalidOutput):
        sim.executor.send_task_success(tokens[0], "{not json")
    sim.executor.send_task_success(tokens[0], "{}")
    with pytest.raises(TaskTimedOut):  # a second outcome for the same task
        sim.executor.send_task_failure(tokens[0], "E", "c")


def test_a_retried_callback_gets_a_new_token() -> None:
    sim = Sim()
    tokens: list[str] = []

    def first(event: Any) -> None:
        tokens.append(event["token"])
        raise TransientError("throttled")

    def second(event: Any) -> None:
        tokens.append(event["token"])
        sim.executor.send_task_success(event["token"], '"ok"')

    sim.handler(first, second)
    retry = [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 2}]
    arn = sim.run(machine(("t", callback(Retry=retry))))
    assert sim.output(arn) == "ok"
    assert len(set(tokens)) == 2
    with pytest.raises(TaskTimedOut):
        sim.executor.send_task_success(tokens[0], "{}")


# ---------------------------------------------------------------------------------------------
# Wait


@pytest.mark.parametrize(
    ("wait", "data", "seconds"),
    [
        ({"Seconds": 90}, {}, 90),
        ({"SecondsPath": "$.delay"}, {"delay": 30}, 30),
        ({"Timestamp": "2026-12-01T10:00:00Z"}, {}, 36000),
        ({"Timestamp": "2026-12-01T10:00:00+08:00"}, {}, 7200),
        ({"TimestampPath": "$.until"}, {"until": "2026-12-02T00:00:00.500Z"}, 86400.5),
        ({"TimestampPath": "$.until"}, {"until": "2026-11-30T00:00:00Z"}, 0),  # in the past: no wait
    ],
)
def test_wait_variants(wait: dict[str, Any], data: dict[str, Any], seconds: float) -> None:
    sim = Sim()
    arn = sim.run(machine(("w", {"Type": "Wait", "Next": "done", **wait}), ("done", SUCCEED)), data)
    assert sim.output(arn) == data
    entered = dict(sim.executor.execution(arn).states_entered())
    assert entered["done"] - START == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("wait", "data"),
    [
        ({"TimestampPath": "$.until"}, {"until": "tomorrow"}),
        ({"TimestampPath": "$.until"}, {}),
        ({"SecondsPath": "$.delay"}, {"delay": -1}),
        ({"SecondsPath": "$.delay"}, {"delay": "10"}),
    ],
)
def test_wait_with_a_bad_path_value_fails_with_states_runtime(
    wait: dict[str, Any], data: dict[str, Any]
) -> None:
    sim = Sim()
    arn = sim.run(machine(("w", {"Type": "Wait", "End": True, **wait})), data)
    assert sim.describe(arn)["status"] == "FAILED"
    assert sim.describe(arn)["error"] == "States.Runtime"


# ---------------------------------------------------------------------------------------------
# Choice


@pytest.mark.parametrize(
    ("rule", "matches"),
    [
        ({"Variable": "$.s", "StringEquals": "sent"}, True),
        ({"Variable": "$.s", "StringEquals": "skipped"}, False),
        ({"Variable": "$.n", "StringEquals": "5"}, False),  # type mismatch is no match
        ({"Variable": "$.s", "StringEqualsPath": "$.same"}, True),
        ({"Variable": "$.s", "StringLessThan": "z"}, True),
        ({"Variable": "$.s", "StringMatches": "se*"}, True),
        ({"Variable": "$.n", "NumericEquals": 5}, True),
        ({"Variable": "$.n", "NumericLessThan": 5}, False),
        ({"Variable": "$.n", "NumericLessThan": 5.5}, True),
        ({"Variable": "$.n", "NumericLessThanEquals": 5}, True),
        ({"Variable": "$.n", "NumericGreaterThan": 4}, True),
        ({"Variable": "$.n", "NumericGreaterThanEquals": 6}, False),
        ({"Variable": "$.n", "NumericGreaterThanPath": "$.small"}, True),
        ({"Variable": "$.b", "NumericEquals": 1}, False),  # booleans are not numbers
        ({"Variable": "$.b", "BooleanEquals": True}, True),
        ({"Variable": "$.n", "BooleanEquals": True}, False),
        ({"Variable": "$.missing", "IsPresent": False}, True),
        ({"Variable": "$.s", "IsPresent": True}, True),
        ({"Variable": "$.nothing", "IsNull": True}, True),
        ({"Variable": "$.s", "IsNull": True}, False),
        ({"Variable": "$.s", "IsString": True}, True),
        ({"Variable": "$.list[1]", "NumericEquals": 20}, True),
        (
            {"And": [{"Variable": "$.n", "NumericEquals": 5}, {"Variable": "$.b", "BooleanEquals": True}]},
            True,
        ),
        (
            {"And": [{"Variable": "$.n", "NumericEquals": 5}, {"Variable": "$.b", "BooleanEquals": False}]},
            False,
        ),
        (
            {"Or": [{"Variable": "$.n", "NumericEquals": 1}, {"Variable": "$.s", "StringEquals": "sent"}]},
            True,
        ),
        ({"Not": {"Variable": "$.s", "StringEquals": "sent"}}, False),
        ({"Not": {"Variable": "$.missing", "IsPresent": True}}, True),
    ],
)
def test_choice_operators(rule: dict[str, Any], matches: bool) -> None:
    sim = Sim()
    data = {"s": "sent", "same": "sent", "n": 5, "small": 1, "b": True, "nothing": None, "list": [10, 20]}
    choice = {"Type": "Choice", "Choices": [{**rule, "Next": "yes"}], "Default": "no"}
    arn = sim.run(machine(("c", choice), ("yes", SUCCEED), ("no", SUCCEED)), data)
    assert sim.executor.path(arn) == ["c", "yes" if matches else "no"]
    assert sim.output(arn) == data


def test_choice_rules_are_tried_in_order() -> None:
    sim = Sim()
    choice = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.bucket", "NumericLessThan": 3000, "Next": "a"},
            {"Variable": "$.bucket", "NumericLessThan": 7000, "Next": "b"},
        ],
        "Default": "c",
    }
    states = machine(("split", choice), ("a", SUCCEED), ("b", SUCCEED), ("c", SUCCEED))
    paths = [
        sim.executor.path(sim.run(states, {"bucket": b}, name=f"b{b}")) for b in (0, 2999, 3000, 6999, 7000)
    ]
    assert [p[-1] for p in paths] == ["a", "a", "b", "b", "c"]


def test_no_choice_matched() -> None:
    sim = Sim()
    choice = {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "yes"}]}
    arn = sim.run(machine(("c", choice), ("yes", SUCCEED)), {"n": 2})
    assert sim.describe(arn)["status"] == "FAILED"
    assert sim.describe(arn)["error"] == "States.NoChoiceMatched"


def test_choice_on_a_missing_variable_is_a_runtime_error() -> None:
    sim = Sim()
    rule = {"Variable": "$.last.status", "StringEquals": "sent", "Next": "y"}
    choice = {"Type": "Choice", "Choices": [rule], "Default": "y"}
    arn = sim.run(machine(("c", choice), ("y", SUCCEED)), {"last": {"Error": "x"}})
    assert sim.describe(arn)["error"] == "States.Runtime"
    assert "$.last.status" in sim.describe(arn)["cause"]


# ---------------------------------------------------------------------------------------------
# Pass, Succeed, Fail


def test_pass_result_parameters_and_paths() -> None:
    sim = Sim()
    arn = sim.run(
        machine(
            (
                "p1",
                {"Type": "Pass", "Result": {"reason": "cart_emptied"}, "ResultPath": "$.exit", "Next": "p2"},
            ),
            (
                "p2",
                {
                    "Type": "Pass",
                    "Parameters": {"who.$": "$.user", "fixed": 1},
                    "ResultPath": "$.a.b",
                    "Next": "p3",
                },
            ),
            ("p3", {"Type": "Pass", "InputPath": "$.a", "ResultPath": "$.copy", "Next": "p4"}),
            ("p4", {"Type": "Pass", "Next": "end"}),
            ("end", {"Type": "Succeed", "OutputPath": "$.copy"}),
        ),
        {"user": "u"},
    )
    assert sim.output(arn) == {"b": {"who": "u", "fixed": 1}}


def test_state_data_passes_by_value() -> None:
    """A result placed beside its source, then changed, leaves the source (and the execution's
    recorded input) alone: each state gets a copy, never a reference."""
    sim = Sim()
    arn = sim.run(
        machine(
            ("whole", {"Type": "Pass", "ResultPath": "$.before", "Next": "beside"}),
            ("beside", {"Type": "Pass", "InputPath": "$.a", "ResultPath": "$.b", "Next": "change"}),
            ("change", {"Type": "Pass", "Result": "changed", "ResultPath": "$.b.n", "End": True}),
        ),
        {"a": {"n": 1}},
    )
    assert sim.output(arn) == {"a": {"n": 1}, "before": {"a": {"n": 1}}, "b": {"n": "changed"}}
    assert json.loads(sim.describe(arn)["input"]) == {"a": {"n": 1}}


def test_exit_pass_as_compiled() -> None:
    sim = Sim()
    exit_state = {"Type": "Pass", "Result": {"reason": "came_back"}, "ResultPath": "$.exit", "End": True}
    arn = sim.run(machine(("x", exit_state)), {"user_id": "u"})
    assert sim.output(arn) == {"user_id": "u", "exit": {"reason": "came_back"}}


def test_fail_state() -> None:
    sim = Sim()
    arn = sim.run(machine(("f", {"Type": "Fail", "Error": "Journey.Broken", "Cause": "because"})))
    described = sim.describe(arn)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Journey.Broken",
        "because",
    )
    assert sim.executor.path(arn) == ["f"]


def test_input_and_output_path_null() -> None:
    sim = Sim()
    arn = sim.run(
        machine(("p", {"Type": "Pass", "InputPath": None, "ResultPath": "$.r", "Next": "s"}), ("s", SUCCEED)),
        {"a": 1},
    )
    assert sim.output(arn) == {"a": 1, "r": {}}
    other = Sim()
    arn = other.run(machine(("p", {"Type": "Pass", "OutputPath": None, "End": True})), {"a": 1})
    assert other.output(arn) == {}


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
        "retries.$": "$$.State.RetryCount",
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
        "retries": 0,
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


def test_states_format_of_an_object_fails_the_execution() -> None:
    sim = Sim()
    arn = sim.run(
        machine(("p", {"Type": "Pass", "Parameters": {"v.$": "States.Format('{}', $)"}, "End": True}))
    )
    assert sim.describe(arn)["error"] == "States.IntrinsicFailure"


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
    assert EventPattern.load(json.dumps(rule.pattern)).matches_event(event)
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
# Definitions the executor refuses, naming what it does not know


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (machine(("t", invoke(HeartbeatSeconds=10))), "unknown Task field(s): HeartbeatSeconds"),
        (machine(("m", {"Type": "Map", "End": True})), "unknown state type 'Map'"),
        (
            machine(("t", invoke(Resource="arn:aws:states:::sqs:sendMessage"))),
            "arn:aws:states:::sqs:sendMessage",
        ),
        (
            machine(("p", {"Type": "Pass", "Parameters": {"v.$": "States.StringToJson($.x)"}, "End": True})),
            "unsupported intrinsic function States.StringToJson",
        ),
        (
            machine(
                ("p", {"Type": "Pass", "Parameters": {"v.$": "States.Format('{} {}', $.x)"}, "End": True})
            ),
            "has 2 '{}' but 1 argument",
        ),
        (
            machine(("p", {"Type": "Pass", "Parameters": {"v.$": "$.items[*].id"}, "End": True})),
            "$.items[*].id",
        ),
        (
            machine(
                (
                    "c",
                    {"Type": "Choice", "Choices": [{"Variable": "$.t", "TimestampEquals": "x", "Next": "c"}]},
                )
            ),
            "unsupported choice operator 'TimestampEquals'",
        ),
        (machine(("p", {"Type": "Pass", "Next": "nowhere"})), "unknown state 'nowhere'"),
        (machine(("p", {"Type": "Pass", "End": True}), ("orphan", SUCCEED)), "unreachable state(s): orphan"),
        (machine(("p", {"Type": "Pass"})), "exactly one of Next or End"),
        (machine(("t", invoke(Resource=LAMBDA_CALLBACK))), "must pass $$.Task.Token"),
        (
            machine(("t", invoke(Parameters={"FunctionName": FN, "Qualifier": "1"}))),
            "unsupported parameter(s) Qualifier",
        ),
        (
            machine(("t", invoke(Retry=[{"ErrorEquals": ["States.ALL", "X"]}]))),
            "States.ALL must appear alone",
        ),
        (machine(("t", invoke(Retry=[{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}]))), "JitterStrategy"),
        (
            machine(("t", invoke(Retry=[{"ErrorEquals": ["X"], "Backoff": 2}]))),
            "unknown Retrier field(s): Backoff",
        ),
        (
            machine(("w", {"Type": "Wait", "Seconds": 1, "Timestamp": "2026-12-01T00:00:00Z", "End": True})),
            "exactly one of Seconds",
        ),
        ({**machine(("p", {"Type": "Pass", "End": True})), "QueryLanguage": "JSONata"}, "JSONata"),
        ({**machine(("p", {"Type": "Pass", "End": True})), "Extra": 1}, "unknown top-level field(s): Extra"),
        # the compiler emits no DynamoDB integration any more (decision D15): nor does the executor run one
        (
            machine(("t", invoke(Resource="arn:aws:states:::dynamodb:updateItem"))),
            "unknown resource 'arn:aws:states:::dynamodb:updateItem'",
        ),
        (machine(("t", invoke(Resource=EVENTS_PUT))), "needs an EventBridge client"),
    ],
)
def test_invalid_definitions_name_the_problem(definition: dict[str, Any], message: str) -> None:
    sim = Sim()
    with pytest.raises(InvalidDefinition) as raised:
        sim.executor.create_state_machine("touchpoint-test", definition)
    assert message in raised.value.message


def test_creating_the_same_state_machine_twice() -> None:
    sim = Sim()
    definition = machine(("p", {"Type": "Pass", "End": True}))
    arn = sim.executor.create_state_machine("touchpoint-x", definition)
    assert sim.executor.create_state_machine("touchpoint-x", definition) == arn
    with pytest.raises(ClientError, match="StateMachineAlreadyExists"):
        sim.executor.create_state_machine("touchpoint-x", machine(("q", {"Type": "Pass", "End": True})))


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
