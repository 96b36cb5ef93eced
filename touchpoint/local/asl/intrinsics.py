"""Intrinsic functions (``States.Format(...)`` and the rest): their syntax tree and parser.

Arity is checked at parse time (a definition error); argument types and limits at run time, as
``States.IntrinsicFailure`` (see ``functions``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from touchpoint.local.asl.paths import Path, parse_path

Json = Any


@dataclass(frozen=True)
class Literal:
    value: Json


@dataclass(frozen=True)
class Ref:
    path: Path


@dataclass(frozen=True)
class Call:
    """``States.Name(args)``; for ``States.Format`` with a literal template, ``pieces`` is that template
    split at its ``{}`` (a template from a path stays the first argument, ``pieces`` empty)."""

    name: str
    source: str
    args: tuple[Arg, ...]
    pieces: tuple[str, ...] = ()


Arg = Literal | Ref | Call

#: Each function's argument count: (minimum, maximum); None is unbounded.
ARITY: Final[dict[str, tuple[int, int | None]]] = {
    "States.Format": (1, None),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, None),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}
SUPPORTED_INTRINSICS: Final = tuple(ARITY)
#: AWS allows up to 10 intrinsic functions nested within a field.
MAX_NESTING: Final = 10
_FUNCTION_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*")
_PATH_ARGUMENT: Final = re.compile(r"[^,)\s]+")
_ESCAPABLE: Final = ("'", "{", "}", "\\")
_JSON_LITERAL: Final = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null")


class IntrinsicParser:
    """A recursive-descent parser for the intrinsic function syntax (one call, nested calls as args)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def parse(self) -> Call:
        call = self.call(1)
        self.space()
        if self.i != len(self.text):
            raise ValueError(f"unexpected {self.text[self.i :]!r} after the intrinsic call in {self.text!r}")
        return call

    def space(self) -> None:
        while self.i < len(self.text) and self.text[self.i] == " ":
            self.i += 1

    def call(self, depth: int) -> Call:
        self.space()
        m = _FUNCTION_NAME.match(self.text, self.i)
        if not m or self.text[m.end() : m.end() + 1] != "(":
            raise ValueError(f"{self.text!r} is neither a path nor an intrinsic function call")
        name = m.group(0)
        if name not in ARITY:
            raise ValueError(
                f"unsupported intrinsic function {name} (supported: {', '.join(SUPPORTED_INTRINSICS)})"
            )
        if depth > MAX_NESTING:
            raise ValueError(f"more than {MAX_NESTING} nested intrinsic functions in {self.text!r}")
        self.i = m.end() + 1
        args: list[Arg | tuple[str, ...]] = []
        self.space()
        if self.text[self.i : self.i + 1] == ")":
            self.i += 1
        else:
            while True:
                args.append(self.arg(depth))
                self.space()
                ch = self.text[self.i : self.i + 1]
                self.i += 1
                if ch == ")":
                    break
                if ch != ",":
                    raise ValueError(f"expected ',' or ')' in {self.text!r}")
        low, high = ARITY[name]
        if not low <= len(args) <= (high if high is not None else len(args)):
            expected = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise ValueError(f"{name} takes {expected} argument(s), got {len(args)}: {self.text!r}")
        pieces: tuple[str, ...] = ()
        if name == "States.Format" and isinstance(args[0], tuple):  # a template from a path: at run time
            pieces, args = args[0], args[1:]
            if len(pieces) - 1 != len(args):
                raise ValueError(
                    f"States.Format has {len(pieces) - 1} '{{}}' but {len(args)} argument(s): {self.text!r}"
                )
        # A string literal anywhere else is its text, braces and all.
        values = tuple(Literal("{}".join(arg)) if isinstance(arg, tuple) else arg for arg in args)
        return Call(name, self.text, values, pieces)

    def arg(self, depth: int) -> Arg | tuple[str, ...]:
        self.space()
        ch = self.text[self.i : self.i + 1]
        if ch == "'":
            return self.string()
        if ch == "$":
            m = _PATH_ARGUMENT.match(self.text, self.i)
            assert m is not None
            self.i = m.end()
            return Ref(parse_path(m.group(0)))
        m = _JSON_LITERAL.match(self.text, self.i)
        if m:
            self.i = m.end()
            return Literal(json.loads(m.group(0)))
        return self.call(depth + 1)

    def string(self) -> tuple[str, ...]:
        """A quoted literal split at its ``{}`` placeholders; ``\\'``, ``\\{``, ``\\}``, ``\\\\`` escape."""
        self.i += 1
        pieces, current = [], []
        while True:
            if self.i >= len(self.text):
                raise ValueError(f"unterminated string in {self.text!r}")
            ch = self.text[self.i]
            if ch == "\\":
                escaped = self.text[self.i + 1 : self.i + 2]
                if escaped not in _ESCAPABLE:  # AWS: an open escape backslash is an error
                    raise ValueError(f"an open escape backslash in {self.text!r} (only \\' \\{{ \\}} \\\\)")
                current.append(escaped)
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
