"""``TriggerEval``: one SQS message or direct invocation, dispatched to the part that handles it."""

from __future__ import annotations

from typing import Any, assert_never

from pydantic import ValidationError

from touchpoint import wire
from touchpoint.clock import iso
from touchpoint.engine.trigger.actions import (
    ACTION,
    Action,
    DatesAction,
    EvaluateAction,
    NextTimeAction,
    Outcome,
    RegisterWaitAction,
    ScheduleAction,
    StepAction,
)
from touchpoint.engine.trigger.reacting import Reacting
from touchpoint.engine.trigger.schedule import Scheduled
from touchpoint.engine.trigger.steps import Steps
from touchpoint.events import (
    Event,
    ExecutionEnded,
    Feedback,
    Ignored,
    Parsed,
    Rejected,
    describe_errors,
    parse_envelope,
)
from touchpoint.profiles import property_problems


class TriggerEval(Reacting, Scheduled, Steps):
    # ------------------------------------------------------------------ inputs

    def handle_body(self, body: str) -> Outcome:
        """One SQS message: an EventBridge event, or a continuation page of a schedule run."""
        try:
            data = wire.load(body)
        except wire.Unacceptable as error:
            return self.handle(Rejected(str(error)), body)
        if isinstance(data, dict) and "action" in data and "detail-type" not in data:
            try:
                action = ACTION.validate_python(data)
            except ValidationError as error:
                return self.handle(Rejected(describe_errors(error)), body)
            self.run(action)
            return Outcome("processed", str(data["action"]))
        return self.handle(parse_envelope(data), body)

    def run(self, action: Action, function_arn: str = "") -> dict[str, Any]:
        """A direct invocation: from a state machine, EventBridge Scheduler, or the queue
        (``function_arn``: this function's, where a held step is woken up)."""
        match action:
            case EvaluateAction():
                return {"result": self.evaluate(action.user_id, action.condition)}
            case NextTimeAction():
                return {"until": self.next_time(action.user_id, action.time, action.weekday, action.timezone)}
            case RegisterWaitAction():
                self.register_wait(action.model_dump())
                return {"registered": True}
            case StepAction():
                return {"status": self.journey_step(action, function_arn)}
            case ScheduleAction():
                run_id = action.run_id or iso(self.clock.now().replace(second=0, microsecond=0))
                outcome = self.run_schedule(action.journey_id, run_id, action.start)
                return {"entered": sum(d.enter for d in outcome.decisions), "run_id": run_id}
            case DatesAction():
                outcome = self.run_dates()
                return {"entered": sum(d.enter for d in outcome.decisions)}
            case _:
                assert_never(action)

    def reject_body(self, body: str, reason: str) -> Outcome:
        """An input that failed while being processed for a reason no retry can change (data the
        store refuses, a value the code cannot handle): recorded once with the reason, as a
        malformed event is, instead of failing every retry into the dead-letter queue."""
        return self._reject(body, f"could not be processed: {reason}")

    def handle(self, parsed: Parsed, raw: str) -> Outcome:
        match parsed:
            case Event():
                problems = property_problems(parsed.type, parsed.properties)
                if problems:
                    return self._reject(raw, "; ".join(f"detail.{p}" for p in problems), parsed.user_id)
                return self.on_event(parsed)
            case Feedback():
                return self.on_feedback(parsed)
            case ExecutionEnded():
                return self.on_execution_ended(parsed)
            case Ignored():
                return Outcome("ignored", parsed.reason)
            case Rejected():
                return self._reject(raw, parsed.reason)
            case _:
                assert_never(parsed)
