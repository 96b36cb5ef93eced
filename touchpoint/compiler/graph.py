"""A journey as a Mermaid flowchart, for reviews (``touchpoint graph``) and the simulator report.

Drawn from the step tree rather than the ASL: marketers review steps, not helper states."""

from __future__ import annotations

from typing import assert_never

from touchpoint.conditions import describe, describe_where
from touchpoint.durations import format_duration
from touchpoint.journey.model import (
    AttributeTrigger,
    DateTrigger,
    EmitStep,
    EventTrigger,
    ExitStep,
    IfStep,
    Journey,
    ScheduleTrigger,
    SendStep,
    SetStep,
    SplitStep,
    TagStep,
    Trigger,
    WaitForStep,
    WaitStep,
)
from touchpoint.journey.steps import Node, resolve

Pending = list[tuple[str, str | None]]  # edges waiting for the next node: (from, label)


def mermaid(journey: Journey) -> str:
    graph = _Graph()
    start = graph.add("stadium", f"{trigger_text(journey.trigger)}")
    pending = graph.sequence(resolve(journey.steps), [(start, None)])
    if pending:
        graph.connect(pending, graph.add("stadium", "end"))
    return "\n".join(["flowchart TD", *graph.lines]) + "\n"


def trigger_text(trigger: Trigger) -> str:
    match trigger:
        case EventTrigger():
            return f"on {trigger.event}" + (
                f" where {describe_where(trigger.where)}" if trigger.where else ""
            )
        case ScheduleTrigger():
            return f"schedule {trigger.schedule}"
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


def step_text(node: Node) -> str:
    step = node.step
    match step:
        case SendStep():
            return f"send {step.send.channel}: {step.send.template}"
        case WaitStep():
            if isinstance(step.wait, int):
                return f"wait {format_duration(step.wait)}"
            until = step.wait.until
            return f"wait until {until.weekday + ' ' if until.weekday else ''}{until.time}"
        case IfStep():
            return f"if {describe(step.if_)}"
        case WaitForStep():
            spec = step.wait_for
            return f"wait for {spec.event} (max {format_duration(spec.timeout)})"
        case SplitStep():
            return "split " + " / ".join(f"{p.name} {p.percent:g}%" for p in step.split)
        case TagStep():
            return "tag " + " ".join([*(f"+{t}" for t in step.tag.add), *(f"-{t}" for t in step.tag.remove)])
        case SetStep():
            return "set " + ", ".join(
                f"{k} = {v}" if v is not None else f"unset {k}" for k, v in step.set.items()
            )
        case EmitStep():
            return f"emit {step.emit.type}"
        case ExitStep():
            return f"exit: {step.exit}"
        case _:
            assert_never(step)


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
        step = node.step
        label = step_text(node) + (f" · {node.id}" if step.id else "")
        match step:
            case IfStep() | SplitStep() | WaitForStep():
                shape = "hexagon" if isinstance(step, WaitForStep) else "rhombus"
                here = self.add(shape, label)
                self.connect(pending, here)
                labels = {"then": "yes", "else": "no", "on_event": "did it", "on_timeout": "timeout"}
                if isinstance(step, SplitStep):
                    labels = {p.name: f"{p.name} {p.percent:g}%" for p in step.split}
                out: Pending = []
                for branch in node.branches:
                    out += self.sequence(branch.nodes, [(here, labels[branch.label])])
                return out
            case SendStep():
                here = self.add("rect", label)
                self.connect(pending, here)
                if not node.branches:
                    return [(here, None)]
                return [(here, "sent"), *self.sequence(node.branches[0].nodes, [(here, "not sent")])]
            case ExitStep():
                self.connect(pending, self.add("stadium", label))
                return []
            case WaitStep():
                here = self.add("hexagon", label)
            case TagStep() | SetStep() | EmitStep():
                here = self.add("slant", label)
            case _:
                assert_never(step)
        self.connect(pending, here)
        return [(here, None)]


def _escape(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;").replace("|", "#124;")
