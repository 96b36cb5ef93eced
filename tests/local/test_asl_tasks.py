"""Tasks, Retry, Catch and callbacks (.waitForTaskToken), on small hand-written definitions."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.asl_sim import FN, START, SUCCEED, Boom, Sim, TransientError, callback, invoke, machine
from touchpoint.local.asl import InvalidOutput, InvalidToken, TaskTimedOut
from touchpoint.local.integrations import LambdaContext

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
