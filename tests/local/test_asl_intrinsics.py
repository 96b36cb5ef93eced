"""Every ``States.*`` intrinsic function, held to the examples and rules of AWS's documentation:
https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest

from tests.local.asl_sim import Sim, machine
from touchpoint.local.asl import InvalidDefinition

DIGITS = [1, 2, 3, 4, 5, 6, 7, 8, 9]


def evaluate(expression: str, data: Any = None, *, name: str = "run") -> dict[str, Any]:
    """Run ``expression`` in a Pass state's Parameters; the execution's description."""
    sim = Sim()
    arn = sim.run(
        machine(("p", {"Type": "Pass", "Parameters": {"v.$": expression}, "End": True})), data, name=name
    )
    return sim.describe(arn)


def value(expression: str, data: Any = None, *, name: str = "run") -> Any:
    described = evaluate(expression, data, name=name)
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])["v"]


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        # The documentation's own examples.
        ("States.Array($.Id)", {"Id": 123456}, [123456]),
        ("States.Array('a', 1, true, null, $.o)", {"o": {"k": []}}, ["a", 1, True, None, {"k": []}]),
        ("States.ArrayPartition($.inputArray, 4)", {"inputArray": DIGITS}, [[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ("States.ArrayContains($.inputArray, $.lookingFor)", {"inputArray": DIGITS, "lookingFor": 5}, True),
        ("States.ArrayContains($.a, true)", {"a": [1, {"k": 1}]}, False),  # JSON equality: true is not 1
        ("States.ArrayContains($.a, $.k)", {"a": [1, {"k": 1, "j": 2}], "k": {"j": 2, "k": 1}}, True),
        ("States.ArrayRange(1, 9, 2)", None, [1, 3, 5, 7, 9]),
        ("States.ArrayRange(1, 1, 1)", None, [1]),
        ("States.ArrayGetItem($.inputArray, $.index)", {"inputArray": DIGITS, "index": 5}, 6),
        ("States.ArrayLength($.inputArray)", {"inputArray": DIGITS}, 9),
        ("States.ArrayUnique($.values)", {"values": [1, 2, 3, 3, 3, 3, 3, 3, 4]}, [1, 2, 3, 4]),
        ("States.ArrayUnique($.values)", {"values": [1, True, 1, "1"]}, [1, True, "1"]),
        ("States.Base64Encode($.input)", {"input": "Data to encode"}, "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode($.base64)", {"base64": "RGF0YSB0byBlbmNvZGU="}, "Data to encode"),
        (
            "States.Hash($.Data, $.Algorithm)",
            {"Data": "input data", "Algorithm": "SHA-1"},
            "aaff4a450a104cd177d28d18d74485e8cae074b7",
        ),
        ("States.Hash('input data', 'MD5')", None, "812f45842bc6d66ee14572ce20db8e86"),
        (
            "States.Hash('', 'SHA-256')",
            None,
            hashlib.sha256(b"").hexdigest(),
        ),
        (
            "States.JsonMerge($.json1, $.json2, false)",
            {"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}},
            {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3},
        ),
        ("States.StringToJson($.escapedJsonString)", {"escapedJsonString": '{"foo": "bar"}'}, {"foo": "bar"}),
        ("States.JsonToString($.unescapedJson)", {"unescapedJson": {"foo": "bar"}}, '{"foo":"bar"}'),
        ("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}, 110),
        ("States.MathAdd(1.5, 1)", None, 3),  # a non-integer is rounded to the nearest integer
        (
            "States.StringSplit($.inputString, $.splitter)",
            {"inputString": "1,2,3,4,5", "splitter": ","},
            ["1", "2", "3", "4", "5"],
        ),
        (
            "States.StringSplit($.inputString, $.splitter)",
            {"inputString": "This.is+a,test=string", "splitter": ".+,="},
            ["This", "is", "a", "test", "string"],
        ),
        # Nesting (AWS allows 10 levels) and Format around the others.
        (
            "States.ArrayGetItem(States.StringSplit("
            "States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 0)",
            {"arn": "arn:aws:imagebuilder:us-east-1:1:image-recipe/recipe/1.0.0"},
            "1",
        ),
        ("States.Format('{} items', States.ArrayLength($.a))", {"a": [1, 2]}, "2 items"),
        ("States.Format('\\{\\} \\' \\\\ {}', 1)", None, "{} ' \\ 1"),
        (
            "States.Format($.template, $.name)",
            {"name": "Arnav", "template": "Hello, my name is {}."},
            "Hello, my name is Arnav.",
        ),
    ],
)
def test_intrinsics(expression: str, data: Any, expected: Any) -> None:
    assert value(expression, data) == expected


@pytest.mark.parametrize(
    ("argument", "data", "expected"),
    [
        ("$.o", {"o": {"Arg1": 1, "Arg2": []}}, "{Arg1=1, Arg2=[]}"),  # the documented rendering
        ("$.a", {"a": ["x", 1.5, None, True, {"k": "v"}]}, "[x, 1.5, null, true, {k=v}]"),
        (
            "$$.StateMachine",
            None,
            "{Id=arn:aws:states:us-east-1:123456789012:stateMachine:touchpoint-test, Name=touchpoint-test}",
        ),
        ("$$.Execution.Name", None, "run"),
    ],
)
def test_states_format_writes_objects_and_arrays_as_aws_does(argument: str, data: Any, expected: str) -> None:
    """States.Format writes an object or array argument the way Java's Map/List toString does."""
    assert value(f"States.Format('{{}}', {argument})", data) == expected


