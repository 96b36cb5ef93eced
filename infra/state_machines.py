"""One Standard state machine per compiled journey, its definition and substitutions from the
manifest, its role holding exactly the statements ``infra.permissions`` derives from it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn

from infra import permissions
from infra.config import DeployConfig
from infra.conventions import pascal, retention, service
from infra.journeys import CompiledJourney


def journey_logs(scope: Stack, config: DeployConfig) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
        "JourneyLogs",
        log_group_name=f"/aws/vendedlogs/states/{config.stack_name}-journeys",
        retention=retention(config),
        removal_policy=RemovalPolicy.DESTROY,
    )


def build(
    scope: Stack,
    config: DeployConfig,
    journeys: Sequence[CompiledJourney],
    substitutions: Mapping[str, str],
    statements: Mapping[str, Sequence[iam.PolicyStatement]],
    destination: logs.ILogGroup,
) -> dict[str, sfn.StateMachine]:
    """``substitutions``: the value of every placeholder the stack fills; ``statements``: each
    journey's role policy, by journey id."""
    created = {}
    for journey in journeys:
        cid = f"Journey{pascal(journey.id)}"
        role = iam.Role(
            scope,
            f"{cid}Role",
            assumed_by=service(scope, "states.amazonaws.com"),
            description=f"Journey {journey.id}: the integrations of its manifest only.",
        )
        permissions.attach(role, statements[journey.id])
        created[journey.id] = sfn.StateMachine(
            scope,
            cid,
            state_machine_name=journey.state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(journey.definition)),
            definition_substitutions={p: substitutions[p] for p in journey.placeholders},
            role=role,
            logs=sfn.LogOptions(
                destination=destination, level=sfn.LogLevel.ERROR, include_execution_data=True
            ),
            tracing_enabled=config.xray,
        )
    return created
