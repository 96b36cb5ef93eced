"""Composition root: settings + boto3 clients + clock → the domain services the handlers call.

Clients are created on first use (never at import), from one session, so tests and the simulator
get moto's endpoints by creating the services inside ``mock_aws``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from touchpoint import contract

if TYPE_CHECKING:
    from botocore.config import Config

    from touchpoint import registry
    from touchpoint.attributes import ProfileSchema
    from touchpoint.aws.kpis import DynamoKpis, KpiAlerts
    from touchpoint.aws.messaging import SesEmail
    from touchpoint.aws.once import PowertoolsOnce
    from touchpoint.aws.profiles import DynamoProfiles
    from touchpoint.aws.services import EventBus, SchedulerWakeups, SqsQueue, StepFunctionsExecutions
    from touchpoint.clock import Clock
    from touchpoint.engine.kpi import KpiRollup
    from touchpoint.engine.operations import Operations
    from touchpoint.engine.optout import OptOut
    from touchpoint.engine.ports import (
        AlertsPort,
        BusPort,
        EmailPort,
        ExecutionsPort,
        KpiStorePort,
        OncePort,
        ProfilesPort,
        QueuePort,
        SmsPort,
        StatePort,
        WakeupsPort,
    )
    from touchpoint.engine.privacy import Privacy
    from touchpoint.engine.proof import Proofs
    from touchpoint.engine.send import Sender
    from touchpoint.engine.trigger import TriggerEval
    from touchpoint.journey.model import Journey
    from touchpoint.render import Renderer
    from touchpoint.settings import Settings
    from touchpoint.state.repository import StateRepository

    # For annotations only: the ports module imports the journey model, which no cold start needs.
    class LambdaOnce(OncePort, Protocol):
        """Run-once that learns the invocation's deadline (so an in-progress record expires with it)."""

        def register_lambda_context(self, context: Any) -> None: ...

# Every import below the composition's types is made where it is first needed: a function's cold
# start pays for its own engine and adapters only, and the SDK loads with its first client.


@cache
def sdk_config() -> Config:
    """Standard retries for the services the engine calls."""
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)


@cache
def provider_config() -> Config:
    """Message providers (SES, End User Messaging, SNS for SMS) get exactly one attempt: the SDK
    would otherwise re-send a message whose response was lost (touchpoint/aws/provider.py)."""
    from botocore.config import Config

    return Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=3, read_timeout=10)


_OVERRIDES: dict[str, Any] = {}

#: How long a send's run-once record lives: the longest a send can be retried, and a day more.
SEND_ONCE_SECONDS = contract.SEND_TIMEOUT_SECONDS + 86400


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
        return self._client(service, sdk_config(), service)

    def provider(self, service: str) -> Any:
        """The one-attempt client of a message provider."""
        return self._client(service, provider_config(), f"{service}:provider")

    def _client(self, service: str, config: Config, slot: str) -> Any:
        if service in _OVERRIDES:
            return _OVERRIDES[service]
        if slot not in self.made:
            import boto3

            session = self.session or boto3.session.Session()
            self.made[slot] = session.client(service, config=config)  # type: ignore[call-overload]
        return self.made[slot]


@cache
def load_registry(path: Path) -> registry.Registry:
    from touchpoint import registry

    return registry.load(path)


@cache
def load_renderer(journeys_dir: Path) -> Renderer:
    from touchpoint.render import Renderer

    return Renderer(journeys_dir, load_profile_schema(journeys_dir))


def load_journeys(journeys_dir: Path, journey_ids: Iterable[str]) -> dict[str, Journey]:
    """The journeys of the bundle by id, from their sources (``journeys/<id>.yaml``); one whose
    source no longer parses is left out (it was compiled from a source that did)."""
    from pydantic import ValidationError

    from touchpoint.journey.model import Journey
    from touchpoint.journey.source import SourceError, read_source

    journeys = {}
    for journey_id in journey_ids:
        try:
            source = read_source(journeys_dir / f"{journey_id}.yaml")
            journeys[journey_id] = Journey.model_validate(source.data)
        except (OSError, SourceError, ValidationError):
            continue
    return journeys


