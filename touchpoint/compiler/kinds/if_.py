"""``if``: a Task on trigger_eval's condition evaluator, then a Choice on its boolean.

An ``if`` whose only branch is one send (``then: [send]``, no ``else``, no fallback) is that send,
guarded: one Task named after the ``if`` whose function evaluates the condition and skips the
message when it is false. The user gets the same message at the same moment, for one state
transition instead of three (docs/decisions.md D22)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint import contract
from touchpoint.compiler.ir import Choice, ChoiceRule, Json
from touchpoint.compiler.kinds.base import Bound, View, as_json
from touchpoint.compiler.kinds.send import Guard, SendKind
from touchpoint.conditions import describe
from touchpoint.journey.model import IfStep, SendStep
from touchpoint.journey.steps import Node

if TYPE_CHECKING:
    from touchpoint.compiler.lower import Lowering


def guarded_send(node: Node) -> Node | None:
    """The send an ``if`` node compiles into, when the ``if`` is only that send; else None."""
    if not isinstance(node.step, IfStep):
        return None
    then = next(b.nodes for b in node.branches if b.label == "then")
    other = next((b.nodes for b in node.branches if b.label == "else"), ())
    if len(then) != 1 or other or not isinstance(then[0].step, SendStep) or then[0].step.fallback:
        return None
    return then[0]


class IfKind(Bound[IfStep]):
    def lower(self, ctx: Lowering, node: Node, cont: str | None) -> str:
        send = guarded_send(node)
        if send is not None:
            assert isinstance(send.step, SendStep)
            return SendKind(send.step).lower(ctx, send, cont, Guard(node.id, as_json(self.step.if_)))
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
