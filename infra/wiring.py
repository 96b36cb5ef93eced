"""Which function reads which engine setting, and how each is sized: the stack's wiring table.

Kept apart from the constructs so a test can check it against ``touchpoint.settings.Settings``
without synthesizing, and so a reader sees each function's whole environment in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from touchpoint import contract
from touchpoint.settings import Settings

FunctionName = Literal["trigger_eval", "send_email", "send_sms", "kpi_rollup", "unsubscribe"]


@dataclass(frozen=True)
class FunctionSpec:
    name: FunctionName
    description: str
    settings: tuple[str, ...]  # Settings fields (→ TOUCHPOINT_* variables) the function reads
    timeout_seconds: int
    memory_mb: int

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
        memory_mb=512,
    ),
    FunctionSpec(
        "send_email",
        "Gates, renders and sends one email through SES v2, then completes the task token.",
        (*_SEND_COMMON, "ses_configuration_set", "email_from", "email_identity_arn"),
        timeout_seconds=30,
        memory_mb=512,
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
        memory_mb=512,
    ),
    FunctionSpec(
        "kpi_rollup",
        "Counts journey and message events, emits EMF metrics, compares KPIs, raises alerts.",
        ("kpis_table", "event_bus_name", "alert_topic_arn", "kpi_step_dimension", "bundle_root"),
        timeout_seconds=120,
        memory_mb=512,
    ),
    FunctionSpec(
        "unsubscribe",
        "Public unsubscribe link: verifies the HMAC token and revokes consent at once.",
        ("profiles_table", "event_bus_name", "unsubscribe_secret_arn", "bundle_root"),
        timeout_seconds=10,
        memory_mb=256,
    ),
)
FUNCTIONS_BY_NAME: Final = {spec.name: spec for spec in FUNCTIONS}
#: The function each ASL placeholder names (touchpoint/contract.py).
PLACEHOLDER_FUNCTIONS: Final[dict[str, FunctionName]] = {
    contract.TRIGGER_EVAL_FUNCTION: "trigger_eval",
    contract.SEND_EMAIL_FUNCTION: "send_email",
    contract.SEND_SMS_FUNCTION: "send_sms",
}


def env_name(setting: str) -> str:
    """``profiles_table`` → ``TOUCHPOINT_PROFILES_TABLE``: only names the runtime's Settings reads."""
    names = Settings.env_names()
    if setting not in names:
        raise KeyError(f"{setting} is not a field of touchpoint.settings.Settings")
    return names[setting]
