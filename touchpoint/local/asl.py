"""A Step Functions executor for the ASL the compiler emits, on a virtual clock.

Standard workflows, JSONPath only. The definition is parsed and checked once, at
``create_state_machine``: an unknown state type, state field, resource, intrinsic function or a
path this executor cannot evaluate is an ``InvalidDefinition`` naming it, never silently ignored,
so a compiler change that emits something new fails here first.

Time: Tasks take no virtual time; Wait states, retry intervals and callback timeouts are events
on the ``VirtualClock``. ``start_execution`` and ``send_task_success`` only schedule work at the
current instant, as in AWS where both calls return before the execution moves on; run the clock to
make progress. That also means a Lambda handler may call ``send_task_success`` for its own token
while it is being invoked (a send that goes out at once), or for another execution's token, without
re-entering the executor.

AWS behaviours kept because journeys depend on them:

* Retry: the first retrier whose ``ErrorEquals`` matches decides; interval
  ``IntervalSeconds × BackoffRate^n`` capped by ``MaxDelaySeconds``, ``JitterStrategy: FULL`` draws
  uniformly from [0, interval] with a seeded ``random.Random``. Each retry is a billed transition.
* ``States.ALL`` matches every error but ``States.Runtime`` (which always fails the execution);
  ``States.TaskFailed`` matches everything but ``States.Timeout``.
* ``StartExecution`` is idempotent only while the execution with that name and input is running.
* ``SendTaskSuccess``/``Failure`` on a token never issued raises ``InvalidToken``; on one whose task
  is over (completed, timed out, execution ended) ``TaskTimedOut``.

Not thread-safe: the simulator is single-threaded by design."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import random
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NotRequired, TypedDict, assert_never

from botocore.exceptions import ClientError

from touchpoint.clock import iso  # AWS's context-object format: 2026-12-01T00:00:00.000Z
from touchpoint.local.clock import Handle, VirtualClock
from touchpoint.local.copies import deep_copy
from touchpoint.local.integrations import (
    Integrations,
    TaskContext,
    TaskError,
    UnsupportedIntegrationError,
    Usage,
)
from touchpoint.routing import SFN_STATUS_CHANGE

Json = Any
Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]

#: The largest MaxDelaySeconds ASL allows (a year and a day).
MAX_DELAY_SECONDS: Final = 31_622_400
#: AWS's default Task timeout when TimeoutSeconds is absent.
DEFAULT_TASK_TIMEOUT: Final = 99_999_999
#: AWS fails an execution whose history would exceed this many events (also stops runaway loops).
MAX_HISTORY_EVENTS: Final = 25_000
RUNTIME: Final = "States.Runtime"
TIMEOUT: Final = "States.Timeout"
CALLBACK_SUFFIX: Final = ".waitForTaskToken"


# ---------------------------------------------------------------------------------------------
# API errors: botocore ClientErrors with the AWS error code, so code written against boto3
# (``except ClientError`` + ``response["Error"]["Code"]``) handles them unchanged.


class StatesApiError(ClientError):
    code: str = "StatesApiError"

    def __init__(self, message: str, operation: str = "StepFunctions") -> None:
        response: Any = {
            "Error": {"Code": self.code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        super().__init__(response, operation)
        self.message = message


class InvalidDefinition(StatesApiError):  # noqa: N818 - the AWS error code
    code = "InvalidDefinition"


class InvalidName(StatesApiError):  # noqa: N818 - the AWS error code
    code = "InvalidName"


class InvalidExecutionInput(StatesApiError):  # noqa: N818 - the AWS error code
    code = "InvalidExecutionInput"


class InvalidOutput(StatesApiError):  # noqa: N818 - the AWS error code
    code = "InvalidOutput"


class StateMachineAlreadyExists(StatesApiError):  # noqa: N818 - the AWS error code
    code = "StateMachineAlreadyExists"


class StateMachineDoesNotExist(StatesApiError):  # noqa: N818 - the AWS error code
    code = "StateMachineDoesNotExist"


class ExecutionAlreadyExists(StatesApiError):  # noqa: N818 - the AWS error code
    code = "ExecutionAlreadyExists"


class ExecutionDoesNotExist(StatesApiError):  # noqa: N818 - the AWS error code
    code = "ExecutionDoesNotExist"


class InvalidToken(StatesApiError):  # noqa: N818 - the AWS error code
    code = "InvalidToken"


class TaskTimedOut(StatesApiError):  # noqa: N818 - the AWS error code
    code = "TaskTimedOut"


# ---------------------------------------------------------------------------------------------
# Timestamps


_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(text: object) -> dt.datetime | None:
    """An RFC 3339 timestamp with an explicit offset (what Wait accepts), else None."""
    if not isinstance(text, str) or not _TIMESTAMP.match(text):
        return None
    try:
        return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
    except ValueError:
        return None


def _epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _compact(value: Json) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Reference paths


class PathNotFoundError(Exception):
    pass


@dataclass(frozen=True)
class Path:
    """A JSONPath reference path: ``$``/``$$`` then ``.name``, ``['name']`` and ``[index]`` steps."""

    text: str
    context: bool
    steps: tuple[str | int, ...]

    def get(self, data: Json, context: Json) -> Json:
        node = context if self.context else data
        for step in self.steps:
            if isinstance(step, int):
                if not isinstance(node, list) or not -len(node) <= step < len(node):
                    raise PathNotFoundError(self.text)
                node = node[step]
            else:
                if not isinstance(node, dict) or step not in node:
                    raise PathNotFoundError(self.text)
                node = node[step]
        return node

    def has(self, data: Json, context: Json) -> bool:
        try:
            self.get(data, context)
        except PathNotFoundError:
            return False
        return True


_NAME = re.compile(r"[^.\[\]\s'\"*?@(),$]+")
_INDEX = re.compile(r"\[(-?\d+)\]")
_QUOTED = re.compile(r"\['((?:[^'\\]|\\.)*)'\]")


def parse_path(text: str) -> Path:
    """Parse a reference path; anything else (wildcards, filters, slices, ``..``) is a ValueError."""
    if text.startswith("$$"):
        context, i = True, 2
    elif text.startswith("$"):
        context, i = False, 1
    else:
        raise ValueError(f"{text!r} is not a path (it must start with $ or $$)")
    steps: list[str | int] = []
    while i < len(text):
        if text[i] == "." and (m := _NAME.match(text, i + 1)):
            steps.append(m.group(0))
        elif m := _INDEX.match(text, i):
            steps.append(int(m.group(1)))
        elif m := _QUOTED.match(text, i):
            steps.append(re.sub(r"\\(.)", r"\1", m.group(1)))
        else:
            raise ValueError(f"unsupported JSONPath {text!r} (only reference paths: $.a.b, $.a[0], $['a'])")
        i = m.end()
    return Path(text, context, tuple(steps))


# ---------------------------------------------------------------------------------------------
# Payload templates (Parameters, ResultSelector) and intrinsic functions


@dataclass(frozen=True)
class _Literal:
    value: Json


@dataclass(frozen=True)
class _Ref:
    path: Path


@dataclass(frozen=True)
class _Format:
    """``States.Format('text {} text', arg)``: ``pieces`` are the text between the ``{}``."""

    source: str
    pieces: tuple[str, ...]
    args: tuple[_Arg, ...]


_Arg = _Literal | _Ref | _Format


@dataclass(frozen=True)
class _Object:
    fields: tuple[tuple[str, str, _Node], ...]  # (output key, source key, value)


@dataclass(frozen=True)
class _Array:
    items: tuple[_Node, ...]


_Node = _Literal | _Ref | _Format | _Object | _Array

SUPPORTED_INTRINSICS: Final = ("States.Format",)
_FUNCTION_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*")
_PATH_ARGUMENT: Final = re.compile(r"[^,)\s]+")
_JSON_LITERAL: Final = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null")


class _IntrinsicParser:
    """A recursive-descent parser for the intrinsic function syntax (one call, nested calls as args)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def parse(self) -> _Format:
        call = self.call()
        self.space()
        if self.i != len(self.text):
            raise ValueError(f"unexpected {self.text[self.i :]!r} after the intrinsic call in {self.text!r}")
        return call

    def space(self) -> None:
        while self.i < len(self.text) and self.text[self.i] == " ":
            self.i += 1

    def call(self) -> _Format:
        self.space()
        m = _FUNCTION_NAME.match(self.text, self.i)
        if not m or self.text[m.end() : m.end() + 1] != "(":
            raise ValueError(f"{self.text!r} is neither a path nor an intrinsic function call")
        name = m.group(0)
        if name not in SUPPORTED_INTRINSICS:
            raise ValueError(
                f"unsupported intrinsic function {name} (supported: {', '.join(SUPPORTED_INTRINSICS)})"
            )
        self.i = m.end() + 1
        args: list[_Arg | tuple[str, ...]] = []
        self.space()
        if self.text[self.i : self.i + 1] == ")":
            self.i += 1
        else:
            while True:
                args.append(self.arg())
                self.space()
                ch = self.text[self.i : self.i + 1]
                self.i += 1
                if ch == ")":
                    break
                if ch != ",":
                    raise ValueError(f"expected ',' or ')' in {self.text!r}")
        if not args or not isinstance(args[0], tuple):
            raise ValueError(f"States.Format needs a string literal first, in {self.text!r}")
        pieces, rest = args[0], args[1:]
        values: list[_Arg] = []
        for arg in rest:
            if isinstance(arg, tuple):  # a string literal as a value: its text, braces and all
                values.append(_Literal("{}".join(arg)))
            else:
                values.append(arg)
        if len(pieces) - 1 != len(values):
            raise ValueError(
                f"States.Format has {len(pieces) - 1} '{{}}' but {len(values)} argument(s): {self.text!r}"
            )
        return _Format(self.text, pieces, tuple(values))

    def arg(self) -> _Arg | tuple[str, ...]:
        self.space()
        ch = self.text[self.i : self.i + 1]
        if ch == "'":
            return self.string()
        if ch == "$":
            m = _PATH_ARGUMENT.match(self.text, self.i)
            assert m is not None
            self.i = m.end()
            return _Ref(parse_path(m.group(0)))
        m = _JSON_LITERAL.match(self.text, self.i)
        if m:
            self.i = m.end()
            return _Literal(json.loads(m.group(0)))
        return self.call()

    def string(self) -> tuple[str, ...]:
        """A quoted literal split at its ``{}`` placeholders; ``\\'``, ``\\{``, ``\\}``, ``\\\\`` escape."""
        self.i += 1
        pieces, current = [], []
        while True:
            if self.i >= len(self.text):
                raise ValueError(f"unterminated string in {self.text!r}")
            ch = self.text[self.i]
            if ch == "\\" and self.i + 1 < len(self.text):
                current.append(self.text[self.i + 1])
                self.i += 2
            elif ch == "'":
                self.i += 1
                pieces.append("".join(current))
                return tuple(pieces)
            elif self.text.startswith("{}", self.i):
                pieces.append("".join(current))
                current = []
                self.i += 2
            else:
                current.append(ch)
                self.i += 1


