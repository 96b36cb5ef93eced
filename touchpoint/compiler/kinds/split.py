"""``split``: a Choice on the per-user bucket trigger_eval put in the execution input."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint import contract
from touchpoint.compiler.ir import Choice, ChoiceRule
from touchpoint.compiler.kinds.base import Bound, View
from touchpoint.journey.model import SplitStep
from touchpoint.journey.steps import Node

if TYPE_CHECKING:
    from touchpoint.compiler.lower import Lowering


class SplitKind(Bound[SplitStep]):
    def lower(self, ctx: Lowering, node: Node, cont: str | None) -> str:
        paths = self.step.split
        entries = [ctx.target(ctx.sequence(b.nodes, cont)) for b in node.branches]
        variable = f"$.{contract.INPUT_BUCKETS}.{contract.split_key(node.id)}"
        rules, cumulative = [], 0.0
        for path, entry in zip(paths[:-1], entries[:-1], strict=True):
            cumulative += path.percent
            threshold = round(cumulative * contract.BUCKETS / 100)
            rules.append(ChoiceRule(variable, "NumericLessThan", threshold, entry))
        names = ", ".join(f"{p.name} {p.percent:g}%" for p in paths)
        return ctx.add(Choice(node.id, tuple(rules), default=entries[-1], comment=f"split: {names}"))

    def view(self) -> View:
        paths = self.step.split
        return View(
            "split " + " / ".join(f"{p.name} {p.percent:g}%" for p in paths),
            "rhombus",
            tuple(f"{p.name} {p.percent:g}%" for p in paths),
        )
