"""Adapters for Step Functions, EventBridge, EventBridge Scheduler, SQS and STS (injected clients)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from touchpoint import contract
from touchpoint.aws.dynamo import code
from touchpoint.clock import pause
from touchpoint.errors import StartFailed, TransientError
from touchpoint.events import JourneyEvent

_TRANSIENT = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalServerException",
        "InternalException",
        "InternalFailure",
    }
)
_GONE = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist", "ExecutionDoesNotExist"})


def _raise(error: ClientError) -> None:
    if code(error) in _TRANSIENT:
        raise TransientError(code(error)) from error
    raise error


class StepFunctionsExecutions:
    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str:
        """Idempotent: the same name and input return the running execution; a closed one with
        that name (the entry was already processed) is reported as existing, not as an error."""
        try:
            response = self.client.start_execution(
                stateMachineArn=state_machine_arn, name=name, input=json.dumps(dict(payload), sort_keys=True)
            )
        except ClientError as error:
            if code(error) == "ExecutionAlreadyExists":
                return contract.execution_arn(state_machine_arn, name)
            if code(error) in _TRANSIENT:
                raise TransientError(code(error)) from error
            raise StartFailed(code(error)) from error
        return str(response["executionArn"])

    def stop(self, execution_arn: str, cause: str) -> None:
        try:
            self.client.stop_execution(executionArn=execution_arn, error="Touchpoint.Exit", cause=cause)
        except ClientError as error:
            if code(error) not in _GONE:
                _raise(error)

    def is_running(self, execution_arn: str) -> bool:
        try:
            return self.client.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"  # type: ignore[no-any-return]
        except ClientError as error:
            if code(error) in _GONE:
                return False
            _raise(error)
            return False

    def running(self, state_machine_arn: str) -> list[str]:
        arns: list[str] = []
        for page in self.client.get_paginator("list_executions").paginate(
            stateMachineArn=state_machine_arn, statusFilter="RUNNING"
        ):
            arns += [e["executionArn"] for e in page["executions"]]
        return arns

    def succeed(self, token: str, output: Mapping[str, Any]) -> bool:
        """False when the task no longer waits (timed out, execution stopped): nothing to resume."""
        try:
            self.client.send_task_success(taskToken=token, output=json.dumps(dict(output), sort_keys=True))
        except ClientError as error:
            if code(error) in _GONE:
                return False
            _raise(error)
        return True

    def fail(self, token: str, error: str, cause: str) -> bool:
        try:
            self.client.send_task_failure(taskToken=token, error=error, cause=cause[:32768])
        except ClientError as failure:
            if code(failure) in _GONE:
                return False
            _raise(failure)
        return True


class EventBus:
    def __init__(self, client: Any, bus_name: str) -> None:
        self.client, self.bus_name = client, bus_name

    def put(self, events: Sequence[JourneyEvent]) -> None:
        """In batches of 10, re-sending only the entries EventBridge reports as failed."""
        entries = [e.entry(self.bus_name) for e in events]
        for start in range(0, len(entries), 10):
            batch = entries[start : start + 10]
            for attempt in range(5):
                try:
                    response = self.client.put_events(Entries=batch)
                except ClientError as error:
                    if code(error) not in _TRANSIENT:
                        raise
                    response = {"FailedEntryCount": len(batch), "Entries": [{"ErrorCode": "x"}] * len(batch)}
                if not response.get("FailedEntryCount"):
                    break
                batch = [
                    entry
                    for entry, result in zip(batch, response["Entries"], strict=True)
                    if result.get("ErrorCode")
                ]
                pause(0.05 * 2**attempt)
            else:
                raise TransientError(f"EventBridge refused {len(batch)} events")


class SchedulerWakeups:
    """Deferred sends wake up through one-time EventBridge Scheduler schedules that delete
    themselves after running. The name is derived from the key, so scheduling twice is harmless."""

    def __init__(self, client: Any, group: str, role_arn: str) -> None:
        self.client, self.group, self.role_arn = client, group, role_arn

    def schedule(self, at: dt.datetime, target_arn: str, payload: Mapping[str, Any], key: str) -> str:
        """The schedule's name (erasure cancels a user's pending wake-ups by it)."""
        name = "defer-" + hashlib.sha256(key.encode()).hexdigest()[:40]
        when = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        try:
            self.client.create_schedule(
                Name=name,
                GroupName=self.group,
                ScheduleExpression=f"at({when})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": target_arn,
                    "RoleArn": self.role_arn,
                    "Input": json.dumps(dict(payload)),
                    "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600},
                },
            )
        except ClientError as error:
            if code(error) != "ConflictException":
                _raise(error)
        return name

    def cancel(self, name: str) -> None:
        """Delete a pending wake-up; one that already ran (and deleted itself) is no error."""
        try:
            self.client.delete_schedule(Name=name, GroupName=self.group)
        except ClientError as error:
            if code(error) != "ResourceNotFoundException":
                _raise(error)


class SqsQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self.client, self.queue_url = client, queue_url

    def send(self, message: Mapping[str, Any]) -> None:
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(dict(message), default=str))


class StsCaller:
    """Who is calling: STS GetCallerIdentity (needs no permission), for the audit of proof sends."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def caller(self) -> str:
        return str(self.client.get_caller_identity()["Arn"])
