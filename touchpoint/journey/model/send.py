"""``send``: one message on a channel, with the steps to run instead when it was not sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from touchpoint.journey.model.base import Strict
from touchpoint.journey.model.step import BranchList, StepBase
from touchpoint.journey.types import Category, Channel, TemplateName

if TYPE_CHECKING:
    from touchpoint.journey.model.steps import Step


class SendSpec(Strict):
    channel: Channel = Field(description="email or sms.")
    template: TemplateName = Field(
        description="Template in templates/ beside the journey: <name>.<channel>.j2."
    )
    category: Category | None = Field(None, description="Override the journey's category for this message.")
    on_cap: Literal["defer", "skip"] | None = Field(
        None, description="Override limits.on_cap for this message."
    )


class SendStep(StepBase):
    kind: ClassVar[str] = "send"
    send: SendSpec = Field(
        description="Send one message; every send is gated (consent, caps, window, pause)."
    )
    fallback: list[Step] = Field(
        default_factory=list,
        description="Steps to run instead when the message was not sent (skipped or failed).",
    )

    def branch_lists(self) -> tuple[BranchList, ...]:
        return (BranchList("fallback", ("fallback",), self.fallback),) if self.fallback else ()

    # a send's sent path goes on, fallback or not: it never ends every path
