"""Faults a scenario rehearses (R11: "network faults: retry, nothing lost, nothing sent twice").

A scenario's ``faults:`` block names what goes wrong and how often; the injector makes it happen
at the wire, where AWS would: a provider refuses (throttling, an outage) before it takes the
message, or takes it and the answer never arrives (a read timeout) or the function dies before
recording it (a crash); DynamoDB throttles; EventBridge delivers an app event more than once, late.
Everything above the wire (the handlers, the retries of the state machines, SQS redelivery) is the
real code reacting, so the report's counts are what the engine did about it."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError, ReadTimeoutError

from touchpoint.durations import format_duration
from touchpoint.errors import TransientError
from touchpoint.local.integrations import InvocationCrashed
from touchpoint.local.scenario import ChannelFault, Fault, Outage, Redelivery, ServiceFault

#: Attempts of a DynamoDB request before the SDK gives up (standard mode, max_attempts 3: 1 + 3).
SDK_ATTEMPTS = 4


@dataclass
class Accepted:
    """A message the provider took although the caller never learned of it."""

    channel: str
    message_id: str
    request: dict[str, Any]


@dataclass
class Injector:
    faults: tuple[Fault, ...]
    seed: int
    start: dt.datetime
    now: Callable[[], dt.datetime]
    armed: bool = False  # off while the simulator sets up and reads its results
    injected: Counter[str] = field(default_factory=Counter)
    unanswered: list[Accepted] = field(default_factory=list)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}:faults")

    def _draw(self, share: float | None) -> bool:
        return share is not None and self._rng.random() < share

    def _out(self, outage: Outage | None) -> bool:
        if outage is None:
            return False
        begin = self.start + dt.timedelta(seconds=outage.at)
        return begin <= self.now() < begin + dt.timedelta(seconds=outage.for_)

    # ------------------------------------------------------------------ providers

    def provider(
        self, channel: str, operation: str, call: Callable[[], dict[str, Any]], request: dict[str, Any]
    ) -> dict[str, Any]:
        """``call`` (the real provider request) with this channel's faults around it."""
        faults = [
            f for f in self.faults if isinstance(f, ChannelFault) and f.channel == channel and self.armed
        ]
        for fault in faults:
            if self._out(fault.outage):
                self.injected[f"{channel}_outage"] += 1
                raise _client_error(operation, "ServiceUnavailable", 503, "Service is unavailable")
            if self._draw(fault.throttle):
                self.injected[f"{channel}_throttled"] += 1
                code = "TooManyRequestsException" if channel == "email" else "ThrottlingException"
                raise _client_error(operation, code, 429, "Rate exceeded")
        response = call()
        for fault in faults:
            if self._draw(fault.crash_after_accept):
                self.injected[f"{channel}_crashed_after_accept"] += 1
                self.unanswered.append(Accepted(channel, str(response["MessageId"]), request))
                raise InvocationCrashed
            if self._draw(fault.lost_response):
                self.injected[f"{channel}_lost_response"] += 1
                self.unanswered.append(Accepted(channel, str(response["MessageId"]), request))
                raise ReadTimeoutError(endpoint_url=f"https://{channel}.local")
        return response

    # ------------------------------------------------------------------ DynamoDB

    def dynamodb(self, operation: str) -> None:
        """Throttle each attempt of a DynamoDB request with the fault's share; the SDK retries a
        throttled attempt (``SDK_ATTEMPTS`` in all, as ``wiring``'s clients are configured, without
        waiting here), so the caller sees the error only when every attempt was throttled."""
        if not self.armed:
            return
        for fault in self.faults:
            if not isinstance(fault, ServiceFault):
                continue
            if self._out(fault.outage):
                self.injected["dynamodb_outage"] += 1
                raise _client_error(operation, "ServiceUnavailable", 503, "Service unavailable")
            attempts = 0
            while attempts < SDK_ATTEMPTS and self._draw(fault.throttle):
                attempts += 1
            self.injected["dynamodb_throttled"] += attempts
            if attempts == SDK_ATTEMPTS:
                self.injected["dynamodb_throttled_past_sdk_retries"] += 1
                raise _client_error(
                    operation, "ProvisionedThroughputExceededException", 400, "Throughput exceeded"
                )

    def dynamodb_memory(self, operation: str) -> None:
        """For the in-memory tables, which sit below the adapters' error translation: what the
        DynamoDB adapters make of throttling (``touchpoint.aws.dynamo.THROTTLING``)."""
        try:
            self.dynamodb(operation)
        except ClientError as error:
            raise TransientError("ProvisionedThroughputExceededException") from error

    # ------------------------------------------------------------------ EventBridge

    def copies(self, at: dt.datetime) -> list[dt.datetime]:
        """When the copies of an app event put at ``at`` arrive (the first on time)."""
        times = [at]
        for fault in self.faults:
            if isinstance(fault, Redelivery):
                extra = self._rng.randrange(fault.deliveries)
                for _ in range(extra):
                    times.append(at + dt.timedelta(seconds=self._rng.randrange(fault.late + 1)))
                self.injected["events_redelivered"] += extra
        return times

    def describe(self) -> list[str]:
        return [_describe(f) for f in self.faults]


def _describe(fault: Fault) -> str:
    match fault:
        case ChannelFault():
            kinds = ("throttle", "outage", "crash_after_accept", "lost_response")
            what = next(n for n in kinds if getattr(fault, n))
            return f"{fault.channel}: {what.replace('_', ' ')} {_value(getattr(fault, what))}"
        case ServiceFault():
            what = "throttle" if fault.throttle is not None else "outage"
            return f"{fault.service}: {what} {_value(getattr(fault, what))}"
        case Redelivery():
            late = format_duration(fault.late) if fault.late else "0m"
            return f"app events delivered up to {fault.deliveries} times, up to {late} late"


def _value(value: Any) -> str:
    if isinstance(value, Outage):
        return f"at {format_duration(value.at)} for {format_duration(value.for_)}"
    return f"{value:.0%}"


def _client_error(operation: str, code: str, status: int, message: str) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


class FaultyClient:
    """A provider client with the injector's faults around its sending operation; everything else
    passes through (the adapters call only the one operation)."""

    _SENDS: ClassVar[dict[str, str]] = {
        "send_email": "SendEmail",
        "send_text_message": "SendTextMessage",
        "publish": "Publish",
    }

    def __init__(self, client: Any, channel: str, injector: Injector) -> None:
        self._client, self._channel, self._injector = client, channel, injector

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in self._SENDS:
            return attribute

        def send(**request: Any) -> dict[str, Any]:
            return self._injector.provider(
                self._channel, self._SENDS[name], lambda: attribute(**request), request
            )

        return send
