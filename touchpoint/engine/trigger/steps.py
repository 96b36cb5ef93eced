"""What the state machines ask of trigger_eval: evaluate a condition, the next local time, a
tag/set/emit step, register a wait."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from touchpoint import contract
from touchpoint.clock import iso
from touchpoint.conditions import evaluate
from touchpoint.engine.ports import WaitRecord
from touchpoint.engine.timing import next_local_time
from touchpoint.engine.trigger.actions import CONDITION, StepAction
from touchpoint.engine.trigger.base import Base
from touchpoint.events import JourneyEvent
from touchpoint.profiles import Profile, step_mutations
from touchpoint.state.items import wait_sort_key


class Steps(Base):
    # ------------------------------------------------------------------ what the state machines ask

    def evaluate(self, user_id: str, condition: Mapping[str, Any]) -> bool:
        profile = Profile(self.profiles.get(user_id))
        return evaluate(CONDITION.validate_python(dict(condition)), profile, self.clock.now())

    def next_time(self, user_id: str, time: str, weekday: str | None, journey_timezone: str) -> str:
        profile = Profile(self.profiles.get(user_id))
        zone = profile.timezone(journey_timezone)
        return iso(next_local_time(self.clock.now(), zone, time, weekday)).replace(".000Z", "Z")

    def journey_step(self, step: StepAction, function_arn: str) -> str:
        """Apply a tag, set or emit step and call its Task back; while the journey is paused the
        step is held (the token waits; ``resume`` wakes it), as a send is: a paused journey
        changes no profile and tells no CRM anything. A retry applies it again harmlessly: tags
        and attributes are set, not added, and an emitted event keeps its id."""
        flag = self.state.flags([step.journey_id]).get(step.journey_id)
        key = f"{step.execution}:{step.step_id}"
        if flag == "paused":
            if not step.held:
                held = {**step.model_dump(), "held": True, "function_arn": function_arn}
                self.state.put_hold(step.journey_id, key, held)
            return "held"
        if step.held:
            self.state.delete_hold(step.journey_id, key, step.user_id)
        if flag == "stopped":
            self.executions.succeed(step.token, {"status": "skipped", "reason": "stopped"})
            return "skipped"
        now = self.clock.now()
        if step.kind == "emit":
            properties = {
                **step.change.get("properties", {}),
                "journey_id": step.journey_id,
                "step_id": step.step_id,
            }
            self.bus.put(
                [
                    JourneyEvent(
                        str(step.change["type"]),
                        f"{step.execution_name}:{step.step_id}",
                        step.user_id,
                        now,
                        properties,
                    )
                ]
            )
        else:
            applied = self.profiles.apply(step.user_id, step_mutations(step.kind, step.change, now))
            if applied.status != "applied":
                self.executions.fail(step.token, contract.PROFILE_GONE_ERROR, "the profile was erased")
                return "gone"
        self.executions.succeed(step.token, {"status": "done"})
        return "done"

    def register_wait(self, payload: Mapping[str, Any]) -> None:
        now = self.clock.now()
        execution = str(payload["execution"])
        record = WaitRecord(
            sort_key=wait_sort_key(
                str(payload["event"]), str(payload["journey_id"]), str(payload["step_id"]), execution
            ),
            event=str(payload["event"]),
            journey_id=str(payload["journey_id"]),
            step_id=str(payload["step_id"]),
            execution_arn=execution,
            token=str(payload["token"]),
            where=dict(payload.get("where") or {}),
            expires_at=now + dt.timedelta(seconds=int(payload["timeout_seconds"])),
        )
        self.state.put_wait(str(payload["user_id"]), record)