def load_profile_schema(journeys_dir: Path) -> ProfileSchema:
    from touchpoint.attributes import EMPTY, PROFILE_FILE, profile_from_data
    from touchpoint.journey.source import read_source

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


class Adapters(Protocol):
    """Where each port of a deployment lives: AWS through boto3, or the simulator's memory."""

    def profiles(self, settings: Settings) -> ProfilesPort: ...
    def state(self, settings: Settings) -> StatePort: ...
    def kpis(self, settings: Settings) -> KpiStorePort: ...
    def alerts(self, settings: Settings) -> AlertsPort: ...
    def executions(self) -> ExecutionsPort: ...
    def bus(self, settings: Settings) -> BusPort: ...
    def queue(self, settings: Settings) -> QueuePort: ...
    def wakeups(self, settings: Settings) -> WakeupsPort: ...
    def once(self, settings: Settings, channel: str) -> LambdaOnce: ...
    def email(self, settings: Settings) -> EmailPort: ...
    def sms(self, settings: Settings) -> SmsPort: ...


@dataclass
class AwsAdapters:
    """The AWS adapters, each on its service's boto3 client."""

    clients: Clients

    def profiles(self, settings: Settings) -> DynamoProfiles:
        from touchpoint.aws.profiles import DynamoProfiles

        return DynamoProfiles(self.clients("dynamodb"), settings.profiles_table)

    def state(self, settings: Settings) -> StateRepository:
        from touchpoint.aws.state import DynamoStorage
        from touchpoint.state.repository import StateRepository

        return StateRepository(DynamoStorage(self.clients("dynamodb"), settings.state_table))

    def kpis(self, settings: Settings) -> DynamoKpis:
        from touchpoint.aws.kpis import DynamoKpis

        return DynamoKpis(self.clients("dynamodb"), settings.kpis_table)

    def alerts(self, settings: Settings) -> KpiAlerts:
        from touchpoint.aws.kpis import KpiAlerts

        return KpiAlerts(
            self.clients("sns"), settings.alert_topic_arn, self.clients("events"), settings.event_bus_name
        )

    def executions(self) -> StepFunctionsExecutions:
        from touchpoint.aws.services import StepFunctionsExecutions

        return StepFunctionsExecutions(self.clients("stepfunctions"))

    def bus(self, settings: Settings) -> EventBus:
        from touchpoint.aws.services import EventBus

        return EventBus(self.clients("events"), settings.event_bus_name)

    def queue(self, settings: Settings) -> SqsQueue:
        from touchpoint.aws.services import SqsQueue

        return SqsQueue(self.clients("sqs"), settings.trigger_queue_url)

    def wakeups(self, settings: Settings) -> SchedulerWakeups:
        from touchpoint.aws.services import SchedulerWakeups

        return SchedulerWakeups(
            self.clients("scheduler"), settings.scheduler_group, settings.scheduler_role_arn
        )

    def once(self, settings: Settings, channel: str) -> PowertoolsOnce:
        from touchpoint.aws.once import PowertoolsOnce

        return PowertoolsOnce(
            self.clients("dynamodb"),
            settings.state_table,
            SEND_ONCE_SECONDS,
            prefix=f"send-{channel}",
        )

    def email(self, settings: Settings) -> SesEmail:
        from touchpoint.aws.messaging import SesEmail

        return SesEmail(
            self.clients.provider("sesv2"),
            settings.email_from,
            settings.ses_configuration_set,
            settings.email_identity_arn,
        )

    def sms(self, settings: Settings) -> SmsPort:
        from touchpoint.aws.messaging import EndUserMessagingSms, SnsSms

        if settings.sms_adapter == "sns":
            return SnsSms(self.clients.provider("sns"))
        return EndUserMessagingSms(
            self.clients.provider("pinpoint-sms-voice-v2"),
            settings.sms_origination_identity,
            settings.sms_configuration_set,
        )


