"""A Touchpoint deployment on moto: tables, bus, queues, SES identity, the compiled example state
machines, and the real services wired as the handlers wire them, with a controllable clock."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import REPO
from touchpoint import contract
from touchpoint.aws import wiring
from touchpoint.aws.services import SchedulerWakeups, StepFunctionsExecutions
from touchpoint.aws.state import DynamoStorage
from touchpoint.aws.tables import create_tables
from touchpoint.engine.operations import Operations
from touchpoint.engine.send import Sender, SendRequest
from touchpoint.engine.trigger import TriggerEval
from touchpoint.engine.trigger.actions import Outcome
from touchpoint.local import strict
from touchpoint.settings import Settings
from touchpoint.state.repository import StateRepository

REGION, ACCOUNT = "us-east-1", "123456789012"
START = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
SENDER = "news@example.com"


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


class RecordingExecutions(StepFunctionsExecutions):
    """The real adapter (calls moto), remembering the callbacks so tests can read them."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.callbacks: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[tuple[str, str]] = []  # (token, error)

    def succeed(self, token: str, output: Mapping[str, Any]) -> bool:
        self.callbacks.append((token, dict(output)))
        return super().succeed(token, output)

    def fail(self, token: str, error: str, cause: str) -> bool:
        self.failures.append((token, error))
        return super().fail(token, error, cause)


def substitute(definition: str, settings: Settings) -> str:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:touchpoint-"
    values = {
        contract.SEND_EMAIL_FUNCTION: arn + "send-email",
        contract.SEND_SMS_FUNCTION: arn + "send-sms",
        contract.TRIGGER_EVAL_FUNCTION: arn + "trigger-eval",
        contract.EVENT_BUS: settings.event_bus_name,
    }
    for name, value in values.items():
        definition = definition.replace("${" + name + "}", value)
    return definition


