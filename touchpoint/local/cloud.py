"""The local cloud: moto for AWS, the ASL executor for Step Functions, the real handlers in-process.

Events travel as in AWS: handlers put them on the bus (moto), the rules of
``touchpoint/routing.py`` (moto's EventPattern) deliver them to the SQS queues, and the queues are
drained in Lambda's SQS batch shape into trigger_eval and kpi_rollup. Deferred sends are
EventBridge Scheduler schedules (moto) fired on the virtual clock. The handlers cannot tell."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import botocore.client
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID

from functions.kpi_rollup import app as kpi_app
from functions.send_email import app as email_app
from functions.send_sms import app as sms_app
from functions.trigger_eval import app as trigger_app
from functions.unsubscribe import app as unsubscribe_app
from touchpoint import contract, routing
from touchpoint.aws import send_handler, wiring
from touchpoint.aws.kpis import DynamoKpis
from touchpoint.aws.profiles import DynamoProfiles
from touchpoint.aws.tables import create_tables
from touchpoint.clock import process_clock, use_clock
from touchpoint.local import strict
from touchpoint.local.asl import Executor, status_change_event
from touchpoint.local.clock import VirtualClock
from touchpoint.local.faults import FaultyClient, Injector
from touchpoint.local.integrations import AwsIntegrations, InvocationCrashed, LambdaContext, Usage
from touchpoint.local.memory import MemoryAdapters, MemoryTables
from touchpoint.local.memory.clients import EventsClient, MemoryQueues, QueuedMessage
from touchpoint.local.memory.kpis import MemoryKpis
from touchpoint.local.memory.profiles import MemoryProfiles
from touchpoint.local.meter import Meter
from touchpoint.local.moto_bridge import backend, moto_speedups, queue_waiting, schedules
from touchpoint.local.provider_events import SesMessages
from touchpoint.local.sfn_client import LocalStepFunctionsClient
from touchpoint.local.sms_voice import LocalSmsVoice
from touchpoint.settings import Settings
from touchpoint.state.repository import StateRepository

REGION, ACCOUNT = "us-east-1", DEFAULT_ACCOUNT_ID
FUNCTIONS = ("trigger-eval", "send-email", "send-sms", "kpi-rollup", "unsubscribe")
SENDER = "news@touchpoint.example"
SMS_ORIGINATION = "+12065550100"  # the local deployment's SMS number (a documentation number)
QUEUES = ("trigger", "kpi", "observer")
BACKENDS = ("moto", "memory")
VISIBILITY = 300  # seconds a received message stays hidden; drained batches are deleted long before
MAX_RECEIVES = 5  # the stack's redrive policy: the fifth failed receive goes to the dead-letter queue
SCHEDULER_RETRIES = 10  # EventBridge Scheduler's retry policy of the stack's schedules


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:touchpoint-{name}"


def substitutions(settings: Settings) -> dict[str, str]:
    """What the CDK stack's definition_substitutions fill in, for the local deployment."""
    return {
        contract.SEND_EMAIL_FUNCTION: function_arn("send-email"),
        contract.SEND_SMS_FUNCTION: function_arn("send-sms"),
        contract.TRIGGER_EVAL_FUNCTION: function_arn("trigger-eval"),
        contract.EVENT_BUS: settings.event_bus_name,
    }


def local_settings(bundle: Path, overrides: dict[str, Any]) -> Settings:
    base = {
        "state_machine_arn_prefix": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:",
        "scheduler_role_arn": f"arn:aws:iam::{ACCOUNT}:role/touchpoint-scheduler",
        "email_from": f"Touchpoint Coffee <{SENDER}>",
        # End User Messaging SMS, as a deployment sends: moto has none, so the local one
        # (touchpoint/local/sms_voice.py); a scenario may choose SNS, which reports no delivery
        "sms_adapter": "end-user-messaging",
        "sms_origination_identity": SMS_ORIGINATION,
        "sms_configuration_set": "touchpoint-sms",
        "unsubscribe_secret": "local-simulation-secret",
        "unsubscribe_url": "https://unsubscribe.touchpoint.example/",
        "sms_signature_cn": "【Touchpoint】",
        "trigger_queue_url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/trigger",
        "alert_topic_arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:touchpoint-alerts",
        "bundle_root": str(bundle),
    }
    return Settings.model_validate({**base, **overrides})


