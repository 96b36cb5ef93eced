"""The Choice state's Timestamp* operators, held to
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html: timestamps are RFC 3339 with an
uppercase T between date and time and an uppercase Z (or a numeric offset); they compare as instants;
a value that is not such a timestamp does not match."""

from __future__ import annotations

from typing import Any

import pytest

from tests.local.asl_sim import Sim, machine
from touchpoint.local.asl import InvalidDefinition

NOON = "2026-12-01T12:00:00Z"


def branch(rule: dict[str, Any], data: Any) -> str:
    """Which way a Choice goes: "yes" if ``rule`` matches, else "no" (its Default)."""
    sim = Sim()
    arn = sim.run(
        machine(
            ("c", {"Type": "Choice", "Choices": [{**rule, "Next": "yes"}], "Default": "no"}),
            ("yes", {"Type": "Succeed"}),
            ("no", {"Type": "Succeed"}),
        ),
        data,
    )
    return sim.executor.path(arn)[-1]


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("TimestampEquals", "2026-12-01T12:00:00Z", "yes"),
        ("TimestampEquals", "2026-12-01T13:00:00+01:00", "yes"),  # the same instant
        ("TimestampEquals", "2026-12-01T12:00:00.000Z", "yes"),
        ("TimestampEquals", "2026-12-01T12:00:00.001Z", "no"),
        ("TimestampLessThan", "2026-12-01T12:00:01Z", "yes"),
        ("TimestampLessThan", NOON, "no"),
        ("TimestampGreaterThan", "2026-12-01T11:59:59Z", "yes"),
        ("TimestampGreaterThan", "2026-12-01T12:30:00+01:00", "yes"),  # 11:30Z
        ("TimestampLessThanEquals", NOON, "yes"),
        ("TimestampLessThanEquals", "2026-12-01T11:59:59Z", "no"),
        ("TimestampGreaterThanEquals", NOON, "yes"),
        ("TimestampGreaterThanEquals", "2026-12-02T00:00:00Z", "no"),
    ],
)
def test_timestamp_operators_compare_instants(operator: str, value: str, expected: str) -> None:
    assert branch({"Variable": "$.t", operator: value}, {"t": NOON}) == expected
    assert branch({"Variable": "$.t", f"{operator}Path": "$.other"}, {"t": NOON, "other": value}) == expected


@pytest.mark.parametrize(
    "actual",
    [
        "2026-12-01t12:00:00Z",  # a lowercase t
        "2026-12-01T12:00:00z",  # a lowercase z
        "2026-12-01T12:00:00",  # no offset
        "2026-12-01 12:00:00Z",
        "2026-12-01",
        "yesterday",
        1764590400,
        None,
        {"t": NOON},
    ],
)
def test_a_value_that_is_not_a_timestamp_does_not_match(actual: Any) -> None:
    for operator in ("TimestampEquals", "TimestampLessThanEquals", "TimestampGreaterThanEquals"):
        assert branch({"Variable": "$.t", operator: NOON}, {"t": actual}) == "no"
        assert branch({"Variable": "$.t", f"{operator}Path": "$.n"}, {"t": NOON, "n": actual}) == "no"
    assert branch({"Variable": "$.t", "IsTimestamp": False}, {"t": actual}) == "yes"


def test_is_timestamp() -> None:
    assert branch({"Variable": "$.t", "IsTimestamp": True}, {"t": "2026-12-01T12:00:00.5-05:30"}) == "yes"


def test_a_missing_variable_fails_the_execution() -> None:
    sim = Sim()
    arn = sim.run(
        machine(
            ("c", {"Type": "Choice", "Choices": [{"Variable": "$.t", "TimestampEquals": NOON, "Next": "y"}]}),
            ("y", {"Type": "Succeed"}),
        ),
        {},
    )
    assert sim.describe(arn)["error"] == "States.Runtime"


@pytest.mark.parametrize("value", ["2026-12-01T12:00:00", "noon", 5, None])
def test_a_literal_that_is_not_a_timestamp_is_refused(value: Any) -> None:
    sim = Sim()
    definition = machine(
        ("c", {"Type": "Choice", "Choices": [{"Variable": "$.t", "TimestampLessThan": value, "Next": "y"}]}),
        ("y", {"Type": "Succeed"}),
    )
    with pytest.raises(InvalidDefinition, match="state 'c': TimestampLessThan needs an RFC 3339 timestamp"):
        sim.executor.create_state_machine("m", definition)
