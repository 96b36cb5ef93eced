"""What trigger_eval is asked to do (the direct invocations' payloads) and what it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from touchpoint.engine import entry as rules
from touchpoint.journey.model import Condition, Where


class EvaluateAction(BaseModel):
    action: Literal["evaluate"]
    user_id: str
    condition: dict[str, Any]


class NextTimeAction(BaseModel):
    action: Literal["next_time"]
    user_id: str
    time: str
    weekday: str | None = None
    timezone: str


class RegisterWaitAction(BaseModel):
    action: Literal["register_wait"]
    token: str
    execution: str
    user_id: str
    journey_id: str
    step_id: str
    event: str
    where: dict[str, Any] = {}
    timeout_seconds: int


class StepAction(BaseModel):
    """A journey's tag, set or emit step (touchpoint/compiler/lower.py ``journey_action``), or its
    wake-up after a pause (``held``)."""

    action: Literal["step"]
    token: str
    execution: str
    execution_name: str
    user_id: str
    journey_id: str
    step_id: str
    kind: Literal["tag", "set", "emit"]
    change: dict[str, Any]
    held: bool = False


class ScheduleAction(BaseModel):
    action: Literal["schedule"]
    journey_id: str
    run_id: str | None = None  # the schedule's fire time (the stack passes Scheduler's scheduled time)
    start: dict[str, Any] | None = None


class DatesAction(BaseModel):
    action: Literal["dates"]


Action = Annotated[
    EvaluateAction | NextTimeAction | RegisterWaitAction | StepAction | ScheduleAction | DatesAction,
    Field(discriminator="action"),
]
ACTION: TypeAdapter[Action] = TypeAdapter(Action)
CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)
WHERE: TypeAdapter[Where] = TypeAdapter(Where)


@dataclass
class Outcome:
    """What happened to one input, for logs, tests and the simulator's ``why``."""

    status: str  # processed · duplicate · rejected · ignored
    reason: str | None = None
    decisions: list[rules.Decision] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    exited: list[str] = field(default_factory=list)
    converted: list[str] = field(default_factory=list)
