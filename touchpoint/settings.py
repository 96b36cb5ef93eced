"""Engine settings, read from the environment the CDK stack (or the simulator) sets.

One model, one list of variable names: ``docs/deploy.md`` documents them and the stack's tests
check that every function gets exactly the variables it reads."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from touchpoint import contract
from touchpoint.journey.types import TimeZone

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "TOUCHPOINT_"


#: How often date triggers are swept: a divisor of an hour, so every zone's ``at`` falls in one sweep.
DateSweep = Annotated[
    Literal[15, 30, 60], BeforeValidator(lambda v: int(v) if isinstance(v, str) and v.isdigit() else v)
]


class SettingsError(ValueError):
    pass


class Settings(BaseModel):
    """Everything the functions need to know about their deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profiles_table: str = Field("touchpoint-profiles", description="DynamoDB table of profiles.")
    state_table: str = Field("touchpoint-state", description="DynamoDB table of runtime state.")
    kpis_table: str = Field("touchpoint-kpis", description="DynamoDB table of KPI counters.")
    event_bus_name: str = Field("touchpoint", description="EventBridge bus for app and journey events.")
    state_machine_arn_prefix: str = Field(
        "arn:aws:states:us-east-1:000000000000:stateMachine:",
        description="ARN prefix of the journey state machines; the name is touchpoint-<journey id>.",
    )
    scheduler_role_arn: str = Field(
        "arn:aws:iam::000000000000:role/touchpoint-scheduler",
        description="Role EventBridge Scheduler assumes to wake deferred sends.",
    )
    scheduler_group: str = Field("touchpoint", description="EventBridge Scheduler group for deferred sends.")
    ses_configuration_set: str = Field(
        "touchpoint", description="SES configuration set (events → EventBridge)."
    )
    email_from: str = Field("Touchpoint <news@example.com>", description="From address of marketing email.")
    email_identity_arn: str | None = Field(None, description="SES identity ARN for sending authorization.")
    sms_adapter: Literal["end-user-messaging", "sns"] = Field(
        "end-user-messaging",
        description="SMS provider: End User Messaging SMS (pinpoint-sms-voice-v2) or SNS.",
    )
    sms_origination_identity: str | None = Field(
        None, description="Phone number, sender id or pool to send from."
    )
    sms_configuration_set: str | None = Field(None, description="End User Messaging configuration set.")
    sms_opt_out_suffix_cn: str = Field("回T退订", description="Appended to marketing SMS to +86 numbers.")
    sms_signature_cn: str = Field("", description="Sender signature prepended for +86, e.g. 【Touchpoint】.")
    default_timezone: TimeZone = Field(
        "UTC", description="Time zone when neither profile nor journey has one."
    )
    global_cap_max: int = Field(2, ge=1, description="Marketing messages per user across journeys …")
    global_cap_seconds: int = Field(86400, ge=60, description="… in any window of this many seconds.")
    date_sweep_minutes: DateSweep = Field(
        15, description="Date triggers are checked every this many minutes (15, 30 or 60)."
    )
    unsubscribe_url: str = Field(
        "https://example.com/unsubscribe", description="Base URL of the unsubscribe endpoint."
    )
    unsubscribe_secret: str = Field(
        "", description="HMAC key for unsubscribe links (set via Secrets Manager)."
    )
    unsubscribe_secret_arn: str | None = Field(None, description="Secrets Manager ARN of the HMAC key.")
    trigger_queue_url: str = Field(
        "", description="trigger_eval's queue (continuation pages of schedule runs)."
    )
    alert_topic_arn: str | None = Field(None, description="SNS topic for KPI alerts.")
    kpi_step_dimension: tuple[str, ...] = Field(
        (), description="Journeys whose metrics also carry a step dimension."
    )
    bundle_root: Path = Field(
        PACKAGE_ROOT, description="Where journeys/ and statemachines/ are (the asset root)."
    )

    @property
    def registry_path(self) -> Path:
        return self.bundle_root / "statemachines" / "registry.json"

    @property
    def journeys_dir(self) -> Path:
        return self.bundle_root / "journeys"

    def state_machine_arn(self, journey_id: str) -> str:
        return f"{self.state_machine_arn_prefix}{contract.state_machine_name(journey_id)}"

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Field → environment variable (``TOUCHPOINT_PROFILES_TABLE`` …)."""
        return {name: PREFIX + name.upper() for name in cls.model_fields}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, variable in cls.env_names().items():
            if variable in env:
                raw = env[variable]
                values[name] = tuple(v for v in raw.split(",") if v) if name == "kpi_step_dimension" else raw
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{PREFIX}{str(e['loc'][0]).upper()}: {e['msg']}" for e in error.errors() if e["loc"]
            )
            raise SettingsError(f"invalid engine settings: {problems}") from error
