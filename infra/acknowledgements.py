"""cdk-nag (AwsSolutions) findings this stack accepts, each on the one construct it concerns.

cdk-nag 3 acknowledges through CDK's ``Validations.of(construct).acknowledge``; an IAM5 finding is
one wildcard (``AwsSolutions-IAM5[Resource::…]``), so the IDs below are computed from the very
tokens the policies use, for every journey the stack deploys. Anything not listed here fails the
synth. ``ACKNOWLEDGED`` is the list docs/deploy.md explains, rule by rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

from infra.config import DeployConfig
from infra.functions import role_of
from infra.journeys import CompiledJourney
from infra.permissions import Arns
from infra.wiring import FUNCTIONS, FunctionName, Resource

REASONS: Final = {
    "AwsSolutions-L1": (
        "Python 3.13 is the runtime the dependency layer is built for (pip --python-version 3.13, "
        "cp313 wheels) and the runtime the engine is tested on; moving to a newer runtime is a "
        "deliberate change of layer, CI and constraints together, not a drift to follow silently."
    ),
    "AwsSolutions-SF1": (
        "Journeys log at ERROR on purpose: ALL would log every state transition of every user, with "
        "profile ids in the payloads, at a cost proportional to traffic; failures are what the "
        "runbook needs, and execution history keeps the full path for 90 days."
    ),
    "AwsSolutions-SF2": (
        "X-Ray is a deploy setting (xray: true) and off by default to keep per-execution cost at zero; "
        "execution history, ERROR logs and the per-journey alarms cover operations."
    ),
    "AwsSolutions-SMG4": (
        "The unsubscribe HMAC key must stay stable: rotating it would invalidate the unsubscribe link "
        "in every email already delivered, which the law (CAN-SPAM, GDPR) requires to keep working."
    ),
    "AwsSolutions-SQS3": (
        "This queue is itself the dead-letter queue of failed asynchronous invocations (Lambda "
        "destinations) and undeliverable EventBridge Scheduler targets; it is alarmed when not empty."
    ),
    "StateMachineLogDelivery": (
        "Step Functions vended log delivery (logs:CreateLogDelivery, PutResourcePolicy, …) supports "
        "no resource-level permissions; these are the actions CDK grants for logging and nothing else."
    ),
    "ExecutionArns": (
        "Execution names are generated per user entry at run time; the wildcard is confined to the "
        "executions of this one journey's state machine (execution:touchpoint-<journey>:*)."
    ),
    "DeferredSendSchedules": (
        "Deferred-send schedules are created at run time with generated names; the wildcard is "
        "confined to the Touchpoint schedule group, which holds nothing else."
    ),
    "SnsSms": (
        "SNS Publish to a phone number has no resource ARN; IAM only accepts Resource * for it "
        "(sms_adapter: sns)."
    ),
    "XRay": "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (xray: true).",
}
ACKNOWLEDGED: Final = tuple(REASONS)


def _flatten(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag prints it: ``Ref`` → ``<X>``, ``GetAtt`` → ``<X.Y>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref":
            return f"<{argument}>"
        if name == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if name == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_flatten(part) for part in parts)
    raise ValueError(f"cannot name a cdk-nag finding for {value!r}")


def wildcard_resource(stack: Stack, arn: str) -> str:
    """The finding ID cdk-nag gives a wildcard resource in a policy."""
    return f"AwsSolutions-IAM5[Resource::{_flatten(stack.resolve(arn))}]"


class _Acknowledgements:
    """Collects (construct, rule) → reasons, so one finding with two causes gets one entry."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[IConstruct, list[str]]] = {}

    def add(self, construct: IConstruct, rule: str, reason: str) -> None:
        _, reasons = self._entries.setdefault((construct.node.path, rule), (construct, []))
        reasons.append(reason)

    def apply(self) -> None:
        for (_, rule), (construct, reasons) in self._entries.items():
            Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=" ".join(reasons)))


def _resource(construct: IConstruct) -> IConstruct:
    """The L1 resource of an L2 construct: the path cdk-nag reports."""
    return construct.node.default_child or construct


def _policy(role: iam.IRole) -> IConstruct:
    """The CfnPolicy of a role's default policy, where IAM5 findings are reported."""
    policy = role.node.find_child("DefaultPolicy")
    resource = policy.node.default_child
    if resource is None:  # pragma: no cover - a DefaultPolicy always has its CfnPolicy
        raise AssertionError(f"{role.node.path} has no policy")
    return resource


#: What a need may name that IAM can only grant through a wildcard, and why it is accepted.
WILDCARDS: Final[Mapping[Resource, str]] = {
    "journey_executions": "ExecutionArns",
    "deferred_schedules": "DeferredSendSchedules",
    "sms_phone_numbers": "SnsSms",
}


def apply(
    scope: Stack,
    config: DeployConfig,
    *,
    journeys: Sequence[CompiledJourney],
    functions: Mapping[FunctionName, lambda_.Function],
    state_machines: Mapping[str, sfn.StateMachine],
    arns: Arns,
    unsubscribe_secret: IConstruct,
    invocation_dlq: IConstruct,
) -> None:
    """Acknowledge exactly the findings the configuration produces, nothing broader: a wildcard
    finding on a function's policy follows from its needs (``infra.wiring``), as its statement does."""
    acks = _Acknowledgements()
    for spec in FUNCTIONS:
        acks.add(_resource(functions[spec.name]), "AwsSolutions-L1", REASONS["AwsSolutions-L1"])
        if config.xray:
            acks.add(
                _policy(role_of(functions[spec.name])), "AwsSolutions-IAM5[Resource::*]", REASONS["XRay"]
            )

    for journey in journeys:
        machine = state_machines[journey.id]
        acks.add(_resource(machine), "AwsSolutions-SF1", REASONS["AwsSolutions-SF1"])
        if not config.xray:
            acks.add(_resource(machine), "AwsSolutions-SF2", REASONS["AwsSolutions-SF2"])
        policy = _policy(machine.role)
        acks.add(policy, "AwsSolutions-IAM5[Resource::*]", REASONS["StateMachineLogDelivery"])
        if config.xray:
            acks.add(policy, "AwsSolutions-IAM5[Resource::*]", REASONS["XRay"])

    for spec in FUNCTIONS:
        policy = _policy(role_of(functions[spec.name]))
        for need in spec.needs:
            for name in need.resources:
                if name in WILDCARDS:
                    for arn in arns[name]:
                        acks.add(policy, wildcard_resource(scope, arn), REASONS[WILDCARDS[name]])

    acks.add(_resource(unsubscribe_secret), "AwsSolutions-SMG4", REASONS["AwsSolutions-SMG4"])
    acks.add(_resource(invocation_dlq), "AwsSolutions-SQS3", REASONS["AwsSolutions-SQS3"])
    acks.apply()
