"""boto3-shaped clients that call moto's service models directly, for the in-memory backend.

moto answers a request in two layers: an HTTP layer (botocore serialises, moto routes, parses and
serialises the answer back: ~5 ms) and its service models (the rules: ~0.1 ms). These clients keep
the models and drop the wire, exactly as ``LocalStepFunctionsClient`` does for the executor: the
AWS adapters (``EventBus``, ``SesEmail``, ``SnsSms``, ``SchedulerWakeups``, ``SqsQueue``) run
unchanged on them, moto's exceptions arrive as ``ClientError`` with moto's codes, and every call
is metered as the request botocore would have sent. Each method passes what moto's own response
handler for that operation passes to the model (``moto/<service>/responses.py``)."""

# ruff: noqa: N803 - the methods take boto3's (CamelCase) parameter names

from __future__ import annotations

import calendar
import hashlib
import json
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from botocore.utils import parse_to_aware_datetime
from moto.core.exceptions import JsonRESTError, ServiceException
from moto.core.utils import iso_8601_datetime_without_milliseconds, unix_time, utcfromtimestamp
from moto.events.models import Rule
from moto.events.utils import EventMessageType

from touchpoint.local import moto_bridge, strict
from touchpoint.local.meter import Meter

T = TypeVar("T")


@contextmanager
def _client_errors(operation: str) -> Iterator[None]:
    """moto's errors as botocore raises them from the HTTP layer."""
    try:
        yield
    except (JsonRESTError, ServiceException) as error:
        code = str(getattr(error, "error_type", None) or getattr(error, "code", type(error).__name__))
        message = str(getattr(error, "message", error))
        raise ClientError({"Error": {"Code": code, "Message": message}}, operation) from None


class _ModelClient:
    service = ""

    def __init__(self, meter: Meter, account: str, region: str) -> None:
        self.meter, self.account, self.region = meter, account, region

    def _call(self, operation: str, params: dict[str, Any], fn: Callable[[], T]) -> T:
        self.meter.record(self.service, operation, params)
        with _client_errors(operation):
            return fn()


def _epoch(value: Any) -> int:
    """A PutEvents ``Time`` as botocore's JSON serialiser sends it: whole seconds since the epoch."""
    return calendar.timegm(parse_to_aware_datetime(value).timetuple())


class EventsClient(_ModelClient):
    service = "events"

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        entries = [{**e, "Time": _epoch(e["Time"])} if "Time" in e else dict(e) for e in Entries]

        def put() -> dict[str, Any]:
            backend = moto_bridge.backend("events", self.account, self.region)
            details = _details(entries)
            if details is None:  # something moto refuses or reports: let it
                results = backend.put_events(entries)
            else:
                results = [
                    self._route(backend, entry, detail)
                    for entry, detail in zip(entries, details, strict=True)
                ]
            return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}

        return self._call("PutEvents", {"Entries": Entries}, put)

    def _route(self, backend: Any, entry: dict[str, Any], detail: Any) -> dict[str, str]:
        """A valid entry as moto's ``put_events`` takes it: an id from moto's random, then every
        rule of the bus offered the event, minus a deep copy of moto's template per rule. One
        event for all the rules (moto stamps each rule's copy a microsecond apart), so its
        flattened form and SQS body are worked out once (``MemoryQueues.as_event_targets``)."""
        event_id = moto_bridge.new_event_id()
        bus = moto_bridge.event_bus(backend, entry.get("EventBusName"))
        now = unix_time()
        event: EventMessageType = {
            "version": "0",
            "id": event_id,
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": self.account,
            "time": entry.get("Time", now),
            "region": self.region,
            "resources": entry.get("Resources", []),
            "detail": detail,
        }
        event["ingestion-time"] = now
        for rule in bus.rules.values():
            rule.send_to_targets(event)
        return {"EventId": event_id}


def _details(entries: list[dict[str, Any]]) -> list[Any] | None:
    """Each entry's parsed Detail, or None when moto would refuse or report any of them."""
    if len(entries) > 10 or not all(
        e.get("Source") and e.get("DetailType") and e.get("Detail") for e in entries
    ):
        return None
    try:
        details = [json.loads(e["Detail"]) for e in entries]
    except ValueError:
        return None
    return details if all(isinstance(d, dict) for d in details) else None


class SesV2Client(_ModelClient):
    """SES v2 SendEmail of a raw message, checked by the strict provider layer first (botocore's
    parameter validation, then SES's limits) as the moto backend's client is. ``accepted`` hears
    of every message SES took, with the request (its tags and configuration set)."""

    service = strict.SES

    def __init__(self, meter: Meter, account: str, region: str) -> None:
        super().__init__(meter, account, region)
        self.accepted: list[strict.Accepted] = []

    def send_email(self, **params: Any) -> dict[str, Any]:
        def send() -> dict[str, Any]:
            strict.check(self.service, "SendEmail", params)
            destinations = strict.recipients(params)
            raw = params["Content"]["Raw"]["Data"]
            data = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
            backend = moto_bridge.backend("sesv2", self.account, self.region)
            message = backend.send_raw_email(
                source=params["FromEmailAddress"], destinations=destinations, raw_data=data
            )
            response = {"MessageId": message.id}
            for listener in self.accepted:
                listener("SendEmail", params, response)
            return response

        return self._call("SendEmail", {"FromEmailAddress": params.get("FromEmailAddress")}, send)


