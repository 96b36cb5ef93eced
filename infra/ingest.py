"""How events reach the engine: the app bus, one EventBridge rule per ``routing.RULES`` entry, the
trigger and KPI queues (each with its dead-letter queue) and their SQS event sources, and the
dead-letter queue of failed asynchronous invocations and undeliverable schedules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs

from infra.arns import BUS_NAME
from infra.config import DeployConfig
from infra.conventions import pascal
from infra.wiring import FUNCTIONS_BY_NAME, FunctionName
from touchpoint import routing


@dataclass(frozen=True)
class Buses:
    app: events.EventBus
    default: events.IEventBus  # where AWS services (SES, Step Functions, End User Messaging) publish


@dataclass(frozen=True)
class Queues:
    trigger: sqs.Queue
    trigger_dlq: sqs.Queue
    kpi: sqs.Queue
    kpi_dlq: sqs.Queue
    invocation_dlq: sqs.Queue  # failed async invocations and undeliverable schedules

    def by_target(self, target: routing.Target) -> sqs.Queue:
        return self.trigger if target == "trigger" else self.kpi

    @property
    def dead_letter_queues(self) -> dict[str, sqs.Queue]:
        return {"trigger": self.trigger_dlq, "kpi": self.kpi_dlq, "invocation": self.invocation_dlq}


def buses(scope: Stack) -> Buses:
    app = events.EventBus(
        scope, "Bus", event_bus_name=BUS_NAME, description="Touchpoint app and journey events."
    )
    return Buses(app, events.EventBus.from_event_bus_name(scope, "DefaultBus", "default"))


def _queue(scope: Stack, construct_id: str, **kwargs: Any) -> sqs.Queue:
    return sqs.Queue(
        scope, construct_id, encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True, **kwargs
    )


def queues(scope: Stack) -> Queues:
    def fed(name: str, consumer: FunctionName) -> tuple[sqs.Queue, sqs.Queue]:
        dlq = _queue(scope, f"{name}DeadLetterQueue", retention_period=Duration.days(14))
        queue = _queue(
            scope,
            f"{name}Queue",
            visibility_timeout=Duration.seconds(6 * FUNCTIONS_BY_NAME[consumer].timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=dlq),
        )
        return queue, dlq

    trigger, trigger_dlq = fed("Trigger", "trigger_eval")
    kpi, kpi_dlq = fed("Kpi", "kpi_rollup")
    invocation_dlq = _queue(scope, "InvocationDeadLetterQueue", retention_period=Duration.days(14))
    return Queues(trigger, trigger_dlq, kpi, kpi_dlq, invocation_dlq)


def rules(
    scope: Stack, config: DeployConfig, bus: Buses, into: Queues, email_configuration_set: str
) -> dict[str, events.CfnRule]:
    """One EventBridge rule per ``routing.RULES`` entry, as ``routing.deployed`` scopes them to
    this stack's SES configuration set (and SMS origination number)."""
    created: dict[str, events.CfnRule] = {}
    for rule in routing.deployed(email_configuration_set, config.sms_origination_identity):
        source = bus.app if rule.bus == "app" else bus.default
        cfn = events.CfnRule(
            scope,
            f"Rule{pascal(rule.name)}",
            description=rule.description[:512],
            event_bus_name=source.event_bus_name,
            event_pattern=rule.pattern,
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(id=target, arn=into.by_target(target).queue_arn)
                for target in rule.targets
            ],
        )
        for target in rule.targets:
            queue = into.by_target(target)
            queue.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"From{pascal(rule.name)}Rule",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["sqs:SendMessage"],
                    resources=[queue.queue_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": cfn.attr_arn}},
                )
            )
        created[rule.name] = cfn
    return created


def event_sources(
    config: DeployConfig, functions: Mapping[FunctionName, lambda_.Function], into: Queues
) -> None:
    """The queues feed trigger_eval and kpi_rollup in batches, reporting per-item failures."""
    consumers: tuple[tuple[FunctionName, routing.Target, int], ...] = (
        ("trigger_eval", "trigger", config.trigger_max_concurrency),
        ("kpi_rollup", "kpi", config.kpi_max_concurrency),
    )
    for function, target, concurrency in consumers:
        size, window = routing.BATCHING[target]
        functions[function].add_event_source(
            sources.SqsEventSource(
                into.by_target(target),
                batch_size=size,
                max_batching_window=Duration.seconds(window),
                report_batch_item_failures=True,
                max_concurrency=concurrency,
            )
        )
