"""JSONPath reference paths (``$.a.b``, ``$['a']``, ``$.a[0]``, ``$$.Execution.Id``): all the JSONPath
the executor evaluates; anything else is refused when the definition is parsed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Json = Any


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
            steps.append(m.group(1))  # AWS keeps the escapes: the key of $['a\"b'] is a\"b
        else:
            raise ValueError(f"unsupported JSONPath {text!r} (only reference paths: $.a.b, $.a[0], $['a'])")
        i = m.end()
    return Path(text, context, tuple(steps))
