"""The three DynamoDB tables, keyed exactly as the runtime declares them (touchpoint/aws/tables.py)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb

from infra.config import DeployConfig
from infra.conventions import removal
from touchpoint.aws import tables as table_specs


@dataclass(frozen=True)
class Tables:
    profiles: dynamodb.Table
    state: dynamodb.Table
    kpis: dynamodb.Table


def _table(
    scope: Stack, construct_id: str, spec: table_specs.TableSpec, config: DeployConfig
) -> dynamodb.Table:
    string = dynamodb.AttributeType.STRING
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=spec.partition_key, type=string),
        sort_key=dynamodb.Attribute(name=spec.sort_key, type=string) if spec.sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=table_specs.TTL_ATTRIBUTE if spec.ttl else None,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        deletion_protection=config.deletion_protection,
        removal_policy=removal(config),
    )


def tables(scope: Stack, config: DeployConfig) -> Tables:
    return Tables(
        profiles=_table(scope, "ProfilesTable", table_specs.PROFILES, config),
        state=_table(scope, "StateTable", table_specs.STATE, config),
        kpis=_table(scope, "KpisTable", table_specs.KPIS, config),
    )
