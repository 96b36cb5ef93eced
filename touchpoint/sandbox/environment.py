"""The environment every message template runs in: Jinja's immutable sandbox with the hooks its
compiled code calls bounded (operators, calls, loops, joins, buffers) and attribute access narrowed."""

from __future__ import annotations

from collections.abc import Iterable
from types import BuiltinMethodType
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext, Undefined, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment

from touchpoint.sandbox import budget
from touchpoint.sandbox.access import allowed_attributes, refusal
from touchpoint.sandbox.bounds import check_binop, finalize, text
from touchpoint.sandbox.cache import code_cache
from touchpoint.sandbox.compiled import BoundedCodeGenerator, BoundedTemplate, Buffer, Counted
from touchpoint.sandbox.filters import REMOVED_FILTERS, REMOVED_GLOBALS, bounded_filter, bounded_range
from touchpoint.sandbox.limits import DEPTH_LIMIT, MAX_DEPTH, SIZED, LimitExceeded, check_size


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox every message template runs in (see the package docstring and the limits)."""

    intercepted_binops = frozenset({"+", "*", "**", "%", "//"})
    code_generator_class = BoundedCodeGenerator
    template_class = BoundedTemplate

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=finalize, **options)
        for name in REMOVED_GLOBALS:
            self.globals.pop(name, None)
        self.globals["range"] = bounded_range
        self.filters = {
            name: bounded_filter(name, func)
            for name, func in self.filters.items()
            if name not in REMOVED_FILTERS
        }
        self.bytecode_cache = code_cache(self)

    # ---- hooks the compiled code calls

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        spent = budget.current()
        spent.check_time()
        check_binop(operator, left, right)
        result = self.binop_table[operator](left, right)
        spent.produced(result)
        return result

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        spent = budget.current()
        spent.call()
        if isinstance(obj, LoopContext) and args:  # loop(children) in a recursive loop
            args = (self.iterate(args[0]), *args[1:])
        if spent.depth >= MAX_DEPTH:
            raise LimitExceeded(DEPTH_LIMIT)
        spent.depth += 1
        try:
            result = super().call(context, obj, *args, **kwargs)
        finally:
            spent.depth -= 1
        if isinstance(result, SIZED):
            if isinstance(obj, BuiltinMethodType) and isinstance(obj.__self__, str):
                spent.produced(result)  # 'x'.upper(): a new string, like an operator's
            else:
                check_size(len(result))
        return result

    def iterate(self, iterable: Iterable[Any]) -> Counted:
        return Counted(iterable, budget.current())

    def join(self, context: Context, markup: bool, pieces: tuple[Any, ...]) -> str:
        """``a ~ b``: sizes are checked before joining, the result (escaped, if HTML) after."""
        spent = budget.current()
        spent.check_time()
        texts = [text(piece) for piece in pieces]
        check_size(sum(map(len, texts)))
        joined = markup_join(texts) if markup else str_join(texts)
        spent.produced(joined)
        return joined

    def new_buffer(self) -> Buffer:
        return Buffer()

    def concat(self, pieces: Iterable[str]) -> str:
        """Joins block buffers (macro results, ``{% set %}`` blocks, ``self.block()``)."""
        if not isinstance(pieces, Buffer):
            buffer = Buffer()
            for piece in pieces:
                buffer.append(piece)
            pieces = buffer
        joined = "".join(pieces)
        budget.current().allocate(len(joined))
        return joined

    # ---- attributes

    def wrap_str_format(self, value: Any) -> None:
        """str.format pads to any width (``{:999999999}``): rather than wrapping it as Jinja does,
        refuse it like every other unlisted str method (is_safe_attribute)."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        allowed = allowed_attributes(obj)
        return allowed is None or attr in allowed

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        return self.undefined(refusal(obj, attribute), name=attribute, obj=obj, exc=SecurityError)
