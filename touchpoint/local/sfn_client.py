"""A boto3-shaped Step Functions client over the local ``Executor``.

The runtime talks to Step Functions through ``touchpoint.aws.services.StepFunctionsExecutions``,
which takes a boto3 client. Handing it this object instead runs the same adapter code (its
idempotent start, its handling of ``TaskTimedOut``/``InvalidToken``) against the simulator:
errors are ``botocore`` ``ClientError``s with the AWS error codes, responses have boto3's keys."""

# ruff: noqa: N803 - the methods take boto3's (camelCase) parameter names

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from touchpoint.local.asl import Executor, Status


class LocalStepFunctionsClient:
    """The subset of ``boto3.client("stepfunctions")`` the runtime calls."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def _count(self) -> None:
        self.executor.usage.requests["states"] += 1

    def start_execution(
        self, *, stateMachineArn: str, name: str | None = None, input: str = "{}"
    ) -> dict[str, Any]:
        self._count()
        arn = self.executor.start_execution(stateMachineArn, name, input)
        return {"executionArn": arn, "startDate": self.executor.execution(arn).start_date}

    def stop_execution(
        self, *, executionArn: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        self._count()
        return {"stopDate": self.executor.stop_execution(executionArn, error, cause)}

    def describe_execution(self, *, executionArn: str) -> dict[str, Any]:
        self._count()
        return dict(self.executor.describe_execution(executionArn))

    def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:
        self._count()
        self.executor.send_task_success(taskToken, output)
        return {}

    def send_task_failure(
        self, *, taskToken: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        self._count()
        self.executor.send_task_failure(taskToken, error, cause)
        return {}

    def list_executions(self, *, stateMachineArn: str, statusFilter: Status | None = None) -> dict[str, Any]:
        self._count()
        self.executor.state_machine(stateMachineArn)  # StateMachineDoesNotExist, as in AWS
        executions = []
        for arn in self.executor.list_executions(stateMachineArn, statusFilter):
            described = self.executor.describe_execution(arn)
            item: dict[str, Any] = {
                "executionArn": described["executionArn"],
                "stateMachineArn": described["stateMachineArn"],
                "name": described["name"],
                "status": described["status"],
                "startDate": described["startDate"],
            }
            if "stopDate" in described:
                item["stopDate"] = described["stopDate"]
            executions.append(item)
        return {"executions": executions}

    def get_paginator(self, operation: str) -> _Paginator:
        if operation != "list_executions":
            raise NotImplementedError(f"no local paginator for {operation}")
        return _Paginator(self)


class _Paginator:
    """``list_executions`` returns everything in one page locally."""

    def __init__(self, client: LocalStepFunctionsClient) -> None:
        self.client = client

    def paginate(self, **parameters: Any) -> Iterator[dict[str, Any]]:
        yield self.client.list_executions(**parameters)
