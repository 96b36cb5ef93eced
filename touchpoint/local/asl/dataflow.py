"""A state's data flow: its context object, InputPath/OutputPath, ResultPath, the payload limit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from touchpoint.clock import iso  # AWS's context-object format: 2026-12-01T00:00:00.000Z
from touchpoint.local.asl.errors import DATA_LIMIT_EXCEEDED, RUNTIME, StatesRuntimeError
from touchpoint.local.asl.execution import Execution
from touchpoint.local.asl.paths import Path, PathNotFoundError
from touchpoint.local.asl.states import Io
from touchpoint.local.asl.values import compact
from touchpoint.local.copies import deep_copy

Json = Any

#: AWS's payload quota: a state's input or output, or a task's result, of at most 256 KiB (UTF-8).
MAX_PAYLOAD_BYTES: Final = 262_144


@dataclass(frozen=True)
class Scope:
    """One state being run, as its paths see it."""

    run: Execution
    state: str
    entered: dt.datetime
    retry_count: int | None = None  # Task states only: AWS sets $$.State.RetryCount for them alone
    token: str | None = None

    def context(self) -> dict[str, Json]:
        run = self.run
        state: dict[str, Json] = {"EnteredTime": iso(self.entered), "Name": self.state}
        if self.retry_count is not None:
            state["RetryCount"] = self.retry_count
        context: dict[str, Json] = {
            "Execution": {
                "Id": run.arn,
                "Input": run.input_value,
                "Name": run.name,
                "RoleArn": run.machine.role_arn,
                "StartTime": iso(run.start_date),
                "RedriveCount": 0,
            },
            "State": state,
            "StateMachine": {"Id": run.machine.arn, "Name": run.machine.name},
        }
        if self.token is not None:
            context["Task"] = {"Token": self.token}
        return context

    def lookup(self, path: Path, data: Json, what: str) -> Json:
        try:
            return deep_copy(path.get(data, self.context() if path.context else None))
        except PathNotFoundError:
            raise StatesRuntimeError(
                RUNTIME,
                f"An error occurred while executing the state '{self.state}'. Invalid path '{path.text}' for "
                f"{what}: no results in the input '{compact(data)}'",
            ) from None

    def input(self, io: Io, raw: Json) -> Json:
        return {} if io.input_path is None else self.lookup(io.input_path, raw, "InputPath")

    def output(self, io: Io, data: Json) -> Json:
        return {} if io.output_path is None else self.lookup(io.output_path, data, "OutputPath")


def check_size(text: str, what: str, state: str) -> str:
    """``text`` (a compact JSON payload) if within the quota, else ``States.DataLimitExceeded``, a
    terminal error: it fails the execution, States.ALL does not catch it."""
    # Fast path: UTF-8 takes at most 4 bytes a character.
    if len(text) > MAX_PAYLOAD_BYTES // 4 and len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise StatesRuntimeError(
            DATA_LIMIT_EXCEEDED,
            f"The {what} of the state '{state}' has a size exceeding the maximum number of bytes service "
            f"limit ({MAX_PAYLOAD_BYTES}).",
        )
    return text


def apply_result_path(raw: Json, result: Json, path: Path | None, state: str) -> Json:
    if path is None:
        return deep_copy(raw)
    if not path.steps:
        return result
    out = deep_copy(raw)
    node = out
    for step in path.steps[:-1]:
        if isinstance(node, dict) and step not in node:
            node[step] = {}
        if not isinstance(node, dict) or not isinstance(node[step], dict):
            break
        node = node[step]
    else:
        if isinstance(node, dict):
            node[path.steps[-1]] = result
            return out
    raise StatesRuntimeError(
        RUNTIME,
        f"An error occurred while executing the state '{state}'. Unable to apply ResultPath "
        f"'{path.text}' to the input '{compact(raw)}': it does not lead to an object",
    )
