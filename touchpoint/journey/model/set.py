"""``set``: profile attributes to set (checked against profile.yaml by the validator)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from touchpoint.journey.model.step import StepBase
from touchpoint.journey.types import AttributeName, Scalar


class SetStep(StepBase):
    kind: ClassVar[str] = "set"
    set: dict[AttributeName, Scalar | None] = Field(
        min_length=1,
        description="Profile attributes to set (null removes one), e.g. {lifecycle_stage: active}.",
    )
