"""The Touchpoint stack: data, event routing, functions, one state machine per compiled journey,
schedules, messaging and, through ``infra.observability``, dashboards and alarms.

Everything journey-specific is derived from ``statemachines/`` (``infra.journeys``) and the shared
contracts in ``touchpoint/`` (routing rules, placeholders, settings names, metrics), so adding a
journey is a compile and a deploy, and the runtime and the stack cannot disagree on a name."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Final

from aws_cdk import ArnFormat, CfnOutput, Duration, Fn, RemovalPolicy, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_smsvoice as smsvoice
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import acknowledgements, journeys, observability, packaging
from infra.config import DeployConfig
from infra.journeys import CompiledJourney
from infra.wiring import FUNCTIONS, PLACEHOLDER_FUNCTIONS, FunctionName, FunctionSpec, env_name
from touchpoint import contract, metrics, routing
from touchpoint.aws import tables as table_specs
from touchpoint.settings import Settings

#: Fixed names: the contract (settings defaults, routing's state machine wildcard) expects them, so
#: there is one engine per account and Region.
BUS_NAME: Final = str(Settings.model_fields["event_bus_name"].default)
SCHEDULER_GROUP: Final = str(Settings.model_fields["scheduler_group"].default)
BUNDLE_ROOT: Final = "/var/task"
#: DynamoDB actions by need (no Streams, no DescribeTable: boto3 data calls need neither).
ITEM_READ: Final = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
]
ITEM_WRITE: Final = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
]
TABLE_SCAN: Final = ["dynamodb:Scan"]  # schedule and date triggers page through the profiles


def dates_every(minutes: int) -> str:
    """The date sweep's cron: on the hour, and every ``minutes`` after it."""
    return "cron(0 * * * ? *)" if minutes == 60 else f"cron(0/{minutes} * * * ? *)"


ROLLUP_EVERY: Final = "cron(0 * * * ? *)"
#: SES event type published for each EventBridge detail-type the routing rules expect.
SES_EVENTS: Final = {
    "Email Delivered": ses.EmailSendingEvent.DELIVERY,
    "Email Opened": ses.EmailSendingEvent.OPEN,
    "Email Clicked": ses.EmailSendingEvent.CLICK,
    "Email Bounced": ses.EmailSendingEvent.BOUNCE,
    "Email Complaint Received": ses.EmailSendingEvent.COMPLAINT,
    "Email Rendering Failed": ses.EmailSendingEvent.RENDERING_FAILURE,
    "Email Rejected": ses.EmailSendingEvent.REJECT,
}
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


@dataclass(frozen=True)
class Tables:
    profiles: dynamodb.Table
    state: dynamodb.Table
    kpis: dynamodb.Table


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


