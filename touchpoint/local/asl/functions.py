"""What each ``States.*`` intrinsic function computes, with AWS's argument rules and limits.

A bad argument is ``States.IntrinsicFailure``. ``States.MathRandom`` and ``States.UUID`` draw from
the execution's own seeded ``random.Random``, so a simulation stays reproducible."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable
from typing import Any, Final

from touchpoint.local.asl.errors import INTRINSIC_FAILURE, StatesRuntimeError
from touchpoint.local.asl.intrinsics import Call
from touchpoint.local.asl.values import compact, is_int, is_number

Json = Any

#: AWS's limits: ArrayRange's items; Base64Encode/Decode's and Hash's input characters.
MAX_RANGE_ITEMS: Final = 1000
MAX_INPUT_CHARACTERS: Final = 10_000
_JAVA_INT: Final = range(-(2**31), 2**31)
_HASHES: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


class _BadArgumentError(Exception):
    """An argument AWS rejects; ``apply`` turns it into ``States.IntrinsicFailure``."""


def java_string(value: Json) -> str:
    """A value as ``States.Format`` writes it: a Java Map/List's toString for objects and arrays."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(java_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={java_string(item)}" for key, item in value.items()) + "}"
    return json.dumps(value)


def _string(value: Json, what: str, limit: int | None = None) -> str:
    if not isinstance(value, str):
        raise _BadArgumentError(f"{what} must be a string, got {compact(value)}")
    if limit is not None and len(value) > limit:
        raise _BadArgumentError(f"{what} has {len(value)} characters (at most {limit})")
    return value


def _array(value: Json, what: str = "the first argument") -> list[Json]:
    if not isinstance(value, list):
        raise _BadArgumentError(f"{what} must be an array, got {compact(value)}")
    return value


def _object(value: Json, what: str) -> dict[str, Json]:
    if not isinstance(value, dict):
        raise _BadArgumentError(f"{what} must be an object, got {compact(value)}")
    return value


def _integer(value: Json, what: str) -> int:
    """An integer argument; AWS rounds a non-integer number to the nearest integer."""
    if not is_number(value):
        raise _BadArgumentError(f"{what} must be a number, got {compact(value)}")
    number = value if is_int(value) else math.floor(value + 0.5)
    if number not in _JAVA_INT:
        raise _BadArgumentError(f"{what} {number} is out of the integer range")
    return int(number)


def _format(call: Call, args: list[Json], rng: random.Random) -> Json:
    pieces = call.pieces
    if not pieces:  # the template came from a path
        pieces, args = tuple(_string(args[0], "the template").split("{}")), args[1:]
        if len(pieces) - 1 != len(args):
            raise _BadArgumentError(f"the template has {len(pieces) - 1} '{{}}' but {len(args)} argument(s)")
    out = pieces[0]
    for value, piece in zip(args, pieces[1:], strict=True):
        out += java_string(value) + piece
    return out


def _string_to_json(call: Call, args: list[Json], rng: random.Random) -> Json:
    text = _string(args[0], "the argument")
    try:
        return json.loads(text)
    except ValueError:
        raise _BadArgumentError(f"{text!r} is not JSON") from None


