"""Which function reads which engine setting, what it may do, and how each is sized: the stack's
wiring table.

Kept apart from the constructs so a test can check it against ``touchpoint.settings.Settings``
without synthesizing, and so a reader sees each function's whole environment in one place. The
needs name resources symbolically; ``infra.permissions`` turns them, and the manifests, into the
stack's IAM statements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from touchpoint import contract
from touchpoint.settings import Settings

FunctionName = Literal["trigger_eval", "send_email", "send_sms", "kpi_rollup", "unsubscribe"]
#: What a need may name: a function, or one of these (``TouchpointStack.resource_arns`` resolves
#: them). ``journeys_awaiting`` is the state machines whose manifests wait for the needing
#: function's task token; a need that resolves to nothing (no such journey, the other SMS adapter)
#: grants nothing.
Resource = (
    FunctionName
    | Literal[
        "profiles_table",
        "state_table",
        "kpis_table",
        "bus",
        "trigger_queue",
        "invocation_dlq",
        "journeys",
        "journey_executions",
        "journeys_awaiting",
        "deferred_schedules",
        "deferred_send_role",
        "unsubscribe_secret",
        "email_identity",
        "email_configuration_set",
        "sms_origination_identity",
        "sms_configuration_set",
        "sms_phone_numbers",
        "alert_topic",
        "alerts_key",
    ]
)


@dataclass(frozen=True)
class Need:
    """One IAM statement a principal needs: its Sid, actions and (symbolic) resources."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[Resource, ...]
    conditions: Mapping[str, Mapping[str, Any]] | None = field(default=None, hash=False)


#: DynamoDB actions by need (no Streams, no DescribeTable: boto3 data calls need neither).
ITEM_READ: Final = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
)
ITEM_WRITE: Final = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
TABLE_SCAN: Final = ("dynamodb:Scan",)  # schedule and date triggers page through the profiles
TASK_TOKENS: Final = ("states:SendTaskSuccess", "states:SendTaskFailure")
#: Every function reports what it did on the bus.
PUT_EVENTS: Final = Need("PutEvents", ("events:PutEvents",), ("bus",))


@dataclass(frozen=True)
class FunctionSpec:
    name: FunctionName
    description: str
    settings: tuple[str, ...]  # Settings fields (→ TOUCHPOINT_* variables) the function reads
    timeout_seconds: int
    memory_mb: int
    needs: tuple[Need, ...]  # its IAM statements after PUT_EVENTS, in policy order

    @property
    def handler(self) -> str:
        return f"functions.{self.name}.app.handler"

    @property
    def construct_id(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))


