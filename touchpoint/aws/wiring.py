"""Composition root: settings + boto3 clients + clock → the domain services the handlers call.

Clients are created on first use (never at import), from one session, so tests and the simulator
get moto's endpoints by creating the services inside ``mock_aws``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from touchpoint import contract, registry
from touchpoint.attributes import EMPTY, PROFILE_FILE, ProfileSchema, profile_from_data
from touchpoint.aws.kpis import DynamoKpis, EmfMetrics, KpiAlerts, load_send_steps
from touchpoint.aws.once import PowertoolsOnce
from touchpoint.aws.profiles import DynamoProfiles
from touchpoint.aws.services import EventBus, SchedulerWakeups, SqsQueue, StepFunctionsExecutions
from touchpoint.aws.state import DynamoState
from touchpoint.channels.email import SesEmail
from touchpoint.channels.sms import EndUserMessagingSms, SnsSms
from touchpoint.clock import Clock
from touchpoint.engine.kpi import KpiRollup
from touchpoint.engine.operations import Operations
from touchpoint.engine.privacy import Privacy
from touchpoint.engine.send import Sender
from touchpoint.engine.trigger import TriggerEval
from touchpoint.journey.source import read_source
from touchpoint.render import Renderer
from touchpoint.settings import Settings

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)


_OVERRIDES: dict[str, Any] = {}


def override_client(service: str, client: Any | None) -> None:
    """Serve ``service`` from ``client`` in this process (the simulator's local Step Functions),
    or restore boto3 with None. Handlers' composition picks it up; their code is unchanged."""
    if client is None:
        _OVERRIDES.pop(service, None)
    else:
        _OVERRIDES[service] = client


@dataclass
class Clients:
    """One boto3 client per service, created when first asked for."""

    session: Any = None
    made: dict[str, Any] = field(default_factory=dict)

    def __call__(self, service: str) -> Any:
        if service in _OVERRIDES:
            return _OVERRIDES[service]
        if service not in self.made:
            session = self.session or boto3.session.Session()
            self.made[service] = session.client(service, config=_RETRIES)  # type: ignore[call-overload]
        return self.made[service]


@cache
def load_registry(path: Path) -> registry.Registry:
    return registry.load(path)


@cache
def load_renderer(journeys_dir: Path) -> Renderer:
    return Renderer(journeys_dir, load_profile_schema(journeys_dir))


def load_profile_schema(journeys_dir: Path) -> ProfileSchema:
    path = journeys_dir / PROFILE_FILE
    return profile_from_data(read_source(path).data) if path.exists() else EMPTY


def with_secret(settings: Settings, clients: Clients) -> Settings:
    """Settings with the unsubscribe HMAC key fetched from Secrets Manager (once per cold start)."""
    if settings.unsubscribe_secret or not settings.unsubscribe_secret_arn:
        return settings
    secret = clients("secretsmanager").get_secret_value(SecretId=settings.unsubscribe_secret_arn)[
        "SecretString"
    ]
    return settings.model_copy(update={"unsubscribe_secret": secret})


def trigger_eval(settings: Settings, clients: Clients, clock: Clock) -> TriggerEval:
    return TriggerEval(
        settings,
        load_registry(settings.registry_path),
        DynamoProfiles(clients("dynamodb"), settings.profiles_table),
        DynamoState(clients("dynamodb"), settings.state_table),
        StepFunctionsExecutions(clients("stepfunctions")),
        EventBus(clients("events"), settings.event_bus_name),
        SqsQueue(clients("sqs"), settings.trigger_queue_url),
        clock,
    )


def kpi_rollup(settings: Settings, clients: Clients, clock: Clock) -> KpiRollup:
    journeys = load_registry(settings.registry_path)
    return KpiRollup(
        settings,
        journeys,
        DynamoKpis(clients("dynamodb"), settings.kpis_table),
        EmfMetrics(),
        KpiAlerts(clients("sns"), settings.alert_topic_arn, clients("events"), settings.event_bus_name),
        clock,
        load_send_steps(settings.journeys_dir, sorted(journeys.journeys)),
    )


def privacy(settings: Settings, clients: Clients, clock: Clock) -> Privacy:
    return Privacy(
        load_registry(settings.registry_path),
        DynamoProfiles(clients("dynamodb"), settings.profiles_table),
        DynamoState(clients("dynamodb"), settings.state_table),
        StepFunctionsExecutions(clients("stepfunctions")),
        clock,
    )


def operations(settings: Settings, clients: Clients, clock: Clock) -> Operations:
    return Operations(
        settings,
        DynamoState(clients("dynamodb"), settings.state_table),
        StepFunctionsExecutions(clients("stepfunctions")),
        SchedulerWakeups(clients("scheduler"), settings.scheduler_group, settings.scheduler_role_arn),
        clock,
    )


def sender(settings: Settings, clients: Clients, clock: Clock, channel: str) -> tuple[Sender, PowertoolsOnce]:
    settings = with_secret(settings, clients)
    once = PowertoolsOnce(
        clients("dynamodb"),
        settings.state_table,
        contract.SEND_TIMEOUT_SECONDS + 86400,
        prefix=f"send-{channel}",
    )
    email: SesEmail | None = None
    sms: SnsSms | EndUserMessagingSms | None = None
    if channel == "email":
        email = SesEmail(
            clients("sesv2"), settings.email_from, settings.ses_configuration_set, settings.email_identity_arn
        )
    elif settings.sms_adapter == "sns":
        sms = SnsSms(clients("sns"))
    else:
        sms = EndUserMessagingSms(
            clients("pinpoint-sms-voice-v2"),
            settings.sms_origination_identity,
            settings.sms_configuration_set,
        )
    service = Sender(
        settings,
        DynamoProfiles(clients("dynamodb"), settings.profiles_table),
        DynamoState(clients("dynamodb"), settings.state_table),
        load_renderer(settings.journeys_dir),
        StepFunctionsExecutions(clients("stepfunctions")),
        SchedulerWakeups(clients("scheduler"), settings.scheduler_group, settings.scheduler_role_arn),
        EventBus(clients("events"), settings.event_bus_name),
        once,
        clock,
        email=email,
        sms=sms,
    )
    return service, once
