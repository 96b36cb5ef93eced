"""Where the executor once gave an answer AWS does not: each test holds it to AWS's documented behaviour."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.local.asl_sim import FN, START, Sim, callback, invoke, machine
from touchpoint.local.asl import Executor, InvalidDefinition
from touchpoint.local.asl.dataflow import MAX_PAYLOAD_BYTES
from touchpoint.local.clock import VirtualClock
from touchpoint.local.integrations import TaskContext, UnsupportedIntegrationError

SYNC = "arn:aws:states:::states:startExecution.sync:2"


def _pass(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "Pass", "Parameters": parameters, "End": True}


# ---------------------------------------------------------------------------------------------
# The context object


def test_retry_count_is_in_the_context_object_of_task_states_only() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html: the
    ``State`` object has ``EnteredTime`` and ``Name``; ``RetryCount`` is there for Task states alone."""
    sim = Sim()
    sim.handler(RuntimeError("once"), {"ok": True})
    arn = sim.run(
        machine(
            (
                "t",
                invoke(
                    "p",
                    Parameters={"FunctionName": FN, "Payload": {"retry.$": "$$.State.RetryCount"}},
                    Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}],
                    ResultPath=None,
                ),
            ),
            ("p", _pass({"state.$": "$$.State"})),
        )
    )
    assert [event["retry"] for _, event in sim.calls] == [0, 1]
    assert sim.output(arn) == {"state": {"EnteredTime": "2026-12-01T00:00:01.000Z", "Name": "p"}}

    other = Sim()
    failed = other.run(machine(("p", _pass({"r.$": "$$.State.RetryCount"}))))
    assert other.describe(failed)["error"] == "States.Runtime"


def test_task_token_is_set_for_sync_integrations_too() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html: the
    ``Task.Token`` of a Task that uses a token (``.waitForTaskToken`` or the ``.sync`` run-a-job
    pattern); a request-response Task has none."""

    class SyncIntegrations:
        def __init__(self) -> None:
            self.tokens: list[str | None] = []

        def check(self, resource: str, parameters: frozenset[str] | None) -> None:
            if resource != SYNC:
                raise UnsupportedIntegrationError(resource)

        def invoke(self, resource: str, parameters: Any, context: TaskContext) -> Any:
            self.tokens.append(context.token)
            return {"Output": parameters}

    integrations = SyncIntegrations()
    executor = Executor(VirtualClock(START), integrations, seed=1)
    task = {
        "Type": "Task",
        "Resource": SYNC,
        "Parameters": {"Input": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    arn = executor.start_execution(executor.create_state_machine("sync", machine(("t", task))), "run")
    executor.clock.run_all()
    described = executor.describe_execution(arn)
    assert described["status"] == "SUCCEEDED", described
    token = json.loads(described["output"])["Output"]["Input"]["token"]
    assert isinstance(token, str)
    assert len(token) > 20
    assert integrations.tokens == [token]

    sim = Sim()
    sim.handler({})
    plain = sim.run(
        machine(("t", invoke(Parameters={"FunctionName": FN, "Payload": {"t.$": "$$.Task.Token"}})))
    )
    assert sim.describe(plain)["error"] == "States.Runtime"


# ---------------------------------------------------------------------------------------------
# SendTaskFailure without error or cause


def test_send_task_failure_without_error_or_cause_gives_nulls() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskFailure.html: error and
    cause are optional; the error output a Catch receives then has ``"Error": null, "Cause": null``
    (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html, error output)."""
    sim = Sim()
    sim.handler(lambda event: sim.executor.send_task_failure(event["token"]))
    arn = sim.run(
        machine(
            (
                "send",
                callback(Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "done"}]),
            ),
            ("done", {"Type": "Succeed"}),
        ),
        {"u": 1},
    )
    assert sim.output(arn) == {"u": 1, "error": {"Error": None, "Cause": None}}

    other = Sim()
    other.handler(lambda event: other.executor.send_task_failure(event["token"]))
    described = other.describe(other.run(machine(("send", callback()))))
    assert described["status"] == "FAILED"
    assert "error" not in described
    assert "cause" not in described


# ---------------------------------------------------------------------------------------------
# The 256 KiB payload quota


