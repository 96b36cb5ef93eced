"""The compiler's registry of step kinds: one line per kind of the journey language.

A new kind is one module here (a class implementing ``StepKind``: its lowering and its view)
and one case below; mypy proves the match exhaustive over ``Step`` (``assert_never``) and each
class a whole ``StepKind`` (the return type). The journey side of a kind (its model and rules)
is registered in ``touchpoint.journey.model.steps``."""

from __future__ import annotations

from typing import assert_never

from touchpoint.compiler.kinds.base import StepKind, View
from touchpoint.compiler.kinds.emit import EmitKind
from touchpoint.compiler.kinds.exit import ExitKind
from touchpoint.compiler.kinds.if_ import IfKind
from touchpoint.compiler.kinds.send import SendKind
from touchpoint.compiler.kinds.set import SetKind
from touchpoint.compiler.kinds.split import SplitKind
from touchpoint.compiler.kinds.tag import TagKind
from touchpoint.compiler.kinds.wait import WaitKind
from touchpoint.compiler.kinds.wait_for import WaitForKind
from touchpoint.journey.model import (
    EmitStep,
    ExitStep,
    IfStep,
    SendStep,
    SetStep,
    SplitStep,
    Step,
    TagStep,
    WaitForStep,
    WaitStep,
)

__all__ = ["StepKind", "View", "kind_of"]


def kind_of(step: Step) -> StepKind:
    match step:
        case SendStep():
            return SendKind(step)
        case WaitStep():
            return WaitKind(step)
        case IfStep():
            return IfKind(step)
        case WaitForStep():
            return WaitForKind(step)
        case SplitStep():
            return SplitKind(step)
        case TagStep():
            return TagKind(step)
        case SetStep():
            return SetKind(step)
        case EmitStep():
            return EmitKind(step)
        case ExitStep():
            return ExitKind(step)
        case _:
            assert_never(step)
