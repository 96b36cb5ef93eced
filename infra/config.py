"""Deploy configuration: the few things a team sets to run Touchpoint in its own account.

Values come from a YAML settings file (``deploy.yaml`` at the repository root, or the file named by
``-c touchpoint:config=PATH``) and from CDK context (``-c touchpoint:<setting>=VALUE``, which wins).
Every default synthesizes, with example.com identities, so ``cdk synth`` and the tests need no
configuration; an error names the setting and shows what to write."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from touchpoint.journey.source import SourceError, read_source
from touchpoint.journey.types import TimeZone
from touchpoint.settings import DateSweep

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTEXT_PREFIX = "touchpoint:"
CONFIG_FILE_CONTEXT = "touchpoint:config"
BUNDLE_LAYER_CONTEXT = "touchpoint:bundle_layer"
DEFAULT_CONFIG_NAME = "deploy.yaml"

#: CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557)

_ARN_SMS = re.compile(r"^arn:aws[a-z-]*:sms-voice:[a-z0-9-]+:\d{12}:(phone-number|pool|sender-id)/\S+$")
_ID_SMS = re.compile(r"^(phone|pool)-[0-9a-f]{32}$")
_ARN_SES = re.compile(r"^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity/\S+$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ConfigError(ValueError):
    """The deploy configuration is invalid; the message lists every problem and its fix."""


class DeployConfig(BaseModel):
    """What differs between two teams' deployments of the same engine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stack_name: str = Field(
        "Touchpoint",
        pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$",
        description="CloudFormation stack name.",
        examples=["Touchpoint"],
    )
    account: str | None = Field(
        None,
        description="AWS account id to deploy to (quoted); default: the CLI's credentials.",
        examples=['"123456789012"'],
    )
    region: str | None = Field(
        None,
        pattern=r"^[a-z]{2}(-[a-z]+)+-\d$",
        description="AWS Region to deploy to; default: the CLI's Region.",
        examples=["eu-west-1"],
    )
    project_dir: Path = Field(
        REPO_ROOT,
        description="Directory holding journeys/ and statemachines/ (relative to the repository root).",
        examples=["."],
    )
    email_from: str = Field(
        "Touchpoint <news@example.com>",
        description="From address of marketing email.",
        examples=['"Acme <news@mail.acme.com>"'],
    )
    email_identity: str | None = Field(
        None,
        description="Verified SES identity (domain or address) that sends; default: email_from's domain.",
        examples=["mail.acme.com"],
    )
    email_identity_arn: str | None = Field(
        None,
        description="SES identity ARN, only for sending authorization from another account.",
        examples=["arn:aws:ses:eu-west-1:123456789012:identity/mail.acme.com"],
    )
    create_email_identity: bool = Field(
        False,
        description="Create the SES identity in the stack (then publish its DKIM records in DNS).",
        examples=["true"],
    )
    sms_adapter: Literal["end-user-messaging", "sns"] = Field(
        "end-user-messaging",
        description="SMS provider: end-user-messaging (pinpoint-sms-voice-v2) or sns.",
        examples=["end-user-messaging"],
    )
    sms_origination_identity: str | None = Field(
        None,
        description="End User Messaging phone number, pool or sender id to send from (ARN, phone-/pool- id).",
        examples=[
            "arn:aws:sms-voice:eu-west-1:123456789012:phone-number/phone-0123456789abcdef0123456789abcdef"
        ],
    )
    sms_signature_cn: str = Field("", description="Sender signature prepended for +86, e.g. 【Acme】.")
    sms_opt_out_suffix_cn: str = Field("回T退订", description="Appended to marketing SMS to +86 numbers.")
    default_timezone: TimeZone = Field(
        "UTC",
        description="Time zone when neither profile nor journey has one; also the rollup schedules' zone.",
        examples=["Asia/Shanghai"],
    )
    global_cap_max: int = Field(2, ge=1, description="Marketing messages per user across journeys …")
    global_cap_seconds: int = Field(86400, ge=60, description="… in any window of this many seconds.")
    date_sweep_minutes: DateSweep = Field(
        15, description="Date triggers (birthday, expiry …) are checked every this many minutes."
    )
    alert_email: str | None = Field(
        None,
        description="Address subscribed to the alert topic (KPI and operational alarms).",
        examples=["growth-oncall@acme.com"],
    )
    deletion_protection: bool = Field(
        True,
        description="Protect and retain tables and secret; false: a throwaway stack cdk destroy removes.",
        examples=["false"],
    )
    xray: bool = Field(
        False, description="X-Ray tracing for functions and state machines.", examples=["true"]
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Powertools log level of the functions.", examples=["INFO"]
    )
    log_retention_days: int = Field(30, description="Days CloudWatch Logs keeps function and journey logs.")
    send_email_concurrency: int | None = Field(
        5,
        ge=1,
        description="Reserved concurrency of send_email (bounds the SES send rate); null: unreserved.",
        examples=["5", "null"],
    )
    send_sms_concurrency: int | None = Field(
        2,
        ge=1,
        description="Reserved concurrency of send_sms (bounds the SMS send rate); null: unreserved.",
        examples=["2", "null"],
    )
    unsubscribe_concurrency: int | None = Field(
        5,
        ge=1,
        description="Reserved concurrency of the public unsubscribe endpoint; null: unreserved.",
        examples=["5", "null"],
    )
    trigger_max_concurrency: int = Field(
        10, ge=2, le=1000, description="Most concurrent trigger_eval batches the queue starts (2..1000)."
    )
    kpi_max_concurrency: int = Field(
        2, ge=2, le=1000, description="Most concurrent kpi_rollup batches the queue starts (2..1000)."
    )
    kpi_step_dimension: tuple[str, ...] = Field(
        (), description="Journeys whose metrics also carry a Step dimension.", examples=["[cart-abandonment]"]
    )

    @field_validator("account", mode="before")
    @classmethod
    def _account(cls, value: object) -> object:
        if isinstance(value, int):
            raise ValueError('write the account id in quotes, e.g. account: "012345678901"')
        if value is not None and not (isinstance(value, str) and re.fullmatch(r"\d{12}", value)):
            raise ValueError('an account id is 12 digits, e.g. account: "123456789012"')
        return value

    @field_validator("email_from")
    @classmethod
    def _email_from(cls, value: str) -> str:
        if not _EMAIL.match(parseaddr(value)[1]):
            raise ValueError('write an address, optionally with a name: "Acme <news@mail.acme.com>"')
        return value

    @field_validator("email_identity")
    @classmethod
    def _email_identity(cls, value: str | None) -> str | None:
        if value is not None and not (_EMAIL.match(value) or _DOMAIN.match(value)):
            raise ValueError("write a verified domain (mail.acme.com) or address (news@mail.acme.com)")
        return value

    @field_validator("email_identity_arn")
    @classmethod
    def _email_identity_arn(cls, value: str | None) -> str | None:
        if value is not None and not _ARN_SES.match(value):
            raise ValueError("write an SES identity ARN: arn:aws:ses:REGION:ACCOUNT:identity/DOMAIN")
        return value

    @field_validator("sms_origination_identity", mode="before")
    @classmethod
    def _sms_origination_identity(cls, value: object) -> object:
        if value is not None and not (
            isinstance(value, str) and (_ARN_SMS.match(value) or _ID_SMS.match(value))
        ):
            raise ValueError(
                "write the ARN of an End User Messaging phone number, pool or sender id "
                "(arn:aws:sms-voice:REGION:ACCOUNT:phone-number/phone-…), or a phone-…/pool-… id"
            )
        return value

    @field_validator("alert_email")
    @classmethod
    def _alert_email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("write one e-mail address, e.g. alert_email: oncall@acme.com")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
            raise ValueError(f"CloudWatch Logs keeps logs for one of: {allowed} days")
        return value

    @model_validator(mode="after")
    def _sms_identity_needs_eum(self) -> DeployConfig:
        if self.sms_adapter == "sns" and self.sms_origination_identity is not None:
            raise ValueError(
                "sms_origination_identity is for sms_adapter: end-user-messaging; remove it or switch adapter"
            )
        return self

    # ---- derived values the stack uses

    @property
    def statemachines_dir(self) -> Path:
        return self.project_dir / "statemachines"

    @property
    def journeys_dir(self) -> Path:
        return self.project_dir / "journeys"

    @property
    def sending_identity(self) -> str:
        """The SES identity ses:SendEmail is allowed on: explicit, or the From domain."""
        return self.email_identity or parseaddr(self.email_from)[1].rsplit("@", 1)[1]


