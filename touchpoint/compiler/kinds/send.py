"""``send``: one ``lambda:invoke.waitForTaskToken`` Task on the channel's send function.

A send that starts the ``then`` side of an ``if`` carries the ``if``'s condition (``Guard``):
the function evaluates it first and, when false, calls back ``condition_false`` without a
message (the send was the ``if``'s only step, D22) or fails the task with
``Touchpoint.ConditionFalse``, caught into the ``if``'s else side (D27), so the ``if`` costs no
Task and Choice of its own (docs/decisions.md).

The function gates and either sends and calls back at once, or defers (send window, caps, paused
journey) and calls back when it has sent; the state machine never loops, so a deferral costs no
state transitions. Transient errors retry with backoff; anything else is caught into
``<id>#failed``, which records a ``journey.step_failed`` event, then continues (to ``fallback``
when given)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from touchpoint import contract
from touchpoint.compiler.ir import Catch, Choice, ChoiceRule, Json
from touchpoint.compiler.kinds.base import Bound, View
from touchpoint.journey.model import SendStep
from touchpoint.journey.steps import Node

if TYPE_CHECKING:
    from touchpoint.compiler.lower import Lowering


@dataclass(frozen=True)
class Guard:
    """The ``if`` a send evaluates itself: its state's name and its condition (as JSON)."""

    state: str
    condition: Json
    otherwise: str | None = None  # where a false condition goes (a Catch); None: on, as if sent


class SendKind(Bound[SendStep]):
    def lower(self, ctx: Lowering, node: Node, cont: str | None, guard: Guard | None = None) -> str:
        journey, step, spec = ctx.journey, self.step, self.step.send
        assert guard is None or not step.fallback  # a condition_false skip would run the fallback
        after = ctx.branch(node, "fallback", cont) if step.fallback else cont
        failed = ctx.failure_recorder(node, after, spec.channel)
        next_state = cont
        if step.fallback:
            next_state = ctx.add(
                Choice(
                    ctx.helper(node, "check"),
                    tuple(
                        ChoiceRule(f"{contract.LAST}.status", "StringEquals", status, ctx.target(cont))
                        for status in contract.SENT_STATUSES
                    ),
                    default=ctx.target(after),
                    comment="Not sent (skipped or failed): run the fallback steps. An unconfirmed "
                    "send may have reached the user: no fallback.",
                )
            )
        payload: dict[str, Json] = {
            "token.$": "$$.Task.Token",
            "execution.$": "$$.Execution.Id",
            "user_id.$": f"$.{contract.INPUT_USER}",
            "holdout.$": f"$.{contract.INPUT_HOLDOUT}",
            "journey_id": journey.id,
            "journey_version": ctx.version,
            "step_id": node.id,
            "channel": spec.channel,
            "template": spec.template,
            "category": spec.category or journey.category,
            "on_cap": spec.on_cap or (journey.limits.on_cap if journey.limits else "defer"),
            "timezone": journey.timezone,
        }
        catch: tuple[Catch, ...] = (Catch(("States.ALL",), failed, contract.LAST),)
        if guard is not None:
            payload[contract.SEND_WHEN] = guard.condition
            if guard.otherwise is not None:
                payload[contract.SEND_WHEN_FALSE] = "fail"
                catch = (Catch((contract.CONDITION_FALSE_ERROR,), guard.otherwise, contract.LAST), *catch)
        cap = getattr(journey.limits, spec.channel, None) if journey.limits else None
        if cap is not None:
            payload["limit"] = {"max": cap.max, "per_seconds": cap.per}
        if journey.send_window is not None:
            window = journey.send_window
            payload["send_window"] = {"from": window.from_, "to": window.to}
            if window.days is not None:
                payload["send_window"]["days"] = list(window.days)
        return ctx.add(
            ctx.function_task(
                guard.state if guard else node.id,
                contract.SEND_FUNCTION_BY_CHANNEL[spec.channel],
                payload,
                callback=True,
                next_state=next_state,
                result_path=contract.LAST,
                timeout_seconds=contract.SEND_TIMEOUT_SECONDS,
                catch=catch,
                comment=f"send {spec.channel} {spec.template}" + (" if the condition holds" if guard else ""),
            )
        )

    def view(self) -> View:
        spec = self.step.send
        text = f"send {spec.channel}: {spec.template}"
        if not self.step.fallback:
            return View(text, "rect", channel=spec.channel)
        return View(text, "rect", ("not sent",), straight="sent", channel=spec.channel)
