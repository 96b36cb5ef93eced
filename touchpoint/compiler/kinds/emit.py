"""``emit``: a journey action (``Lowering.journey_action``) that puts an event on the bus, its id
derived from the execution, so retries are recognisable downstream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint.compiler.kinds.base import Bound, View
from touchpoint.journey.model import EmitStep
from touchpoint.journey.steps import Node

if TYPE_CHECKING:
    from touchpoint.compiler.lower import Lowering


class EmitKind(Bound[EmitStep]):
    def lower(self, ctx: Lowering, node: Node, cont: str | None) -> str:
        emit = self.step.emit
        event = {"type": emit.type, "properties": dict(emit.properties)}
        return ctx.add(ctx.journey_action(node, "emit", event, cont, f"emit {emit.type}"))

    def view(self) -> View:
        return View(f"emit {self.step.emit.type}", "slant")
