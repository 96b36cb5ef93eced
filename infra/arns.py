"""The fixed names and the ARNs the stack formats from names rather than from constructs: the
state machines and their executions (their names come from the manifests), the deferred-send
schedules (created at run time), and the messaging identities named in the configuration."""

from __future__ import annotations

from typing import Final

from aws_cdk import ArnFormat, Stack

from infra.config import DeployConfig
from infra.journeys import CompiledJourney
from touchpoint.settings import Settings

#: Fixed names: the contract (settings defaults, routing's state machine wildcard) expects them, so
#: there is one engine per account and Region.
BUS_NAME: Final = str(Settings.model_fields["event_bus_name"].default)
SCHEDULER_GROUP: Final = str(Settings.model_fields["scheduler_group"].default)


def state_machine_arn(scope: Stack, journey: CompiledJourney) -> str:
    return scope.format_arn(
        service="states",
        resource="stateMachine",
        resource_name=journey.state_machine_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def execution_arns(scope: Stack, journey: CompiledJourney) -> str:
    return scope.format_arn(
        service="states",
        resource="execution",
        resource_name=f"{journey.state_machine_name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def deferred_schedules_arn(scope: Stack) -> str:
    return scope.format_arn(service="scheduler", resource="schedule", resource_name=f"{SCHEDULER_GROUP}/*")


def email_identity_arn(scope: Stack, config: DeployConfig) -> str:
    if config.email_identity_arn:
        return config.email_identity_arn
    return scope.format_arn(service="ses", resource="identity", resource_name=config.sending_identity)


def email_configuration_set_arn(scope: Stack, name: str) -> str:
    return scope.format_arn(service="ses", resource="configuration-set", resource_name=name)


def sms_origination_identity_arn(scope: Stack, config: DeployConfig) -> str | None:
    identity = config.sms_origination_identity
    if identity is None or identity.startswith("arn:"):
        return identity
    kind = "phone-number" if identity.startswith("phone-") else "pool"
    return scope.format_arn(service="sms-voice", resource=kind, resource_name=identity)
