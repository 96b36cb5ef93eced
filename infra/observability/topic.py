"""The alert topic every alarm and kpi_rollup publishes to, encrypted with its own key."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

from infra.config import DeployConfig


@dataclass(frozen=True)
class Alerts:
    key: kms.Key
    topic: sns.Topic


def alerts(scope: Stack, config: DeployConfig) -> Alerts:
    """A customer key: CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed
    SNS key, whose policy admits no service principal."""
    key = kms.Key(
        scope,
        "AlertsKey",
        description="Encrypts the Touchpoint alert topic.",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.DESTROY,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": scope.account}},
        )
    )
    topic = sns.Topic(scope, "AlertTopic", display_name="Touchpoint alerts", master_key=key, enforce_ssl=True)
    if config.alert_email:
        topic.add_subscription(subscriptions.EmailSubscription(config.alert_email))
    return Alerts(key, topic)
