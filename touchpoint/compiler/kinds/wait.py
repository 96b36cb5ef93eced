"""``wait``: a Wait (Seconds); ``until`` asks trigger_eval for the next local time, then Waits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint import contract
from touchpoint.compiler.ir import Json, Wait
from touchpoint.compiler.kinds.base import Bound, View
from touchpoint.durations import format_duration
from touchpoint.journey.model import WaitStep
from touchpoint.journey.steps import Node

if TYPE_CHECKING:
    from touchpoint.compiler.lower import Lowering


class WaitKind(Bound[WaitStep]):
    def lower(self, ctx: Lowering, node: Node, cont: str | None) -> str:
        wait = self.step.wait
        if isinstance(wait, int):
            return ctx.add(Wait(node.id, cont, seconds=wait))
        until = wait.until
        waiting = ctx.add(Wait(ctx.helper(node, "wait"), cont, timestamp_path=f"{contract.LAST}.until"))
        payload: dict[str, Json] = {
            "action": contract.ACTION_NEXT_TIME,
            "user_id.$": f"$.{contract.INPUT_USER}",
            "time": until.time,
            "timezone": ctx.journey.timezone,
        }
        if until.weekday:
            payload["weekday"] = until.weekday
        return ctx.ask_trigger_eval(
            node,
            payload,
            waiting,
            {"until.$": "$.Payload.until"},
            f"next {until.weekday or 'day'} {until.time} local time",
        )

    def view(self) -> View:
        wait = self.step.wait
        if isinstance(wait, int):
            return View(f"wait {format_duration(wait)}", "hexagon")
        until = wait.until
        return View(f"wait until {until.weekday + ' ' if until.weekday else ''}{until.time}", "hexagon")
