"""``wait_for``: wait until the user does something, at most a timeout, then branch on which came."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from touchpoint.journey.model.base import Strict
from touchpoint.journey.model.conditions import WHERE_DESCRIPTION, Where
from touchpoint.journey.model.step import BranchList, Hold, StepBase
from touchpoint.journey.types import Duration, EventType

if TYPE_CHECKING:
    from touchpoint.journey.model.steps import Step


class WaitForSpec(Strict):
    event: EventType = Field(description="The behaviour to wait for, e.g. email.clicked.")
    where: Where = Field(default_factory=dict, description=WHERE_DESCRIPTION)
    timeout: Duration = Field(description="Give up after this long and take on_timeout.")


class WaitForStep(StepBase):
    kind: ClassVar[str] = "wait_for"
    wait_for: WaitForSpec = Field(description="Wait until the user does something, at most timeout.")
    on_event: list[Step] = Field(default_factory=list, description="Steps when the event arrived in time.")
    on_timeout: list[Step] = Field(default_factory=list, description="Steps when it did not.")

    def branch_lists(self) -> tuple[BranchList, ...]:
        return (
            BranchList("on_event", ("on_event",), self.on_event),
            BranchList("on_timeout", ("on_timeout",), self.on_timeout),
        )

    def ends_every_path(self, branches_end: Sequence[bool]) -> bool:
        return all(branches_end)

    def hold(self) -> Hold:
        return Hold(("wait_for", "timeout"), "this timeout", self.wait_for.timeout)
