"""Choice rules: parsed from a Choice state's ``Choices``, checked against a state's data."""

from __future__ import annotations

import operator as op
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, assert_never

from touchpoint.local.asl.errors import RUNTIME, StatesRuntimeError
from touchpoint.local.asl.paths import Path, PathNotFoundError, parse_path
from touchpoint.local.asl.values import is_number, parse_timestamp

Json = Any

_ORDERINGS: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "Equals": op.eq,
    "LessThan": op.lt,
    "GreaterThan": op.gt,
    "LessThanEquals": op.le,
    "GreaterThanEquals": op.ge,
}


def _operand(kind: str, value: Json) -> Any:
    """The value as ``kind`` compares it, or None: a value of another type never matches."""
    match kind:
        case "String":
            return value if isinstance(value, str) else None
        case "Numeric":
            return value if is_number(value) else None
        case "Timestamp":
            return parse_timestamp(value)
    raise AssertionError(kind)  # pragma: no cover


_KINDS: Final = ("String", "Numeric", "Timestamp")
_ORDERED: Final = tuple(f"{kind}{order}" for kind in _KINDS for order in _ORDERINGS)
_TYPE_OPS: Final = ("IsPresent", "IsNull", "IsString", "IsNumeric", "IsBoolean", "IsTimestamp")
COMPARISON_OPERATORS: Final = (
    *_ORDERED,
    *(f"{name}Path" for name in _ORDERED),
    "StringMatches",
    "BooleanEquals",
    "BooleanEqualsPath",
    *_TYPE_OPS,
)


@dataclass(frozen=True)
class Compare:
    variable: Path
    operator: str
    value: Json  # a Path for the *Path operators


@dataclass(frozen=True)
class And:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Or:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Not:
    rule: Rule


Rule = Compare | And | Or | Not


def _matches_wildcard(pattern: str, text: str) -> bool:
    regex = "".join(
        ".*" if part == "*" else re.escape(part[1:] if part.startswith("\\") else part)
        for part in re.findall(r"\\.|\*|[^*\\]+", pattern)
    )
    return re.fullmatch(regex, text, re.DOTALL) is not None


def _kind(operator: str) -> str:
    return next(kind for kind in _KINDS if operator.startswith(kind))


def _compare(operator: str, actual: Json, expected: Json) -> bool:
    if operator == "StringMatches":
        return isinstance(actual, str) and _matches_wildcard(expected, actual)
    base = operator.removesuffix("Path")
    if base == "BooleanEquals":
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    kind = _kind(base)
    left, right = _operand(kind, actual), _operand(kind, expected)
    if left is None or right is None:
        return False
    return bool(_ORDERINGS[base.removeprefix(kind)](left, right))


def _invalid_path(path: Path) -> StatesRuntimeError:
    return StatesRuntimeError(
        RUNTIME, f"Invalid path '{path.text}': The choice state's condition path references an invalid value."
    )


def check_rule(rule: Rule, data: Json, context: Json) -> bool:
    match rule:
        case And():
            return all(check_rule(r, data, context) for r in rule.rules)
        case Or():
            return any(check_rule(r, data, context) for r in rule.rules)
        case Not():
            return not check_rule(rule.rule, data, context)
        case Compare():
            present = rule.variable.has(data, context)
            if rule.operator == "IsPresent":
                return present is rule.value
            if not present:
                raise _invalid_path(rule.variable)
            actual = rule.variable.get(data, context)
            match rule.operator:
                case "IsNull":
                    return (actual is None) is rule.value
                case "IsString":
                    return isinstance(actual, str) is rule.value
                case "IsNumeric":
                    return is_number(actual) is rule.value
                case "IsBoolean":
                    return isinstance(actual, bool) is rule.value
                case "IsTimestamp":
                    return (parse_timestamp(actual) is not None) is rule.value
            expected = rule.value
            if isinstance(expected, Path):
                try:
                    expected = expected.get(data, context)
                except PathNotFoundError:
                    raise _invalid_path(expected) from None
            return _compare(rule.operator, actual, expected)
        case _:
            assert_never(rule)


def parse_rule(raw: Json) -> Rule:
    """One choice rule (Next already taken off a top-level rule)."""
    if not isinstance(raw, Mapping):
        raise ValueError("a choice rule must be an object")
    body = {k: v for k, v in raw.items() if k != "Comment"}
    if "Next" in body:
        raise ValueError("nested choice rules cannot have Next")
    for combinator in ("And", "Or"):
        if combinator in body:
            if len(body) != 1:
                raise ValueError(f"{combinator} cannot be combined with {sorted(set(body) - {combinator})}")
            rules = body[combinator]
            if not isinstance(rules, list) or not rules:
                raise ValueError(f"{combinator} needs a non-empty array of rules")
            children = tuple(parse_rule(r) for r in rules)
            return And(children) if combinator == "And" else Or(children)
    if "Not" in body:
        if len(body) != 1:
            raise ValueError(f"Not cannot be combined with {sorted(set(body) - {'Not'})}")
        return Not(parse_rule(body["Not"]))
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
        return Compare(parse_path(variable), operator, parse_path(value))
    _check_operand(operator, value)
    return Compare(parse_path(variable), operator, value)


def _check_operand(operator: str, value: Json) -> None:
    if operator.startswith("Timestamp"):
        if parse_timestamp(value) is None:
            raise ValueError(f"{operator} needs an RFC 3339 timestamp, got {value!r}")
    elif operator.startswith("Numeric"):
        if not is_number(value):
            raise ValueError(f"{operator} needs a number, got {value!r}")
    elif operator.startswith("String"):
        if not isinstance(value, str):
            raise ValueError(f"{operator} needs a str, got {value!r}")
    elif not isinstance(value, bool):
        raise ValueError(f"{operator} needs a bool, got {value!r}")
