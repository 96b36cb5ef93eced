"""``exit``: end the journey here, with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field

from touchpoint.journey.model.step import StepBase
from touchpoint.journey.types import Slug


class ExitStep(StepBase):
    kind: ClassVar[str] = "exit"
    exit: Slug = Field(description="End the journey here; the reason is recorded, e.g. cart_emptied.")

    def ends_every_path(self, branches_end: Sequence[bool]) -> bool:
        return True