def _partition(call: Call, args: list[Json], rng: random.Random) -> Json:
    items, size = _array(args[0]), _integer(args[1], "the chunk size")
    if size <= 0:
        raise _BadArgumentError(f"the chunk size must be positive, got {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _range(call: Call, args: list[Json], rng: random.Random) -> Json:
    first, last, step = (
        _integer(a, w) for a, w in zip(args, ("the start", "the end", "the step"), strict=True)
    )
    if step <= 0:
        raise _BadArgumentError(f"the step must be positive, got {step}")
    count = max(0, (last - first) // step + 1)
    if count > MAX_RANGE_ITEMS:
        raise _BadArgumentError(f"the range has {count} items (at most {MAX_RANGE_ITEMS})")
    return list(range(first, last + 1, step))


def _get_item(call: Call, args: list[Json], rng: random.Random) -> Json:
    items, index = _array(args[0]), args[1]
    if not is_int(index) or not 0 <= index < len(items):
        raise _BadArgumentError(f"index {compact(index)} is not in the array of {len(items)} item(s)")
    return items[index]


def _key(value: Json) -> str:
    """JSON equality (``true`` is not ``1``, key order does not count)."""
    return json.dumps(value, sort_keys=True)


def _unique(call: Call, args: list[Json], rng: random.Random) -> Json:
    seen: dict[str, Json] = {}
    for item in _array(args[0]):
        seen.setdefault(_key(item), item)
    return list(seen.values())


def _base64_decode(call: Call, args: list[Json], rng: random.Random) -> Json:
    text = _string(args[0], "the argument", MAX_INPUT_CHARACTERS)
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _BadArgumentError(f"{text!r} is not base64 of UTF-8 text") from None


def _hash(call: Call, args: list[Json], rng: random.Random) -> Json:
    data = _string(args[0], "the data", MAX_INPUT_CHARACTERS)
    algorithm = args[1]
    if algorithm not in _HASHES:
        raise _BadArgumentError(
            f"unknown hash algorithm {compact(algorithm)} (supported: {', '.join(_HASHES)})"
        )
    return hashlib.new(_HASHES[algorithm], data.encode("utf-8")).hexdigest()


def _json_merge(call: Call, args: list[Json], rng: random.Random) -> Json:
    first, second = _object(args[0], "the first argument"), _object(args[1], "the second argument")
    if args[2] is not False:
        raise _BadArgumentError("only the shallow merge is supported: the third argument must be false")
    return {**first, **second}


def _math_random(call: Call, args: list[Json], rng: random.Random) -> Json:
    start, end = _integer(args[0], "the start"), _integer(args[1], "the end")
    if start >= end:
        raise _BadArgumentError(f"the start {start} must be less than the end {end}")
    source = random.Random(_integer(args[2], "the seed")) if len(args) == 3 else rng
    return source.randrange(start, end)  # start inclusive, end exclusive


def _math_add(call: Call, args: list[Json], rng: random.Random) -> Json:
    total = _integer(args[0], "the first argument") + _integer(args[1], "the second argument")
    if total not in _JAVA_INT:
        raise _BadArgumentError(f"the sum {total} is out of the integer range")
    return total


def _string_split(call: Call, args: list[Json], rng: random.Random) -> Json:
    text, delimiters = _string(args[0], "the string"), _string(args[1], "the delimiter")
    parts = [text]
    for delimiter in delimiters:  # each character of the second argument splits
        parts = [piece for part in parts for piece in part.split(delimiter)]
    return [part for part in parts if part]


_Function = Callable[[Call, list[Json], random.Random], Json]
FUNCTIONS: Final[dict[str, _Function]] = {
    "States.Format": _format,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": lambda call, args, rng: compact(args[0]),
    "States.Array": lambda call, args, rng: list(args),
    "States.ArrayPartition": _partition,
    "States.ArrayContains": lambda call, args, rng: _key(args[1]) in {_key(item) for item in _array(args[0])},
    "States.ArrayRange": _range,
    "States.ArrayGetItem": _get_item,
    "States.ArrayLength": lambda call, args, rng: len(_array(args[0])),
    "States.ArrayUnique": _unique,
    "States.Base64Encode": lambda call, args, rng: base64.b64encode(
        _string(args[0], "the argument", MAX_INPUT_CHARACTERS).encode("utf-8")
    ).decode("ascii"),
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": lambda call, args, rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
}


def apply(call: Call, args: list[Json], rng: random.Random) -> Json:
    try:
        return FUNCTIONS[call.name](call, args, rng)
    except _BadArgumentError as exc:
        raise StatesRuntimeError(
            INTRINSIC_FAILURE, f"Invalid arguments in {call.name}: {exc} (in {call.source})"
        ) from None
