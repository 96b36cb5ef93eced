"""Untrusted JSON, decoded once and checked against what the engine can store.

Every SQS body, EventBridge detail and profile patch comes from outside. Python's ``json`` accepts
``NaN`` and ``Infinity``, turns ``1e400`` into ``inf``, recurses until the interpreter's limit, and
keeps unpaired surrogates (which boto3 cannot encode), while DynamoDB takes numbers of at most 38
digits in a limited range and nests at most 32 levels. Refusing those here, with the reason, is
what lets a bad event be rejected once instead of failing every retry until the DLQ."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

#: An SQS message (and an EventBridge event) is at most 256 KB; the body is refused beyond 1 MB.
MAX_BODY_CHARS = 1_048_576
#: DynamoDB nests at most 32 levels; the body may need a few above what is stored.
MAX_DEPTH = 32
#: A stored attribute (a profile patch value) nests at most this deep, so the item stays < 32.
MAX_STORED_DEPTH = 16
NUMBER_DIGITS, NUMBER_MAX_EXPONENT, NUMBER_MIN_EXPONENT = 38, 125, -130


class Unacceptable(ValueError):  # noqa: N818 - reads as the condition it is
    """The input cannot be taken; the message says why, for the rejected-events store."""


def load(text: str) -> Any:
    """``text`` as JSON, or Unacceptable with the reason."""
    if len(text) > MAX_BODY_CHARS:
        raise Unacceptable(f"the body is {len(text):,} characters; at most {MAX_BODY_CHARS:,} are accepted")
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float)
    except RecursionError:
        raise Unacceptable(f"not JSON Touchpoint accepts: nested more than {MAX_DEPTH} levels") from None
    except Unacceptable:
        raise
    except ValueError as error:
        raise Unacceptable(f"not JSON: {error}") from None
    if not _plainly_fine(text):
        problem = check(value, MAX_DEPTH)
        if problem is not None:
            raise Unacceptable(problem)
    return value


def _plainly_fine(text: str) -> bool:
    """Whether ``text`` cannot decode to anything ``check`` refuses, seen at C speed: too few
    brackets to nest too deep, no ``\\u`` escape (the only way JSON spells a surrogate the
    text does not hold), and the text itself encodable. Most bodies are; the rest are walked."""
    return text.count("{") + text.count("[") <= MAX_DEPTH and "\\u" not in text and _encodable(text)


def check(value: Any, depth: int, where: str = "") -> str | None:
    """The first reason ``value`` cannot be taken (too deep, an unpaired surrogate), or None."""
    stack: list[tuple[Any, int, str]] = [(value, 0, where)]
    while stack:
        item, level, path = stack.pop()
        if level > depth:
            return f"{path or 'the body'}: nested more than {depth} levels"
        if isinstance(item, str):
            if not _encodable(item):
                return f"{path or 'a string'}: contains an unpaired UTF-16 surrogate"
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if not _encodable(str(key)):
                    return f"{path or 'an object'}: a key contains an unpaired UTF-16 surrogate"
                stack.append((child, level + 1, f"{path}.{key}" if path else str(key)))
        elif isinstance(item, list):
            stack.extend((child, level + 1, f"{path}[{i}]") for i, child in enumerate(item))
    return None


def storable(value: Any, where: str) -> str | None:
    """Why DynamoDB would refuse ``value`` as an attribute value, or None: numbers it cannot hold,
    empty map keys, nesting beyond ``MAX_STORED_DEPTH``."""
    stack: list[tuple[Any, int, str]] = [(value, 0, where)]
    while stack:
        item, level, path = stack.pop()
        if level > MAX_STORED_DEPTH:
            return f"{path}: nested more than {MAX_STORED_DEPTH} levels"
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int | float | Decimal):
            if not storable_number(item):
                return f"{path}: {show(item)} is not a number DynamoDB can store (38 digits, up to 1E+125)"
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if not key:
                    return f"{path}: a key is empty"
                stack.append((child, level + 1, f"{path}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, level + 1, f"{path}[{i}]") for i, child in enumerate(item))
    return None


def storable_number(value: int | float | Decimal | str) -> bool:
    """Whether DynamoDB can store ``value`` as a number: finite, 38 significant digits, in range."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        return False
    if not number.is_finite():
        return False
    if number.is_zero():
        return True
    digits = number.as_tuple().digits  # counted without a decimal context (no rounding, no traps)
    significant = len("".join(map(str, digits)).rstrip("0"))
    return significant <= NUMBER_DIGITS and NUMBER_MIN_EXPONENT <= number.adjusted() <= NUMBER_MAX_EXPONENT


def size(value: Any) -> int:
    """Characters of ``value`` as compact JSON: what a bound on stored data is measured in."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))


def _constant(name: str) -> Any:
    raise Unacceptable(f"not JSON Touchpoint accepts: {name} is not a number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Unacceptable(f"not JSON Touchpoint accepts: {text[:40]} is outside the range of a number")
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def show(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else f"{text[:12]}…{text[-6:]} ({len(text)} characters)"
