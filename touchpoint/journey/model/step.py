"""What every step kind is to the journey language: its id, its branches, and the rules it keeps alone.

Each kind is one module (``send.py``, ``wait.py`` …) whose model implements ``StepRules``; the
union in ``steps.py`` registers it, and mypy proves there that every member implements the whole
protocol. The validator, the step tree and the compiler's precondition checks call these methods
instead of matching on kinds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Protocol

from pydantic import Field

from touchpoint.journey.model.base import Strict
from touchpoint.journey.source import JsonPath
from touchpoint.journey.types import StepId
from touchpoint.journey.violations import Severity

if TYPE_CHECKING:
    from touchpoint.journey.model.steps import Step

Finding = tuple[JsonPath, str, Severity]
"""A problem at a path relative to the step, e.g. ``(("split",), "percentages add up …", "error")``."""


class BranchList(NamedTuple):
    """A list of steps inside a step: its label (``then``, a split path's name) and where it is."""

    label: str
    path: JsonPath  # relative to the step, e.g. ("then",) or ("split", 0, "steps")
    steps: list[Step]


class Hold(NamedTuple):
    """How long the step itself can keep a user (a wait, a timeout), for the 1-year limit."""

    path: JsonPath  # relative to the step
    what: str  # "this wait" — the subject of the error message
    seconds: int  # the worst case


class StepRules(Protocol):
    kind: ClassVar[str]

    @property
    def id(self) -> str | None: ...

    def branch_lists(self) -> tuple[BranchList, ...]:
        """The step lists inside this step, in file order (empty for a step that never branches)."""
        ...

    def ends_every_path(self, branches_end: Sequence[bool]) -> bool:
        """Whether every path through the step ends the journey, given that of each branch."""
        ...

    def hold(self) -> Hold | None:
        """The time the step itself keeps a user, if any (branches not counted)."""
        ...

    def problems(self) -> Iterator[Finding]:
        """What is wrong with the step seen alone (the compiler's preconditions), beside the schema."""
        ...


class StepBase(Strict):
    """The defaults of ``StepRules``: no branches, never ends the journey, keeps no one, no problem."""

    kind: ClassVar[str]
    id: StepId | None = Field(
        None, description="Stable step id (needed to refer to the step); derived if omitted."
    )

    def branch_lists(self) -> tuple[BranchList, ...]:
        return ()

    def ends_every_path(self, branches_end: Sequence[bool]) -> bool:
        return False

    def hold(self) -> Hold | None:
        return None

    def problems(self) -> Iterator[Finding]:
        return iter(())