_ADAPTERS: list[Adapters] = []


def override_adapters(adapters: Adapters | None) -> None:
    """Serve every port from ``adapters`` in this process (the simulator's in-memory population
    runs), or restore AWS with None. Like ``override_client``, the handlers' code is unchanged."""
    _ADAPTERS[:] = [] if adapters is None else [adapters]


def adapters(clients: Clients) -> Adapters:
    return _ADAPTERS[0] if _ADAPTERS else AwsAdapters(clients)


def trigger_eval(settings: Settings, clients: Clients, clock: Clock) -> TriggerEval:
    from touchpoint.engine.trigger import TriggerEval

    ports = adapters(clients)
    return TriggerEval(
        settings,
        load_registry(settings.registry_path),
        ports.profiles(settings),
        ports.state(settings),
        ports.executions(),
        ports.bus(settings),
        ports.queue(settings),
        clock,
    )


def kpi_rollup(settings: Settings, clients: Clients, clock: Clock) -> KpiRollup:
    from touchpoint.aws.kpis import EmfMetrics, load_send_steps
    from touchpoint.engine.kpi import KpiRollup

    journeys = load_registry(settings.registry_path)
    ports = adapters(clients)
    return KpiRollup(
        settings,
        journeys,
        ports.kpis(settings),
        EmfMetrics(),
        ports.alerts(settings),
        clock,
        load_send_steps(settings.journeys_dir, sorted(journeys.journeys)),
        ports.state(settings),
    )


def privacy(settings: Settings, clients: Clients, clock: Clock) -> Privacy:
    from touchpoint.engine.privacy import Privacy

    ports = adapters(clients)
    return Privacy(
        load_registry(settings.registry_path),
        ports.profiles(settings),
        ports.state(settings),
        ports.executions(),
        ports.wakeups(settings),
        clock,
    )


def operations(settings: Settings, clients: Clients, clock: Clock) -> Operations:
    from touchpoint.engine.operations import Operations

    ports = adapters(clients)
    return Operations(settings, ports.state(settings), ports.executions(), ports.wakeups(settings), clock)


def proofs(settings: Settings, clients: Clients, clock: Clock) -> Proofs:
    """Proof sends (``touchpoint send-test``): the send functions' renderer, unsubscribe key and
    providers, the caller's identity from STS, the audit log in the state table."""
    from touchpoint.aws.services import StsCaller
    from touchpoint.engine.proof import Proofs

    settings = with_secret(settings, clients)
    ports = adapters(clients)
    return Proofs(
        settings,
        load_journeys(settings.journeys_dir, sorted(load_registry(settings.registry_path).journeys)),
        ports.profiles(settings),
        ports.state(settings),
        StsCaller(clients("sts")),
        load_renderer(settings.journeys_dir),
        clock,
        email=ports.email(settings),
        sms=ports.sms(settings),
    )


def opt_out(settings: Settings, clients: Clients, clock: Clock) -> OptOut:
    from touchpoint.engine.optout import OptOut

    settings = with_secret(settings, clients)
    ports = adapters(clients)
    return OptOut(
        settings.unsubscribe_secret,
        ports.profiles(settings),
        ports.state(settings),
        ports.bus(settings),
        clock,
    )


def sender(settings: Settings, clients: Clients, clock: Clock, channel: str) -> tuple[Sender, LambdaOnce]:
    from touchpoint.engine.send import Sender

    settings = with_secret(settings, clients)
    ports = adapters(clients)
    once = ports.once(settings, channel)
    service = Sender(
        settings,
        ports.profiles(settings),
        ports.state(settings),
        load_renderer(settings.journeys_dir),
        ports.executions(),
        ports.wakeups(settings),
        ports.bus(settings),
        once,
        clock,
        email=ports.email(settings) if channel == "email" else None,
        sms=None if channel == "email" else ports.sms(settings),
    )
    return service, once
