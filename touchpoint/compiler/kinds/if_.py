"""``if``: a Task on trigger_eval's condition evaluator, then a Choice on its boolean."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint import contract
from touchpoint.compiler.ir import Choice, ChoiceRule, Json
from touchpoint.compiler.kinds.base import Bound, View, as_json
from touchpoint.conditions import describe
from touchpoint.journey.model import IfStep
from touchpoint.journey.steps import Node

if TYPE_CHECKING:
    from touchpoint.compiler.lower import Lowering


class IfKind(Bound[IfStep]):
    def lower(self, ctx: Lowering, node: Node, cont: str | None) -> str:
        then_entry = ctx.branch(node, "then", cont)
        else_entry = ctx.branch(node, "else", cont)
        choice = ctx.add(
            Choice(
                ctx.helper(node, "branch"),
                (ChoiceRule(f"{contract.LAST}.result", "BooleanEquals", True, ctx.target(then_entry)),),
                default=ctx.target(else_entry),
            )
        )
        payload: dict[str, Json] = {
            "action": contract.ACTION_EVALUATE,
            "user_id.$": f"$.{contract.INPUT_USER}",
            "condition": as_json(self.step.if_),
        }
        return ctx.ask_trigger_eval(
            node, payload, choice, {"result.$": "$.Payload.result"}, "evaluate the condition"
        )

    def view(self) -> View:
        return View(f"if {describe(self.step.if_)}", "rhombus", ("yes", "no"))