def _example(name: str) -> str:
    field = DeployConfig.model_fields[name]
    examples = field.examples or []
    return f"; e.g. {name}: {examples[0]}" if examples else ""


def _format(error: ValidationError, source: str, lines: Mapping[str, int]) -> str:
    problems: list[tuple[int, str]] = []
    for item in error.errors():
        location = [str(part) for part in item["loc"]]
        name = location[0] if location else ""
        line = lines.get(name, 0)
        where = f"{source}:{line}" if line else source
        if item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(name, DeployConfig.model_fields, n=1)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            allowed = ", ".join(DeployConfig.model_fields)
            problems.append((line, f'{where} {name}: unknown setting "{name}"; {hint}Allowed: {allowed}'))
            continue
        message = str(item["msg"]).removeprefix("Value error, ")
        label = ".".join(location) if location else "(config)"
        explained = "e.g." in message or "did you mean" in message
        hint = _example(name) if name in DeployConfig.model_fields and not explained else ""
        problems.append((line, f"{where} {label}: {message}{hint}"))
    return "invalid deploy configuration:\n  " + "\n  ".join(p for _, p in sorted(problems))


def _from_context(name: str, value: object) -> object:
    """CLI context values are strings: accept null, comma lists and paths the way YAML would."""
    if not isinstance(value, str):
        return value
    if value.strip().lower() in {"null", "none", "~"} and not DeployConfig.model_fields[name].is_required():
        return None
    if name == "kpi_step_dimension":
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def load_config(context: Callable[[str], Any], cwd: Path = REPO_ROOT) -> DeployConfig:
    """Settings file, then ``touchpoint:<setting>`` context on top; relative paths from the repo root."""
    named = context(CONFIG_FILE_CONTEXT)
    path = (cwd / str(named)) if named else cwd / DEFAULT_CONFIG_NAME
    data: dict[str, Any] = {}
    lines: dict[str, int] = {}
    source = "CDK context"
    if named or path.exists():
        source = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such settings file (named by -c {CONFIG_FILE_CONTEXT}=…)")
        text = path.read_text(encoding="utf-8")
        if any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
            try:
                parsed = read_source(path)
            except SourceError as error:
                raise ConfigError(f"{path}:{error.line} {error.message}") from error
            except ValueError as error:  # a number YAML cannot read, such as 0123 (octal)
                raise ConfigError(f'{path}: {error}; quote it, e.g. account: "012345678901"') from error
            if not isinstance(parsed.data, dict):
                raise ConfigError(f"{path}: write settings as `name: value` lines, e.g. alert_email: …")
            data.update(parsed.data)
            lines = {str(key): parsed.line_of((key,)) for key in parsed.data}
    for name in DeployConfig.model_fields:
        value = context(CONTEXT_PREFIX + name)
        if value is not None:
            data[name] = _from_context(name, value)
            lines.pop(name, None)
    if "project_dir" in data:
        data["project_dir"] = (cwd / str(data["project_dir"])).resolve()
    try:
        return DeployConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format(error, source, lines)) from error


def bundle_layer(context: Callable[[str], Any]) -> bool:
    """``-c touchpoint:bundle_layer=false`` skips the pip layer build (tests, offline synth)."""
    value = context(BUNDLE_LAYER_CONTEXT)
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise ConfigError(f"{BUNDLE_LAYER_CONTEXT}: write true or false, not {value!r}")