def _string_of(size: int, char: str = "x") -> str:
    """A JSON string whose compact UTF-8 text is ``size`` bytes (quotes included)."""
    return char * ((size - 2) // len(char.encode()))


@pytest.mark.parametrize("char", ["x", "é"])
def test_a_state_output_over_256_kib_fails_with_data_limit_exceeded(char: str) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html: 256 KiB (262,144 bytes of
    UTF-8) per task, state or execution payload; https://docs.aws.amazon.com/step-functions/latest/dg/
    concepts-error-handling.html: ``States.DataLimitExceeded`` when a state's output is larger."""
    sim = Sim()
    fits = _string_of(MAX_PAYLOAD_BYTES, char)
    assert len(json.dumps(fits, ensure_ascii=False).encode()) == MAX_PAYLOAD_BYTES
    ok = sim.run(machine(("p", {"Type": "Pass", "Result": fits, "End": True})), name="fits")
    assert sim.output(ok) == fits
    other = Sim()
    over = other.run(machine(("p", {"Type": "Pass", "Result": fits + char, "End": True})))
    assert other.describe(over)["error"] == "States.DataLimitExceeded"


def test_a_task_result_over_the_quota_is_terminal_catch_all_does_not_catch_it() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html: the output of a
    connector over the quota is ``States.DataLimitExceeded``, a terminal error that ``States.ALL``
    does not catch (nor does a retrier)."""
    sim = Sim()
    sim.handler({"big": _string_of(MAX_PAYLOAD_BYTES)})
    arn = sim.run(
        machine(
            (
                "t",
                invoke(
                    ResultSelector={"small": 1},
                    Retry=[{"ErrorEquals": ["States.ALL"]}],
                    Catch=[{"ErrorEquals": ["States.ALL"], "Next": "caught"}],
                ),
            ),
            ("caught", {"Type": "Succeed"}),
        )
    )
    described = sim.describe(arn)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.DataLimitExceeded"
    assert len(sim.calls) == 1  # not retried
    assert "caught" not in sim.executor.path(arn)


def test_a_caught_error_output_over_the_quota_fails() -> None:
    """The output a Catch gives (the input with the error output at its ResultPath) is the state's
    output, so the quota holds for it too."""
    sim = Sim()
    sim.handler(RuntimeError("boom"))
    arn = sim.run(
        machine(
            ("t", invoke(Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "c"}])),
            ("c", {"Type": "Succeed"}),
        ),
        {"big": _string_of(MAX_PAYLOAD_BYTES - 10)},
    )
    assert sim.describe(arn)["error"] == "States.DataLimitExceeded"
    assert "c" not in sim.executor.path(arn)


def test_a_task_input_over_the_quota_after_parameters_fails() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html: a state's input
    larger than the quota after Parameters processing is ``States.DataLimitExceeded``."""
    sim = Sim()
    sim.handler({})
    big = _string_of(MAX_PAYLOAD_BYTES)
    arn = sim.run(machine(("t", invoke(Parameters={"FunctionName": FN, "Payload": {"a": big, "b": big}}))))
    assert sim.describe(arn)["error"] == "States.DataLimitExceeded"
    assert sim.calls == []


def test_naming_data_limit_exceeded_in_a_catcher_is_refused() -> None:
    """Handling the terminal ``States.DataLimitExceeded`` is not modelled, so it is refused, not ignored."""
    sim = Sim()
    definition = machine(
        ("t", invoke(Catch=[{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "c"}])),
        ("c", {"Type": "Succeed"}),
    )
    with pytest.raises(InvalidDefinition, match=r"state 't'.*States\.DataLimitExceeded is a terminal error"):
        sim.executor.create_state_machine("m", definition)


# ---------------------------------------------------------------------------------------------
# Paths and Task fields


def test_a_bracket_key_keeps_its_escaped_quotes() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html: a reference
    path's bracket key is taken as written: ``$['a\\"b']`` names the key ``a\\"b``, backslash kept."""
    sim = Sim()
    definition = machine(("p", _pass({"v.$": "$['a\\\"b']"})))
    arn = sim.run(definition, {'a\\"b': 1, 'a"b': 2})
    assert sim.output(arn) == {"v": 1}
    missing = sim.run(definition, {'a"b': 2}, name="unescaped")
    assert sim.describe(missing)["error"] == "States.Runtime"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"TimeoutSeconds": 60},
            "state 't': TimeoutSeconds on a arn:aws:states:::lambda:invoke Task is not modelled",
        ),
        ({"HeartbeatSeconds": 60}, "state 't': unknown Task field(s): HeartbeatSeconds"),
        ({"TimeoutSecondsPath": "$.t"}, "state 't': unknown Task field(s): TimeoutSecondsPath"),
        ({"Credentials": {"RoleArn": "r"}}, "state 't': unknown Task field(s): Credentials"),
        ({"Assign": {"x": 1}}, "state 't': unknown Task field(s): Assign"),
    ],
)
def test_task_fields_that_are_not_modelled_are_refused(fields: dict[str, Any], message: str) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html: TimeoutSeconds bounds how long
    the Task runs; a resource takes no virtual time here, so on a request-response Task it is refused
    (the compiler sets it on ``.waitForTaskToken`` Tasks only, where the wait is modelled)."""
    sim = Sim()
    with pytest.raises(InvalidDefinition) as raised:
        sim.executor.create_state_machine("m", machine(("t", invoke(**fields))))
    assert message in raised.value.message


@pytest.mark.parametrize("kind", ["Parallel", "Map"])
def test_state_types_that_are_not_modelled_are_refused(kind: str) -> None:
    sim = Sim()
    with pytest.raises(InvalidDefinition, match=f"state 's': unknown state type '{kind}'"):
        sim.executor.create_state_machine("m", machine(("s", {"Type": kind, "End": True})))


def test_a_sync_resource_the_integrations_do_not_model_is_refused() -> None:
    sim = Sim()
    task = {"Type": "Task", "Resource": SYNC, "Parameters": {"Input": {}}, "End": True}
    with pytest.raises(InvalidDefinition, match="state 't': unknown resource"):
        sim.executor.create_state_machine("m", machine(("t", task)))