class SnsClient(_ModelClient):
    """SNS Publish (to a topic, or an SMS to a number: checked by the strict provider layer)."""

    service = strict.SNS

    def publish(self, **params: Any) -> dict[str, Any]:
        phone: str | None = params.get("PhoneNumber")

        def publish() -> dict[str, Any]:
            strict.check(self.service, "Publish", params)
            backend = moto_bridge.backend("sns", self.account, self.region)
            try:
                message_id = backend.publish(
                    params["Message"], arn=params.get("TopicArn"), phone_number=phone
                )
            except ValueError as error:  # what moto's handler turns into InvalidParameter
                raise ClientError(
                    {"Error": {"Code": "InvalidParameter", "Message": str(error)}}, "Publish"
                ) from None
            return {"MessageId": message_id}

        return self._call("Publish", {"PhoneNumber": phone} if phone is not None else {}, publish)


class SchedulerClient(_ModelClient):
    service = "scheduler"

    def create_schedule(
        self, *, Name: str, GroupName: str, ScheduleExpression: str, **params: Any
    ) -> dict[str, Any]:
        def create() -> dict[str, Any]:
            backend = moto_bridge.backend(
                "scheduler", self.account, self.region
            )  # its handler passes None too
            schedule = backend.create_schedule(
                description=params.get("Description"),
                end_date=params.get("EndDate"),
                flexible_time_window=params.get("FlexibleTimeWindow"),
                group_name=GroupName,
                kms_key_arn=params.get("KmsKeyArn"),
                name=Name,
                schedule_expression=ScheduleExpression,
                schedule_expression_timezone=params.get("ScheduleExpressionTimezone"),
                start_date=params.get("StartDate"),
                state=params.get("State"),
                target=params.get("Target"),
                action_after_completion=params.get("ActionAfterCompletion"),
            )
            return {"ScheduleArn": schedule.arn}

        return self._call("CreateSchedule", {}, create)


@dataclass(frozen=True)
class QueuedMessage:
    id: str
    body: str
    receipt: str = ""  # the receipt handle to delete it by (moto's); the id for the in-memory queues

    @property
    def md5(self) -> str:
        return hashlib.md5(self.body.encode()).hexdigest()


class MemoryQueues:
    """The SQS queues of the in-memory backend: messages in arrival order, taken by the event source
    mapping in batches. moto's SQS model recomputes every queue attribute on each send and receive
    (~2 ms); nothing of that is observable here, where a batch is deleted as soon as it is handled."""

    def __init__(self, names: Iterable[str]) -> None:
        self.messages: dict[str, deque[QueuedMessage]] = {name: deque() for name in names}
        self._sent = 0

    def send(self, name: str, body: str) -> QueuedMessage:
        self._sent += 1
        message_id = str(uuid.UUID(int=self._sent))
        message = QueuedMessage(message_id, body, message_id)
        self.messages[name].append(message)
        return message

    def waiting(self, name: str) -> bool:
        return bool(self.messages[name])

    def take(self, name: str, count: int) -> list[QueuedMessage]:
        queue = self.messages[name]
        return [queue.popleft() for _ in range(min(count, len(queue)))]

    def delete(self, name: str, messages: list[QueuedMessage]) -> None:
        """Nothing left to do: a message leaves the queue when it is taken."""

    @contextmanager
    def as_event_targets(self) -> Iterator[None]:
        """EventBridge (moto's model: its validation, ids, rules and patterns) delivers its SQS
        targets here. The body is what moto's ``Rule.send_to_targets`` sends for a target without an
        input transformer (its default template, the time as ISO 8601), built directly rather than
        through eight JSONPath queries per event; any other target goes through moto."""
        seen: list[Any] = [None, None, None]  # the last event offered: itself, flattened, its body

        def deliver(rule: Rule, event: EventMessageType, transform_input: bool) -> bool:
            plain = all(
                t["Arn"].startswith("arn:aws:sqs:")
                and "InputTransformer" not in t
                and "SqsParameters" not in t
                for t in rule.targets
            )
            if not (plain and transform_input):
                return False
            if seen[0] is not event:
                seen[:] = [event, None, None]
            pattern = rule.event_pattern
            if pattern.get_pattern():  # moto's EventPattern.matches_event, flattening the event once
                if seen[1] is None:
                    seen[1] = moto_bridge.flatten_event(event)
                if not moto_bridge.pattern_matches(pattern, seen[1]):
                    return True
            if seen[2] is None:
                at = utcfromtimestamp(float(event["time"]))  # type: ignore[arg-type]
                seen[2] = json.dumps(
                    {
                        "id": event["id"],
                        "time": iso_8601_datetime_without_milliseconds(at),
                        "version": "0",
                        "detail-type": event["detail-type"],
                        "source": event["source"],
                        "region": event["region"],
                        "resources": event["resources"],
                        "detail": event["detail"],
                    }
                )
            for target in rule.targets:
                self.send(target["Arn"].rsplit(":", 1)[1], seen[2])
            return True

        with moto_bridge.rule_delivery(deliver):
            yield


class SqsClient(_ModelClient):
    service = "sqs"

    def __init__(self, meter: Meter, account: str, region: str, queues: MemoryQueues) -> None:
        super().__init__(meter, account, region)
        self.queues = queues

    def send_message(self, *, QueueUrl: str, MessageBody: str, **_: Any) -> dict[str, Any]:
        def send() -> dict[str, Any]:
            message = self.queues.send(QueueUrl.rsplit("/", 1)[1], MessageBody)
            return {"MessageId": message.id, "MD5OfMessageBody": message.md5}

        return self._call("SendMessage", {}, send)