@dataclass
class World:
    session: Any
    settings: Settings
    clock: Clock
    trigger: TriggerEval
    email: Sender
    sms: Sender
    executions: RecordingExecutions
    captured_queue: str
    user_seq: int = 0
    events_seen: list[dict[str, Any]] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)

    @property
    def state(self) -> StateRepository:
        return StateRepository(DynamoStorage(self.client("dynamodb"), self.settings.state_table))

    def operations(self) -> Operations:
        """pause/resume/stop on moto, the 5 s flags window waited on the virtual clock."""
        return Operations(
            self.settings,
            self.state,
            StepFunctionsExecutions(self.client("stepfunctions")),
            SchedulerWakeups(self.client("scheduler"), "touchpoint", self.settings.scheduler_role_arn),
            self.clock,
            wait=lambda seconds: self.clock.advance(seconds=seconds),
        )

    # -- app events

    def envelope(
        self,
        event_type: str,
        user_id: str,
        *,
        event_id: str | None = None,
        at: dt.datetime | None = None,
        properties: dict[str, Any] | None = None,
        profile: dict[str, Any] | None = None,
        consent: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "event_id": event_id or str(uuid.uuid4()),
            "user_id": user_id,
            "occurred_at": (at or self.clock.now()).isoformat(),
            "properties": properties or {},
        }
        if profile is not None:
            detail["profile"] = profile
        if consent is not None:
            detail["consent"] = consent
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": event_type,
            "source": "shop.web",
            "account": ACCOUNT,
            "time": self.clock.now().isoformat(),
            "region": REGION,
            "resources": [],
            "detail": detail,
        }

    def event(self, event_type: str, user_id: str, **kwargs: Any) -> Outcome:
        return self.trigger.handle_body(json.dumps(self.envelope(event_type, user_id, **kwargs)))

    def execution_ended(self, arn: str, status: str, event_id: str = "x") -> dict[str, Any]:
        """The Step Functions Execution Status Change EventBridge delivers when ``arn`` ends now."""
        described = self.client("stepfunctions").describe_execution(executionArn=arn)
        return {
            "version": "0",
            "id": event_id,
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": ACCOUNT,
            "time": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [arn],
            "detail": {
                "executionArn": arn,
                "stateMachineArn": described["stateMachineArn"],
                "name": described["name"],
                "status": status,
                "stopDate": int(self.clock.now().timestamp() * 1000),
                "input": described["input"],
            },
        }

    def register(
        self,
        user_id: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        email_consent: bool = True,
        sms_consent: bool = False,
        timezone: str = "Asia/Shanghai",
        locale: str = "en",
        attributes: dict[str, Any] | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        profile: dict[str, Any] = {"timezone": timezone, "locale": locale, "attributes": attributes or {}}
        profile["email"] = email or f"{user_id}@example.com"
        if phone:
            profile["phone"] = phone
        consent = {
            "email": {"granted": email_consent, "source": "signup-form"},
            "sms": {"granted": sms_consent, "source": "signup-form"},
        }
        return self.event("user.registered", user_id, profile=profile, consent=consent, event_id=event_id)

    # -- journeys

    def execution(self, user_id: str, journey_id: str) -> str:
        record = self.state.user_state(user_id).entries[journey_id]
        return record.execution_arn

    def executions_of(self, journey_id: str) -> list[dict[str, Any]]:
        arn = self.settings.state_machine_arn(journey_id)
        return self.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]  # type: ignore[no-any-return]

    def send_request(
        self, journey_id: str, step_id: str, user_id: str, *, token: str | None = None, holdout: bool = False
    ) -> SendRequest:
        """The payload the compiled state of this step would send, with its paths resolved: the
        state named ``step_id`` (a send, or the ``if`` a guarded send is named after), else the
        one whose send step it is (a guarded send)."""
        definition = json.loads((REPO / "statemachines" / f"{journey_id}.asl.json").read_text())
        states = definition["States"]
        state = states.get(step_id) or next(
            s for s in states.values() if s.get("Parameters", {}).get("Payload", {}).get("step_id") == step_id
        )
        payload = dict(state["Parameters"]["Payload"])
        resolved = {
            "token.$": token or f"token-{uuid.uuid4()}",
            "execution.$": self.execution(user_id, journey_id),
            "user_id.$": user_id,
            "holdout.$": holdout,
        }
        for key, value in resolved.items():
            payload.pop(key)
            payload[key.removesuffix(".$")] = value
        return SendRequest.model_validate(payload)

    def send(self, request: SendRequest) -> Any:
        sender = self.email if request.channel == "email" else self.sms
        return sender.handle(
            request, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:touchpoint-send-{request.channel}"
        )

    def callback(self, token: str) -> dict[str, Any]:
        found = [out for t, out in self.executions.callbacks if t == token]
        assert len(found) == 1, f"{len(found)} callbacks for {token}"
        return found[0]

    # -- what went out

    def emails(self) -> list[Any]:
        from moto.core import DEFAULT_ACCOUNT_ID

        from touchpoint.local.moto_bridge import ses_sent

        return ses_sent(DEFAULT_ACCOUNT_ID, REGION)

    def sms_messages(self) -> list[tuple[str, str]]:
        from moto.core import DEFAULT_ACCOUNT_ID

        from touchpoint.local.moto_bridge import sms_sent

        return sms_sent(DEFAULT_ACCOUNT_ID, REGION)

    def journey_events(self) -> list[dict[str, Any]]:
        """Journey lifecycle events that reached the bus (through a rule into a capture queue)."""
        sqs = self.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.captured_queue, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                break
            for message in messages:
                self.events_seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.captured_queue, ReceiptHandle=message["ReceiptHandle"])
        return self.events_seen

    def schedules(self) -> list[dict[str, Any]]:
        scheduler = self.client("scheduler")
        names = [
            s["Name"] for s in scheduler.list_schedules(GroupName=self.settings.scheduler_group)["Schedules"]
        ]
        return [scheduler.get_schedule(Name=n, GroupName=self.settings.scheduler_group) for n in names]


