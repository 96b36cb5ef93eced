"""What kpi_rollup reads: an EventBridge event (through SQS) becomes a countable input, or why not."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from touchpoint import contract
from touchpoint.engine.kpi.values import COUNTED_TYPES, FEEDBACK_SOURCES, Input, JourneyInput
from touchpoint.events import (
    Event,
    ExecutionEnded,
    Ignored,
    Rejected,
    describe_errors,
    in_range,
    parse_envelope,
)
from touchpoint.journey.model import Journey, SendStep
from touchpoint.journey.steps import resolve, walk
from touchpoint.routing import JOURNEY_EVENT_PREFIX

# --------------------------------------------------------------------------- parsing


class _JourneyDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    event_id: Annotated[str, Field(min_length=1, max_length=2048)]
    occurred_at: AwareDatetime
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at")
    @classmethod
    def _in_range(cls, value: dt.datetime) -> dt.datetime:
        return in_range(value)


class RollupAction(BaseModel):
    """The scheduled invocation: ``{"action": "rollup"}``."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["rollup"]


ACTION: TypeAdapter[RollupAction] = TypeAdapter(RollupAction)


def parse_input(raw: Any) -> Input:
    """An EventBridge event (as delivered through SQS) → what kpi_rollup may count."""
    if not isinstance(raw, dict):
        return Rejected("not a JSON object")
    source, detail_type, detail = raw.get("source"), raw.get("detail-type"), raw.get("detail")
    if isinstance(detail_type, str) and detail_type.startswith(JOURNEY_EVENT_PREFIX):
        if source != contract.JOURNEY_SOURCE:
            return Ignored(f"journey events are only counted from {contract.JOURNEY_SOURCE}")
        if detail_type not in COUNTED_TYPES:
            return Ignored(f"{detail_type} is not counted")
        if not isinstance(detail, dict):
            return Rejected("journey event without a detail object")
        try:
            parsed = _JourneyDetail.model_validate(detail)
        except ValidationError as error:
            return Rejected(describe_errors(error))
        return JourneyInput(detail_type, parsed.event_id, parsed.occurred_at, parsed.properties)
    if source not in FEEDBACK_SOURCES:
        return Ignored(f"events from {source} are not counted")
    envelope = parse_envelope(raw)
    if isinstance(envelope, Event | ExecutionEnded):
        return Ignored("not message feedback")
    return envelope


def send_steps_of(journey: Journey) -> dict[str, str]:
    """step id → channel of a journey's send steps (the ids the compiler and the events use)."""
    return {n.id: n.step.send.channel for n in walk(resolve(journey.steps)) if isinstance(n.step, SendStep)}
