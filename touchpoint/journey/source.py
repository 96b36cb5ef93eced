"""YAML with line numbers, read the way a marketer means it.

PyYAML follows YAML 1.1, where ``no`` is false and ``10:00`` is the integer 600. Journeys are full
of country codes and times of day, so this loader resolves only YAML 1.2 core scalars (true/false,
null, numbers) and keeps everything else a string; pydantic does the typing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

JsonPath = tuple[str | int, ...]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when present (10x faster), with the YAML 1.2 resolvers below."""


_Loader.yaml_implicit_resolvers = {}
for _tag, _regex, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$",
        "-+.0123456789",
    ),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_regex), list(_first))


class SourceError(Exception):
    """The file is not readable YAML; carries the line so the CLI can point at it."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Source:
    """A parsed YAML document and where each value sits in the file."""

    path: str
    data: Any
    lines: dict[JsonPath, int] = field(default_factory=dict)

    def line_of(self, path: JsonPath) -> int:
        """Line of the deepest part of ``path`` that exists in the file."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return 1


def read_source(path: Path, display: str | None = None) -> Source:
    """Parse ``path``; raise SourceError for YAML syntax errors and duplicate keys."""
    text = path.read_text(encoding="utf-8")
    return parse_source(text, display or str(path))


def parse_source(text: str, display: str) -> Source:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise SourceError(line, f"not valid YAML: {error.problem or error}") from error
    source = Source(display, None)
    if node is None:
        raise SourceError(1, "the file is empty; a journey starts with schema: touchpoint/v1")
    source.data = _build(node, (), source.lines, yaml.SafeLoader(""))
    return source


def _build(node: yaml.Node, path: JsonPath, lines: dict[JsonPath, int], constructor: yaml.SafeLoader) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = (
                _Loader.construct_scalar(_Loader(""), key_node)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if not isinstance(key, str):
                raise SourceError(key_node.start_mark.line + 1, "mapping keys must be plain names")
            if key in result:
                raise SourceError(key_node.start_mark.line + 1, f'duplicate key "{key}"; keep one of them')
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1
            result[key] = _build(value_node, child, lines, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, constructor) for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)


def format_path(path: JsonPath) -> str:
    """``("steps", 2, "wait")`` → ``steps[2].wait``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def iter_paths(data: Any, path: JsonPath = ()) -> Iterator[JsonPath]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from iter_paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from iter_paths(value, (*path, i))