class TouchpointStack(Stack):
    """The whole engine, one stack: ``cdk deploy`` and the next event is handled."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        bundle_layer: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="Touchpoint marketing-automation engine (journeys compiled to Step Functions).",
            **kwargs,
        )
        self.config = config
        self.journeys = journeys.load(config.statemachines_dir)
        unknown = set(config.kpi_step_dimension) - {j.id for j in self.journeys}
        if unknown:
            raise journeys.ProjectError(f"kpi_step_dimension names unknown journeys: {sorted(unknown)}")
        Tags.of(self).add("project", "touchpoint")
        self.removal = RemovalPolicy.RETAIN if config.deletion_protection else RemovalPolicy.DESTROY
        self.retention = RETENTION[config.log_retention_days]

        self.tables = self._tables()
        self.bus = events.EventBus(
            self, "Bus", event_bus_name=BUS_NAME, description="Touchpoint app and journey events."
        )
        self.default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.key = self._alerts_key()
        self.alert_topic = sns.Topic(
            self, "AlertTopic", display_name="Touchpoint alerts", master_key=self.key, enforce_ssl=True
        )
        if config.alert_email:
            self.alert_topic.add_subscription(subscriptions.EmailSubscription(config.alert_email))
        self.queues = self._queues()
        self.email_configuration_set, self.email_identity = self._email()
        self.rules = self._rules()
        self.sms_configuration_set = self._sms()
        self.unsubscribe_secret = secretsmanager.Secret(
            self,
            "UnsubscribeSecret",
            description="HMAC key of Touchpoint unsubscribe links.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=self.removal,
        )
        self.scheduler_group = scheduler.CfnScheduleGroup(self, "DeferredSendGroup", name=SCHEDULER_GROUP)
        self.deferred_send_role = iam.Role(
            self,
            "DeferredSendRole",
            assumed_by=self._service("scheduler.amazonaws.com"),
            description="Assumed by EventBridge Scheduler to wake deferred sends.",
        )

        code = packaging.function_code(config.project_dir)
        layer = packaging.dependencies_layer(self, "DependenciesLayer", bundle=bundle_layer)
        self.functions: dict[FunctionName, lambda_.Function] = {
            spec.name: self._function(spec, code, layer) for spec in FUNCTIONS
        }
        self.unsubscribe_url = self.functions["unsubscribe"].add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.NONE
        )
        self._event_sources()
        self._environment()
        self.journey_logs = logs.LogGroup(
            self,
            "JourneyLogs",
            log_group_name=f"/aws/vendedlogs/states/{config.stack_name}-journeys",
            retention=self.retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machines = {j.id: self._state_machine(j) for j in self.journeys}
        self._function_permissions()
        self.schedules_role = iam.Role(
            self,
            "SchedulesRole",
            assumed_by=self._service("scheduler.amazonaws.com"),
            description="Assumed by EventBridge Scheduler: journey schedules, date triggers, KPI rollups.",
        )
        self.schedules = self._schedules()
        self.observability = observability.Observability(self, "Observability", stack=self)
        self._outputs()
        acknowledgements.apply(self)

    # ------------------------------------------------------------------ helpers

    def _service(self, service: str) -> iam.ServicePrincipal:
        """A service principal that only acts for this account (confused-deputy guard)."""
        return iam.ServicePrincipal(service, conditions={"StringEquals": {"aws:SourceAccount": self.account}})

    def state_machine_arn(self, journey: CompiledJourney) -> str:
        return self.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=journey.state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def execution_arns(self, journey: CompiledJourney) -> str:
        return self.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{journey.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    @staticmethod
    def _allow(
        role: iam.IRole, sid: str, actions: list[str], resources: list[str], **conditions: Any
    ) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(sid=sid, actions=actions, resources=resources, conditions=conditions or None)
        )

    # ------------------------------------------------------------------ data and messaging

    def _table(self, construct_id: str, spec: table_specs.TableSpec) -> dynamodb.Table:
        """Keys and TTL exactly as the runtime declares them (touchpoint/aws/tables.py)."""
        string = dynamodb.AttributeType.STRING
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=string),
            sort_key=dynamodb.Attribute(name=spec.sort_key, type=string) if spec.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=table_specs.TTL_ATTRIBUTE if spec.ttl else None,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=self.config.deletion_protection,
            removal_policy=self.removal,
        )

    def _tables(self) -> Tables:
        return Tables(
            profiles=self._table("ProfilesTable", table_specs.PROFILES),
            state=self._table("StateTable", table_specs.STATE),
            kpis=self._table("KpisTable", table_specs.KPIS),
        )

    def _alerts_key(self) -> kms.Key:
        """Customer key of the alert topic: CloudWatch alarms cannot publish to a topic encrypted
        with the AWS-managed SNS key, whose policy admits no service principal."""
        key = kms.Key(
            self,
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
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        return key

    def _queue(self, construct_id: str, **kwargs: Any) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            **kwargs,
        )

    def _queues(self) -> Queues:
        def fed(name: str, spec: FunctionSpec) -> tuple[sqs.Queue, sqs.Queue]:
            dlq = self._queue(f"{name}DeadLetterQueue", retention_period=Duration.days(14))
            queue = self._queue(
                f"{name}Queue",
                visibility_timeout=Duration.seconds(6 * spec.timeout_seconds),
                dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=dlq),
            )
            return queue, dlq

        by_name = {spec.name: spec for spec in FUNCTIONS}
        trigger, trigger_dlq = fed("Trigger", by_name["trigger_eval"])
        kpi, kpi_dlq = fed("Kpi", by_name["kpi_rollup"])
        invocation_dlq = self._queue("InvocationDeadLetterQueue", retention_period=Duration.days(14))
        return Queues(trigger, trigger_dlq, kpi, kpi_dlq, invocation_dlq)

    def _rules(self) -> dict[str, events.CfnRule]:
        """One EventBridge rule per ``routing.RULES`` entry, as ``routing.deployed`` scopes them to
        this stack's SES configuration set (and SMS origination number)."""
        created: dict[str, events.CfnRule] = {}
        scoped = routing.deployed(
            self.email_configuration_set.configuration_set_name, self.config.sms_origination_identity
        )
        for rule in scoped:
            bus = self.bus if rule.bus == "app" else self.default_bus
            cfn = events.CfnRule(
                self,
                f"Rule{pascal(rule.name)}",
                description=rule.description[:512],
                event_bus_name=bus.event_bus_name,
                event_pattern=rule.pattern,
                state="ENABLED",
                targets=[
                    events.CfnRule.TargetProperty(id=target, arn=self.queues.by_target(target).queue_arn)
                    for target in rule.targets
                ],
            )
            for target in rule.targets:
                queue = self.queues.by_target(target)
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

    def _email(self) -> tuple[ses.ConfigurationSet, ses.EmailIdentity | None]:
        """SES configuration set: every event the routing rules expect, to the default bus; and the
        sending identity when the stack is asked to create it."""
        configuration_set = ses.ConfigurationSet(
            self,
            "EmailConfigurationSet",
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        configuration_set.add_event_destination(
            "ToEventBridge",
            destination=ses.EventDestination.event_bus(self.default_bus),
            events=[SES_EVENTS[detail_type] for detail_type in routing.SES_DETAIL_TYPES],
        )
        if not self.config.create_email_identity:
            return configuration_set, None
        identity = self.config.sending_identity
        created = ses.EmailIdentity(
            self,
            "EmailIdentity",
            identity=ses.Identity.email(identity) if "@" in identity else ses.Identity.domain(identity),
            configuration_set=configuration_set,
        )
        return configuration_set, created

    def _sms(self) -> smsvoice.CfnConfigurationSet | None:
        """End User Messaging configuration set that send_sms names on every SendTextMessage.

        Delivery status needs no event destination: the service publishes "Text Message Delivery
        Status Updated" to the default bus itself, where the ``sms-events`` routing rule takes it."""
        if self.config.sms_adapter != "end-user-messaging":
            return None
        return smsvoice.CfnConfigurationSet(self, "SmsConfigurationSet")

    # ------------------------------------------------------------------ functions

    def _function(
        self, spec: FunctionSpec, code: lambda_.Code, layer: lambda_.ILayerVersion
    ) -> lambda_.Function:
        cid = spec.construct_id
        role = iam.Role(
            self,
            f"{cid}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Touchpoint {spec.name}: only the tables and actions it uses.",
        )
        log_group = logs.LogGroup(
            self, f"{cid}Logs", retention=self.retention, removal_policy=RemovalPolicy.DESTROY
        )
        reserved = {
            "send_email": self.config.send_email_concurrency,
            "send_sms": self.config.send_sms_concurrency,
            "unsubscribe": self.config.unsubscribe_concurrency,
        }.get(spec.name)
        asynchronous = spec.name != "unsubscribe"  # Scheduler invokes the other four asynchronously
        function = lambda_.Function(
            self,
            cid,
            description=spec.description,
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=spec.handler,
            code=code,
            layers=[layer],
            role=role,
            log_group=log_group,
            timeout=Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            reserved_concurrent_executions=reserved,
            tracing=lambda_.Tracing.ACTIVE if self.config.xray else lambda_.Tracing.DISABLED,
            on_failure=destinations.SqsDestination(self.queues.invocation_dlq) if asynchronous else None,
            environment={
                "POWERTOOLS_SERVICE_NAME": f"touchpoint-{spec.name.replace('_', '-')}",
                "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": self.config.log_level,
            },
        )
        log_group.grant_write(role)
        return function

    def _event_sources(self) -> None:
        consumers: tuple[tuple[FunctionName, routing.Target, int], ...] = (
            ("trigger_eval", "trigger", self.config.trigger_max_concurrency),
            ("kpi_rollup", "kpi", self.config.kpi_max_concurrency),
        )
        for function, target, concurrency in consumers:
            size, window = routing.BATCHING[target]
            self.functions[function].add_event_source(
                sources.SqsEventSource(
                    self.queues.by_target(target),
                    batch_size=size,
                    max_batching_window=Duration.seconds(window),
                    report_batch_item_failures=True,
                    max_concurrency=concurrency,
                )
            )

    def setting_values(self) -> dict[str, str]:
        """Every TOUCHPOINT_* value the stack can give, by Settings field (absent = runtime default)."""
        config = self.config
        values: dict[str, str | None] = {
            "profiles_table": self.tables.profiles.table_name,
            "state_table": self.tables.state.table_name,
            "kpis_table": self.tables.kpis.table_name,
            "event_bus_name": self.bus.event_bus_name,
            "state_machine_arn_prefix": Fn.sub(
                "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
            ),
            "scheduler_role_arn": self.deferred_send_role.role_arn,
            "scheduler_group": self.scheduler_group.ref,
            "ses_configuration_set": self.email_configuration_set.configuration_set_name,
            "email_from": config.email_from,
            "email_identity_arn": config.email_identity_arn,
            "sms_adapter": config.sms_adapter,
            "sms_origination_identity": config.sms_origination_identity,
            "sms_configuration_set": self.sms_configuration_set.ref if self.sms_configuration_set else None,
            "sms_opt_out_suffix_cn": config.sms_opt_out_suffix_cn,
            "sms_signature_cn": config.sms_signature_cn or None,
            "default_timezone": config.default_timezone,
            "global_cap_max": str(config.global_cap_max),
            "global_cap_seconds": str(config.global_cap_seconds),
            "date_sweep_minutes": str(config.date_sweep_minutes),
            "unsubscribe_url": self.unsubscribe_url.url,
            "unsubscribe_secret_arn": self.unsubscribe_secret.secret_arn,
            "alert_topic_arn": self.alert_topic.topic_arn,
            "kpi_step_dimension": ",".join(config.kpi_step_dimension) or None,
            "trigger_queue_url": self.queues.trigger.queue_url,
            "bundle_root": BUNDLE_ROOT,
        }
        return {name: value for name, value in values.items() if value is not None}

    def _environment(self) -> None:
        values = self.setting_values()
        for spec in FUNCTIONS:
            for setting in spec.settings:
                if setting in values:
                    self.functions[spec.name].add_environment(env_name(setting), values[setting])

    # ------------------------------------------------------------------ journeys

    def _state_machine(self, journey: CompiledJourney) -> sfn.StateMachine:
        """One Standard state machine; its role holds exactly the integrations of its manifest."""
        functions = {placeholder: self.functions[name] for placeholder, name in PLACEHOLDER_FUNCTIONS.items()}
        values = {
            **{placeholder: fn.function_arn for placeholder, fn in functions.items()},
            contract.EVENT_BUS: self.bus.event_bus_name,
        }
        cid = f"Journey{pascal(journey.id)}"
        role = iam.Role(
            self,
            f"{cid}Role",
            assumed_by=self._service("states.amazonaws.com"),
            description=f"Journey {journey.id}: the integrations of its manifest only.",
        )
        invoked = journey.targets(contract.LAMBDA_INVOKE)
        if invoked:
            self._allow(
                role,
                "InvokeFunctions",
                ["lambda:InvokeFunction"],
                [functions[p].function_arn for p in invoked],
            )
        if journey.targets(contract.EVENTS_PUT):
            self._allow(role, "PutEvents", ["events:PutEvents"], [self.bus.event_bus_arn])
        return sfn.StateMachine(
            self,
            cid,
            state_machine_name=journey.state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(journey.definition)),
            definition_substitutions={p: values[p] for p in journey.placeholders},
            role=role,
            logs=sfn.LogOptions(
                destination=self.journey_logs, level=sfn.LogLevel.ERROR, include_execution_data=True
            ),
            tracing_enabled=self.config.xray,
        )

    def journeys_using(
        self, placeholder: str, resource_prefix: str = contract.LAMBDA_INVOKE
    ) -> list[CompiledJourney]:
        return [j for j in self.journeys if placeholder in j.targets(resource_prefix)]

    # ------------------------------------------------------------------ function permissions

    def _function_permissions(self) -> None:
        fns, tables, bus = self.functions, self.tables, self.bus
        machines = [self.state_machine_arn(j) for j in self.journeys]
        for spec in FUNCTIONS:
            self._allow(self.role_of(spec.name), "PutEvents", ["events:PutEvents"], [bus.event_bus_arn])

        trigger = self.role_of("trigger_eval")
        self._allow(trigger, "Profiles", [*ITEM_READ, *TABLE_SCAN, *ITEM_WRITE], [tables.profiles.table_arn])
        self._allow(trigger, "State", [*ITEM_READ, *ITEM_WRITE], [tables.state.table_arn])
        self._allow(trigger, "StartJourneys", ["states:StartExecution"], machines)
        self._allow(
            trigger,
            "StopJourneyExecutions",
            ["states:StopExecution", "states:DescribeExecution"],
            [self.execution_arns(j) for j in self.journeys],
        )
        waiting = self.journeys_using(contract.TRIGGER_EVAL_FUNCTION, contract.LAMBDA_CALLBACK)
        if waiting:
            self._allow(
                trigger,
                "ResumeWaits",
                ["states:SendTaskSuccess", "states:SendTaskFailure"],
                [self.state_machine_arn(j) for j in waiting],
            )
        self._allow(trigger, "ContinuationPages", ["sqs:SendMessage"], [self.queues.trigger.queue_arn])
        # erasure cancels the user's pending wake-ups (their payload names the user)
        self._allow(trigger, "CancelWakeups", ["scheduler:DeleteSchedule"], [self.deferred_schedules_arn()])

        for placeholder in (contract.SEND_EMAIL_FUNCTION, contract.SEND_SMS_FUNCTION):
            name = PLACEHOLDER_FUNCTIONS[placeholder]
            role = self.role_of(name)
            self._allow(role, "Profiles", ITEM_READ, [tables.profiles.table_arn])
            # a carrier opt-out suppresses the number (touchpoint.profiles.suppression_mutation)
            self._allow(role, "SuppressContact", ["dynamodb:UpdateItem"], [tables.profiles.table_arn])
            self._allow(role, "State", [*ITEM_READ, *ITEM_WRITE], [tables.state.table_arn])
            sending = self.journeys_using(placeholder, contract.LAMBDA_CALLBACK)
            if sending:
                self._allow(
                    role,
                    "CompleteSends",
                    ["states:SendTaskSuccess", "states:SendTaskFailure"],
                    [self.state_machine_arn(j) for j in sending],
                )
            self._allow(
                role,
                "ReadUnsubscribeKey",
                ["secretsmanager:GetSecretValue"],
                [self.unsubscribe_secret.secret_arn],
            )
            self._allow(
                role,
                "DeferSends",
                ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"],
                [self.deferred_schedules_arn()],
            )
            self._allow(
                role,
                "PassDeferredSendRole",
                ["iam:PassRole"],
                [self.deferred_send_role.role_arn],
                StringEquals={"iam:PassedToService": "scheduler.amazonaws.com"},
            )
            self._allow(
                self.deferred_send_role,
                f"Wake{pascal(name)}",
                ["lambda:InvokeFunction"],
                [fns[name].function_arn],
            )

        self._allow(
            self.role_of("send_email"),
            "SendEmail",
            ["ses:SendEmail"],
            [self.email_identity_arn(), self.email_configuration_set_arn()],
        )
        sms_role = self.role_of("send_sms")
        if self.config.sms_adapter == "sns":
            self._allow(sms_role, "PublishSms", ["sns:Publish"], ["*"])
        else:
            resources = [self.sms_configuration_set_arn()]
            identity = self.sms_origination_identity_arn()
            if identity:
                resources.insert(0, identity)
            self._allow(sms_role, "SendTextMessage", ["sms-voice:SendTextMessage"], resources)

        rollup = self.role_of("kpi_rollup")
        self._allow(rollup, "Kpis", [*ITEM_READ, *ITEM_WRITE], [tables.kpis.table_arn])
        # the message index, to attribute SMS feedback that carries no context (read only)
        self._allow(
            rollup, "MessageIndex", ["dynamodb:BatchGetItem", "dynamodb:GetItem"], [tables.state.table_arn]
        )
        self._allow(rollup, "PublishAlerts", ["sns:Publish"], [self.alert_topic.topic_arn])
        self._allow(rollup, "EncryptAlerts", ["kms:Decrypt", "kms:GenerateDataKey"], [self.key.key_arn])

        unsubscribe = self.role_of("unsubscribe")
        self._allow(
            unsubscribe, "Profiles", ["dynamodb:GetItem", "dynamodb:UpdateItem"], [tables.profiles.table_arn]
        )
        # the consent ledger: each decision an item of the user's partition
        self._allow(
            unsubscribe,
            "ConsentLedger",
            ["dynamodb:PutItem", "dynamodb:BatchWriteItem"],
            [tables.state.table_arn],
            **{"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["USER#*"]}},
        )
        self._allow(
            unsubscribe,
            "ReadUnsubscribeKey",
            ["secretsmanager:GetSecretValue"],
            [self.unsubscribe_secret.secret_arn],
        )

    def deferred_schedules_arn(self) -> str:
        return self.format_arn(service="scheduler", resource="schedule", resource_name=f"{SCHEDULER_GROUP}/*")

    def role_of(self, name: FunctionName) -> iam.IRole:
        role = self.functions[name].role
        if role is None:  # pragma: no cover - every function is created with its own role
            raise AssertionError(f"{name} has no role")
        return role

    def email_identity_arn(self) -> str:
        if self.config.email_identity_arn:
            return self.config.email_identity_arn
        return self.format_arn(service="ses", resource="identity", resource_name=self.config.sending_identity)

    def email_configuration_set_arn(self) -> str:
        return self.format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=self.email_configuration_set.configuration_set_name,
        )

    def sms_configuration_set_arn(self) -> str:
        assert self.sms_configuration_set is not None
        return self.sms_configuration_set.attr_arn

    def sms_origination_identity_arn(self) -> str | None:
        identity = self.config.sms_origination_identity
        if identity is None or identity.startswith("arn:"):
            return identity
        kind = "phone-number" if identity.startswith("phone-") else "pool"
        return self.format_arn(service="sms-voice", resource=kind, resource_name=identity)

    # ------------------------------------------------------------------ schedules

    def _schedule(
        self,
        construct_id: str,
        name: str,
        expression: str,
        timezone: str,
        function: lambda_.IFunction,
        payload: dict[str, str],
        description: str,
    ) -> scheduler.CfnSchedule:
        schedule = scheduler.CfnSchedule(
            self,
            construct_id,
            name=name,
            description=description[:512],
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            schedule_expression=expression,
            schedule_expression_timezone=timezone,
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function.function_arn,
                role_arn=self.schedules_role.role_arn,
                input=json.dumps(payload, sort_keys=True),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=5
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.queues.invocation_dlq.queue_arn
                ),
            ),
        )
        # The role ARN is referenced already; what the schedule must wait for is the role's policy.
        schedule.node.add_dependency(self.schedules_role.node.find_child("DefaultPolicy"))
        return schedule

    def _schedules(self) -> dict[str, scheduler.CfnSchedule]:
        """Schedule triggers from the manifests; the date-trigger sweep; the hourly rollup."""
        trigger, rollup = self.functions["trigger_eval"], self.functions["kpi_rollup"]
        self._allow(
            self.schedules_role,
            "InvokeEngine",
            ["lambda:InvokeFunction"],
            [trigger.function_arn, rollup.function_arn],
        )
        self._allow(
            self.schedules_role, "DeadLetters", ["sqs:SendMessage"], [self.queues.invocation_dlq.queue_arn]
        )
        zone = self.config.default_timezone
        created = {
            "dates": self._schedule(
                "DateTriggersSchedule",
                "touchpoint_dates",
                dates_every(self.config.date_sweep_minutes),
                zone,
                trigger,
                {"action": "dates"},
                f"Date triggers (birthday, expiry …): trigger_eval every "
                f"{self.config.date_sweep_minutes} minutes.",
            ),
            "rollup": self._schedule(
                "KpiRollupSchedule",
                "touchpoint_kpi_rollup",
                ROLLUP_EVERY,
                zone,
                rollup,
                {"action": "rollup"},
                "Hourly KPI rollup: rates vs targets, alerts.",
            ),
        }
        for journey in self.journeys:
            if journey.schedule is None:
                continue
            created[journey.id] = self._schedule(
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

    # ------------------------------------------------------------------ outputs

    def _outputs(self) -> None:
        outputs = {
            "EventBusName": (self.bus.event_bus_name, "Put app events here (aws events put-events)."),
            "UnsubscribeUrl": (self.unsubscribe_url.url, "Public unsubscribe endpoint (HMAC-signed links)."),
            "ProfilesTableName": (self.tables.profiles.table_name, "DynamoDB table of profiles."),
            "StateTableName": (self.tables.state.table_name, "DynamoDB table of runtime state."),
            "KpisTableName": (self.tables.kpis.table_name, "DynamoDB table of KPI counters."),
            "AlertTopicArn": (self.alert_topic.topic_arn, "SNS topic of KPI and operational alarms."),
            "EmailConfigurationSetName": (
                self.email_configuration_set.configuration_set_name,
                "SES configuration set (events → default bus).",
            ),
            "TriggerDeadLetterQueueUrl": (
                self.queues.trigger_dlq.queue_url,
                "Events trigger_eval gave up on.",
            ),
            "OverviewDashboard": (
                f"https://console.aws.amazon.com/cloudwatch/home#dashboards:name={observability.OVERVIEW_DASHBOARD}",
                "CloudWatch overview dashboard.",
            ),
        }
        outputs["TriggerEvalLogGroup"] = (
            self.functions["trigger_eval"].log_group.log_group_name,
            "Logs of trigger_eval (aws logs tail …).",
        )
        if self.email_identity is not None and "@" not in self.config.sending_identity:
            for n, record in enumerate(self.email_identity.dkim_records, start=1):
                outputs[f"DkimRecord{n}"] = (
                    f"{record.name} CNAME {record.value}",
                    "Publish in DNS for SES DKIM.",
                )
        if self.sms_configuration_set is not None:
            outputs["SmsConfigurationSetName"] = (
                self.sms_configuration_set.ref,
                "End User Messaging configuration set.",
            )
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)


def environment_from(config: DeployConfig) -> dict[str, str] | None:
    """Account and Region from the config, else the CLI's (CDK_DEFAULT_*), else environment-agnostic."""
    account = config.account or os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = config.region or os.environ.get("CDK_DEFAULT_REGION")
    if not account and not region:
        return None
    return {k: v for k, v in {"account": account, "region": region}.items() if v}
