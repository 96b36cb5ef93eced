"""The Touchpoint stack, composed by concern: storage, ingest, sending, the functions, unsubscribe,
journeys, schedules and observability, each built by its module directly on the stack (so every
logical ID is the one a deployed stack already has), with every IAM statement derived by
``infra.permissions`` from the manifests and the functions' needs.

Everything journey-specific is derived from ``statemachines/`` (``infra.journeys``) and the shared
contracts in ``touchpoint/`` (routing rules, placeholders, settings names, metrics), so adding a
journey is a compile and a deploy, and the runtime and the stack cannot disagree on a name."""

from __future__ import annotations

import os
from typing import Any, Final

from aws_cdk import CfnOutput, Fn, Stack, Tags
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import (
    acknowledgements,
    arns,
    functions,
    ingest,
    journeys,
    permissions,
    schedules,
    sending,
    state_machines,
    storage,
    unsubscribe,
)
from infra.config import DeployConfig
from infra.observability import Observability
from infra.observability import campaigns as campaign_plans
from infra.observability.dashboards import OVERVIEW_DASHBOARD
from infra.observability.observed import Observed
from infra.observability.topic import alerts
from infra.wiring import PLACEHOLDER_FUNCTIONS, FunctionName, Resource
from touchpoint import contract

BUNDLE_ROOT: Final = "/var/task"


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
        self.campaigns = campaign_plans.load(config.statemachines_dir, self.journeys)
        unknown = set(config.kpi_step_dimension) - {j.id for j in self.journeys}
        if unknown:
            raise journeys.ProjectError(f"kpi_step_dimension names unknown journeys: {sorted(unknown)}")
        Tags.of(self).add("project", "touchpoint")

        # The order of creation is the order of the template's resources, and the order statements
        # are attached the order of each policy's statements: keep both.
        self.tables = storage.tables(self, config)
        self.buses = ingest.buses(self)
        self.alerts = alerts(self, config)
        self.queues = ingest.queues(self)
        self.email = sending.email(self, config, self.buses.default)
        self.rules = ingest.rules(
            self, config, self.buses, self.queues, self.email.configuration_set.configuration_set_name
        )
        self.sms_configuration_set = sending.sms(self, config)
        self.unsubscribe_secret = unsubscribe.secret(self, config)
        self.deferral = sending.deferral(self)
        self.functions = functions.build(self, config, self.queues.invocation_dlq, bundle_layer=bundle_layer)
        self.unsubscribe_url = unsubscribe.url(self.functions["unsubscribe"])
        ingest.event_sources(config, self.functions, self.queues)
        functions.configure(self.functions, self.setting_values())

        self.arns = self.resource_arns()
        self.policies = permissions.derive(self, self.journeys, self.arns)
        for name, statements in self.policies.functions.items():
            permissions.attach(self.role_of(name), statements)
        permissions.attach(self.deferral.role, self.policies.deferred_send)
        self.journey_logs = state_machines.journey_logs(self, config)
        self.state_machines = state_machines.build(
            self, config, self.journeys, self.substitutions(), self.policies.journeys, self.journey_logs
        )
        self.schedules_role = schedules.role(self, self.policies.schedules)
        self.schedules = schedules.build(
            self, config, self.journeys, self.functions, self.schedules_role, self.queues.invocation_dlq
        )
        self.observability = Observability(
            self,
            "Observability",
            observed=Observed(
                self.journeys, self.state_machines, self.functions, self.queues, self.alerts.topic
            ),
            campaigns=self.campaigns,
        )
        self._outputs()
        acknowledgements.apply(
            self,
            config,
            journeys=self.journeys,
            functions=self.functions,
            state_machines=self.state_machines,
            arns=self.arns,
            unsubscribe_secret=self.unsubscribe_secret,
            invocation_dlq=self.queues.invocation_dlq,
        )

    def role_of(self, name: FunctionName) -> iam.IRole:
        return functions.role_of(self.functions[name])

    def setting_values(self) -> dict[str, str]:
        """Every TOUCHPOINT_* value the stack can give, by Settings field (absent = runtime default)."""
        config = self.config
        values: dict[str, str | None] = {
            "profiles_table": self.tables.profiles.table_name,
            "state_table": self.tables.state.table_name,
            "kpis_table": self.tables.kpis.table_name,
            "event_bus_name": self.buses.app.event_bus_name,
            "state_machine_arn_prefix": Fn.sub(
                "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
            ),
            "scheduler_role_arn": self.deferral.role.role_arn,
            "scheduler_group": self.deferral.group.ref,
            "ses_configuration_set": self.email.configuration_set.configuration_set_name,
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
            "alert_topic_arn": self.alerts.topic.topic_arn,
            "kpi_step_dimension": ",".join(config.kpi_step_dimension) or None,
            "trigger_queue_url": self.queues.trigger.queue_url,
            "bundle_root": BUNDLE_ROOT,
        }
        return {name: value for name, value in values.items() if value is not None}

    def resource_arns(self) -> dict[Resource, list[str]]:
        """The ARNs of everything a need may name (``infra.wiring.Resource``); empty for what this
        configuration does not have. ``journeys_awaiting`` depends on the function: see
        ``infra.permissions``."""
        config = self.config
        identity = arns.sms_origination_identity_arn(self, config)
        sms = self.sms_configuration_set
        return {
            **{name: [function.function_arn] for name, function in self.functions.items()},
            "profiles_table": [self.tables.profiles.table_arn],
            "state_table": [self.tables.state.table_arn],
            "kpis_table": [self.tables.kpis.table_arn],
            "bus": [self.buses.app.event_bus_arn],
            "trigger_queue": [self.queues.trigger.queue_arn],
            "invocation_dlq": [self.queues.invocation_dlq.queue_arn],
            "journeys": [arns.state_machine_arn(self, j) for j in self.journeys],
            "journey_executions": [arns.execution_arns(self, j) for j in self.journeys],
            "deferred_schedules": [arns.deferred_schedules_arn(self)],
            "deferred_send_role": [self.deferral.role.role_arn],
            "unsubscribe_secret": [self.unsubscribe_secret.secret_arn],
            "email_identity": [arns.email_identity_arn(self, config)],
            "email_configuration_set": [
                arns.email_configuration_set_arn(self, self.email.configuration_set.configuration_set_name)
            ],
            "sms_origination_identity": [identity] if identity else [],
            "sms_configuration_set": [sms.attr_arn] if sms is not None else [],
            "sms_phone_numbers": ["*"] if config.sms_adapter == "sns" else [],  # SNS Publish to a number
            "alert_topic": [self.alerts.topic.topic_arn],
            "alerts_key": [self.alerts.key.key_arn],
        }

    def substitutions(self) -> dict[str, str]:
        """The value of every placeholder the stack fills in a definition."""
        return {
            **{p: self.functions[name].function_arn for p, name in PLACEHOLDER_FUNCTIONS.items()},
            contract.EVENT_BUS: self.buses.app.event_bus_name,
        }

    def _outputs(self) -> None:
        outputs = {
            "EventBusName": (self.buses.app.event_bus_name, "Put app events here (aws events put-events)."),
            "UnsubscribeUrl": (self.unsubscribe_url.url, "Public unsubscribe endpoint (HMAC-signed links)."),
            "ProfilesTableName": (self.tables.profiles.table_name, "DynamoDB table of profiles."),
            "StateTableName": (self.tables.state.table_name, "DynamoDB table of runtime state."),
            "KpisTableName": (self.tables.kpis.table_name, "DynamoDB table of KPI counters."),
            "AlertTopicArn": (self.alerts.topic.topic_arn, "SNS topic of KPI and operational alarms."),
            "EmailConfigurationSetName": (
                self.email.configuration_set.configuration_set_name,
                "SES configuration set (events → default bus).",
            ),
            "TriggerDeadLetterQueueUrl": (
                self.queues.trigger_dlq.queue_url,
                "Events trigger_eval gave up on.",
            ),
            "OverviewDashboard": (
                f"https://console.aws.amazon.com/cloudwatch/home#dashboards:name={OVERVIEW_DASHBOARD}",
                "CloudWatch overview dashboard.",
            ),
        }
        outputs["TriggerEvalLogGroup"] = (
            self.functions["trigger_eval"].log_group.log_group_name,
            "Logs of trigger_eval (aws logs tail …).",
        )
        if self.email.identity is not None and "@" not in self.config.sending_identity:
            for n, record in enumerate(self.email.identity.dkim_records, start=1):
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
