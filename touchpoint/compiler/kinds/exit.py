"""``exit``: a terminal Pass that records the reason in the output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint.compiler.ir import Pass
from touchpoint.compiler.kinds.base import Bound, View
from touchpoint.journey.model import ExitStep
from touchpoint.journey.steps import Node

if TYPE_CHECKING:
    from touchpoint.compiler.lower import Lowering


class ExitKind(Bound[ExitStep]):
    def lower(self, ctx: Lowering, node: Node, cont: str | None) -> str:
        reason = self.step.exit
        return ctx.add(Pass(node.id, {"reason": reason}, "$.exit", comment=f"exit: {reason}"))

    def view(self) -> View:
        return View(f"exit: {self.step.exit}", "stadium", ends=True)
