"""``tag``: add or remove profile tags."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from touchpoint.journey.model.base import Strict
from touchpoint.journey.model.step import Finding, StepBase
from touchpoint.journey.types import TagName


class TagSpec(Strict):
    add: list[TagName] = Field(default_factory=list, description="Tags to add.")
    remove: list[TagName] = Field(default_factory=list, description="Tags to remove.")

    @model_validator(mode="after")
    def _something(self) -> TagSpec:
        if not self.add and not self.remove:
            raise PydanticCustomError("tag", "needs add or remove (a list of tags)")
        return self


class TagStep(StepBase):
    kind: ClassVar[str] = "tag"
    tag: TagSpec = Field(description="Add or remove profile tags.")

    def problems(self) -> Iterator[Finding]:
        for tag in sorted(set(self.tag.add) & set(self.tag.remove)):
            yield ("tag",), f'"{tag}" is both added and removed; keep one', "error"
