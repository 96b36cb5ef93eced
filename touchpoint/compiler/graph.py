"""A journey as a Mermaid flowchart, for reviews (``touchpoint graph``) and the simulator report.

Drawn from the step tree rather than the ASL: marketers review steps, not helper states."""

from __future__ import annotations

from typing import assert_never

from touchpoint.compiler.kinds import kind_of
from touchpoint.conditions import describe_where
from touchpoint.durations import format_duration, format_offset
from touchpoint.journey.model import (
    AttributeTrigger,
    DateTrigger,
    EventTrigger,
    Journey,
    ScheduleTrigger,
    Trigger,
)
from touchpoint.journey.model.triggers import DailySchedule, OnceSchedule
from touchpoint.journey.steps import Node, resolve

Pending = list[tuple[str, str | None]]  # edges waiting for the next node: (from, label)


def mermaid(journey: Journey) -> str:
    graph = _Graph()
    start = graph.add("stadium", f"{trigger_text(journey.trigger)}")
    pending = graph.sequence(resolve(journey.steps), [(start, None)])
    if pending:
        graph.connect(pending, graph.add("stadium", "end"))
    return "\n".join(["flowchart TD", *graph.lines]) + "\n"


def schedule_text(trigger: ScheduleTrigger) -> str:
    """A schedule as written: an expression, or a campaign-relative one before its campaign applies."""
    match trigger.schedule:
        case str():
            return trigger.schedule
        case DailySchedule():
            return f"daily at {trigger.schedule.daily}"
        case OnceSchedule():
            at = format_offset(trigger.schedule.at)
            return f"once at {trigger.schedule.time}, {at} from the campaign date"
        case _:
            assert_never(trigger.schedule)


def trigger_text(trigger: Trigger) -> str:
    match trigger:
        case EventTrigger():
            return f"on {trigger.event}" + (
                f" where {describe_where(trigger.where)}" if trigger.where else ""
            )
        case ScheduleTrigger():
            return f"schedule {schedule_text(trigger)}"
        case DateTrigger():
            spec = trigger.date
            offset = (
                f"{format_duration(spec.before)} before "
                if spec.before
                else f"{format_duration(spec.after)} after "
                if spec.after
                else ""
            )
            return f"{offset}{spec.attribute} at {spec.at}"
        case AttributeTrigger():
            change = trigger.attribute
            what = next(
                f"{k} {getattr(change, k)}"
                for k in ("added", "removed", "to", "changed")
                if k in change.model_fields_set
            )
            return f"{change.name} {what}"
        case _:
            assert_never(trigger)


_SHAPES = {
    "rect": ('["', '"]'),
    "stadium": ('(["', '"])'),
    "rhombus": ('{"', '"}'),
    "hexagon": ('{{"', '"}}'),
    "slant": ('[/"', '"/]'),
}


class _Graph:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def add(self, shape: str, label: str) -> str:
        name = f"n{self.count}"
        self.count += 1
        left, right = _SHAPES[shape]
        self.lines.append(f"  {name}{left}{_escape(label)}{right}")
        return name

    def connect(self, pending: Pending, target: str) -> None:
        for source, label in pending:
            arrow = f" -->|{_escape(label)}| " if label else " --> "
            self.lines.append(f"  {source}{arrow}{target}")

    def sequence(self, nodes: tuple[Node, ...], pending: Pending) -> Pending:
        for node in nodes:
            pending = self.step(node, pending)
        return pending

    def step(self, node: Node, pending: Pending) -> Pending:
        view = kind_of(node.step).view()
        here = self.add(view.shape, view.text + (f" · {node.id}" if node.step.id else ""))
        self.connect(pending, here)
        if view.ends:
            return []
        if not view.edges:
            return [(here, None)]
        out: Pending = [(here, view.straight)] if view.straight else []
        for branch, text in zip(node.branches, view.edges, strict=True):
            out += self.sequence(branch.nodes, [(here, text)])
        return out


def _escape(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;").replace("|", "#124;")
