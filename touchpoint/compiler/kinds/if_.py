"""``if``: a Task on trigger_eval's condition evaluator, then a Choice on its boolean.

An ``if`` whose ``then`` side starts with a send (no fallback) — its first step, or, when
``then`` is empty, the step right after the ``if`` — is that send, guarded: one Task named after
the ``if`` whose function evaluates the condition before sending. When the condition is false,
an ``if`` with nowhere else to go (``then: [send]``, no ``else``) is called back
``condition_false`` and the run goes on (docs/decisions.md D22); any other fails the task with
``Touchpoint.ConditionFalse``, which a Catch routes to the ``else`` side (D27). The user gets the
same message at the same moment, and the ``if`` costs no transition of its own: a Task cannot
branch but through an error, and that error is the branch."""

from __future__ import annotations

from collections.abc import Callable
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


def _side(node: Node, label: str) -> tuple[Node, ...]:
    return next((b.nodes for b in node.branches if b.label == label), ())


def guarded_send(node: Node, following: Node | None = None) -> Node | None:
    """The send an ``if`` node compiles into, or None: the first step of its ``then`` side, or,
    when that side is empty (and ``else`` is not), ``following``, the step after the ``if``."""
    if not isinstance(node.step, IfStep):
        return None
    then, other = _side(node, "then"), _side(node, "else")
    first = then[0] if then else following if other else None
    if first is None or not isinstance(first.step, SendStep) or first.step.fallback:
        return None
    return first


class IfKind(Bound[IfStep]):
    def lower(self, ctx: Lowering, node: Node, cont: str | None) -> str:
        then = _side(node, "then")
        send = guarded_send(node)
        if send is not None:
            after = ctx.sequence(then[1:], cont)
            if len(then) == 1 and not _side(node, "else"):  # false goes on where true does (D22)
                return self._guarded(ctx, node, send, after, None)
            return self._guarded(ctx, node, send, after, lambda: ctx.target(ctx.branch(node, "else", cont)))
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

    def lower_onto(self, ctx: Lowering, node: Node, send: Node, cont: str | None) -> str:
        """The ``if`` (``then`` empty) and the send after it (``guarded_send(node, send)``), whose
        own continuation is ``cont``. The ``else`` side falls through to that send unguarded: its
        Task (named after the send) exists only when some ``else`` path reaches it."""
        assert isinstance(send.step, SendStep)
        step = send.step

        def otherwise() -> str:
            entry = ctx.target(ctx.branch(node, "else", send.id))
            if ctx.referenced(send.id):
                SendKind(step).lower(ctx, send, cont)
            return entry

        return self._guarded(ctx, node, send, cont, otherwise)

    def _guarded(
        self, ctx: Lowering, node: Node, send: Node, after: str | None, otherwise: Callable[[], str] | None
    ) -> str:
        assert isinstance(send.step, SendStep)
        condition = as_json(self.step.if_)
        guard = Guard(node.id, condition, otherwise() if otherwise is not None else None)
        return SendKind(send.step).lower(ctx, send, after, guard)

    def view(self) -> View:
        return View(f"if {describe(self.step.if_)}", "rhombus", ("yes", "no"))
