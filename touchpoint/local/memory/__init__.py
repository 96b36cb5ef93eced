"""The simulator's in-memory backend: every port of a deployment without the wire.

Population runs (thousands of synthetic users) make ~200 AWS requests per user-month; through
boto3 into moto each costs ~5 ms, so 2,000 users took half an hour. Here the DynamoDB tables are
in-memory adapters of the same ports (``MemoryProfiles``, ``MemoryStorage`` under the state
repository, ``MemoryKpis``, ``MemoryOnce``), and the other services are moto's own models called
without HTTP (``clients.py``), under the same AWS adapters. The requests are metered as botocore
would have sent them. ``tests/local/test_memory_*.py`` and ``test_state_storage.py`` hold each
adapter to its DynamoDB twin on moto, and ``test_backends.py`` runs whole scenarios on both
backends and compares the reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from touchpoint.aws.kpis import KpiAlerts
from touchpoint.aws.messaging import EndUserMessagingSms, SesEmail, SnsSms
from touchpoint.aws.services import EventBus, SchedulerWakeups, SqsQueue, StepFunctionsExecutions
from touchpoint.aws.wiring import SEND_ONCE_SECONDS
from touchpoint.engine.ports import SmsPort
from touchpoint.local.memory.clients import (
    EventsClient,
    MemoryQueues,
    SchedulerClient,
    SesV2Client,
    SnsClient,
    SqsClient,
)
from touchpoint.local.memory.kpis import MemoryKpis
from touchpoint.local.memory.once import MemoryOnce
from touchpoint.local.memory.profiles import MemoryProfiles
from touchpoint.local.memory.state import MemoryStorage
from touchpoint.local.memory.store import Table
from touchpoint.local.meter import Meter
from touchpoint.local.sms_voice import LocalSmsVoice
from touchpoint.settings import Settings
from touchpoint.state.repository import StateRepository


@dataclass
class MemoryTables:
    """The three tables of a deployment (``touchpoint/aws/tables.py``) and its queues, in memory."""

    meter: Meter
    queue_names: tuple[str, ...]
    profiles: Table = field(init=False)
    state: Table = field(init=False)
    kpis: Table = field(init=False)
    queues: MemoryQueues = field(init=False)

    def __post_init__(self) -> None:
        self.profiles = Table(self.meter, "user_id")
        self.state = Table(self.meter, "pk", "sk")
        self.kpis = Table(self.meter, "pk", "sk")
        self.queues = MemoryQueues(self.queue_names)


class MemoryAdapters:
    """``wiring.Adapters`` for the in-memory backend; Step Functions is the local executor, End
    User Messaging SMS the local one (``sms_voice``, shared with the moto backend)."""

    def __init__(
        self,
        tables: MemoryTables,
        stepfunctions: object,
        account: str,
        region: str,
        sms_voice: LocalSmsVoice,
    ) -> None:
        meter = tables.meter
        self.tables, self.stepfunctions, self.sms_voice = tables, stepfunctions, sms_voice
        self.events = EventsClient(meter, account, region)
        self.sesv2 = SesV2Client(meter, account, region)
        self.sns = SnsClient(meter, account, region)
        self.scheduler = SchedulerClient(meter, account, region)
        self.sqs = SqsClient(meter, account, region, tables.queues)

    def profiles(self, settings: Settings) -> MemoryProfiles:
        return MemoryProfiles(self.tables.profiles)

    def state(self, settings: Settings) -> StateRepository:
        return StateRepository(MemoryStorage(self.tables.state))

    def kpis(self, settings: Settings) -> MemoryKpis:
        return MemoryKpis(self.tables.kpis)

    def alerts(self, settings: Settings) -> KpiAlerts:
        return KpiAlerts(self.sns, settings.alert_topic_arn, self.events, settings.event_bus_name)

    def executions(self) -> StepFunctionsExecutions:
        return StepFunctionsExecutions(self.stepfunctions)

    def bus(self, settings: Settings) -> EventBus:
        return EventBus(self.events, settings.event_bus_name)

    def queue(self, settings: Settings) -> SqsQueue:
        return SqsQueue(self.sqs, settings.trigger_queue_url)

    def wakeups(self, settings: Settings) -> SchedulerWakeups:
        return SchedulerWakeups(self.scheduler, settings.scheduler_group, settings.scheduler_role_arn)

    def once(self, settings: Settings, channel: str) -> MemoryOnce:
        return MemoryOnce(self.tables.state, SEND_ONCE_SECONDS, prefix=f"send-{channel}")

    def email(self, settings: Settings) -> SesEmail:
        return SesEmail(
            self.sesv2, settings.email_from, settings.ses_configuration_set, settings.email_identity_arn
        )

    def sms(self, settings: Settings) -> SmsPort:
        if settings.sms_adapter == "sns":
            return SnsSms(self.sns)
        return EndUserMessagingSms(
            self.sms_voice, settings.sms_origination_identity, settings.sms_configuration_set
        )
