"""A local executor on a fresh virtual clock, and small definitions to run on it (for the test_asl_* files).

Lambda tasks call plain Python handlers; DynamoDB and EventBridge tasks call moto. Time is the
virtual clock's, so every timing is exact."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from touchpoint.contract import LAMBDA_CALLBACK, LAMBDA_INVOKE
from touchpoint.local.asl import (
    Executor,
    StatusChange,
)
from touchpoint.local.clock import VirtualClock
from touchpoint.local.integrations import AwsIntegrations, LambdaContext

START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
FN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
OTHER = "arn:aws:lambda:us-east-1:123456789012:function:other"


class TransientError(Exception):
    pass


class Boom(Exception):  # noqa: N818 - the error name the tests route on
    pass


Handler = Callable[[Any, LambdaContext], Any]


class Sim:
    """An executor on a fresh clock, with Lambda handlers that record when they were called."""

    def __init__(self, *, seed: int = 1, events: Any = None) -> None:
        self.clock = VirtualClock(START)
        self.integrations = AwsIntegrations(events=events)
        self.executor = Executor(self.clock, self.integrations, seed=seed)
        self.calls: list[tuple[float, Any]] = []
        self.ended: list[StatusChange] = []
        self.executor.add_listener(self.ended.append)

    def handler(self, *results: Any, arn: str = FN) -> None:
        """Register ``arn``: each call returns the next result (raises it, if an exception)."""
        queue = list(results)

        def handle(event: Any, context: LambdaContext) -> Any:
            self.calls.append((self.elapsed(), event))
            result = queue.pop(0) if queue else None
            if isinstance(result, Exception):
                raise result
            return result(event) if callable(result) else result

        self.integrations.register_function(arn, handle)

    def elapsed(self) -> float:
        return (self.clock.now() - START).total_seconds()

    def run(self, definition: dict[str, Any], data: Any = None, *, name: str = "run", go: bool = True) -> str:
        machine = self.executor.create_state_machine("touchpoint-test", definition)
        arn = self.executor.start_execution(machine, name, json.dumps({} if data is None else data))
        if go:
            self.clock.run_all()
        return arn

    def describe(self, arn: str) -> dict[str, Any]:
        return dict(self.executor.describe_execution(arn))

    def output(self, arn: str) -> Any:
        described = self.describe(arn)
        assert described["status"] == "SUCCEEDED", described
        return json.loads(described["output"])


def machine(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {"StartAt": states[0][0], "States": dict(states), **top}


def invoke(next_state: str | None = None, **fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": FN, "Payload.$": "$"},
        **fields,
    }
    return {**state, "Next": next_state} if next_state else {**state, "End": True}


def callback(next_state: str | None = None, **fields: Any) -> dict[str, Any]:
    fields.setdefault(
        "Parameters", {"FunctionName": FN, "Payload": {"token.$": "$$.Task.Token", "input.$": "$"}}
    )
    return invoke(next_state, Resource=LAMBDA_CALLBACK, **fields)


SUCCEED: dict[str, Any] = {"Type": "Succeed"}
