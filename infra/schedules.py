"""EventBridge Scheduler schedules: each journey's schedule trigger (from its manifest), the date
trigger sweep and the hourly KPI rollup, under one role."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Final

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs

from infra import permissions
from infra.config import DeployConfig
from infra.conventions import pascal, service
from infra.journeys import CompiledJourney
from infra.wiring import FunctionName

ROLLUP_EVERY: Final = "cron(0 * * * ? *)"


def dates_every(minutes: int) -> str:
    """The date sweep's cron: on the hour, and every ``minutes`` after it."""
    return "cron(0 * * * ? *)" if minutes == 60 else f"cron(0/{minutes} * * * ? *)"


def role(scope: Stack, statements: Sequence[iam.PolicyStatement]) -> iam.Role:
    created = iam.Role(
        scope,
        "SchedulesRole",
        assumed_by=service(scope, "scheduler.amazonaws.com"),
        description="Assumed by EventBridge Scheduler: journey schedules, date triggers, KPI rollups.",
    )
    permissions.attach(created, statements)
    return created


def build(
    scope: Stack,
    config: DeployConfig,
    journeys: Sequence[CompiledJourney],
    functions: Mapping[FunctionName, lambda_.IFunction],
    assumed: iam.Role,
    dead_letters: sqs.IQueue,
) -> dict[str, scheduler.CfnSchedule]:
    """Schedule triggers from the manifests; the date-trigger sweep; the hourly rollup."""

    def schedule(
        construct_id: str,
        name: str,
        expression: str,
        timezone: str,
        function: lambda_.IFunction,
        payload: dict[str, str],
        description: str,
    ) -> scheduler.CfnSchedule:
        created = scheduler.CfnSchedule(
            scope,
            construct_id,
            name=name,
            description=description[:512],
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            schedule_expression=expression,
            schedule_expression_timezone=timezone,
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function.function_arn,
                role_arn=assumed.role_arn,
                input=json.dumps(payload, sort_keys=True),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=5
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dead_letters.queue_arn),
            ),
        )
        # The role ARN is referenced already; what the schedule must wait for is the role's policy.
        created.node.add_dependency(assumed.node.find_child("DefaultPolicy"))
        return created

    trigger, rollup = functions["trigger_eval"], functions["kpi_rollup"]
    zone = config.default_timezone
    created = {
        "dates": schedule(
            "DateTriggersSchedule",
            "touchpoint_dates",
            dates_every(config.date_sweep_minutes),
            zone,
            trigger,
            {"action": "dates"},
            f"Date triggers (birthday, expiry …): trigger_eval every {config.date_sweep_minutes} minutes.",
        ),
        "rollup": schedule(
            "KpiRollupSchedule",
            "touchpoint_kpi_rollup",
            ROLLUP_EVERY,
            zone,
            rollup,
            {"action": "rollup"},
            "Hourly KPI rollup: rates vs targets, alerts.",
        ),
    }
    for journey in journeys:
        if journey.schedule is None:
            continue
        created[journey.id] = schedule(
            f"Journey{pascal(journey.id)}Schedule",
            f"touchpoint-{journey.id}",
            journey.schedule.expression,
            journey.schedule.timezone,
            trigger,
            # the run's id is the fire time: a retried invocation continues the same run
            {"action": "schedule", "journey_id": journey.id, "run_id": "<aws.scheduler.scheduled-time>"},
            f"Schedule trigger of journey {journey.id}.",
        )
    return created
