"""Wait, Choice, Pass, Succeed and Fail states, on small hand-written definitions."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from tests.local.asl_sim import START, SUCCEED, Sim, machine

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
