"""``if``: a condition on the profile, evaluated when the step is reached, and its two branches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from touchpoint.journey.model.conditions import Condition
from touchpoint.journey.model.step import BranchList, Finding, StepBase

if TYPE_CHECKING:
    from touchpoint.journey.model.steps import Step


class IfStep(StepBase):
    kind: ClassVar[str] = "if"
    if_: Condition = Field(
        alias="if", description="Condition on the profile, evaluated when the step is reached."
    )
    then: list[Step] = Field(default_factory=list, description="Steps when the condition holds.")
    else_: list[Step] = Field(default_factory=list, alias="else", description="Steps when it does not.")

    def branch_lists(self) -> tuple[BranchList, ...]:
        return BranchList("then", ("then",), self.then), BranchList("else", ("else",), self.else_)

    def ends_every_path(self, branches_end: Sequence[bool]) -> bool:
        return all(branches_end)

    def problems(self) -> Iterator[Finding]:
        if not self.then and not self.else_:
            yield (), "if has no then or else steps; add the steps to run", "error"
