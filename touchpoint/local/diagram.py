"""A journey as an SVG flowchart, laid out in Python, for the simulator's HTML report.

The layout follows the step tree (``touchpoint.journey.steps``), like ``touchpoint graph`` does
for Mermaid, but needs nothing to draw it: the report must open offline. Steps stack vertically on
one axis; a branching step (``if``, ``wait_for``, ``split``, a ``send`` with ``fallback``) puts
its branches side by side under it, and the branches that do not exit rejoin below. Same journey
and counts → the same SVG string."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from touchpoint.compiler.graph import trigger_text
from touchpoint.compiler.kinds import kind_of
from touchpoint.journey.model import Journey
from touchpoint.journey.steps import Node, resolve
from touchpoint.local.results import SimulationResults, StepFailedTrace
from touchpoint.local.svg import attr as _a
from touchpoint.local.svg import coord as _n
from touchpoint.local.svg import escape as _e
from touchpoint.local.svg import text_width, wrap

BOX_W = 208  # every box has the same width: a column of steps reads like a list
FONT = 12
LINE = 15
PAD_Y = 9
GAP = 26  # vertical gap between consecutive steps (an arrow)
COL_GAP = 28  # horizontal gap between branch columns
MIN_COL = 128  # narrowest branch column (room for its edge label)
BUS = 16  # from a branching box down to the horizontal bus
LABEL_ROOM = 34  # from the bus down to the first box of a branch (the edge label sits here)
JOIN = 20  # from the lowest branch end down to the join point
MARGIN = 16
NOTE_W = 156
MAX_LINES = 3

Kind = str  # a step kind, or trigger / end / note: the node's CSS class is n-<kind>


@dataclass(frozen=True)
class StepCounts:
    """What the executions of one journey did, per step (from the simulator's JSON)."""

    entered: int = 0
    reached: Mapping[str, int] = field(default_factory=dict)  # step id → executions whose path has it
    sent: Mapping[str, int] = field(default_factory=dict)  # send step id → messages sent
    skipped: Mapping[str, int] = field(default_factory=dict)  # send step id → messages skipped
    completed: int = 0  # executions that reached the end
    exited_on_event: int = 0  # executions ended by one of the journey's exit events
    running: int = 0  # executions still inside the journey when the scenario ended
    # step id → runs the step failed in (caught, the run went on: docs/decisions.md D6)
    failed: Mapping[str, int] = field(default_factory=dict)
    unconfirmed: Mapping[str, int] = field(default_factory=dict)  # send step id → answers lost


def step_counts(results: SimulationResults, journey_id: str) -> StepCounts:
    """Per-step counts for one journey from the simulator's results."""
    reached: Counter[str] = Counter()
    entered = completed = on_event = running = 0
    for execution in results.executions:
        if execution.journey_id != journey_id:
            continue
        entered += 1
        reached.update(dict.fromkeys(execution.path, 1))
        reason = execution.exit_reason
        if execution.status == "RUNNING":
            running += 1
        elif reason == "completed":
            completed += 1
        elif reason is not None and reason.startswith("exit:"):
            on_event += 1
    sent: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    unconfirmed: Counter[str] = Counter()
    for message in results.messages:
        if message.journey_id != journey_id:
            continue
        if message.status == "sent":
            sent[message.step_id] += 1
        elif message.status == "skipped":
            skipped[message.step_id] += 1
        elif message.status == "sent_unconfirmed":
            unconfirmed[message.step_id] += 1
    failed = Counter(
        t.detail.step_id
        for t in results.trace
        if isinstance(t, StepFailedTrace) and t.journey_id == journey_id
    )
    return StepCounts(
        entered,
        dict(reached),
        dict(sent),
        dict(skipped),
        completed,
        on_event,
        running,
        dict(failed),
        dict(unconfirmed),
    )


def journey_svg(journey: Journey, counts: StepCounts | None = None, *, title: str | None = None) -> str:
    """The journey as a standalone ``<svg class="diagram">`` element (a string)."""
    drawer = _Drawer(counts)
    body = drawer.sequence(resolve(journey.steps))
    trigger = drawer.box(
        "trigger",
        trigger_text(journey.trigger),
        step="trigger",
        count=counts.entered if counts else None,
    )
    parts = [trigger]
    if journey.exit:
        events = ", ".join(rule.event for rule in journey.exit)
        parts_note = drawer.box(
            "note",
            f"exits any time on {events}",
            step="exit-rules",
            count=counts.exited_on_event if counts else None,
            width=NOTE_W,
        )
    else:
        parts_note = None
    if body.open:
        end = drawer.box(
            "end", "end", step="end", count=counts.completed if counts else None, width=BOX_W * 0.5
        )
        parts.append(_seq([body, end]))
    else:
        parts.append(body)
    main = _seq(parts)
    width = main.width
    note_x = 0.0
    if parts_note is not None:
        # the note sits right of the trigger box; the main axis stays in the middle
        half = BOX_W / 2 + 18 + parts_note.width
        width = max(width, 2 * half)
        note_x = width / 2 + BOX_W / 2 + 18
    items = [_at(main, (width - main.width) / 2, 0)]
    if parts_note is not None:
        y = (trigger.height - parts_note.height) / 2
        items.append(_at(parts_note, note_x, y))
        items.append(
            f'<path class="edge note-edge" d="M{_n(width / 2 + BOX_W / 2)} {_n(trigger.height / 2)}'
            f'H{_n(note_x)}"/>'
        )
    total_w = width + 2 * MARGIN
    total_h = main.height + 2 * MARGIN
    label = html.escape(title or f"Journey {journey.id}", quote=True)
    return (
        f'<svg class="diagram" xmlns="http://www.w3.org/2000/svg" data-journey="{_a(journey.id)}" '
        f'viewBox="0 0 {_n(total_w)} {_n(total_h)}" width="{_n(total_w)}" height="{_n(total_h)}" '
        f'role="img" aria-label="{label}">'
        f"{_DEFS}"
        f'<g transform="translate({MARGIN} {MARGIN})">{"".join(items)}</g></svg>'
    )


# --------------------------------------------------------------------------- layout


@dataclass
class _Block:
    """A laid-out piece: SVG markup relative to its top-left corner; flow enters at the top
    centre and, when ``open``, leaves at the bottom centre."""

    width: float
    height: float
    svg: str
    open: bool = True


def _at(block: _Block, x: float, y: float) -> str:
    if not block.svg:
        return ""
    if x == 0 and y == 0:
        return block.svg
    return f'<g transform="translate({_n(x)} {_n(y)})">{block.svg}</g>'


def _arrow(x: float, y1: float, y2: float) -> str:
    return f'<path class="edge" d="M{_n(x)} {_n(y1)}V{_n(y2)}" marker-end="url(#tp-arrow)"/>'


def _seq(blocks: Iterable[_Block]) -> _Block:
    """Blocks stacked on one vertical axis, each joined to the next by an arrow if it is open."""
    placed = [b for b in blocks if b.svg or b.height]
    if not placed:
        return _Block(0, 0, "", True)
    width = max(b.width for b in placed)
    parts: list[str] = []
    y = 0.0
    previous: _Block | None = None
    for block in placed:
        if previous is not None:
            if previous.open:
                parts.append(_arrow(width / 2, y, y + GAP))
            y += GAP
        parts.append(_at(block, (width - block.width) / 2, y))
        y += block.height
        previous = block
    return _Block(width, y, "".join(parts), placed[-1].open)


class _Drawer:
    def __init__(self, counts: StepCounts | None) -> None:
        self.counts = counts

    def sequence(self, nodes: tuple[Node, ...]) -> _Block:
        blocks: list[_Block] = []
        for node in nodes:
            blocks.append(self.node(node))
            if not blocks[-1].open:
                break  # steps after an exit are unreachable (the validator reports them)
        return _seq(blocks)

    def node(self, node: Node) -> _Block:
        step = node.step
        view = kind_of(step).view()
        counts = self.counts
        stats = None
        if counts and view.channel is not None:
            sent, skipped = counts.sent.get(node.id, 0), counts.skipped.get(node.id, 0)
            stats = f"{sent:,} sent · {skipped:,} skipped"
        box = self.box(
            step.kind,
            view.text,
            step=node.id,
            count=counts.reached.get(node.id, 0) if counts else None,
            sub=node.id if step.id else None,
            stats=stats,
            channel=view.channel,
            alarm=self.failures(node.id),
        )
        if view.ends:
            box.open = False
            return box
        if not view.edges:
            return box
        columns = [(view.straight, view.straight, _Block(0, 0, ""))] if view.straight else []
        columns += [
            (branch.label, text, self.sequence(branch.nodes))
            for branch, text in zip(node.branches, view.edges, strict=True)
        ]
        return self.branching(box, columns)

    def failures(self, step: str) -> tuple[int, int] | None:
        """(failed, unconfirmed) of a step, or None when neither happened (the box stays as is)."""
        if self.counts is None:
            return None
        failed, unconfirmed = self.counts.failed.get(step, 0), self.counts.unconfirmed.get(step, 0)
        return (failed, unconfirmed) if failed or unconfirmed else None

    def branching(self, head: _Block, columns: list[tuple[str, str, _Block]]) -> _Block:
        widths = [max(block.width, MIN_COL) for _, _, block in columns]
        span = sum(widths) + COL_GAP * (len(widths) - 1)
        width = max(head.width, span)
        centre = width / 2
        bus = head.height + BUS
        top = bus + LABEL_ROOM
        tallest = max((block.height for _, _, block in columns), default=0)
        join = top + tallest + JOIN
        parts = [_at(head, (width - head.width) / 2, 0)]
        x = (width - span) / 2
        any_open = False
        for (branch, text, block), col_w in zip(columns, widths, strict=True):
            cx = x + col_w / 2
            label_y = bus + LABEL_ROOM / 2 - 2
            if block.height:
                parts.append(
                    f'<path class="edge" d="M{_n(centre)} {_n(head.height)}V{_n(bus)}H{_n(cx)}V{_n(top)}" '
                    f'marker-end="url(#tp-arrow)"/>'
                )
                parts.append(_at(block, cx - block.width / 2, top))
                if block.open:
                    parts.append(
                        f'<path class="edge" d="M{_n(cx)} {_n(top + block.height)}V{_n(join)}H{_n(centre)}"/>'
                    )
            else:  # an empty branch goes straight on to the join
                parts.append(
                    f'<path class="edge" d="M{_n(centre)} {_n(head.height)}V{_n(bus)}H{_n(cx)}V{_n(join)}'
                    f'H{_n(centre)}"/>'
                )
            any_open = any_open or block.open
            parts.append(_edge_label(cx, label_y, text, branch))
            x += col_w + COL_GAP
        if any_open:
            parts.append(f'<circle class="join" cx="{_n(centre)}" cy="{_n(join)}" r="3"/>')
            return _Block(width, join, "".join(parts), True)
        return _Block(width, top + tallest, "".join(parts), False)

    def box(
        self,
        kind: Kind,
        text: str,
        *,
        step: str,
        count: int | None = None,
        sub: str | None = None,
        stats: str | None = None,
        channel: str | None = None,
        width: float = BOX_W,
        alarm: tuple[int, int] | None = None,
    ) -> _Block:
        """One node; ``alarm`` (failed, unconfirmed) adds a red line and marks the box failing."""
        inner = width - (44 if kind in ("if", "wait_for", "split") else 28)
        lines = _wrap(text, inner, FONT)
        alarm_text = None
        if alarm is not None:
            failed, unconfirmed = alarm
            words = [f"{failed:,} failed"] if failed else []
            words += [f"{unconfirmed:,} unconfirmed"] if unconfirmed else []
            alarm_text = " · ".join(words)
        height = (
            PAD_Y * 2
            + LINE * len(lines)
            + (13 if sub else 0)
            + (15 if stats else 0)
            + (15 if alarm_text else 0)
        )
        shape = _shape(kind, width, height)
        parts = [shape]
        if channel:
            parts.append(
                f'<rect class="chip chip-{_a(channel)}" x="0" y="0" width="5" height="{_n(height)}" rx="2"/>'
            )
        y = PAD_Y + FONT
        for line in lines:
            parts.append(f'<text class="t" x="{_n(width / 2)}" y="{_n(y)}">{_e(line)}</text>')
            y += LINE
        if sub:
            parts.append(f'<text class="sub" x="{_n(width / 2)}" y="{_n(y - 2)}">{_e(sub)}</text>')
            y += 13
        if stats:
            parts.append(f'<text class="stats" x="{_n(width / 2)}" y="{_n(y)}">{_e(stats)}</text>')
            y += 15
        if alarm_text:
            parts.append(f'<text class="fails" x="{_n(width / 2)}" y="{_n(y)}">{_e(alarm_text)}</text>')
        if count is not None:
            label = f"{count:,}"
            badge_w = max(24.0, text_width(label, 10.5) + 12)
            bx = width - badge_w / 2 - 2
            parts.append(
                f'<g class="badge" transform="translate({_n(bx)} 0)"><rect x="{_n(-badge_w / 2)}" y="-9" '
                f'width="{_n(badge_w)}" height="18" rx="9"/><text x="0" y="4">{_e(label)}</text></g>'
            )
        tip = text + (f" · {sub}" if sub else "") + (f" · {count:,} users" if count is not None else "")
        tip += f" · {alarm_text}" if alarm_text else ""
        failing = " failing" if alarm and alarm[0] else " unconfirmed" if alarm else ""
        attrs = f'class="node n-{kind}{failing}" data-step="{_a(step)}" data-kind="{kind}"'
        if count is not None:
            attrs += f' data-count="{count}"'
        if alarm is not None:
            attrs += f' data-failed="{alarm[0]}" data-unconfirmed="{alarm[1]}"'
        if channel:
            attrs += f' data-channel="{_a(channel)}"'
        svg = f"<g {attrs}><title>{_e(tip)}</title>{''.join(parts)}</g>"
        return _Block(width, height, svg, kind not in ("exit", "end"))


def _edge_label(cx: float, y: float, text: str, branch: str) -> str:
    w = text_width(text, 11) + 14
    return (
        f'<g class="edge-label" data-branch="{_a(branch)}" transform="translate({_n(cx)} {_n(y)})">'
        f'<rect x="{_n(-w / 2)}" y="-9" width="{_n(w)}" height="18" rx="9"/>'
        f'<text x="0" y="4">{_e(text)}</text></g>'
    )


def _shape(kind: Kind, w: float, h: float) -> str:
    cls = 'class="shape"'
    if kind in ("trigger", "exit", "end", "note"):
        return f'<rect {cls} x="0" y="0" width="{_n(w)}" height="{_n(h)}" rx="{_n(h / 2)}"/>'
    if kind in ("if", "wait_for", "split"):
        d = 14
        points = f"{d},0 {_n(w - d)},0 {_n(w)},{_n(h / 2)} {_n(w - d)},{_n(h)} {d},{_n(h)} 0,{_n(h / 2)}"
        return f'<polygon {cls} points="{points}"/>'
    if kind in ("tag", "set", "emit"):
        d = 10
        return f'<polygon {cls} points="{d},0 {_n(w)},0 {_n(w - d)},{_n(h)} 0,{_n(h)}"/>'
    radius = 6 if kind == "send" else 12
    return f'<rect {cls} x="0" y="0" width="{_n(w)}" height="{_n(h)}" rx="{radius}"/>'


_DEFS = (
    '<defs><marker id="tp-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
    'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#94a3b8"/></marker></defs>'
)

# --------------------------------------------------------------------------- text


def _wrap(text: str, width: float, size: float) -> list[str]:
    return wrap(text, width, size, MAX_LINES)