def test_math_random_is_in_range_and_reproducible_per_execution() -> None:
    """MathRandom's start is inclusive and its end exclusive; with a seed it is the same every time. The
    executor seeds the rest from the execution ARN, so a simulation replays exactly."""
    draws = [value("States.MathRandom(1, 999)", name=f"run-{i}") for i in range(30)]
    assert all(1 <= d < 999 for d in draws)
    assert len(set(draws)) > 1
    assert draws == [value("States.MathRandom(1, 999)", name=f"run-{i}") for i in range(30)]
    assert {value("States.MathRandom(0, 2)", name=f"run-{i}") for i in range(30)} == {0, 1}
    seeded = {value("States.MathRandom(1, 1000000, 7)", name=f"run-{i}") for i in range(3)}
    assert len(seeded) == 1


def test_uuid_is_a_version_4_uuid_reproducible_per_execution() -> None:
    first = value("States.UUID()", name="a")
    assert uuid.UUID(first).version == 4
    assert value("States.UUID()", name="a") == first
    assert value("States.UUID()", name="b") != first
    both = value("States.Array(States.UUID(), States.UUID())")
    assert both[0] != both[1]


@pytest.mark.parametrize(
    "expression",
    [
        "States.ArrayRange(1, 1001, 1)",  # more than 1000 items
        "States.ArrayRange(1, 9, 0)",
        "States.ArrayRange(1, 'a', 1)",
        "States.ArrayPartition($.a, 0)",
        "States.ArrayPartition($.s, 2)",
        "States.ArrayGetItem($.a, 9)",
        "States.ArrayGetItem($.a, -1)",
        "States.ArrayLength($.s)",
        "States.ArrayUnique($.o)",
        "States.ArrayContains($.s, 1)",
        "States.Base64Encode($.a)",
        "States.Base64Encode($.long)",  # over 10,000 characters
        "States.Base64Decode('not base64!')",
        "States.Hash($.s, 'SHA-3')",
        "States.Hash($.a, 'MD5')",
        "States.Hash($.long, 'MD5')",
        "States.JsonMerge($.o, $.o, true)",  # only the shallow merge exists
        "States.JsonMerge($.o, $.a, false)",
        "States.StringToJson('{nope')",
        "States.StringToJson($.a)",
        "States.MathAdd($.s, 1)",
        "States.MathAdd(2147483647, 1)",  # out of the integer range
        "States.MathRandom(5, 5)",
        "States.MathRandom('a', 5)",
        "States.StringSplit($.a, ',')",
        "States.StringSplit($.s, 1)",
        "States.Format($.s, 1)",  # a template from a path with fewer '{}' than arguments
        "States.Format($.a, 1)",
    ],
)
def test_bad_arguments_fail_with_intrinsic_failure(expression: str) -> None:
    data = {"a": [1, 2], "s": "text", "o": {"k": 1}, "long": "x" * 10_001}
    described = evaluate(expression, data)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.IntrinsicFailure"
    assert expression.split("(", maxsplit=1)[0] in described["cause"]


def test_the_limits_themselves_are_allowed() -> None:
    assert value("States.ArrayRange(1, 1000, 1)") == list(range(1, 1001))
    assert value("States.Base64Encode($.s)", {"s": "x" * 10_000}).startswith("eHh4")
    assert len(value("States.Hash($.s, 'SHA-512')", {"s": "x" * 10_000})) == 128


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("States.ArrayLength()", "States.ArrayLength takes 1 argument(s), got 0"),
        ("States.UUID(1)", "States.UUID takes 0 argument(s), got 1"),
        ("States.MathRandom(1, 2, 3, 4)", "States.MathRandom takes 2 to 3 argument(s), got 4"),
        ("States.JsonMerge($.a, $.b)", "States.JsonMerge takes 3 argument(s), got 2"),
        ("States.Format()", "States.Format takes at least 1 argument(s), got 0"),
        ("States.Array(" * 11 + ")" * 11, "more than 10 nested intrinsic functions"),
        ("States.StringTrim($.a)", "unsupported intrinsic function States.StringTrim"),
        ("States.Format('a\\nb')", "an open escape backslash"),  # only ' { } and \\ are escaped
        ("States.Format('a\\')", "unterminated string"),  # the backslash escapes the quote
    ],
)
def test_a_wrong_number_of_arguments_is_refused_with_the_definition(expression: str, message: str) -> None:
    sim = Sim()
    with pytest.raises(InvalidDefinition) as raised:
        sim.executor.create_state_machine(
            "m", machine(("p", {"Type": "Pass", "Parameters": {"v.$": expression}, "End": True}))
        )
    assert "state 'p'" in raised.value.message
    assert message in raised.value.message


def test_ten_nested_intrinsics_are_allowed() -> None:
    assert value("States.Array(" * 10 + ")" * 10) == [[[[[[[[[[]]]]]]]]]]
