"""The one condition evaluator: audience at entry, ``if`` branches, canary segments, and the
``where`` filters of triggers, exits, goals and ``wait_for`` all go through ``check``.

Pure code: the caller hands in a profile view and the time; nothing here reads AWS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, Protocol, assert_never

from touchpoint.durations import format_duration
from touchpoint.journey.model import (
    AllCondition,
    AnyCondition,
    AttributeCondition,
    Condition,
    ConsentCondition,
    NotCondition,
    Ops,
    TagCondition,
    Where,
)


class ProfileView(Protocol):
    def value(self, name: str) -> Any: ...
    def has_tag(self, tag: str) -> bool: ...
    def has_consent(self, channel: str) -> bool: ...


def evaluate(condition: Condition, profile: ProfileView, now: dt.datetime) -> bool:
    match condition:
        case AttributeCondition():
            return check(condition, profile.value(condition.attribute), now)
        case TagCondition():
            return profile.has_tag(condition.tag)
        case ConsentCondition():
            return profile.has_consent(condition.consent)
        case AllCondition():
            return all(evaluate(c, profile, now) for c in condition.all_)
        case AnyCondition():
            return any(evaluate(c, profile, now) for c in condition.any_)
        case NotCondition():
            return not evaluate(condition.not_, profile, now)
        case _:
            assert_never(condition)


def matches_where(where: Where, properties: Mapping[str, Any], now: dt.datetime) -> bool:
    """Event filters: a plain value means equality, an Ops mapping compares."""
    for name, expected in where.items():
        actual = lookup(properties, name)
        if isinstance(expected, Ops):
            if not check(expected, actual, now):
                return False
        elif not _equal(actual, expected):
            return False
    return True


def check(ops: Ops, value: Any, now: dt.datetime) -> bool:
    """Every operator in ``ops`` holds for ``value`` (None = missing)."""
    return all(_holds(op, operand, value, now) for op, operand in ops.operators())


def lookup(data: Mapping[str, Any], name: str) -> Any:
    """``name`` as a key, else as a dotted path into nested mappings (``address.city``)."""
    if name in data:
        return data[name]
    current: Any = data
    for part in name.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def _holds(op: str, operand: Any, value: Any, now: dt.datetime) -> bool:
    match op:
        case "exists":
            return (value is not None) == bool(operand)
        case "eq":
            return _equal(value, operand)
        case "ne":
            return not _equal(value, operand)
        case "in":
            values = value if isinstance(value, list | set | tuple | frozenset) else [value]
            return any(_equal(v, o) for v in values for o in operand)
        case "contains":
            if isinstance(value, str):
                return isinstance(operand, str) and operand in value
            if isinstance(value, list | set | tuple | frozenset):
                return any(_equal(v, operand) for v in value)
            return False
        case "gt" | "gte" | "lt" | "lte":
            order = _compare(value, operand)
            if order is None:
                return False
            return {"gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[op]
        case "within":
            stamp = parse_time(value)
            return stamp is not None and abs((now - stamp).total_seconds()) <= operand
        case "older_than":
            stamp = parse_time(value)
            return stamp is not None and (now - stamp).total_seconds() > operand
    raise ValueError(f"unknown operator {op}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return Decimal(str(a)) == Decimal(str(b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _compare(a: Any, b: Any) -> int | None:
    if _is_number(a) and _is_number(b):
        x, y = Decimal(str(a)), Decimal(str(b))
        return (x > y) - (x < y)
    if isinstance(a, str) and isinstance(b, str):
        ta, tb = parse_time(a), parse_time(b)
        if ta is not None and tb is not None:
            return (ta > tb) - (ta < tb)
        return (a > b) - (a < b)
    return None


def parse_time(value: Any) -> dt.datetime | None:
    """ISO 8601 timestamp (or date, as midnight UTC) → aware datetime; None when it is not one."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# --------------------------------------------------------------------------- static analysis


def attributes_in(
    condition: Condition, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], AttributeCondition]]:
    """Every attribute condition inside ``condition``, with its path (for the validator)."""
    match condition:
        case AttributeCondition():
            yield path, condition
        case TagCondition() | ConsentCondition():
            return
        case AllCondition():
            for i, c in enumerate(condition.all_):
                yield from attributes_in(c, (*path, "all", i))
        case AnyCondition():
            for i, c in enumerate(condition.any_):
                yield from attributes_in(c, (*path, "any", i))
        case NotCondition():
            yield from attributes_in(condition.not_, (*path, "not"))
        case _:
            assert_never(condition)


def required_consents(condition: Condition | None) -> frozenset[str]:
    """Channels whose consent every matching profile must have (a conservative lower bound)."""
    match condition:
        case None | AttributeCondition() | TagCondition() | NotCondition():
            return frozenset()
        case ConsentCondition():
            return frozenset({condition.consent})
        case AllCondition():
            return frozenset().union(*(required_consents(c) for c in condition.all_))
        case AnyCondition():
            sets = [required_consents(c) for c in condition.any_]
            return frozenset.intersection(*sets) if sets else frozenset()
        case _:
            assert_never(condition)


_SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def describe(condition: Condition) -> str:
    """One line for people (graphs, reports, ``why``): ``orders_count ≥ 1 and consent email``."""
    match condition:
        case AttributeCondition():
            return describe_ops(condition.attribute, condition)
        case TagCondition():
            return f"tag {condition.tag}"
        case ConsentCondition():
            return f"consent {condition.consent}"
        case AllCondition():
            return " and ".join(_group(c) for c in condition.all_)
        case AnyCondition():
            return " or ".join(_group(c) for c in condition.any_)
        case NotCondition():
            return f"not {_group(condition.not_)}"
        case _:
            assert_never(condition)


def describe_ops(name: str, ops: Ops) -> str:
    parts = []
    for op, operand in ops.operators():
        if op in _SYMBOLS:
            parts.append(f"{name} {_SYMBOLS[op]} {operand}")
        elif op == "exists":
            parts.append(f"{name} {'exists' if operand else 'missing'}")
        elif op in ("within", "older_than"):
            parts.append(f"{name} {op.replace('_', ' ')} {format_duration(operand)}")
        else:
            shown = ", ".join(map(str, operand)) if isinstance(operand, list) else operand
            parts.append(f"{name} {op} {shown}")
    return " and ".join(parts)


def describe_where(where: Where) -> str:
    return " and ".join(describe_ops(k, v) if isinstance(v, Ops) else f"{k} = {v}" for k, v in where.items())


def _group(condition: Condition) -> str:
    text = describe(condition)
    return f"({text})" if isinstance(condition, AllCondition | AnyCondition) else text
