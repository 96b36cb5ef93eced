"""How big a value would be as text, and what an operator would make, known before making it."""

from __future__ import annotations

import re
from collections.abc import ItemsView, Iterable, KeysView, Mapping, ValuesView
from itertools import chain
from typing import Any

from touchpoint.sandbox.limits import (
    INTEGER_LIMIT,
    MAX_INTEGER,
    MAX_VALUE,
    MAX_WIDTH,
    SIZED,
    VALUE_LIMIT,
    WIDTH_LIMIT,
    LimitExceeded,
    check_size,
)

CONTAINERS = (list, tuple, dict, set, frozenset, KeysView, ValuesView, ItemsView)

# --------------------------------------------------------------------------- sizes of values


def _text_bound(value: Any, memo: dict[tuple[int, int], tuple[Any, int]], indent: int, depth: int) -> int:
    """An upper bound on the length of ``str(value)`` (or its JSON with ``indent``), stopping early.

    Containers are measured, not converted: a list holding another list a thousand times, itself
    held a thousand times, is tiny in memory but prints as a billion characters. Shared containers
    are measured once (memo) but counted at every reference, as printing does."""
    if isinstance(value, str):
        return 2 + len(value) * (2 if value.isprintable() else 10)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, float):
        return 24
    if not isinstance(value, CONTAINERS):
        return 0
    key = (id(value), depth)
    if key in memo:  # the memo holds the value too, so its id cannot be reused meanwhile
        return memo[key][1]
    per_item = 2 + (indent * (depth + 1) + 1 if indent else 0)
    total = 2
    pairs = value.items() if isinstance(value, dict) else None
    items: Iterable[Any] = chain.from_iterable(pairs) if pairs is not None else value
    for item in items:
        total += per_item + _text_bound(item, memo, indent, depth + 1)
        if total > MAX_VALUE:
            break
    memo[key] = (value, total)
    return total


def check_text(value: Any, indent: int = 0) -> None:
    """Refuse to turn a container into text that would exceed MAX_VALUE."""
    if isinstance(value, CONTAINERS) and _text_bound(value, {}, indent, 0) > MAX_VALUE:
        raise LimitExceeded(VALUE_LIMIT)


def text(value: Any) -> str:
    """``str(value)`` after checking its size; strings (and Markup) are returned as they are."""
    if isinstance(value, str):
        return value
    check_text(value)
    return str(value)


def text_size(value: Any) -> int:
    return len(value) if isinstance(value, str) else _text_bound(value, {}, 0, 0)


def finalize(value: Any) -> Any:
    """Every ``{{ expression }}`` passes here before it is printed (Environment.finalize)."""
    if isinstance(value, CONTAINERS):
        check_text(value)
    return value


# --------------------------------------------------------------------------- operators

_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?[hlL]?(?P<type>.)",
    re.DOTALL,
)


def check_width(width: Any) -> None:
    size = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    if abs(size) > MAX_WIDTH:
        raise LimitExceeded(WIDTH_LIMIT)


def check_percent(template: str, values: Any) -> None:
    """``'%999999999s' % x`` allocates a gigabyte: check widths, precisions and the %s arguments
    before formatting. Mirrors how ``%`` consumes arguments (``*`` takes one, a conversion one)."""
    if "%" not in template:
        return
    args = values if isinstance(values, tuple) else (values,)
    position = 0

    def take() -> Any:
        nonlocal position
        position += 1
        return args[position - 1] if position <= len(args) else None

    for match in _PERCENT.finditer(template):
        if match["type"] == "%":
            continue
        for part in ("width", "precision"):
            spec = match[part]
            if spec == "*":
                check_width(take())
            elif spec:
                check_width(MAX_WIDTH + 1 if len(spec) > len(str(MAX_WIDTH)) else int(spec))
        if match["key"] is not None:
            value = values.get(match["key"]) if isinstance(values, Mapping) else None
        else:
            value = take()
        if match["type"] in "sra":
            check_text(value)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be over a limit, before computing it."""
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, SIZED) and isinstance(count, int):
                check_size(len(seq) * max(count, 0))
        if (
            type(left) is int
            and type(right) is int
            and left.bit_length() + right.bit_length() > MAX_INTEGER.bit_length() + 2
        ):
            raise LimitExceeded(INTEGER_LIMIT)
    elif operator == "**":
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right * (abs(left).bit_length() - 1) > MAX_INTEGER.bit_length()
        ):
            raise LimitExceeded(INTEGER_LIMIT)
    elif operator == "%":
        if isinstance(left, str):
            check_percent(left, right)
    elif operator == "+" and isinstance(left, SIZED) and isinstance(right, SIZED):
        check_size(len(left) + len(right))