class LocalCloud:
    """``backend`` is ``"moto"`` (every request through boto3 into moto) or ``"memory"`` (the same
    handlers and adapters' semantics on in-memory tables and moto's models without HTTP: ~20x
    faster, for population runs; ``touchpoint/local/memory``)."""

    def __init__(
        self,
        settings: Settings,
        clock: VirtualClock,
        seed: int,
        backend: str = "moto",
        faults: Injector | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        self.settings, self.clock, self.seed, self.backend = settings, clock, seed, backend
        self.faults = faults
        #: SQS records redelivered, direct invocations retried, records and invocations given up
        self.recovery: Counter[str] = Counter()
        self.dead_letters: list[dict[str, Any]] = []
        self._receives: Counter[tuple[str, str]] = Counter()
        self.usage = Usage()
        self.meter = Meter()
        self.invocations: Counter[str] = Counter()
        self.send_listeners: list[Callable[[str, Any, Any], None]] = []
        self._scheduled: set[str] = set()
        self._exit = ExitStack()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> LocalCloud:
        self._environment()
        self._exit.enter_context(mock_aws())
        self._exit.enter_context(moto_speedups())
        self._meter_requests()
        self.session = boto3.session.Session(region_name=REGION)
        self.clients = wiring.Clients(self.session)
        if self.backend == "memory":
            self.memory: MemoryTables | None = MemoryTables(self.meter, QUEUES)
            self.sqs: MemoryQueues | MotoQueues = self.memory.queues
            self._exit.enter_context(self.memory.queues.as_event_targets())
            self.events: Any = EventsClient(self.meter, ACCOUNT, REGION)
        else:
            self.memory, self.sqs = None, MotoQueues()
            self.events = self.client("events")
        self.integrations = AwsIntegrations(events=self.events, seed=self.seed)
        self.executor = Executor(
            self.clock, self.integrations, seed=self.seed, region=REGION, account_id=ACCOUNT, usage=self.usage
        )
        self.executor.add_listener(self._execution_ended)
        self._exit.callback(use_clock, process_clock())
        use_clock(self.clock)
        stepfunctions = LocalStepFunctionsClient(self.executor)
        wiring.override_client("stepfunctions", stepfunctions)
        self._exit.callback(wiring.override_client, "stepfunctions", None)
        # the message providers: strict (AWS's limits, AWS's errors), End User Messaging local,
        # and what SES and End User Messaging accepted kept for their events
        self.ses_messages = SesMessages(self.clock, ACCOUNT, REGION)
        self.sms_voice = LocalSmsVoice(self.meter, self.clock, self.seed)
        self.adapters: wiring.AwsAdapters | MemoryAdapters = wiring.AwsAdapters(self.clients)
        if self.memory is not None:
            self.adapters = MemoryAdapters(self.memory, stepfunctions, ACCOUNT, REGION, self.sms_voice)
            self.adapters.sesv2.accepted.append(self.ses_messages.accept)
            wiring.override_adapters(self.adapters)
            self._exit.callback(wiring.override_adapters, None)
            providers: dict[str, Any] = {"pinpoint-sms-voice-v2": self.sms_voice}
        else:
            providers = {
                "sesv2": strict.install(
                    self.session.client("sesv2", config=wiring.provider_config()), self.ses_messages.accept
                ),
                "sns": strict.install(self.session.client("sns", config=wiring.provider_config())),
                "pinpoint-sms-voice-v2": self.sms_voice,
            }
        if self.faults is not None:
            providers = self._faulty(providers, self.faults)
        for service, client in providers.items():
            wiring.override_client(service, client)
            self._exit.callback(wiring.override_client, service, None)
        self._deploy()
        self.meter.reset()
        return self

    def arm_faults(self) -> None:
        """Start DynamoDB's faults: after the deployment and the imported profiles, whose writes
        are CloudFormation's and a backfill's, not the engine's."""
        if self.faults is not None:
            self._dynamodb_faults(self.faults)
            self.faults.armed = True

    def disarm_faults(self) -> None:
        """Stop every fault: the simulator reads its results as an operator would, afterwards."""
        if self.faults is not None:
            self.faults.armed = False

    def _faulty(self, providers: dict[str, Any], faults: Injector) -> dict[str, Any]:
        """The provider clients with the scenario's faults around their sends (both backends)."""
        channels = {"sesv2": "email", "pinpoint-sms-voice-v2": "sms", "sns": "sms"}
        if isinstance(self.adapters, MemoryAdapters):
            self.adapters.sesv2 = FaultyClient(self.adapters.sesv2, "email", faults)  # type: ignore[assignment]
            self.adapters.sns = FaultyClient(self.adapters.sns, "sms", faults)  # type: ignore[assignment]
            self.adapters.sms_voice = FaultyClient(self.adapters.sms_voice, "sms", faults)  # type: ignore[assignment]
        return {
            service: FaultyClient(client, channels[service], faults) for service, client in providers.items()
        }

    def _dynamodb_faults(self, faults: Injector) -> None:
        if self.memory is not None:
            for table in (self.memory.profiles, self.memory.state, self.memory.kpis):
                table.fault = faults.dynamodb_memory
            return

        def refuse(model: Any, **_: Any) -> None:
            faults.dynamodb(model.name)

        # one client for the handlers and the simulator, so the hook sees every request the engine sends
        client = self.clients("dynamodb")
        client.meta.events.register("before-call.dynamodb.*", refuse)
        wiring.override_client("dynamodb", client)
        self._exit.callback(wiring.override_client, "dynamodb", None)

    def __exit__(self, *_: object) -> None:
        self._exit.close()

    def client(self, service: str) -> Any:
        return self.clients(service)

    # the tables, through the adapters the handlers use (the simulator fills and reads them)

    def profiles(self) -> DynamoProfiles | MemoryProfiles:
        return self.adapters.profiles(self.settings)

    def state(self) -> StateRepository:
        return self.adapters.state(self.settings)

    def kpis(self) -> DynamoKpis | MemoryKpis:
        return self.adapters.kpis(self.settings)

    def _environment(self) -> None:
        values = {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "POWERTOOLS_SERVICE_NAME": "touchpoint",
            "POWERTOOLS_METRICS_NAMESPACE": "Touchpoint",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",  # a simulation's output is its report
            "POWERTOOLS_IDEMPOTENCY_DISABLED": "false",
        }
        for name, variable in Settings.env_names().items():
            value = getattr(self.settings, name)
            if value is not None and value != ():
                values[variable] = ",".join(value) if isinstance(value, tuple) else str(value)
        saved = {k: os.environ.get(k) for k in values}
        os.environ.update(values)

        def restore() -> None:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

        self._exit.callback(restore)

    def _meter_requests(self) -> None:
        original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009 - patched, see below
        meter = self.meter

        def metered(client: Any, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            meter.record(service, operation, params)
            response = original(client, operation, params)
            if service == "dynamodb" and operation == "Scan":
                meter.scanned(response.get("Items", []), bool(params.get("ConsistentRead")))
            return response

        setattr(botocore.client.BaseClient, "_make_api_call", metered)  # noqa: B010 - every client, every service
        self._exit.callback(setattr, botocore.client.BaseClient, "_make_api_call", original)

    # ------------------------------------------------------------------ deployment

    def _deploy(self) -> None:
        s = self.settings
        if self.memory is None:
            create_tables(self.client("dynamodb"), s.profiles_table, s.state_table, s.kpis_table)
        events, sqs = self.client("events"), self.client("sqs")
        events.create_event_bus(Name=s.event_bus_name)
        self.queues = {}
        for name in QUEUES:
            url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.queues[name] = (url, arn)
        for rule in routing.deployed(s.ses_configuration_set, s.sms_origination_identity):
            bus = s.event_bus_name if rule.bus == "app" else "default"
            events.put_rule(Name=rule.name, EventBusName=bus, EventPattern=json.dumps(rule.pattern))
            events.put_targets(
                Rule=rule.name,
                EventBusName=bus,
                Targets=[{"Id": target, "Arn": self.queues[target][1]} for target in rule.targets],
            )
        # the simulator watches journey events (what was sent, who entered) like any subscriber would
        events.put_rule(
            Name="observer",
            EventBusName=s.event_bus_name,
            EventPattern=json.dumps({"source": [contract.JOURNEY_SOURCE]}),
        )
        events.put_targets(
            Rule="observer",
            EventBusName=s.event_bus_name,
            Targets=[{"Id": "observer", "Arn": self.queues["observer"][1]}],
        )
        ses = self.client("sesv2")
        ses.create_email_identity(EmailIdentity=SENDER)
        self.client("ses").verify_email_identity(EmailAddress=SENDER)
        ses.create_configuration_set(ConfigurationSetName=s.ses_configuration_set)
        self.client("scheduler").create_schedule_group(Name=s.scheduler_group)
        self.client("sns").create_topic(Name="touchpoint-alerts")
        handlers = self._handlers()
        for name in FUNCTIONS:
            self.integrations.register_function(function_arn(name), self._invoker(name, handlers[name]))
        values = substitutions(s)
        for path in sorted((s.bundle_root / "statemachines").glob("*.asl.json")):
            text = path.read_text(encoding="utf-8")
            for key, value in values.items():
                text = text.replace("${" + key + "}", value)
            self.executor.create_state_machine(
                contract.state_machine_name(path.name.removesuffix(".asl.json")), json.loads(text)
            )

    def _handlers(self) -> dict[str, Callable[..., Any]]:
        # a fresh cold start for this deployment (handlers cache their services per process)
        trigger_app.service.cache_clear()
        trigger_app.privacy.cache_clear()
        kpi_app.service.cache_clear()
        unsubscribe_app.service.cache_clear()
        send_handler.service.cache_clear()
        for module_logger in (
            trigger_app.logger,
            kpi_app.logger,
            unsubscribe_app.logger,
            send_handler.logger,
        ):
            self._exit.callback(module_logger.setLevel, module_logger.log_level)  # restored after the run
            module_logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])
        wiring.load_registry.cache_clear()
        wiring.load_renderer.cache_clear()
        return {
            "trigger-eval": trigger_app.handler,
            "send-email": email_app.handler,
            "send-sms": sms_app.handler,
            "kpi-rollup": kpi_app.handler,
            "unsubscribe": unsubscribe_app.handler,
        }

    def _invoker(self, name: str, handler: Callable[..., Any]) -> Callable[[Any, Any], Any]:
        def invoke(payload: Any, context: Any) -> Any:
            self.invocations[name] += 1
            result = handler(payload, context)
            if name.startswith("send-"):
                for listener in self.send_listeners:
                    listener(name, payload, result)
                if isinstance(result, dict) and result.get("status") == "deferred":
                    self._schedule_wakeups()
            return result

        return invoke

    def invoke_retried(self, name: str, payload: Any, attempt: int = 0) -> None:
        """Invoke as EventBridge Scheduler does: a failed invocation is retried (exponential
        backoff from a minute, up to 10 retries, as the stack's schedules and wake-ups are
        configured), then sent to the dead-letter queue."""
        try:
            self.invoke(name, payload)
        except (Exception, InvocationCrashed) as error:
            if attempt >= SCHEDULER_RETRIES:
                self.recovery["invocations_dead_lettered"] += 1
                self.dead_letters.append({"function": name, "error": type(error).__name__})
                return
            self.recovery["invocations_retried"] += 1
            self.clock.call_later(
                60.0 * 2**attempt,
                lambda: self.invoke_retried(name, payload, attempt + 1),
                label=f"retry {name}",
            )

    def invoke(self, name: str, payload: Any) -> Any:
        """Invoke a function the way EventBridge Scheduler or a Function URL would."""
        context = LambdaContext(
            function_name=f"touchpoint-{name}",
            invoked_function_arn=function_arn(name),
            aws_request_id=f"local-{sum(self.invocations.values())}",
        )
        return self.integrations._functions[f"touchpoint-{name}"][1](payload, context)

    # ------------------------------------------------------------------ events

    def put_default_bus(self, entries: list[dict[str, Any]]) -> None:
        """AWS services' events (SES, End User Messaging, Step Functions) on the default bus."""
        self.put_app_events(entries)

    def put_app_events(self, entries: list[dict[str, Any]]) -> None:
        for start in range(0, len(entries), 10):
            self.events.put_events(Entries=entries[start : start + 10])

    def _execution_ended(self, detail: Any) -> None:
        event = status_change_event(
            detail, region=REGION, account_id=ACCOUNT, event_id=f"status-{detail['executionArn']}"
        )
        self.put_default_bus(
            [
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event["resources"],
                    "Time": self.clock.now(),
                }
            ]
        )

    def pending(self, name: str | None = None) -> bool:
        """Whether a queue (or any) holds messages, read from the backend without an API call:
        the simulator's own plumbing, so checking costs nothing that AWS would bill."""
        return any(self.sqs.waiting(n) for n in ([name] if name else QUEUES))

    def drain(self) -> Iterator[dict[str, Any]]:
        """Deliver queued events to their functions as SQS batches until every queue is empty,
        as Lambda's event source mapping does; yields the observed journey events.

        The mapping is AWS's own poller, not our code: it takes messages through moto's SQS
        backend (its visibility and receipt-handle logic) rather than the HTTP protocol, which
        costs 10 ms a call in moto, or from the in-memory queues. Its receives and deletes are
        metered as SQS requests either way."""
        targets = {"trigger": "trigger-eval", "kpi": "kpi-rollup"}
        while self.pending():
            for name in QUEUES:
                if not self.pending(name):
                    continue
                arn = self.queues[name][1]
                messages = self._receive(name)
                if not messages:
                    continue
                if name == "observer":
                    for message in messages:
                        yield json.loads(message.body)
                else:
                    try:
                        response = self.invoke(targets[name], _sqs_event(messages, arn))
                        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
                    except Exception:  # the invocation failed (every record did): all come back
                        failed = {m.id for m in messages}
                    for message in messages:
                        if message.id in failed:
                            self._redeliver(name, message.body)
                self.sqs.delete(name, messages)
                for _ in range(0, len(messages), 10):
                    self.meter.record("sqs", "DeleteMessageBatch", {})

    def _redeliver(self, name: str, body: str) -> None:
        """A record its function reported failed: SQS makes it visible again after the visibility
        timeout, and after ``MAX_RECEIVES`` receives moves it to the dead-letter queue."""
        key = (name, body)
        self._receives[key] += 1
        if self._receives[key] >= MAX_RECEIVES:
            self.recovery["records_dead_lettered"] += 1
            self.dead_letters.append({"queue": name, "body": body[:200]})
            return
        self.recovery["records_redelivered"] += 1
        self.clock.call_later(VISIBILITY, lambda: self.sqs.send(name, body), label=f"redeliver {name}")

    def _receive(self, name: str) -> list[QueuedMessage]:
        """One batch as the event source mapping gathers it: receives of up to ten messages until
        the batch size is reached or the queue is empty (the batching window has passed by then)."""
        sizes: dict[str, int] = {target: size for target, (size, _) in routing.BATCHING.items()}
        size = sizes.get(name, 10)  # the observer queue is the simulator's own
        batch: list[QueuedMessage] = []
        while len(batch) < size:
            received = self.sqs.take(name, min(10, size - len(batch)))
            self.meter.record("sqs", "ReceiveMessage", {})
            if not received:
                break
            batch += received
        return batch

    # ------------------------------------------------------------------ deferred sends

    def wake_scheduled(self) -> None:
        """Put the wake-up schedules created outside a send (an operator's resume) on the clock."""
        self._schedule_wakeups()

    def _schedule_wakeups(self) -> None:
        group = schedules(ACCOUNT, REGION, self.settings.scheduler_group)
        for name, schedule in list(group.items()):
            if name in self._scheduled:
                continue
            self._scheduled.add(name)
            at = dt.datetime.fromisoformat(schedule.schedule_expression[3:-1]).replace(tzinfo=dt.UTC)
            target = schedule.target
            payload = json.loads(target["Input"])

            def fire(name: str = name, arn: str = target["Arn"], body: Any = payload) -> None:
                self._scheduled.discard(name)
                if group.pop(name, None) is None:  # ActionAfterCompletion: DELETE
                    return  # deleted before it ran (an erasure cancelled it)
                self.invoke_retried(arn.rsplit(":function:touchpoint-", 1)[1], body)

            self.clock.call_at(max(at, self.clock.now()), fire, label=f"wake {name}")


def _sqs_event(messages: list[QueuedMessage], arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m.id,
                "receiptHandle": m.receipt,
                "body": m.body,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m.md5,
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


class MotoQueues:
    """The moto backend's queues, as the event source mapping reads them: through moto's SQS model
    (its visibility and receipt handles), not its HTTP protocol."""

    def waiting(self, name: str) -> bool:
        return queue_waiting(ACCOUNT, REGION, name)

    def take(self, name: str, count: int) -> list[QueuedMessage]:
        received = backend("sqs", ACCOUNT, REGION).receive_message(name, count, 0, VISIBILITY, ["All"])
        return [QueuedMessage(str(m.id), str(m.body), str(m.receipt_handle)) for m in received]

    def delete(self, name: str, messages: list[QueuedMessage]) -> None:
        for message in messages:
            backend("sqs", ACCOUNT, REGION).delete_message(name, message.receipt)

    def send(self, name: str, body: str) -> None:
        backend("sqs", ACCOUNT, REGION).send_message(name, body)
