"""The contract's one home for what the compiler, the stack, the engine and the simulator share:
the placeholder pattern, the integration ARNs and the state machine and execution names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from touchpoint import contract

ROOT = Path(__file__).resolve().parents[2]


def _substitute(definition: str, substitutions: dict[str, str]) -> str:
    """CloudFormation's DefinitionSubstitutions as its Step Functions handler applies them: the
    literal ``${key}`` of every key (CDK passes ``definition_substitutions`` through unchanged)."""
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", value)
    return definition


@pytest.mark.parametrize("key", ["SendEmailFunctionArn", "Send_Email_1", "A"])
def test_the_pattern_sees_every_placeholder_cloudformation_fills(key: str) -> None:
    definition = json.dumps({"Parameters": {"FunctionName": "${" + key + "}", "Other": "$.x"}})
    assert contract.PLACEHOLDER.findall(definition) == [key]
    assert "${" not in _substitute(definition, {key: "arn:aws:lambda:x"})


@pytest.mark.parametrize("text", ["${}", "${a-b}", "${a.b}", "$.a", "{a}"])
def test_the_pattern_ignores_what_is_not_a_placeholder(text: str) -> None:
    assert contract.PLACEHOLDER.findall(text) == []


def test_every_placeholder_the_compiler_writes_fits_the_pattern() -> None:
    names = (contract.EVENT_BUS, *contract.SEND_FUNCTION_BY_CHANNEL.values(), contract.TRIGGER_EVAL_FUNCTION)
    assert [contract.PLACEHOLDER.findall("${" + n + "}") for n in names] == [[n] for n in names]
    for manifest in (ROOT / "statemachines").glob("*.manifest.json"):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        definition = (ROOT / "statemachines" / data["definition"]).read_text(encoding="utf-8")
        assert sorted(set(contract.PLACEHOLDER.findall(definition))) == data["placeholders"]
        assert {i["resource"] for i in data["integrations"]} <= set(contract.RESOURCES)


def test_state_machine_and_execution_names() -> None:
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:" + contract.state_machine_name("cart")
    assert machine.endswith(":stateMachine:touchpoint-cart")
    assert contract.journey_of(machine) == "cart"
    assert contract.journey_of("arn:aws:states:us-east-1:123456789012:stateMachine:other") is None
    name = contract.execution_name("cart", "v1", "u-1", "e-1")
    assert (
        name
        == contract.execution_name("cart", "v1", "u-1", "e-1")
        != contract.execution_name("cart", "v1", "u-1", "e-2")
    )
    assert len(contract.execution_name("j" * 48, "v", "u", "e")) <= 80
    assert contract.execution_arn(machine, name) == (
        f"arn:aws:states:us-east-1:123456789012:execution:touchpoint-cart:{name}"
    )
