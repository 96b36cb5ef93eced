"""The step union: the one registry of step kinds in the journey language.

A new kind is one module beside this one (its model implementing ``StepRules``) and one line
here; ``_registered`` makes mypy prove that every member implements the whole protocol."""

from __future__ import annotations

from typing import Annotated, get_args

from pydantic import BaseModel, Tag

from touchpoint.journey.model.base import by_key, tags
from touchpoint.journey.model.emit import EmitStep
from touchpoint.journey.model.exit import ExitStep
from touchpoint.journey.model.if_ import IfStep
from touchpoint.journey.model.send import SendStep
from touchpoint.journey.model.set import SetStep
from touchpoint.journey.model.split import SplitPath, SplitStep
from touchpoint.journey.model.step import StepRules
from touchpoint.journey.model.tag import TagStep
from touchpoint.journey.model.wait import WaitStep
from touchpoint.journey.model.wait_for import WaitForStep

_Steps = (
    Annotated[SendStep, Tag("send")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[IfStep, Tag("if")]
    | Annotated[WaitForStep, Tag("wait_for")]
    | Annotated[SplitStep, Tag("split")]
    | Annotated[TagStep, Tag("tag")]
    | Annotated[SetStep, Tag("set")]
    | Annotated[EmitStep, Tag("emit")]
    | Annotated[ExitStep, Tag("exit")]
)
STEP_KINDS: tuple[str, ...] = tags(_Steps)
STEP_MODELS: tuple[type[BaseModel], ...] = tuple(get_args(member)[0] for member in get_args(_Steps))
Step = Annotated[_Steps, by_key("step", STEP_KINDS)]


def _registered(step: Step) -> StepRules:
    return step  # mypy: every member of the union implements StepRules


for _model in (SendStep, IfStep, WaitForStep, SplitPath, SplitStep):
    _model.model_rebuild()
