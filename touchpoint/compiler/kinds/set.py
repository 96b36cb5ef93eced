"""``set``: a profile action (``Lowering.journey_action``) that sets or removes attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint.compiler.kinds.base import Bound, View
from touchpoint.journey.model import SetStep
from touchpoint.journey.steps import Node

if TYPE_CHECKING:
    from touchpoint.compiler.lower import Lowering


class SetKind(Bound[SetStep]):
    def lower(self, ctx: Lowering, node: Node, cont: str | None) -> str:
        return ctx.add(
            ctx.journey_action(node, "set", dict(sorted(self.step.set.items())), cont, "set attributes")
        )

    def view(self) -> View:
        changes = (f"{k} = {v}" if v is not None else f"unset {k}" for k, v in self.step.set.items())
        return View("set " + ", ".join(changes), "slant")
