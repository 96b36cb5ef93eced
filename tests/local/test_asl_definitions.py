"""Definitions the executor refuses, each naming what it does not know."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.asl_sim import FN, SUCCEED, Sim, invoke, machine
from touchpoint.contract import EVENTS_PUT, LAMBDA_CALLBACK
from touchpoint.local.asl import InvalidDefinition

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
            machine(("p", {"Type": "Pass", "Parameters": {"v.$": "States.StringTrim($.x)"}, "End": True})),
            "unsupported intrinsic function States.StringTrim",
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
                    {"Type": "Choice", "Choices": [{"Variable": "$.t", "StringContains": "x", "Next": "c"}]},
                )
            ),
            "unsupported choice operator 'StringContains'",
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