_SEND_COMMON = (
    "profiles_table",
    "state_table",
    "event_bus_name",
    "scheduler_role_arn",
    "scheduler_group",
    "default_timezone",
    "global_cap_max",
    "global_cap_seconds",
    "unsubscribe_url",
    "unsubscribe_secret_arn",
    "bundle_root",
)
_SEND_NEEDS = (
    Need("Profiles", ITEM_READ, ("profiles_table",)),
    # a carrier opt-out suppresses the number (touchpoint.profiles.suppression_mutation)
    Need("SuppressContact", ("dynamodb:UpdateItem",), ("profiles_table",)),
    Need("State", (*ITEM_READ, *ITEM_WRITE), ("state_table",)),
    Need("CompleteSends", TASK_TOKENS, ("journeys_awaiting",)),
    Need("ReadUnsubscribeKey", ("secretsmanager:GetSecretValue",), ("unsubscribe_secret",)),
    Need("DeferSends", ("scheduler:CreateSchedule", "scheduler:DeleteSchedule"), ("deferred_schedules",)),
    Need(
        "PassDeferredSendRole",
        ("iam:PassRole",),
        ("deferred_send_role",),
        {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
    ),
)

FUNCTIONS: Final[tuple[FunctionSpec, ...]] = (
    FunctionSpec(
        "trigger_eval",
        "Profiles, journey entry, exits, goals, wait_for resumes, if/wait-until, schedule and date triggers.",
        (
            "profiles_table",
            "state_table",
            "event_bus_name",
            "state_machine_arn_prefix",
            "default_timezone",
            "date_sweep_minutes",
            "trigger_queue_url",
            "bundle_root",
        ),
        timeout_seconds=60,
        memory_mb=contract.FUNCTION_MEMORY_MB["trigger_eval"],
        needs=(
            Need("Profiles", (*ITEM_READ, *TABLE_SCAN, *ITEM_WRITE), ("profiles_table",)),
            Need("State", (*ITEM_READ, *ITEM_WRITE), ("state_table",)),
            Need("StartJourneys", ("states:StartExecution",), ("journeys",)),
            Need(
                "StopJourneyExecutions",
                ("states:StopExecution", "states:DescribeExecution"),
                ("journey_executions",),
            ),
            Need("ResumeWaits", TASK_TOKENS, ("journeys_awaiting",)),
            Need("ContinuationPages", ("sqs:SendMessage",), ("trigger_queue",)),
            # erasure cancels the user's pending wake-ups (their payload names the user)
            Need("CancelWakeups", ("scheduler:DeleteSchedule",), ("deferred_schedules",)),
        ),
    ),
    FunctionSpec(
        "send_email",
        "Gates, renders and sends one email through SES v2, then completes the task token.",
        (*_SEND_COMMON, "ses_configuration_set", "email_from", "email_identity_arn"),
        timeout_seconds=30,
        memory_mb=contract.FUNCTION_MEMORY_MB["send_email"],
        needs=(
            *_SEND_NEEDS,
            Need("SendEmail", ("ses:SendEmail",), ("email_identity", "email_configuration_set")),
        ),
    ),
    FunctionSpec(
        "send_sms",
        "Gates, renders and sends one SMS (End User Messaging or SNS), then completes the task token.",
        (
            *_SEND_COMMON,
            "sms_adapter",
            "sms_origination_identity",
            "sms_configuration_set",
            "sms_opt_out_suffix_cn",
            "sms_signature_cn",
        ),
        timeout_seconds=30,
        memory_mb=contract.FUNCTION_MEMORY_MB["send_sms"],
        needs=(
            *_SEND_NEEDS,
            Need("PublishSms", ("sns:Publish",), ("sms_phone_numbers",)),  # sms_adapter: sns
            Need(  # sms_adapter: end-user-messaging
                "SendTextMessage",
                ("sms-voice:SendTextMessage",),
                ("sms_origination_identity", "sms_configuration_set"),
            ),
        ),
    ),
    FunctionSpec(
        "kpi_rollup",
        "Counts journey and message events, emits EMF metrics, compares KPIs, raises alerts.",
        ("kpis_table", "event_bus_name", "alert_topic_arn", "kpi_step_dimension", "bundle_root"),
        timeout_seconds=120,
        memory_mb=contract.FUNCTION_MEMORY_MB["kpi_rollup"],
        needs=(
            Need("Kpis", (*ITEM_READ, *ITEM_WRITE), ("kpis_table",)),
            # the message index, to attribute SMS feedback that carries no context (read only)
            Need("MessageIndex", ("dynamodb:BatchGetItem", "dynamodb:GetItem"), ("state_table",)),
            Need("PublishAlerts", ("sns:Publish",), ("alert_topic",)),
            Need("EncryptAlerts", ("kms:Decrypt", "kms:GenerateDataKey"), ("alerts_key",)),
        ),
    ),
    FunctionSpec(
        "unsubscribe",
        "Public unsubscribe link: verifies the HMAC token and revokes consent at once.",
        ("profiles_table", "event_bus_name", "unsubscribe_secret_arn", "bundle_root"),
        timeout_seconds=10,
        memory_mb=contract.FUNCTION_MEMORY_MB["unsubscribe"],
        needs=(
            Need("Profiles", ("dynamodb:GetItem", "dynamodb:UpdateItem"), ("profiles_table",)),
            # the consent ledger: each decision an item of the user's partition
            Need(
                "ConsentLedger",
                ("dynamodb:PutItem", "dynamodb:BatchWriteItem"),
                ("state_table",),
                {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["USER#*"]}},
            ),
            Need("ReadUnsubscribeKey", ("secretsmanager:GetSecretValue",), ("unsubscribe_secret",)),
        ),
    ),
)
FUNCTIONS_BY_NAME: Final = {spec.name: spec for spec in FUNCTIONS}
#: The function each ASL placeholder names (touchpoint/contract.py).
PLACEHOLDER_FUNCTIONS: Final[dict[str, FunctionName]] = {
    contract.TRIGGER_EVAL_FUNCTION: "trigger_eval",
    contract.SEND_EMAIL_FUNCTION: "send_email",
    contract.SEND_SMS_FUNCTION: "send_sms",
}
#: The role EventBridge Scheduler assumes for the journey schedules, the date sweep and the rollup.
SCHEDULES_NEEDS: Final = (
    Need("InvokeEngine", ("lambda:InvokeFunction",), ("trigger_eval", "kpi_rollup")),
    Need("DeadLetters", ("sqs:SendMessage",), ("invocation_dlq",)),
)


def env_name(setting: str) -> str:
    """``profiles_table`` → ``TOUCHPOINT_PROFILES_TABLE``: only names the runtime's Settings reads."""
    names = Settings.env_names()
    if setting not in names:
        raise KeyError(f"{setting} is not a field of touchpoint.settings.Settings")
    return names[setting]


@dataclass(frozen=True)
class IntegrationNeed:
    """What a journey's role needs for one ASL service integration of its manifest: one statement
    per Sid, on the resources its integrations' targets (placeholders) name."""

    sid: str
    actions: tuple[str, ...]
    targets: Mapping[str, Resource]


_INVOKE: Final = IntegrationNeed("InvokeFunctions", ("lambda:InvokeFunction",), PLACEHOLDER_FUNCTIONS)
#: Service integrations the stack knows how to grant, by ASL resource, in policy order.
INTEGRATIONS: Final[Mapping[str, IntegrationNeed]] = {
    contract.LAMBDA_INVOKE: _INVOKE,
    contract.LAMBDA_CALLBACK: _INVOKE,
    contract.EVENTS_PUT: IntegrationNeed("PutEvents", ("events:PutEvents",), {contract.EVENT_BUS: "bus"}),
}
