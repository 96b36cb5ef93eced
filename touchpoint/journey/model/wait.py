"""``wait``: a duration, or until the next local time (and weekday) in the user's time zone."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Discriminator, Field, Tag

from touchpoint.journey.model.base import Strict
from touchpoint.journey.model.step import Hold, StepBase
from touchpoint.journey.types import Duration, LocalTime, Weekday

UNTIL_WEEKDAY_SECONDS = 7 * 86400  # the longest wait for the next given weekday and time
UNTIL_DAILY_SECONDS = 86400  # the longest wait for the next given time


class Until(Strict):
    time: LocalTime = Field(description="Local time of day to wait for.")
    weekday: Weekday | None = Field(None, description="Also wait for this weekday.")


class WaitUntil(Strict):
    until: Until = Field(description="Wait until the next local time (and weekday) in the user's time zone.")


WaitValue = Annotated[
    (Annotated[Duration, Tag("duration")] | Annotated[WaitUntil, Tag("until")]),
    Discriminator(lambda v: "until" if isinstance(v, dict | WaitUntil) else "duration"),
]


class WaitStep(StepBase):
    kind: ClassVar[str] = "wait"
    wait: WaitValue = Field(
        description='A duration (30m, 24h, 3d) or {until: {time: "10:00", weekday: mon}}.'
    )

    def hold(self) -> Hold:
        if isinstance(self.wait, int):
            return Hold(("wait",), "this wait", self.wait)
        weekly = self.wait.until.weekday is not None
        return Hold(("wait",), "this wait", UNTIL_WEEKDAY_SECONDS if weekly else UNTIL_DAILY_SECONDS)
