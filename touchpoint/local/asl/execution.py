"""An execution's record and what the API and EventBridge say about it."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

from touchpoint.local.asl.states import StateMachine
from touchpoint.local.asl.values import compact, epoch_ms
from touchpoint.local.clock import Handle
from touchpoint.routing import SFN_STATUS_CHANGE

Json = Any
Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


@dataclass(frozen=True)
class HistoryEvent:
    """One entry of an execution's history, named like AWS's history event types."""

    id: int
    timestamp: dt.datetime
    type: str  # ExecutionStarted, TaskStateEntered, TaskScheduled, TaskFailed, ChoiceStateExited, …
    state: str | None = None
    detail: Mapping[str, Json] = field(default_factory=dict)


class ExecutionDescription(TypedDict):
    """``DescribeExecution``'s fields (boto3 names)."""

    executionArn: str
    stateMachineArn: str
    name: str
    status: Status
    startDate: dt.datetime
    input: str
    stopDate: NotRequired[dt.datetime]
    output: NotRequired[str]
    error: NotRequired[str]
    cause: NotRequired[str]


class StatusChange(TypedDict):
    """The ``detail`` of EventBridge's "Step Functions Execution Status Change" event."""

    executionArn: str
    stateMachineArn: str
    name: str
    status: Status
    startDate: int  # epoch milliseconds
    stopDate: int | None
    input: str
    inputDetails: dict[str, bool]
    output: str | None
    outputDetails: dict[str, bool] | None
    error: str | None
    cause: str | None


Listener = Callable[[StatusChange], None]


def status_change_event(
    detail: StatusChange, *, region: str, account_id: str, event_id: str
) -> dict[str, Json]:
    """The whole EventBridge event around a status change detail, as the default bus delivers it."""
    stop = detail["stopDate"] if detail["stopDate"] is not None else detail["startDate"]
    return {
        "version": "0",
        "id": event_id,
        "detail-type": SFN_STATUS_CHANGE,
        "source": "aws.states",
        "account": account_id,
        "time": dt.datetime.fromtimestamp(stop / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [detail["executionArn"]],
        "detail": dict(detail),
    }


@dataclass
class Execution:
    """An execution's record. Read it through the executor; the executor alone changes it."""

    arn: str
    name: str
    machine: StateMachine
    input: str
    input_value: Json
    start_date: dt.datetime
    status: Status = "RUNNING"
    stop_date: dt.datetime | None = None
    output: Json = None
    error: str | None = None
    cause: str | None = None
    history: list[HistoryEvent] = field(default_factory=list)
    transitions: int = 0  # billed state transitions of this execution
    pending: Handle | None = field(default=None, repr=False)  # the scheduled continuation
    deadline: Handle | None = field(default=None, repr=False)  # the execution's TimeoutSeconds
    token: str | None = field(default=None, repr=False)  # the task token being waited on
    #: MathRandom's and UUID's draws, seeded from the execution ARN: reproducible per execution.
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"intrinsics:{self.arn}")

    @property
    def path(self) -> list[str]:
        """State names in the order they were entered (retries are not re-entries)."""
        return [e.state for e in self.history if e.type.endswith("StateEntered") and e.state is not None]

    def states_entered(self) -> Iterator[tuple[str, dt.datetime]]:
        for event in self.history:
            if event.type.endswith("StateEntered") and event.state is not None:
                yield event.state, event.timestamp

    def describe(self) -> ExecutionDescription:
        out: ExecutionDescription = {
            "executionArn": self.arn,
            "stateMachineArn": self.machine.arn,
            "name": self.name,
            "status": self.status,
            "startDate": self.start_date,
            "input": self.input,
        }
        if self.stop_date is not None:
            out["stopDate"] = self.stop_date
        if self.status == "SUCCEEDED":
            out["output"] = compact(self.output)
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        return out

    def status_change(self) -> StatusChange:
        """The status-change detail of the execution once it has ended."""
        assert self.stop_date is not None
        succeeded = self.status == "SUCCEEDED"
        return {
            "executionArn": self.arn,
            "stateMachineArn": self.machine.arn,
            "name": self.name,
            "status": self.status,
            "startDate": epoch_ms(self.start_date),
            "stopDate": epoch_ms(self.stop_date),
            "input": self.input,
            "inputDetails": {"included": True},
            "output": compact(self.output) if succeeded else None,
            "outputDetails": {"included": True} if succeeded else None,
            "error": self.error,
            "cause": self.cause,
        }
