"""IR → ASL JSON, deterministically: sorted keys, 2-space indent, a trailing newline, so a
recompile of an unchanged journey is byte-identical and the drift check can compare files."""

from __future__ import annotations

import json
from typing import Any, assert_never

from touchpoint.compiler.ir import Catch, Choice, Json, Pass, Retry, State, StateMachine, Succeed, Task, Wait


def dumps(value: Json) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(machine: StateMachine) -> str:
    return dumps(to_json(machine))


def to_json(machine: StateMachine) -> dict[str, Any]:
    return {
        "Comment": machine.comment,
        "StartAt": machine.start_at,
        "States": {state.name: _state(state) for state in machine.states},
    }


def _flow(out: dict[str, Any], next_state: str | None) -> dict[str, Any]:
    if next_state is None:
        out["End"] = True
    else:
        out["Next"] = next_state
    return out


def _state(state: State) -> dict[str, Any]:
    out: dict[str, Any]
    match state:
        case Task():
            out = {
                "Type": "Task",
                "Resource": state.resource,
                "Parameters": state.parameters,
                "ResultPath": state.result_path,
            }
            if state.result_selector is not None:
                out["ResultSelector"] = state.result_selector
            if state.timeout_seconds is not None:
                out["TimeoutSeconds"] = state.timeout_seconds
            if state.retry:
                out["Retry"] = [_retry(r) for r in state.retry]
            if state.catch:
                out["Catch"] = [_catch(c) for c in state.catch]
            _flow(out, state.next)
        case Wait():
            out = {"Type": "Wait"}
            if state.seconds is not None:
                out["Seconds"] = state.seconds
            if state.timestamp_path is not None:
                out["TimestampPath"] = state.timestamp_path
            _flow(out, state.next)
        case Choice():
            out = {
                "Type": "Choice",
                "Default": state.default,
                "Choices": [{"Variable": r.variable, r.test: r.value, "Next": r.next} for r in state.rules],
            }
        case Pass():
            out = {"Type": "Pass", "Result": state.result, "ResultPath": state.result_path, "End": True}
        case Succeed():
            out = {"Type": "Succeed"}
        case _:
            assert_never(state)
    if state.comment:
        out["Comment"] = state.comment
    return out


def _retry(retry: Retry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ErrorEquals": list(retry.errors),
        "IntervalSeconds": retry.interval_seconds,
        "MaxAttempts": retry.max_attempts,
        "BackoffRate": retry.backoff_rate,
        "MaxDelaySeconds": retry.max_delay_seconds,
    }
    if retry.jitter:
        out["JitterStrategy"] = "FULL"
    return out


def _catch(catch: Catch) -> dict[str, Any]:
    return {"ErrorEquals": list(catch.errors), "Next": catch.next, "ResultPath": catch.result_path}
