"""``tag``: a profile action (``Lowering.journey_action``) that adds and removes tags."""

from __future__ import annotations

from typing import TYPE_CHECKING

from touchpoint.compiler.kinds.base import Bound, View
from touchpoint.journey.model import TagStep
from touchpoint.journey.steps import Node

if TYPE_CHECKING:
    from touchpoint.compiler.lower import Lowering


class TagKind(Bound[TagStep]):
    def lower(self, ctx: Lowering, node: Node, cont: str | None) -> str:
        tag = self.step.tag
        change = {"add": sorted(set(tag.add)), "remove": sorted(set(tag.remove))}
        return ctx.add(ctx.journey_action(node, "tag", change, cont, "tags"))

    def view(self) -> View:
        tag = self.step.tag
        return View("tag " + " ".join([*(f"+{t}" for t in tag.add), *(f"-{t}" for t in tag.remove)]), "slant")
