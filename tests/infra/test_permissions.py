"""IAM derived in one place (infra.permissions): from the manifests' integrations and task-token
waits, and from the functions' needs in infra.wiring. No synthesis: the statements are read as
CDK renders them, on symbolic ARNs."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam

from infra import permissions
from infra.journeys import CompiledJourney, Integration, load
from infra.permissions import Arns, awaiting, derive
from infra.wiring import FUNCTIONS, INTEGRATIONS
from tests.conftest import STATEMACHINES
from tests.infra.conftest import resource_names
from touchpoint import contract

JOURNEYS = load(STATEMACHINES)
INVOKE = "arn:aws:states:::lambda:invoke"
WAIT = "arn:aws:states:::lambda:invoke.waitForTaskToken"
PUT = "arn:aws:states:::events:putEvents"


def symbolic(*, sns: bool = False) -> Arns:
    """Every resource as ``arn:<name>``, with the SMS branch of either adapter."""
    arns: dict[Any, list[str]] = {name: [f"arn:{name}"] for name in resource_names()}
    arns["sms_phone_numbers"] = ["*"] if sns else []
    for name in ("sms_origination_identity", "sms_configuration_set"):  # End User Messaging only
        arns[name] = [] if sns else [f"arn:{name}"]
    arns["journeys"] = [f"machine:{j.id}" for j in JOURNEYS]
    return arns


def rendered(statements: list[iam.PolicyStatement]) -> list[dict[str, Any]]:
    stack = Stack(App(), "Test")
    return [stack.resolve(s.to_statement_json()) for s in statements]


def journey(*integrations: tuple[str, str]) -> CompiledJourney:
    return dataclasses.replace(JOURNEYS[0], integrations=tuple(Integration(r, t) for r, t in integrations))


def test_every_resource_a_need_names_is_one_the_stack_resolves() -> None:
    named = {r for spec in FUNCTIONS for need in spec.needs for r in need.resources}
    assert named <= set(resource_names())
    assert {t for need in INTEGRATIONS.values() for t in need.targets.values()} <= set(resource_names())


def test_a_journeys_role_holds_exactly_its_manifests_integrations() -> None:
    stack = Stack(App(), "Test")
    only_events = journey((PUT, contract.EVENT_BUS))
    sms = journey(
        (WAIT, contract.SEND_SMS_FUNCTION),
        (INVOKE, contract.TRIGGER_EVAL_FUNCTION),
        (PUT, contract.EVENT_BUS),
    )
    policies = derive(
        stack, [dataclasses.replace(only_events, id="a"), dataclasses.replace(sms, id="b")], symbolic()
    )
    assert rendered(policies.journeys["a"]) == [
        {"Sid": "PutEvents", "Action": "events:PutEvents", "Effect": "Allow", "Resource": "arn:bus"}
    ]
    # one InvokeFunctions statement for invoke and waitForTaskToken, sorted by placeholder
    assert rendered(policies.journeys["b"]) == [
        {
            "Sid": "InvokeFunctions",
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": ["arn:send_sms", "arn:trigger_eval"],
        },
        {"Sid": "PutEvents", "Action": "events:PutEvents", "Effect": "Allow", "Resource": "arn:bus"},
    ]
    assert rendered(derive(stack, [journey()], symbolic()).journeys[JOURNEYS[0].id]) == []


def test_only_the_functions_a_manifest_waits_for_may_complete_its_tokens() -> None:
    stack = Stack(App(), "Test")
    emails = dataclasses.replace(journey((WAIT, contract.SEND_EMAIL_FUNCTION)), id="emails")
    assert awaiting([emails], "send_email") == [emails]
    assert awaiting([emails], "send_sms") == awaiting([emails], "trigger_eval") == []
    policies = derive(stack, [emails], symbolic())
    sids = {name: [s["Sid"] for s in rendered(statements)] for name, statements in policies.functions.items()}
    assert "CompleteSends" in sids["send_email"]
    assert "CompleteSends" not in sids["send_sms"]
    assert "ResumeWaits" not in sids["trigger_eval"]
    (complete,) = [s for s in rendered(policies.functions["send_email"]) if s["Sid"] == "CompleteSends"]
    assert complete["Resource"]["Fn::Join"][1][-1] == f":stateMachine:{emails.state_machine_name}"


def test_every_function_puts_events_first_and_the_adapters_branch_sends() -> None:
    stack = Stack(App(), "Test")
    for sns in (False, True):
        policies = derive(stack, JOURNEYS, symbolic(sns=sns))
        for spec in FUNCTIONS:
            assert rendered(policies.functions[spec.name])[0]["Sid"] == "PutEvents"
        sms = {s["Sid"]: s for s in rendered(policies.functions["send_sms"])}
        if sns:
            assert sms["PublishSms"]["Resource"] == "*"
            assert "SendTextMessage" not in sms
        else:
            assert sms["SendTextMessage"]["Resource"] == [
                "arn:sms_origination_identity",
                "arn:sms_configuration_set",
            ]
            assert "PublishSms" not in sms


def test_the_deferred_send_role_wakes_exactly_the_functions_that_pass_it() -> None:
    policies = derive(Stack(App(), "Test"), JOURNEYS, symbolic())
    passing = [s.name for s in FUNCTIONS if any("deferred_send_role" in n.resources for n in s.needs)]
    assert passing == ["send_email", "send_sms"]
    assert rendered(policies.deferred_send) == [
        {
            "Sid": "WakeSendEmail",
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": "arn:send_email",
        },
        {
            "Sid": "WakeSendSms",
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": "arn:send_sms",
        },
    ]
    assert [s["Sid"] for s in rendered(policies.schedules)] == ["InvokeEngine", "DeadLetters"]


def test_attach_keeps_the_order_of_the_statements() -> None:
    stack = Stack(App(), "Test")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    permissions.attach(role, derive(stack, JOURNEYS, symbolic()).functions["unsubscribe"])
    policy = role.node.find_child("DefaultPolicy")
    assert isinstance(policy, iam.Policy)
    document = stack.resolve(policy.document.to_json())
    assert [s["Sid"] for s in document["Statement"]] == [
        "PutEvents",
        "Profiles",
        "ConsentLedger",
        "ReadUnsubscribeKey",
    ]
