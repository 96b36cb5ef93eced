"""Violations: every problem in a journey, schema or semantic, as ``file:line field: message``.

Pydantic reports locations in model terms (with union tags such as ``('steps', 0, 'wait', 'wait',
'duration')``). To point at the YAML line and the field as written, the location is walked in step
with the model types, so tags are dropped and allowed keys are known for "did you mean" hints."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Discriminator, Tag, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from touchpoint.journey.source import JsonPath, Source, format_path
from touchpoint.suggest import closest

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Violation:
    file: str
    line: int
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" + (f" {self.field}" if self.field else "")
        return f"{where}: {'warning: ' if self.severity == 'warning' else ''}{self.message}"


def at(source: Source, path: JsonPath, message: str, severity: Severity = "error") -> Violation:
    return Violation(source.path, source.line_of(path), format_path(path), message, severity)


def from_validation_error(error: ValidationError, source: Source, root: type[BaseModel]) -> list[Violation]:
    found: dict[tuple[JsonPath, str], Violation] = {}
    for detail in error.errors():
        path, model = _walk(detail["loc"], root)
        message = _message(detail, path, model)
        found.setdefault((path, message), at(source, path, message))
    return sorted(found.values())


# --------------------------------------------------------------------------- loc → path


def data_path(loc: tuple[int | str, ...], root: type[BaseModel]) -> JsonPath:
    """Where in the data (as written, union tags removed) a pydantic error location points."""
    return _walk(loc, root)[0]


def _walk(loc: tuple[int | str, ...], root: type[BaseModel]) -> tuple[JsonPath, type[BaseModel] | None]:
    """Data path of ``loc`` (tags removed) and the model that owns its last key."""
    path: list[str | int] = []
    current: Any = root
    owner: type[BaseModel] | None = None
    for item in loc:
        if item == "[key]":  # pydantic marks errors in a mapping's key this way
            continue
        current = _unwrap(current)
        tagged = _tagged_members(current)
        if tagged is not None:
            if item in tagged:  # a union tag, not a key in the data
                current = tagged[str(item)]
                continue
            current = None
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            owner = current
            name, annotation = _field(current, str(item))
            path.append(name)
            current = annotation
        elif isinstance(item, int) and typing.get_origin(current) is list:
            path.append(item)
            current = typing.get_args(current)[0]
        elif typing.get_origin(current) is dict and isinstance(item, str):
            path.append(item)
            current = typing.get_args(current)[1]
        else:
            path.append(item)
            current = None
    return tuple(path), owner


def _unwrap(annotation: Any) -> Any:
    """Strip Optional and plain Annotated wrappers, keep tagged unions recognisable."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            inner, *meta = typing.get_args(annotation)
            if any(isinstance(m, Discriminator) for m in meta):
                return annotation
            annotation = inner
            continue
        if _is_union(annotation):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _tagged_members(annotation: Any) -> dict[str, Any] | None:
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    inner = typing.get_args(annotation)[0]
    members: dict[str, Any] = {}
    for member in typing.get_args(inner):
        if typing.get_origin(member) is typing.Annotated:
            base, *meta = typing.get_args(member)
            for m in meta:
                if isinstance(m, Tag):
                    members[m.tag] = base
    return members or None


def _field(model: type[BaseModel], key: str) -> tuple[str, Any]:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            annotation: Any = info.annotation
            if info.discriminator is not None or any(isinstance(m, Discriminator) for m in info.metadata):
                disc = info.discriminator or next(m for m in info.metadata if isinstance(m, Discriminator))
                annotation = typing.Annotated[annotation, disc]
            return info.alias or name, annotation
    return key, None


def _field_info(model: type[BaseModel] | None, key: str) -> FieldInfo | None:
    if model is None:
        return None
    return next((i for n, i in model.model_fields.items() if key in (n, i.alias)), None)


def allowed_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


# --------------------------------------------------------------------------- messages


def _message(detail: ErrorDetails, path: JsonPath, owner: type[BaseModel] | None) -> str:
    kind = detail["type"]
    ctx: dict[str, Any] = dict(detail.get("ctx") or {})
    given = detail.get("input")
    key = str(path[-1]) if path else ""
    match kind:
        case "step_kind" | "condition_kind" | "trigger_kind":
            return _kind_message(str(detail["msg"]), given)
        case "missing":
            info = _field_info(owner, key)
            return "missing required field" + (f" ({info.description})" if info and info.description else "")
        case "extra_forbidden":
            allowed = allowed_keys(owner) if owner else []
            close = closest(key, allowed)
            hint = f'did you mean "{close}"? Allowed' if close else "allowed"
            return f'unknown field "{key}"; {hint} here: {", ".join(allowed)}'
        case "literal_error":
            options = _alternatives(str(ctx.get("expected", "")))
            close = closest(str(given), options)
            hint = f'did you mean "{close}"? Use' if close else "use"
            return f"{_show(given)} is not allowed; {hint} {_words(options)}"
        case "greater_than" | "greater_than_equal" | "less_than" | "less_than_equal":
            words = {
                "greater_than": "greater than",
                "greater_than_equal": "at least",
                "less_than": "less than",
                "less_than_equal": "at most",
            }[kind]
            bound = next(iter(ctx.values()))
            return f"{_show(given)} is out of range; it must be {words} {bound:g}"
        case "too_short":
            return (
                "must not be empty"
                if ctx.get("min_length") == 1
                else f"needs at least {ctx['min_length']} items"
            )
        case "int_type" | "int_parsing" | "int_from_float":
            return f"{_show(given)} is not a whole number"
        case "float_type" | "float_parsing":
            return f"{_show(given)} is not a number"
        case "bool_type" | "bool_parsing":
            return f"{_show(given)} is not true or false"
        case "string_type":
            return f"{_show(given)} is not text; quote it"
        case "list_type":
            return "must be a list (- item per line, or [a, b])"
        case "dict_type" | "model_type" | "model_attributes_type":
            return "must be a mapping (key: value)"
        case "string_pattern_mismatch":
            return f"{_show(given)} does not match {ctx.get('pattern')}"
        case "string_too_long":
            return f"is longer than {ctx.get('max_length')} characters"
        case "timezone_aware" | "datetime_from_date_parsing" | "datetime_parsing" | "datetime_type":
            return f"{_show(given)} is not a date-time with offset; write 2026-12-01T00:00:00+08:00"
        case "date_from_datetime_parsing" | "date_parsing" | "date_type":
            return f"{_show(given)} is not a date; write 2026-06-18"
    return str(detail["msg"]).removeprefix("Value error, ")


def _kind_message(base: str, given: object) -> str:
    kinds = [k.strip() for k in base.split(":", 1)[1].split(",")]
    if not isinstance(given, dict):
        return f"{base}; found {_show(given)}"
    present = [k for k in kinds if k in given]
    if len(present) > 1:
        return f"{base}; found both {present[0]} and {present[1]}: split them into separate items"
    for key in given:
        close = closest(str(key), kinds)
        if close:
            return f'{base}; found "{key}", did you mean "{close}"?'
    return base


def _alternatives(expected: str) -> list[str]:
    return [w.strip().strip("'") for w in expected.replace(" or ", ", ").split(",") if w.strip()]


def _words(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _show(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict | list):
        return "this " + ("mapping" if isinstance(value, dict) else "list")
    return repr(value) if value is not None else "null"
