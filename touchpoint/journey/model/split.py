"""``split``: random but stable per user A/B(/n) paths."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, ClassVar

from pydantic import Field

from touchpoint.journey.model.base import Strict
from touchpoint.journey.model.step import BranchList, Finding, StepBase
from touchpoint.journey.types import Percent

if TYPE_CHECKING:
    from touchpoint.journey.model.steps import Step


class SplitPath(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=20)] = Field(
        description="Variant name (A, B, control …), used in reports."
    )
    percent: Percent = Field(description="Share of users on this path; the paths add up to 100.")
    steps: list[Step] = Field(default_factory=list, description="Steps of this variant.")


class SplitStep(StepBase):
    kind: ClassVar[str] = "split"
    split: list[SplitPath] = Field(min_length=2, description="Random but stable per user A/B(/n) paths.")

    def branch_lists(self) -> tuple[BranchList, ...]:
        return tuple(BranchList(p.name, ("split", i, "steps"), p.steps) for i, p in enumerate(self.split))

    def ends_every_path(self, branches_end: Sequence[bool]) -> bool:
        return all(branches_end)

    def problems(self) -> Iterator[Finding]:
        total = sum(p.percent for p in self.split)
        if abs(total - 100) > 1e-9:
            yield ("split",), f"percentages add up to {total:g}, not 100", "error"
        names = [p.name for p in self.split]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            yield ("split",), f'path name "{dup}" is used twice; name each path once', "error"
