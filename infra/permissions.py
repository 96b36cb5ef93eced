"""Every IAM statement of the stack's own roles, derived in one place: a journey's role from the
service integrations of its manifest, a function's role from its needs (``infra.wiring``) and from
the manifests that wait for its task tokens, the deferred-send role from the functions that pass
it to EventBridge Scheduler, the schedules role from ``SCHEDULES_NEEDS``.

Statements keep the order of the needs, so a policy reads as its table; CDK's own grants (log
writes, queue consumption, log delivery) come before or after them as CDK adds them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from infra.arns import state_machine_arn
from infra.conventions import pascal
from infra.journeys import CompiledJourney
from infra.wiring import (
    FUNCTIONS,
    INTEGRATIONS,
    PLACEHOLDER_FUNCTIONS,
    PUT_EVENTS,
    SCHEDULES_NEEDS,
    FunctionName,
    Need,
    Resource,
)
from touchpoint import contract

#: ARNs by what a need names; ``journeys_awaiting`` is resolved per function, from the manifests.
Arns = Mapping[Resource, Sequence[str]]


@dataclass(frozen=True)
class Policies:
    functions: Mapping[FunctionName, list[iam.PolicyStatement]]
    journeys: Mapping[str, list[iam.PolicyStatement]]  # by journey id
    deferred_send: list[iam.PolicyStatement]
    schedules: list[iam.PolicyStatement]


def awaiting(journeys: Sequence[CompiledJourney], function: FunctionName) -> list[CompiledJourney]:
    """The journeys whose manifests wait for ``function`` to complete a task token."""
    placeholders = {p for p, name in PLACEHOLDER_FUNCTIONS.items() if name == function}
    return [j for j in journeys if placeholders & set(j.targets(contract.LAMBDA_CALLBACK))]


def derive(scope: Stack, journeys: Sequence[CompiledJourney], arns: Arns) -> Policies:
    """The statements of every role of the stack, from the manifests and the needs."""

    def statements(need: Need, function: FunctionName | None = None) -> list[iam.PolicyStatement]:
        resources = [arn for name in need.resources for arn in resolve(name, function)]
        if not resources:  # no journey waits on this function; the other SMS adapter
            return []
        conditions = dict(need.conditions) if need.conditions else None
        return [
            iam.PolicyStatement(
                sid=need.sid, actions=list(need.actions), resources=resources, conditions=conditions
            )
        ]

    def resolve(name: Resource, function: FunctionName | None) -> Sequence[str]:
        if name != "journeys_awaiting":
            return arns[name]
        assert function is not None, "only a function's need names the journeys awaiting it"
        return [state_machine_arn(scope, j) for j in awaiting(journeys, function)]

    passing = [
        spec.name for spec in FUNCTIONS if any("deferred_send_role" in n.resources for n in spec.needs)
    ]
    return Policies(
        functions={
            spec.name: [s for need in (PUT_EVENTS, *spec.needs) for s in statements(need, spec.name)]
            for spec in FUNCTIONS
        },
        journeys={j.id: _journey_statements(j, arns) for j in journeys},
        # the deferred-send role wakes exactly the functions that hand it to the Scheduler
        deferred_send=[
            s
            for name in passing
            for s in statements(Need(f"Wake{pascal(name)}", ("lambda:InvokeFunction",), (name,)))
        ],
        schedules=[s for need in SCHEDULES_NEEDS for s in statements(need)],
    )


def _journey_statements(journey: CompiledJourney, arns: Arns) -> list[iam.PolicyStatement]:
    """One statement per Sid of the manifest's integrations, on the resources their targets name
    (sorted by placeholder, as ``CompiledJourney.targets`` lists them)."""
    targets: dict[str, set[str]] = {}
    needs = {}
    for resource, need in INTEGRATIONS.items():
        used = {i.target for i in journey.integrations if i.resource == resource}
        if used:
            targets.setdefault(need.sid, set()).update(used)
            needs[need.sid] = need
    return [
        iam.PolicyStatement(
            sid=sid,
            actions=list(need.actions),
            resources=[
                arn for placeholder in sorted(targets[sid]) for arn in arns[need.targets[placeholder]]
            ],
        )
        for sid, need in needs.items()
    ]


def attach(role: iam.IRole, statements: Sequence[iam.PolicyStatement]) -> None:
    for statement in statements:
        role.add_to_principal_policy(statement)