def deploy(session: Any, settings: Settings, journeys: Path) -> str:
    """Create everything the stack would, in moto. Returns the capture queue URL."""
    create_tables(
        session.client("dynamodb"), settings.profiles_table, settings.state_table, settings.kpis_table
    )
    events, sqs = session.client("events"), session.client("sqs")
    events.create_event_bus(Name=settings.event_bus_name)
    queue = sqs.create_queue(QueueName="captured-journey-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="capture",
        EventBusName=settings.event_bus_name,
        EventPattern=json.dumps({"source": [contract.JOURNEY_SOURCE]}),
    )
    events.put_targets(
        Rule="capture", EventBusName=settings.event_bus_name, Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    sqs.create_queue(QueueName="trigger")
    ses = session.client("sesv2")
    ses.create_email_identity(EmailIdentity=SENDER)
    session.client("ses").verify_email_identity(EmailAddress=SENDER)
    ses.create_configuration_set(ConfigurationSetName=settings.ses_configuration_set)
    session.client("scheduler").create_schedule_group(Name=settings.scheduler_group)
    sfn = session.client("stepfunctions")
    role = f"arn:aws:iam::{ACCOUNT}:role/touchpoint-journeys"
    for path in sorted((journeys.parent / "statemachines").glob("*.asl.json")):
        name = "touchpoint-" + path.name.removesuffix(".asl.json")
        sfn.create_state_machine(name=name, definition=substitute(path.read_text(), settings), roleArn=role)
    return str(queue)


@pytest.fixture
def aws(aws_env: str) -> Iterator[Any]:
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        profiles_table="profiles",
        state_table="state",
        kpis_table="kpis",
        event_bus_name="touchpoint",
        state_machine_arn_prefix=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:",
        scheduler_role_arn=f"arn:aws:iam::{ACCOUNT}:role/touchpoint-scheduler",
        email_from=f"Touchpoint Coffee <{SENDER}>",
        sms_adapter="sns",
        unsubscribe_secret="test-secret",
        unsubscribe_url="https://unsubscribe.example.com/",
        sms_signature_cn="【Touchpoint】",
        trigger_queue_url=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/trigger",
        bundle_root=REPO,
    )


def lambda_context(name: str) -> Any:
    """What the Lambda runtime passes a handler, as much of it as Powertools reads."""
    return SimpleNamespace(
        function_name=name,
        memory_limit_in_mb=256,
        aws_request_id="req-1",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        get_remaining_time_in_millis=lambda: 30_000,
    )


def sqs_event(bodies: list[str], queue: str, id_prefix: str) -> dict[str, Any]:
    """A batch as Lambda's SQS event source mapping delivers it."""
    return {
        "Records": [
            {
                "messageId": f"{id_prefix}{i}",
                "receiptHandle": "h",
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
            for i, body in enumerate(bodies)
        ]
    }


@pytest.fixture
def world(aws: Any, settings: Settings) -> World:
    captured = deploy(aws, settings, REPO / "journeys")
    clients = wiring.Clients(aws)
    for provider in ("sesv2", "sns"):  # AWS's limits and errors, which moto does not enforce
        strict.install(clients.provider(provider))
    clock = Clock(START)
    executions = RecordingExecutions(clients("stepfunctions"))
    trigger = wiring.trigger_eval(settings, clients, clock)
    email, email_once = wiring.sender(settings, clients, clock, "email")
    sms, sms_once = wiring.sender(settings, clients, clock, "sms")
    # as the handler does, so an in-progress send record expires with its invocation
    email_once.register_lambda_context(lambda_context("touchpoint-send-email"))
    sms_once.register_lambda_context(lambda_context("touchpoint-send-sms"))
    email.executions = sms.executions = executions
    return World(aws, settings, clock, trigger, email, sms, executions, captured)


@pytest.fixture
def env(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The world, with the Lambda handlers configured from the environment as Lambda runs them."""
    for name, variable in Settings.env_names().items():
        value = getattr(world.settings, name)
        if value not in (None, ()):
            monkeypatch.setenv(variable, str(value))
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "touchpoint")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    from functions.kpi_rollup import app as kpi_app
    from functions.trigger_eval import app as trigger_app
    from functions.unsubscribe import app as unsubscribe_app
    from touchpoint import clock
    from touchpoint.aws import send_handler

    # the handlers run on the world's clock (as the simulator sets its own), not the machine's
    monkeypatch.setattr(clock, "_process", world.clock)
    for module in (trigger_app, unsubscribe_app, send_handler, kpi_app):
        module.service.cache_clear()
    trigger_app.privacy.cache_clear()
    return world
