"""How the stack names and guards what it creates, whatever the concern: construct ids, service
principals, log retention and removal. Every builder creates its constructs on the stack itself
(never in a nested construct), so their logical IDs are the ones a deployed stack already has."""

from __future__ import annotations

from typing import Final

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

from infra.config import DeployConfig

RETENTION: Final = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
}


def pascal(name: str) -> str:
    """``cart-abandonment`` / ``ses_events`` → ``CartAbandonment`` / ``SesEvents`` (construct ids)."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def service(scope: Stack, name: str) -> iam.ServicePrincipal:
    """A service principal that only acts for this account (confused-deputy guard)."""
    return iam.ServicePrincipal(name, conditions={"StringEquals": {"aws:SourceAccount": scope.account}})


def removal(config: DeployConfig) -> RemovalPolicy:
    """What deleting the stack does to the data it holds."""
    return RemovalPolicy.RETAIN if config.deletion_protection else RemovalPolicy.DESTROY


def retention(config: DeployConfig) -> logs.RetentionDays:
    return RETENTION[config.log_retention_days]
