"""What the compiled code of a template runs through: a code generator that routes ``~``, for loops
and block buffers through the environment's bounded versions, and a template class that counts
includes and imports. Both follow Jinja 3.1's code generator, ``optimizeconst`` and ``TemplateModule``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.environment import TemplateModule
from jinja2.runtime import Context

from touchpoint.sandbox.budget import Budget, collect, render_budget, running
from touchpoint.sandbox.limits import check_size


class Buffer(list[str]):
    """The output buffer of a macro, ``{% set %}``/``{% filter %}``/``{% call %}`` block or recursive
    loop: refuses to grow past MAX_VALUE while it is being filled, not only when it is joined."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def _grow(self, size: int) -> None:
        self.size += size
        check_size(self.size)

    def append(self, piece: str, /) -> None:
        self._grow(len(piece))
        super().append(piece)

    def extend(self, pieces: Iterable[str], /) -> None:
        pieces = tuple(pieces)
        self._grow(sum(map(len, pieces)))
        super().extend(pieces)


class Counted:
    """The iterable of a ``{% for %}``: each item drawn costs one iteration of the budget."""

    __slots__ = ("_budget", "_items", "_source")

    def __init__(self, source: Iterable[Any], budget: Budget) -> None:
        self._source = source
        self._items = iter(source)
        self._budget = budget

    def __iter__(self) -> Counted:
        return self

    def __next__(self) -> Any:
        item = next(self._items)
        self._budget.iteration()
        return item

    def __len__(self) -> int:  # loop.length without drawing the items when the source knows it
        return len(self._source)  # type: ignore[arg-type]  # TypeError tells LoopContext to count


class BoundedCodeGenerator(CodeGenerator):
    """Routes ``~``, for loops and block buffers through the environment's bounded versions."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.new_buffer()")

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802 - Jinja's visitor naming
        if frame.eval_ctx.volatile:
            markup = "context.eval_ctx.autoescape"
        else:
            markup = repr(bool(frame.eval_ctx.autoescape))
        self.write(f"environment.join(context, {markup}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:  # noqa: N802 - Jinja's visitor naming
        # Jinja forbids new node types, so the iterable is wrapped in a call of environment.iterate.
        original = node.iter
        node.iter = nodes.Call(
            nodes.EnvironmentAttribute("iterate"), [original], [], None, None, lineno=original.lineno
        )
        node.iter.set_environment(self.environment)
        try:
            super().visit_For(node, frame)
        finally:
            node.iter = original


class BoundedTemplate(jinja2.Template):
    """Counts includes and imports as calls, and bounds an imported module's rendered body."""

    def new_context(
        self,
        vars: dict[str, Any] | None = None,
        shared: bool = False,
        locals: Mapping[str, Any] | None = None,
    ) -> Context:
        budget = running()
        if budget is not None:
            budget.call()
        return super().new_context(vars, shared, locals)

    def make_module(self, *args: Any, **kwargs: Any) -> TemplateModule:
        """``{% import %}``: the body is filled into a bounded buffer (arguments as new_context's)."""
        context = self.new_context(*args, **kwargs)
        body = Buffer()
        for piece in self.root_render_func(context):
            body.append(piece)
        return TemplateModule(self, context, body)

    def render(self, *args: Any, **kwargs: Any) -> str:
        with render_budget(join=True) as budget:
            return collect(self.root_render_func(self.new_context(dict(*args, **kwargs))), budget)
