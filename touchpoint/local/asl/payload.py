"""Payload templates (Parameters, ResultSelector): parsed once, evaluated against a state's data."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, assert_never

from touchpoint.local.asl.errors import RUNTIME, StatesRuntimeError
from touchpoint.local.asl.functions import apply
from touchpoint.local.asl.intrinsics import Call, IntrinsicParser, Literal, Ref
from touchpoint.local.asl.paths import PathNotFoundError, parse_path
from touchpoint.local.asl.values import compact
from touchpoint.local.copies import deep_copy

Json = Any


@dataclass(frozen=True)
class ObjectNode:
    fields: tuple[tuple[str, str, Node], ...]  # (output key, source key, value)


@dataclass(frozen=True)
class ArrayNode:
    items: tuple[Node, ...]


Node = Literal | Ref | Call | ObjectNode | ArrayNode


def parse_template(value: Json, where: str) -> Node:
    if isinstance(value, dict):
        fields: list[tuple[str, str, Node]] = []
        for key, item in value.items():
            if key.endswith(".$"):
                if not isinstance(item, str):
                    raise ValueError(f"{where}: the value of {key!r} must be a path or intrinsic string")
                fields.append((key[:-2], key, parse_dynamic(item)))
            else:
                fields.append((key, key, parse_template(item, where)))
        return ObjectNode(tuple(fields))
    if isinstance(value, list):
        return ArrayNode(tuple(parse_template(item, where) for item in value))
    return Literal(value)


def parse_dynamic(text: str) -> Ref | Call:
    if text.startswith("$"):
        return Ref(parse_path(text))
    return IntrinsicParser(text).parse()


def evaluate(node: Node, data: Json, context: Json, field_name: str, rng: random.Random) -> Json:
    """The template's value; ``rng`` is the execution's, for MathRandom and UUID."""
    match node:
        case Literal():
            return deep_copy(node.value)
        case Ref():
            try:
                return deep_copy(node.path.get(data, context))
            except PathNotFoundError:
                raise StatesRuntimeError(
                    RUNTIME,
                    f"The JSONPath '{node.path.text}' specified for the field '{field_name}' could not be "
                    f"found in the input '{compact(data)}'",
                ) from None
        case Call():
            args = [evaluate(arg, data, context, field_name, rng) for arg in node.args]
            return apply(node, args, rng)
        case ObjectNode():
            return {key: evaluate(value, data, context, source, rng) for key, source, value in node.fields}
        case ArrayNode():
            return [evaluate(item, data, context, field_name, rng) for item in node.items]
        case _:
            assert_never(node)


def mentions(node: Node, text: str) -> bool:
    """Whether a template references the path ``text`` (to check callback tasks pass their token)."""
    match node:
        case Literal():
            return False
        case Ref():
            return node.path.text == text
        case Call():
            return any(mentions(arg, text) for arg in node.args)
        case ObjectNode():
            return any(mentions(value, text) for _, _, value in node.fields)
        case ArrayNode():
            return any(mentions(item, text) for item in node.items)
        case _:
            assert_never(node)
