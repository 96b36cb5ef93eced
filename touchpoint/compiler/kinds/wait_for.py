"""``wait_for``: a callback Task on trigger_eval that stores the token; the matching event resumes
it; ``States.Timeout`` is caught into ``on_timeout``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint import contract
from touchpoint.compiler.ir import Catch, Json
from touchpoint.compiler.kinds.base import Bound, View, as_json
from touchpoint.durations import format_duration
from touchpoint.journey.model import WaitForStep
from touchpoint.journey.steps import Node

if TYPE_CHECKING:
    from touchpoint.compiler.lower import Lowering


class WaitForKind(Bound[WaitForStep]):
    def lower(self, ctx: Lowering, node: Node, cont: str | None) -> str:
        spec = self.step.wait_for
        on_event = ctx.branch(node, "on_event", cont)
        on_timeout = ctx.branch(node, "on_timeout", cont)
        failed = ctx.failure_recorder(node, on_timeout)
        payload: dict[str, Json] = {
            "action": contract.ACTION_REGISTER_WAIT,
            "token.$": "$$.Task.Token",
            "execution.$": "$$.Execution.Id",
            "user_id.$": f"$.{contract.INPUT_USER}",
            "journey_id": ctx.journey.id,
            "step_id": node.id,
            "event": spec.event,
            "where": _message_where(
                ctx.journey.id, spec.event, {k: as_json(v) for k, v in spec.where.items()}
            ),
            "timeout_seconds": spec.timeout,
        }
        return ctx.add(
            ctx.function_task(
                node.id,
                contract.TRIGGER_EVAL_FUNCTION,
                payload,
                callback=True,
                next_state=on_event,
                result_path=contract.LAST,
                timeout_seconds=spec.timeout,
                catch=(
                    Catch(("States.Timeout",), ctx.target(on_timeout), contract.LAST),
                    Catch(("States.ALL",), failed, contract.LAST),
                ),
                comment=f"wait for {spec.event}",
            )
        )

    def view(self) -> View:
        spec = self.step.wait_for
        return View(
            f"wait for {spec.event} (max {format_duration(spec.timeout)})",
            "hexagon",
            ("did it", "timeout"),
        )


def _message_where(journey_id: str, event: str, where: dict[str, Json]) -> dict[str, Json]:
    """For message events, ``step_id`` means a step of this journey unless journey_id says otherwise."""
    if event.startswith(("email.", "sms.")) and "step_id" in where and "journey_id" not in where:
        return {**where, "journey_id": journey_id}
    return where
