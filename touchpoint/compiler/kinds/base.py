"""What every step kind is to the compiler: how it lowers to ASL and how it is drawn.

Each kind is one module here whose class implements ``StepKind``; ``kind_of`` in this package
registers it, and mypy proves there that the registration is exhaustive over the journey
language's step union and that each class implements the whole protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from touchpoint.compiler.ir import Json
from touchpoint.journey.steps import Node

if TYPE_CHECKING:
    from touchpoint.compiler.lower import Lowering

Shape = Literal["rect", "stadium", "rhombus", "hexagon", "slant"]  # the step's Mermaid shape


@dataclass(frozen=True)
class View:
    """What a flowchart (Mermaid for ``touchpoint graph``, SVG for the report) draws for a step."""

    text: str  # the label, e.g. "wait 3d"
    shape: Shape
    edges: tuple[str, ...] = ()  # the text on the edge to each of the node's branches, in order
    straight: str | None = None  # the text on an edge that goes straight on past the branches
    ends: bool = False  # the journey ends here (exit): no way out
    channel: str | None = None  # the channel of a message step


class StepKind(Protocol):
    def lower(self, ctx: Lowering, node: Node, cont: str | None) -> str:
        """Add the step's states to ``ctx``; return the name of its first state. ``cont`` is the
        state to go on to (None: the end)."""
        ...

    def view(self) -> View: ...


S = TypeVar("S")


@dataclass(frozen=True)
class Bound(Generic[S]):
    """A kind's behaviour bound to one step of its model (``kind_of`` makes them)."""

    step: S


def as_json(model: Any) -> Json:
    """A model (a condition, an operator map) as the JSON the engine reads back; a scalar as is."""
    if hasattr(model, "model_dump"):
        return model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return model