def _parse_template(value: Json, where: str) -> _Node:
    if isinstance(value, dict):
        fields: list[tuple[str, str, _Node]] = []
        for key, item in value.items():
            if key.endswith(".$"):
                if not isinstance(item, str):
                    raise ValueError(f"{where}: the value of {key!r} must be a path or intrinsic string")
                fields.append((key[:-2], key, _parse_dynamic(item)))
            else:
                fields.append((key, key, _parse_template(item, where)))
        return _Object(tuple(fields))
    if isinstance(value, list):
        return _Array(tuple(_parse_template(item, where) for item in value))
    return _Literal(value)


def _parse_dynamic(text: str) -> _Ref | _Format:
    if text.startswith("$"):
        return _Ref(parse_path(text))
    return _IntrinsicParser(text).parse()


class _StatesRuntimeError(Exception):
    """An error that fails the execution outright (``States.Runtime``: no Retry, no Catch)."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(cause)
        self.error = error
        self.cause = cause


def _format_value(value: Json, source: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    raise _StatesRuntimeError(
        "States.IntrinsicFailure",
        f"Invalid arguments in States.Format: {source}: an argument is an object or array",
    )


def _evaluate(node: _Node, data: Json, context: Json, field_name: str) -> Json:
    match node:
        case _Literal():
            return deep_copy(node.value)
        case _Ref():
            try:
                return deep_copy(node.path.get(data, context))
            except PathNotFoundError:
                raise _StatesRuntimeError(
                    RUNTIME,
                    f"The JSONPath '{node.path.text}' specified for the field '{field_name}' could not be "
                    f"found in the input '{_compact(data)}'",
                ) from None
        case _Format():
            values = [
                _format_value(_evaluate(arg, data, context, field_name), node.source) for arg in node.args
            ]
            out = node.pieces[0]
            for value, piece in zip(values, node.pieces[1:], strict=True):
                out += value + piece
            return out
        case _Object():
            return {key: _evaluate(value, data, context, source) for key, source, value in node.fields}
        case _Array():
            return [_evaluate(item, data, context, field_name) for item in node.items]
        case _:
            assert_never(node)


def _mentions(node: _Node, text: str) -> bool:
    """Whether a template references the path ``text`` (to check callback tasks pass their token)."""
    match node:
        case _Literal():
            return False
        case _Ref():
            return node.path.text == text
        case _Format():
            return any(_mentions(arg, text) for arg in node.args)
        case _Object():
            return any(_mentions(value, text) for _, _, value in node.fields)
        case _Array():
            return any(_mentions(item, text) for item in node.items)
        case _:
            assert_never(node)


# ---------------------------------------------------------------------------------------------
# Choice rules

_STRING_OPS: Final = ("StringEquals", "StringLessThan", "StringGreaterThan", "StringLessThanEquals",
                      "StringGreaterThanEquals")  # fmt: skip
_NUMERIC_OPS: Final = ("NumericEquals", "NumericLessThan", "NumericGreaterThan", "NumericLessThanEquals",
                       "NumericGreaterThanEquals")  # fmt: skip
_TYPE_OPS: Final = ("IsPresent", "IsNull", "IsString", "IsNumeric", "IsBoolean")
COMPARISON_OPERATORS: Final = (
    *_STRING_OPS,
    *(f"{op}Path" for op in _STRING_OPS),
    "StringMatches",
    *_NUMERIC_OPS,
    *(f"{op}Path" for op in _NUMERIC_OPS),
    "BooleanEquals",
    "BooleanEqualsPath",
    *_TYPE_OPS,
)


@dataclass(frozen=True)
class _Compare:
    variable: Path
    operator: str
    value: Json  # a Path for the *Path operators


@dataclass(frozen=True)
class _And:
    rules: tuple[_Rule, ...]


@dataclass(frozen=True)
class _Or:
    rules: tuple[_Rule, ...]


@dataclass(frozen=True)
class _Not:
    rule: _Rule


_Rule = _Compare | _And | _Or | _Not


def _is_number(value: Json) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _matches_wildcard(pattern: str, text: str) -> bool:
    regex = "".join(
        ".*" if part == "*" else re.escape(part[1:] if part.startswith("\\") else part)
        for part in re.findall(r"\\.|\*|[^*\\]+", pattern)
    )
    return re.fullmatch(regex, text, re.DOTALL) is not None


def _compare(operator: str, actual: Json, expected: Json) -> bool:
    base = operator.removesuffix("Path") if operator != "StringMatches" else operator
    if base.startswith("String"):
        if not isinstance(actual, str) or not isinstance(expected, str):
            return False
        match base:
            case "StringEquals":
                return actual == expected
            case "StringLessThan":
                return actual < expected
            case "StringGreaterThan":
                return actual > expected
            case "StringLessThanEquals":
                return actual <= expected
            case "StringGreaterThanEquals":
                return actual >= expected
            case "StringMatches":
                return _matches_wildcard(expected, actual)
    elif base.startswith("Numeric"):
        if not _is_number(actual) or not _is_number(expected):
            return False
        match base:
            case "NumericEquals":
                return bool(actual == expected)
            case "NumericLessThan":
                return bool(actual < expected)
            case "NumericGreaterThan":
                return bool(actual > expected)
            case "NumericLessThanEquals":
                return bool(actual <= expected)
            case "NumericGreaterThanEquals":
                return bool(actual >= expected)
    elif base == "BooleanEquals":
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    raise AssertionError(operator)  # pragma: no cover - the parser only admits known operators


def _check_rule(rule: _Rule, data: Json, context: Json) -> bool:
    match rule:
        case _And():
            return all(_check_rule(r, data, context) for r in rule.rules)
        case _Or():
            return any(_check_rule(r, data, context) for r in rule.rules)
        case _Not():
            return not _check_rule(rule.rule, data, context)
        case _Compare():
            present = rule.variable.has(data, context)
            if rule.operator == "IsPresent":
                return present is rule.value
            if not present:
                raise _StatesRuntimeError(
                    RUNTIME,
                    f"Invalid path '{rule.variable.text}': The choice state's condition path references "
                    "an invalid value.",
                )
            actual = rule.variable.get(data, context)
            match rule.operator:
                case "IsNull":
                    return (actual is None) is rule.value
                case "IsString":
                    return isinstance(actual, str) is rule.value
                case "IsNumeric":
                    return _is_number(actual) is rule.value
                case "IsBoolean":
                    return isinstance(actual, bool) is rule.value
            expected = rule.value
            if isinstance(expected, Path):
                try:
                    expected = expected.get(data, context)
                except PathNotFoundError:
                    raise _StatesRuntimeError(
                        RUNTIME,
                        f"Invalid path '{expected.text}': The choice state's condition path references "
                        "an invalid value.",
                    ) from None
            return _compare(rule.operator, actual, expected)
        case _:
            assert_never(rule)


# ---------------------------------------------------------------------------------------------
# Parsed definitions


@dataclass(frozen=True)
class Retrier:
    errors: tuple[str, ...]
    interval_seconds: int = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter: bool = False

    def delay(self, retries_done: int, rng: random.Random) -> float:
        """Seconds before retry number ``retries_done + 1``."""
        # Without MaxDelaySeconds the interval still stops at ASL's largest MaxDelaySeconds, so a
        # long back-off stays a finite time.
        cap = self.max_delay_seconds if self.max_delay_seconds is not None else MAX_DELAY_SECONDS
        seconds = min(self.interval_seconds * self.backoff_rate ** min(retries_done, 1000), cap)
        return rng.uniform(0, seconds) if self.jitter else seconds


@dataclass(frozen=True)
class Catcher:
    errors: tuple[str, ...]
    next: str
    result_path: Path | None  # None: ResultPath null (discard the error)


@dataclass(frozen=True)
class _Io:
    """InputPath/OutputPath; None is JSON null (the state sees, or passes on, ``{}``)."""

    input_path: Path | None
    output_path: Path | None


@dataclass(frozen=True)
class TaskState:
    name: str
    io: _Io
    resource: str
    parameters: _Node | None
    result_selector: _Node | None
    result_path: Path | None
    timeout_seconds: int
    retry: tuple[Retrier, ...]
    catch: tuple[Catcher, ...]
    next: str | None

    @property
    def callback(self) -> bool:
        return self.resource.endswith(CALLBACK_SUFFIX)


@dataclass(frozen=True)
class WaitState:
    name: str
    io: _Io
    seconds: int | None
    seconds_path: Path | None
    timestamp: dt.datetime | None
    timestamp_path: Path | None
    next: str | None


@dataclass(frozen=True)
class ChoiceState:
    name: str
    io: _Io
    choices: tuple[tuple[_Rule, str], ...]
    default: str | None


_NO_RESULT: Final = object()


@dataclass(frozen=True)
class PassState:
    name: str
    io: _Io
    parameters: _Node | None
    result: Json  # _NO_RESULT when absent
    result_path: Path | None
    next: str | None


@dataclass(frozen=True)
class SucceedState:
    name: str
    io: _Io


@dataclass(frozen=True)
class FailState:
    name: str
    error: str | None
    cause: str | None


State = TaskState | WaitState | ChoiceState | PassState | SucceedState | FailState


def _targets(state: State) -> tuple[str, ...]:
    match state:
        case TaskState():
            return (*((state.next,) if state.next else ()), *(c.next for c in state.catch))
        case WaitState() | PassState():
            return (state.next,) if state.next else ()
        case ChoiceState():
            return (*(n for _, n in state.choices), *((state.default,) if state.default else ()))
        case SucceedState() | FailState():
            return ()
        case _:
            assert_never(state)


@dataclass(frozen=True)
class StateMachine:
    name: str
    arn: str
    role_arn: str
    definition: Mapping[str, Json]
    start_at: str
    states: Mapping[str, State]
    timeout_seconds: int | None


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


def _valid_name(name: object) -> bool:
    return isinstance(name, str) and 1 <= len(name) <= 80 and not _NAME_FORBIDDEN.search(name)


def _is_int(value: Json) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _DefinitionParser:
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
        if timeout is not None and not (_is_int(timeout) and timeout > 0):
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
            for target in _targets(state):
                if target not in states:
                    raise InvalidDefinition(f"state {state.name!r}: transition to unknown state {target!r}")
        reachable, todo = set(), [start_at]
        while todo:
            current = todo.pop()
            if current not in reachable:
                reachable.add(current)
                todo.extend(_targets(states[current]))
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

    def io(self, raw: Mapping[str, Json]) -> _Io:
        return _Io(self.path(raw, "InputPath"), self.path(raw, "OutputPath"))

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
        if "States.ALL" in errors and (len(errors) > 1 or not last):
            raise ValueError(f"{what}: States.ALL must appear alone, in the last {what}")
        return tuple(errors)

    def template(self, raw: Mapping[str, Json], key: str) -> _Node | None:
        if key not in raw:
            return None
        return _parse_template(raw[key], key)

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
                    copy.deepcopy(raw["Result"]) if "Result" in raw else _NO_RESULT,
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
            if not isinstance(parameters, _Object):
                raise ValueError("Parameters must be an object")
            names = frozenset(key for key, _, _ in parameters.fields)
        self.integrations.check(resource, names)
        if resource.endswith(CALLBACK_SUFFIX) and (
            parameters is None or not _mentions(parameters, "$$.Task.Token")
        ):
            raise ValueError(
                f"{resource} must pass $$.Task.Token in its Parameters, or it can never complete"
            )
        timeout = raw.get("TimeoutSeconds", DEFAULT_TASK_TIMEOUT)
        if not (_is_int(timeout) and timeout > 0):
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
        if not (_is_int(interval) and interval >= 1):
            raise ValueError(f"Retrier: IntervalSeconds must be an integer >= 1, got {interval!r}")
        if not (_is_int(attempts) and attempts >= 0):
            raise ValueError(f"Retrier: MaxAttempts must be an integer >= 0, got {attempts!r}")
        if not (_is_number(backoff) and backoff >= 1.0):
            raise ValueError(f"Retrier: BackoffRate must be a number >= 1.0, got {backoff!r}")
        if max_delay is not None and not (_is_int(max_delay) and max_delay >= 1):
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
        if seconds is not None and not (_is_int(seconds) and seconds >= 0):
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
        parsed: list[tuple[_Rule, str]] = []
        for rule in choices:
            if not isinstance(rule, Mapping) or not isinstance(rule.get("Next"), str):
                raise ValueError("every top-level choice rule needs a Next")
            parsed.append((self.rule({k: v for k, v in rule.items() if k != "Next"}), rule["Next"]))
        default = raw.get("Default")
        if default is not None and not isinstance(default, str):
            raise ValueError("Default must be a state name")
        return ChoiceState(name, self.io(raw), tuple(parsed), default)

    def rule(self, raw: Json) -> _Rule:
        if not isinstance(raw, Mapping):
            raise ValueError("a choice rule must be an object")
        body = {k: v for k, v in raw.items() if k != "Comment"}
        if "Next" in body:
            raise ValueError("nested choice rules cannot have Next")
        for combinator in ("And", "Or"):
            if combinator in body:
                if len(body) != 1:
                    raise ValueError(
                        f"{combinator} cannot be combined with {sorted(set(body) - {combinator})}"
                    )
                rules = body[combinator]
                if not isinstance(rules, list) or not rules:
                    raise ValueError(f"{combinator} needs a non-empty array of rules")
                children = tuple(self.rule(r) for r in rules)
                return _And(children) if combinator == "And" else _Or(children)
        if "Not" in body:
            if len(body) != 1:
                raise ValueError(f"Not cannot be combined with {sorted(set(body) - {'Not'})}")
            return _Not(self.rule(body["Not"]))
        variable = body.pop("Variable", None)
        if not isinstance(variable, str):
            raise ValueError(f"a comparison needs a Variable path, got {sorted(raw)}")
        if len(body) != 1:
            raise ValueError(f"a comparison needs exactly one operator, got {sorted(body) or 'none'}")
        ((operator, value),) = body.items()
        if operator not in COMPARISON_OPERATORS:
            raise ValueError(f"unsupported choice operator {operator!r}")
        if operator.endswith("Path"):
            if not isinstance(value, str):
                raise ValueError(f"{operator} needs a path string")
            return _Compare(parse_path(variable), operator, parse_path(value))
        expected_type: tuple[type, ...]
        if operator.startswith("String"):
            expected_type = (str,)
        elif operator.startswith("Numeric"):
            if not _is_number(value):
                raise ValueError(f"{operator} needs a number, got {value!r}")
            expected_type = (int, float)
        else:
            expected_type = (bool,)
        if not isinstance(value, expected_type):
            raise ValueError(f"{operator} needs a {expected_type[0].__name__}, got {value!r}")
        return _Compare(parse_path(variable), operator, value)


# ---------------------------------------------------------------------------------------------
# Executions


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

    @property
    def path(self) -> list[str]:
        """State names in the order they were entered (retries are not re-entries)."""
        return [e.state for e in self.history if e.type.endswith("StateEntered") and e.state is not None]

    def states_entered(self) -> Iterator[tuple[str, dt.datetime]]:
        for event in self.history:
            if event.type.endswith("StateEntered") and event.state is not None:
                yield event.state, event.timestamp


@dataclass
class _Attempt:
    """A Task state being run: its input, when it was entered, and its retry counters."""

    run: Execution
    state: TaskState
    raw: Json
    entered: dt.datetime
    retries: list[int]
    retry_count: int = 0


@dataclass
class _Waiter:
    """A task token: ``invoking`` while the resource runs, ``waiting`` for the callback, then closed."""

    attempt: _Attempt
    phase: Literal["invoking", "waiting", "closed"] = "invoking"
    outcome: _Success | _Failure | None = None
    timeout: Handle | None = None


@dataclass(frozen=True)
class _Success:
    output: Json


@dataclass(frozen=True)
class _Failure:
    error: str
    cause: str


@dataclass(frozen=True)
class _Next:
    state: str
    data: Json


class _Stop:
    """The execution is blocked on the clock, or has ended."""


_STOP: Final = _Stop()
_Step = _Next | _Stop


def _matches(patterns: Sequence[str], error: str) -> bool:
    for pattern in patterns:
        if pattern in ("States.ALL", error):
            return True
        if pattern == "States.TaskFailed" and error != TIMEOUT:
            return True
    return False


class Executor:
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
        self.clock = clock
        self.integrations = integrations
        self.region = region
        self.account_id = account_id
        self.usage = usage if usage is not None else Usage()
        # Separate streams, so that issuing one more token never changes a retry's jitter.
        self._jitter = random.Random(f"{seed}:jitter")
        self._ids = random.Random(f"{seed}:ids")
        self._machines: dict[str, StateMachine] = {}
        self._executions: dict[str, Execution] = {}
        self._tokens: dict[str, _Waiter] = {}
        self._listeners: list[Listener] = []
        self._parser = _DefinitionParser(integrations)

    # ---- state machines

    def create_state_machine(
        self, name: str, definition: Mapping[str, Json], *, role_arn: str | None = None
    ) -> str:
        """Parse and check ``definition`` (placeholders already substituted); returns its ARN."""
        if not _valid_name(name):
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
        if not _valid_name(name):
            raise InvalidName(f"Invalid Name: '{name}'")
        try:
            value = json.loads(input)
        except (TypeError, ValueError) as exc:
            raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from None
        arn = f"arn:aws:states:{self.region}:{self.account_id}:execution:{machine.name}:{name}"
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
            0, lambda: self._drive(run, _Next(machine.start_at, value)), label=f"{name}: start"
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
        self._complete(token, _Success(value))

    def send_task_failure(self, token: str, error: str | None = None, cause: str | None = None) -> None:
        self._complete(token, _Failure(error or "", cause or ""))

    def describe_execution(self, execution_arn: str) -> ExecutionDescription:
        run = self.execution(execution_arn)
        out: ExecutionDescription = {
            "executionArn": run.arn,
            "stateMachineArn": run.machine.arn,
            "name": run.name,
            "status": run.status,
            "startDate": run.start_date,
            "input": run.input,
        }
        if run.stop_date is not None:
            out["stopDate"] = run.stop_date
        if run.status == "SUCCEEDED":
            out["output"] = _compact(run.output)
        if run.error is not None:
            out["error"] = run.error
        if run.cause is not None:
            out["cause"] = run.cause
        return out

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

    def _drive(self, run: Execution, step: _Step) -> None:
        """Run states until the execution blocks on the clock or ends (a loop, not recursion)."""
        run.pending = None
        while isinstance(step, _Next) and run.status == "RUNNING":
            try:
                step = self._enter(run, step.state, step.data)
            except _StatesRuntimeError as failure:
                self._finish(run, "FAILED", error=failure.error, cause=failure.cause)
                return

    def _enter(self, run: Execution, name: str, raw: Json) -> _Step:
        state = run.machine.states[name]
        entered = self.clock.now()
        kind = type(state).__name__.removesuffix("State")
        self._transition(run)
        self._record(run, f"{kind}StateEntered", name, {"input": _compact(raw)})
        match state:
            case TaskState():
                attempt = _Attempt(run, state, raw, entered, [0] * len(state.retry))
                return self._attempt(attempt)
            case WaitState():
                return self._wait(run, state, raw, entered)
            case ChoiceState():
                data = self._input(state.io, raw, run, name, entered)
                context = self._context(run, name, entered)
                for rule, target in state.choices:
                    if _check_rule(rule, data, context):
                        return self._exit(run, state, state.io, data, target, entered)
                if state.default is not None:
                    return self._exit(run, state, state.io, data, state.default, entered)
                return self._fail(run, "States.NoChoiceMatched", f"No Matches! (state {name!r})")
            case PassState():
                data = self._input(state.io, raw, run, name, entered)
                context = self._context(run, name, entered)
                if state.parameters is not None:
                    data = _evaluate(state.parameters, data, context, "Parameters")
                result = data if state.result is _NO_RESULT else deep_copy(state.result)
                combined = self._apply_result_path(raw, result, state.result_path, name)
                return self._exit(run, state, state.io, combined, state.next, entered)
            case SucceedState():
                data = self._input(state.io, raw, run, name, entered)
                return self._exit(run, state, state.io, data, None, entered)
            case FailState():
                return self._fail(run, state.error, state.cause)
            case _:
                assert_never(state)

    def _exit(
        self, run: Execution, state: State, io: _Io, data: Json, target: str | None, entered: dt.datetime
    ) -> _Step:
        """Apply OutputPath, record the exit, and go on to ``target`` (None: the execution succeeds)."""
        output = self._output(io, data, run, state.name, entered)
        kind = type(state).__name__.removesuffix("State")
        self._record(run, f"{kind}StateExited", state.name, {"output": _compact(output)})
        if target is None:
            self._finish(run, "SUCCEEDED", output=output)
            return _STOP
        return _Next(target, output)

    def _fail(self, run: Execution, error: str | None, cause: str | None) -> _Step:
        self._finish(run, "FAILED", error=error, cause=cause)
        return _STOP

    # -- Wait

    def _wait(self, run: Execution, state: WaitState, raw: Json, entered: dt.datetime) -> _Step:
        data = self._input(state.io, raw, run, state.name, entered)
        now = self.clock.now()
        if state.seconds is not None:
            wake = now + dt.timedelta(seconds=state.seconds)
        elif state.timestamp is not None:
            wake = max(now, state.timestamp)
        elif state.seconds_path is not None:
            seconds = self._lookup(state.seconds_path, data, run, state.name, entered, "SecondsPath")
            if not _is_int(seconds) or seconds < 0:
                raise _StatesRuntimeError(
                    RUNTIME,
                    f"The SecondsPath parameter does not reference a non-negative integer: {seconds!r}",
                )
            wake = now + dt.timedelta(seconds=seconds)
        else:
            assert state.timestamp_path is not None
            text = self._lookup(state.timestamp_path, data, run, state.name, entered, "TimestampPath")
            moment = parse_timestamp(text)
            if moment is None:
                raise _StatesRuntimeError(
                    RUNTIME,
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
                    f"date-time format string: {state.timestamp_path.text} == {text}",
                )
            wake = max(now, moment)

        def done() -> None:
            self._drive(
                run, self._guarded(run, lambda: self._exit(run, state, state.io, data, state.next, entered))
            )

        run.pending = self.clock.call_at(wake, done, label=f"{run.name}: {state.name} ends")
        return _STOP

    # -- Task

    def _attempt(self, attempt: _Attempt) -> _Step:
        run, state = attempt.run, attempt.state
        data = self._input(state.io, attempt.raw, run, state.name, attempt.entered)
        token = self._new_token() if state.callback else None
        context = self._context(run, state.name, attempt.entered, attempt.retry_count, token)
        request = (
            data if state.parameters is None else _evaluate(state.parameters, data, context, "Parameters")
        )
        self._record(
            run, "TaskScheduled", state.name, {"resource": state.resource, "parameters": _compact(request)}
        )
        waiter = None
        if token is not None:
            waiter = self._tokens[token] = _Waiter(attempt)
            run.token = token
        task = TaskContext(
            resource=state.resource,
            state_name=state.name,
            execution_arn=run.arn,
            execution_name=run.name,
            state_machine_arn=run.machine.arn,
            token=token,
            now=self.clock.now(),
            usage=self.usage,
        )
        try:
            result = self.integrations.invoke(state.resource, request, task)
        except TaskError as failure:
            self._close(token)
            if run.status != "RUNNING":
                return _STOP
            # A callback that came before the invocation failed wins: it was the first outcome.
            first = waiter.outcome if waiter is not None and waiter.outcome is not None else None
            return self._resolve(attempt, first or _Failure(failure.error, failure.cause))
        if run.status != "RUNNING":  # the resource stopped its own execution
            self._close(token)
            return _STOP
        if waiter is None:
            return self._resolve(attempt, _Success(result))
        if waiter.outcome is not None:  # the handler called back while it was being invoked
            self._close(token)
            return self._resolve(attempt, waiter.outcome)
        assert token is not None
        waiter.phase = "waiting"
        self._record(run, "TaskSubmitted", state.name, {"resource": state.resource})
        waiter.timeout = run.pending = self.clock.call_later(
            state.timeout_seconds,
            lambda: self._callback_timed_out(token),
            label=f"{run.name}: {state.name} times out",
        )
        return _STOP

    def _complete(self, token: str, outcome: _Success | _Failure) -> None:
        waiter = self._tokens.get(token)
        if waiter is None:
            raise InvalidToken("Invalid Token: 'Invalid token'")
        if waiter.phase == "closed":
            raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'")
        previous, waiter.outcome = waiter.phase, outcome
        waiter.phase = "closed"
        if previous == "invoking":
            return  # _attempt resolves it once the invocation returns
        run = waiter.attempt.run
        run.token = None
        if waiter.timeout is not None:
            self.clock.cancel(waiter.timeout)
        run.pending = self.clock.call_later(
            0,
            lambda: self._drive(run, self._guarded(run, lambda: self._resolve(waiter.attempt, outcome))),
            label=f"{run.name}: {waiter.attempt.state.name} callback",
        )

    def _callback_timed_out(self, token: str) -> None:
        waiter = self._tokens[token]
        self._close(token)
        attempt = waiter.attempt
        self._drive(
            attempt.run, self._guarded(attempt.run, lambda: self._resolve(attempt, _Failure(TIMEOUT, "")))
        )

    def _close(self, token: str | None) -> None:
        if token is None:
            return
        waiter = self._tokens[token]
        waiter.phase = "closed"
        if waiter.timeout is not None:
            self.clock.cancel(waiter.timeout)
        if waiter.attempt.run.token == token:
            waiter.attempt.run.token = None

    def _resolve(self, attempt: _Attempt, outcome: _Success | _Failure) -> _Step:
        run, state = attempt.run, attempt.state
        match outcome:
            case _Success():
                self._record(run, "TaskSucceeded", state.name, {"output": _compact(outcome.output)})
                result = outcome.output
                if state.result_selector is not None:
                    context = self._context(run, state.name, attempt.entered, attempt.retry_count)
                    result = _evaluate(state.result_selector, result, context, "ResultSelector")
                combined = self._apply_result_path(attempt.raw, result, state.result_path, state.name)
                return self._exit(run, state, state.io, combined, state.next, attempt.entered)
            case _Failure():
                return self._task_failed(attempt, outcome.error, outcome.cause)
            case _:
                assert_never(outcome)

    def _task_failed(self, attempt: _Attempt, error: str, cause: str) -> _Step:
        run, state = attempt.run, attempt.state
        kind = "TaskTimedOut" if error == TIMEOUT else "TaskFailed"
        self._record(run, kind, state.name, {"error": error, "cause": cause})
        if error == RUNTIME:
            return self._fail(run, error, cause)
        for index, retrier in enumerate(state.retry):
            if not _matches(retrier.errors, error):
                continue
            if attempt.retries[index] >= retrier.max_attempts:
                break  # the first matching retrier decides; exhausted means go to Catch
            delay = retrier.delay(attempt.retries[index], self._jitter)
            attempt.retries[index] += 1
            attempt.retry_count += 1
            self.usage.task_retries += 1

            def retry() -> None:
                self._transition(run)  # AWS bills each retry as a state transition
                self._drive(run, self._guarded(run, lambda: self._attempt(attempt)))

            run.pending = self.clock.call_later(
                delay, retry, label=f"{run.name}: {state.name} retry {attempt.retry_count}"
            )
            return _STOP
        for catcher in state.catch:
            if _matches(catcher.errors, error):
                output = self._apply_result_path(
                    attempt.raw, {"Error": error, "Cause": cause}, catcher.result_path, state.name
                )
                self._record(
                    run, "TaskStateExited", state.name, {"output": _compact(output), "caught": error}
                )
                return _Next(catcher.next, output)
        return self._fail(run, error, cause)

    # ---- data flow

    def _guarded(self, run: Execution, step: Callable[[], _Step]) -> _Step:
        """Run a continuation; a ``States.Runtime`` failure in it fails the execution."""
        if run.status != "RUNNING":
            return _STOP
        try:
            return step()
        except _StatesRuntimeError as failure:
            self._finish(run, "FAILED", error=failure.error, cause=failure.cause)
            return _STOP

    def _context(
        self, run: Execution, state: str, entered: dt.datetime, retry_count: int = 0, token: str | None = None
    ) -> dict[str, Json]:
        context: dict[str, Json] = {
            "Execution": {
                "Id": run.arn,
                "Input": run.input_value,
                "Name": run.name,
                "RoleArn": run.machine.role_arn,
                "StartTime": iso(run.start_date),
                "RedriveCount": 0,
            },
            "State": {"EnteredTime": iso(entered), "Name": state, "RetryCount": retry_count},
            "StateMachine": {"Id": run.machine.arn, "Name": run.machine.name},
        }
        if token is not None:
            context["Task"] = {"Token": token}
        return context

    def _lookup(
        self, path: Path, data: Json, run: Execution, state: str, entered: dt.datetime, what: str
    ) -> Json:
        try:
            return deep_copy(path.get(data, self._context(run, state, entered) if path.context else None))
        except PathNotFoundError:
            raise _StatesRuntimeError(
                RUNTIME,
                f"An error occurred while executing the state '{state}'. Invalid path '{path.text}' for "
                f"{what}: no results in the input '{_compact(data)}'",
            ) from None

    def _input(self, io: _Io, raw: Json, run: Execution, state: str, entered: dt.datetime) -> Json:
        return (
            {}
            if io.input_path is None
            else self._lookup(io.input_path, raw, run, state, entered, "InputPath")
        )

    def _output(self, io: _Io, data: Json, run: Execution, state: str, entered: dt.datetime) -> Json:
        return (
            {}
            if io.output_path is None
            else self._lookup(io.output_path, data, run, state, entered, "OutputPath")
        )

    @staticmethod
    def _apply_result_path(raw: Json, result: Json, path: Path | None, state: str) -> Json:
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
        raise _StatesRuntimeError(
            RUNTIME,
            f"An error occurred while executing the state '{state}'. Unable to apply ResultPath "
            f"'{path.text}' to the input '{_compact(raw)}': it does not lead to an object",
        )

    # ---- bookkeeping

    def _transition(self, run: Execution) -> None:
        run.transitions += 1
        self.usage.state_transitions += 1

    def _record(
        self, run: Execution, kind: str, state: str | None = None, detail: Mapping[str, Json] | None = None
    ) -> None:
        if (
            len(run.history) >= MAX_HISTORY_EVENTS
            and run.status == "RUNNING"
            and not kind.startswith("Execution")
        ):
            raise _StatesRuntimeError(
                RUNTIME, f"The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."
            )
        run.history.append(
            HistoryEvent(len(run.history) + 1, self.clock.now(), kind, state, dict(detail or {}))
        )

    def _new_token(self) -> str:
        return base64.urlsafe_b64encode(self._ids.randbytes(96)).decode().rstrip("=")

    def _timed_out(self, run: Execution) -> None:
        run.deadline = None
        if run.status == "RUNNING":
            self._finish(run, "TIMED_OUT", error=TIMEOUT, cause="The execution timed out (TimeoutSeconds).")

    def _finish(
        self,
        run: Execution,
        status: Status,
        *,
        output: Json = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        run.status = status
        run.stop_date = self.clock.now()
        run.output, run.error, run.cause = output, error, cause
        for handle in (run.pending, run.deadline):
            if handle is not None:
                self.clock.cancel(handle)
        run.pending = run.deadline = None
        self._close(run.token)
        kind = {
            "SUCCEEDED": "ExecutionSucceeded",
            "FAILED": "ExecutionFailed",
            "TIMED_OUT": "ExecutionTimedOut",
        }
        detail = {"output": _compact(output)} if status == "SUCCEEDED" else {"error": error, "cause": cause}
        self._record(run, kind.get(status, "ExecutionAborted"), detail=detail)
        change: StatusChange = {
            "executionArn": run.arn,
            "stateMachineArn": run.machine.arn,
            "name": run.name,
            "status": status,
            "startDate": _epoch_ms(run.start_date),
            "stopDate": _epoch_ms(run.stop_date),
            "input": run.input,
            "inputDetails": {"included": True},
            "output": _compact(output) if status == "SUCCEEDED" else None,
            "outputDetails": {"included": True} if status == "SUCCEEDED" else None,
            "error": error,
            "cause": cause,
        }
        for listener in list(self._listeners):
            listener(change)


__all__ = [
    "COMPARISON_OPERATORS",
    "SUPPORTED_INTRINSICS",
    "ExecutionAlreadyExists",
    "ExecutionDescription",
    "ExecutionDoesNotExist",
    "Executor",
    "HistoryEvent",
    "InvalidDefinition",
    "InvalidExecutionInput",
    "InvalidName",
    "InvalidOutput",
    "InvalidToken",
    "StateMachineAlreadyExists",
    "StateMachineDoesNotExist",
    "StatesApiError",
    "StatusChange",
    "TaskTimedOut",
    "iso",
    "parse_path",
    "parse_timestamp",
    "status_change_event",
]
