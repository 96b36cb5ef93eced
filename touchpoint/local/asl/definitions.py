"""Definition JSON → a typed ``StateMachine``, checked once at CreateStateMachine.

Every field, state type, resource, intrinsic and path the executor does not model is refused here
(``InvalidDefinition`` naming the state and the field), never accepted and ignored."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Final

from touchpoint.local.asl.choice import Rule, parse_rule
from touchpoint.local.asl.errors import DATA_LIMIT_EXCEEDED, InvalidDefinition
from touchpoint.local.asl.paths import Path, parse_path
from touchpoint.local.asl.payload import Node, ObjectNode, mentions, parse_template
from touchpoint.local.asl.states import (
    CALLBACK_SUFFIX,
    DEFAULT_TASK_TIMEOUT,
    NO_RESULT,
    Catcher,
    ChoiceState,
    FailState,
    Io,
    PassState,
    Retrier,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    WaitState,
    targets,
)
from touchpoint.local.asl.values import is_int, is_number, parse_timestamp
from touchpoint.local.integrations import Integrations, UnsupportedIntegrationError

Json = Any

_COMMON: Final = frozenset({"Type", "Comment"})
_IO: Final = frozenset({"InputPath", "OutputPath"})
_FLOW: Final = frozenset({"Next", "End"})
_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "Task": _COMMON
    | _IO
    | _FLOW
    | {"Resource", "Parameters", "ResultSelector", "ResultPath", "TimeoutSeconds", "Retry", "Catch"},
    "Wait": _COMMON | _IO | _FLOW | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Choice": _COMMON | _IO | {"Choices", "Default"},
    "Pass": _COMMON | _IO | _FLOW | {"Parameters", "Result", "ResultPath"},
    "Succeed": _COMMON | _IO,
    "Fail": _COMMON | {"Error", "Cause"},
}
_TOP_LEVEL: Final = frozenset({"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"})
_RETRIER_FIELDS: Final = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
_CATCHER_FIELDS: Final = frozenset({"ErrorEquals", "Next", "ResultPath", "Comment"})
_NAME_FORBIDDEN: Final = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


def valid_name(name: object) -> bool:
    return isinstance(name, str) and 1 <= len(name) <= 80 and not _NAME_FORBIDDEN.search(name)


class DefinitionParser:
    """Definition JSON → typed states. Every rejection names the state and the offending field."""

    def __init__(self, integrations: Integrations) -> None:
        self.integrations = integrations

    def parse(self, name: str, arn: str, role_arn: str, definition: Mapping[str, Json]) -> StateMachine:
        if not isinstance(definition, Mapping):
            raise InvalidDefinition("the definition must be a JSON object")
        if unknown := sorted(set(definition) - _TOP_LEVEL):
            raise InvalidDefinition(f"unknown top-level field(s): {', '.join(unknown)}")
        if definition.get("QueryLanguage", "JSONPath") != "JSONPath":
            raise InvalidDefinition(
                f"unsupported QueryLanguage {definition['QueryLanguage']!r} (JSONPath only)"
            )
        if definition.get("Version", "1.0") != "1.0":
            raise InvalidDefinition(f"unsupported Version {definition['Version']!r}")
        timeout = definition.get("TimeoutSeconds")
        if timeout is not None and not (is_int(timeout) and timeout > 0):
            raise InvalidDefinition(f"TimeoutSeconds must be a positive integer, got {timeout!r}")
        raw_states = definition.get("States")
        if not isinstance(raw_states, Mapping) or not raw_states:
            raise InvalidDefinition("States must be a non-empty object")
        start_at = definition.get("StartAt")
        if not isinstance(start_at, str) or start_at not in raw_states:
            raise InvalidDefinition(f"StartAt {start_at!r} is not a state")
        states: dict[str, State] = {}
        for state_name, raw in raw_states.items():
            if not isinstance(state_name, str) or not 1 <= len(state_name) <= 80:
                raise InvalidDefinition(f"invalid state name {state_name!r} (1 to 80 characters)")
            try:
                states[state_name] = self.state(state_name, raw)
            except (ValueError, TypeError, UnsupportedIntegrationError) as exc:
                raise InvalidDefinition(f"state {state_name!r}: {exc}") from None
        for state in states.values():
            for target in targets(state):
                if target not in states:
                    raise InvalidDefinition(f"state {state.name!r}: transition to unknown state {target!r}")
        reachable, todo = set(), [start_at]
        while todo:
            current = todo.pop()
            if current not in reachable:
                reachable.add(current)
                todo.extend(targets(states[current]))
        if unreachable := sorted(set(states) - reachable):
            raise InvalidDefinition(f"unreachable state(s): {', '.join(unreachable)}")
        return StateMachine(name, arn, role_arn, copy.deepcopy(dict(definition)), start_at, states, timeout)

    # -- helpers

    @staticmethod
    def fields(raw: Mapping[str, Json], allowed: frozenset[str], what: str) -> None:
        if unknown := sorted(set(raw) - allowed):
            raise ValueError(f"unknown {what} field(s): {', '.join(unknown)}")

    @staticmethod
    def path(raw: Mapping[str, Json], key: str, *, default: str | None = "$") -> Path | None:
        """A path field; JSON null (or absent with no default) is None."""
        value = raw.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a path string or null")
        return parse_path(value)

    def result_path(self, raw: Mapping[str, Json], key: str = "ResultPath") -> Path | None:
        path = self.path(raw, key)
        if path is not None and (path.context or any(isinstance(s, int) for s in path.steps)):
            raise ValueError(f"{key} {path.text!r} must be $ or a $.field.field path")
        return path

    def io(self, raw: Mapping[str, Json]) -> Io:
        return Io(self.path(raw, "InputPath"), self.path(raw, "OutputPath"))

    @staticmethod
    def flow(raw: Mapping[str, Json]) -> str | None:
        has_next, end = "Next" in raw, raw.get("End")
        if has_next == (end is True) or ("End" in raw and end is not True):
            raise ValueError("needs exactly one of Next or End: true")
        if has_next:
            if not isinstance(raw["Next"], str):
                raise ValueError("Next must be a state name")
            return str(raw["Next"])
        return None

    @staticmethod
    def errors(raw: Mapping[str, Json], what: str, last: bool) -> tuple[str, ...]:
        errors = raw.get("ErrorEquals")
        if not isinstance(errors, list) or not errors or not all(isinstance(e, str) for e in errors):
            raise ValueError(f"{what}: ErrorEquals must be a non-empty list of error names")
        if DATA_LIMIT_EXCEEDED in errors:
            raise ValueError(
                f"{what}: {DATA_LIMIT_EXCEEDED} is a terminal error (it fails the execution); "
                "handling it is not modelled"
            )
        if "States.ALL" in errors and (len(errors) > 1 or not last):
            raise ValueError(f"{what}: States.ALL must appear alone, in the last {what}")
        return tuple(errors)

    def template(self, raw: Mapping[str, Json], key: str) -> Node | None:
        if key not in raw:
            return None
        return parse_template(raw[key], key)

    # -- states

    def state(self, name: str, raw: Json) -> State:
        if not isinstance(raw, Mapping):
            raise ValueError("a state must be an object")
        kind = raw.get("Type")
        if not isinstance(kind, str) or kind not in _FIELDS:
            raise ValueError(f"unknown state type {kind!r} (supported: {', '.join(_FIELDS)})")
        self.fields(raw, _FIELDS[kind], kind)
        if "Comment" in raw and not isinstance(raw["Comment"], str):
            raise ValueError("Comment must be a string")
        match kind:
            case "Task":
                return self.task(name, raw)
            case "Wait":
                return self.wait(name, raw)
            case "Choice":
                return self.choice(name, raw)
            case "Pass":
                return PassState(
                    name,
                    self.io(raw),
                    self.template(raw, "Parameters"),
                    copy.deepcopy(raw["Result"]) if "Result" in raw else NO_RESULT,
                    self.result_path(raw),
                    self.flow(raw),
                )
            case "Succeed":
                return SucceedState(name, self.io(raw))
            case "Fail":
                for key in ("Error", "Cause"):
                    if key in raw and not isinstance(raw[key], str):
                        raise ValueError(f"{key} must be a string")
                return FailState(name, raw.get("Error"), raw.get("Cause"))
        raise AssertionError(kind)  # pragma: no cover

    def task(self, name: str, raw: Mapping[str, Json]) -> TaskState:
        resource = raw.get("Resource")
        if not isinstance(resource, str):
            raise ValueError("Resource must be a string")
        parameters = self.template(raw, "Parameters")
        names = None
        if parameters is not None:
            if not isinstance(parameters, ObjectNode):
                raise ValueError("Parameters must be an object")
            names = frozenset(key for key, _, _ in parameters.fields)
        self.integrations.check(resource, names)
        if resource.endswith(CALLBACK_SUFFIX) and (
            parameters is None or not mentions(parameters, "$$.Task.Token")
        ):
            raise ValueError(
                f"{resource} must pass $$.Task.Token in its Parameters, or it can never complete"
            )
        if "TimeoutSeconds" in raw and not resource.endswith(CALLBACK_SUFFIX):
            raise ValueError(
                f"TimeoutSeconds on a {resource} Task is not modelled: a resource takes no virtual time "
                f"here, so the timeout could never fire (only {CALLBACK_SUFFIX} Tasks may set it)"
            )
        timeout = raw.get("TimeoutSeconds", DEFAULT_TASK_TIMEOUT)
        if not (is_int(timeout) and timeout > 0):
            raise ValueError(f"TimeoutSeconds must be a positive integer, got {timeout!r}")
        retry_raw = raw.get("Retry", [])
        catch_raw = raw.get("Catch", [])
        if not isinstance(retry_raw, list) or not isinstance(catch_raw, list):
            raise ValueError("Retry and Catch must be arrays")
        retry = tuple(self.retrier(r, i == len(retry_raw) - 1) for i, r in enumerate(retry_raw))
        catch = tuple(self.catcher(c, i == len(catch_raw) - 1) for i, c in enumerate(catch_raw))
        return TaskState(
            name,
            self.io(raw),
            resource,
            parameters,
            self.template(raw, "ResultSelector"),
            self.result_path(raw),
            timeout,
            retry,
            catch,
            self.flow(raw),
        )

    def retrier(self, raw: Json, last: bool) -> Retrier:
        if not isinstance(raw, Mapping):
            raise ValueError("a retrier must be an object")
        self.fields(raw, _RETRIER_FIELDS, "Retrier")
        errors = self.errors(raw, "Retrier", last)
        interval = raw.get("IntervalSeconds", 1)
        attempts = raw.get("MaxAttempts", 3)
        backoff = raw.get("BackoffRate", 2.0)
        max_delay = raw.get("MaxDelaySeconds")
        jitter = raw.get("JitterStrategy", "NONE")
        if not (is_int(interval) and interval >= 1):
            raise ValueError(f"Retrier: IntervalSeconds must be an integer >= 1, got {interval!r}")
        if not (is_int(attempts) and attempts >= 0):
            raise ValueError(f"Retrier: MaxAttempts must be an integer >= 0, got {attempts!r}")
        if not (is_number(backoff) and backoff >= 1.0):
            raise ValueError(f"Retrier: BackoffRate must be a number >= 1.0, got {backoff!r}")
        if max_delay is not None and not (is_int(max_delay) and max_delay >= 1):
            raise ValueError(f"Retrier: MaxDelaySeconds must be an integer >= 1, got {max_delay!r}")
        if jitter not in ("FULL", "NONE"):
            raise ValueError(f"Retrier: JitterStrategy must be FULL or NONE, got {jitter!r}")
        return Retrier(errors, interval, attempts, float(backoff), max_delay, jitter == "FULL")

    def catcher(self, raw: Json, last: bool) -> Catcher:
        if not isinstance(raw, Mapping):
            raise ValueError("a catcher must be an object")
        self.fields(raw, _CATCHER_FIELDS, "Catcher")
        target = raw.get("Next")
        if not isinstance(target, str):
            raise ValueError("Catcher: Next must be a state name")
        return Catcher(self.errors(raw, "Catcher", last), target, self.result_path(raw))

    def wait(self, name: str, raw: Mapping[str, Json]) -> WaitState:
        given = [key for key in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if key in raw]
        if len(given) != 1:
            raise ValueError("needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath")
        seconds = raw.get("Seconds")
        if seconds is not None and not (is_int(seconds) and seconds >= 0):
            raise ValueError(f"Seconds must be a non-negative integer, got {seconds!r}")
        timestamp = None
        if "Timestamp" in raw:
            timestamp = parse_timestamp(raw["Timestamp"])
            if timestamp is None:
                raise ValueError(f"Timestamp {raw['Timestamp']!r} is not an RFC 3339 timestamp")
        return WaitState(
            name,
            self.io(raw),
            seconds,
            self.path(raw, "SecondsPath", default=None),
            timestamp,
            self.path(raw, "TimestampPath", default=None),
            self.flow(raw),
        )

    def choice(self, name: str, raw: Mapping[str, Json]) -> ChoiceState:
        choices = raw.get("Choices")
        if not isinstance(choices, list) or not choices:
            raise ValueError("Choices must be a non-empty array")
        parsed: list[tuple[Rule, str]] = []
        for rule in choices:
            if not isinstance(rule, Mapping) or not isinstance(rule.get("Next"), str):
                raise ValueError("every top-level choice rule needs a Next")
            parsed.append((parse_rule({k: v for k, v in rule.items() if k != "Next"}), rule["Next"]))
        default = raw.get("Default")
        if default is not None and not isinstance(default, str):
            raise ValueError("Default must be a state name")
        return ChoiceState(name, self.io(raw), tuple(parsed), default)
