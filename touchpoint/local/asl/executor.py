"""Step Functions' API (CreateStateMachine, StartExecution, SendTask*, Describe*, List*) over the
interpreter, with AWS's names, idempotency and errors."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from typing import Any

from touchpoint import contract
from touchpoint.local.asl.definitions import DefinitionParser, valid_name
from touchpoint.local.asl.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    InvalidExecutionInput,
    InvalidName,
    InvalidOutput,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
)
from touchpoint.local.asl.execution import (
    Execution,
    ExecutionDescription,
    HistoryEvent,
    Listener,
    Status,
)
from touchpoint.local.asl.interpreter import Interpreter
from touchpoint.local.asl.states import StateMachine
from touchpoint.local.asl.steps import Failure, Next, Success
from touchpoint.local.clock import VirtualClock
from touchpoint.local.integrations import Integrations, Usage

Json = Any


class Executor(Interpreter):
    """Standard-workflow Step Functions, in-process, on a ``VirtualClock``."""

    def __init__(
        self,
        clock: VirtualClock,
        integrations: Integrations,
        *,
        seed: int,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        usage: Usage | None = None,
    ) -> None:
        super().__init__(clock, integrations, seed=seed, usage=usage)
        self.region = region
        self.account_id = account_id
        self._machines: dict[str, StateMachine] = {}
        self._executions: dict[str, Execution] = {}
        self._parser = DefinitionParser(integrations)

    # ---- state machines

    def create_state_machine(
        self, name: str, definition: Mapping[str, Json], *, role_arn: str | None = None
    ) -> str:
        """Parse and check ``definition`` (placeholders already substituted); returns its ARN."""
        if not valid_name(name):
            raise InvalidName(f"Invalid Name: '{name}'")
        arn = f"arn:aws:states:{self.region}:{self.account_id}:stateMachine:{name}"
        role = role_arn or f"arn:aws:iam::{self.account_id}:role/touchpoint-local-states"
        machine = self._parser.parse(name, arn, role, definition)
        existing = self._machines.get(arn)
        if existing is not None:
            if existing.definition != machine.definition or existing.role_arn != role:
                raise StateMachineAlreadyExists(f"State Machine Already Exists: '{arn}'")
            return arn
        self._machines[arn] = machine
        return arn

    def state_machine(self, arn: str) -> StateMachine:
        try:
            return self._machines[arn]
        except KeyError:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'") from None

    # ---- executions: API

    def start_execution(self, state_machine_arn: str, name: str | None = None, input: str = "{}") -> str:
        """Start (or, like AWS, return the running execution with this name and input)."""
        machine = self.state_machine(state_machine_arn)
        if name is None:
            name = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
        if not valid_name(name):
            raise InvalidName(f"Invalid Name: '{name}'")
        try:
            value = json.loads(input)
        except (TypeError, ValueError) as exc:
            raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from None
        arn = contract.execution_arn(machine.arn, name)
        existing = self._executions.get(arn)
        if existing is not None:
            if existing.status == "RUNNING" and existing.input == input:
                return arn
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")
        run = Execution(arn, name, machine, input, value, self.clock.now())
        self._executions[arn] = run
        self.usage.executions_started += 1
        self._record(run, "ExecutionStarted", detail={"input": input, "roleArn": machine.role_arn})
        if machine.timeout_seconds is not None:
            run.deadline = self.clock.call_later(
                machine.timeout_seconds, lambda: self._timed_out(run), label=f"{name}: execution timeout"
            )
        run.pending = self.clock.call_later(
            0, lambda: self._drive(run, Next(machine.start_at, value)), label=f"{name}: start"
        )
        return arn

    def stop_execution(
        self, execution_arn: str, error: str | None = None, cause: str | None = None
    ) -> dt.datetime:
        """ABORT a running execution (a no-op on one that has ended); returns its stop date."""
        run = self.execution(execution_arn)
        if run.status == "RUNNING":
            self._finish(run, "ABORTED", error=error, cause=cause)
        assert run.stop_date is not None
        return run.stop_date

    def send_task_success(self, token: str, output: str) -> None:
        try:
            value = json.loads(output)
        except (TypeError, ValueError) as exc:
            raise InvalidOutput(f"Invalid Output: '{exc}'") from None
        self._complete(token, Success(value))

    def send_task_failure(self, token: str, error: str | None = None, cause: str | None = None) -> None:
        self._complete(token, Failure(error, cause))

    def describe_execution(self, execution_arn: str) -> ExecutionDescription:
        return self.execution(execution_arn).describe()

    def get_execution_history(self, execution_arn: str) -> list[HistoryEvent]:
        return list(self.execution(execution_arn).history)

    def path(self, execution_arn: str) -> list[str]:
        return self.execution(execution_arn).path

    def execution(self, execution_arn: str) -> Execution:
        try:
            return self._executions[execution_arn]
        except KeyError:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'") from None

    def list_executions(
        self, state_machine_arn: str | None = None, status: Status | None = None
    ) -> list[str]:
        """Execution ARNs in start order, optionally of one state machine and/or in one status."""
        return [
            run.arn
            for run in self._executions.values()
            if (state_machine_arn is None or run.machine.arn == state_machine_arn)
            and (status is None or run.status == status)
        ]

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with the status-change detail whenever an execution ends."""
        self._listeners.append(listener)

    # ---- the interpreter
