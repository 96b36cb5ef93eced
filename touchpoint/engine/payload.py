"""The send functions' request: kept apart from the engine so a send function's cold import holds
this model and not the engine, the renderer and the journey model behind it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Limit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max: int
    per_seconds: int


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    days: list[str] | None = None


class SendRequest(BaseModel):
    """The Payload of a compiled send Task (touchpoint/compiler/kinds/send.py), plus what a wake-up adds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    token: str
    execution: str
    user_id: str
    holdout: bool = False
    journey_id: str
    journey_version: str
    step_id: str
    channel: Literal["email", "sms"]
    template: str
    category: Literal["marketing", "transactional"]
    on_cap: Literal["defer", "skip"] = "defer"
    timezone: str
    limit: Limit | None = None
    send_window: Window | None = None
    when: dict[str, Any] | None = None  # a guarded send: the condition of its ``if``
    when_false: Literal["skip", "fail"] = "skip"  # call back condition_false, or fail into the else side
    first_attempt_at: str | None = None  # set by the first deferral: deferrals end 7 days after it
    held: bool = False

    @property
    def key(self) -> str:
        return f"{self.execution}:{self.step_id}"
