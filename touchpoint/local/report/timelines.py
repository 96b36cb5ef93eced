"""The scripted users' timelines: what each was sent or had skipped, and when."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from touchpoint.local.report.fmt import (
    FAILED_COLOUR,
    _clip,
    _colour,
    _label_width,
    _md,
    _parse,
    _slug,
)
from touchpoint.local.report.view import ReportView, _Message
from touchpoint.local.svg import attr, coord, escape
from touchpoint.local.terminal import UNCONFIRMED, Failure


def timelines_section(view: ReportView) -> str:
    if not view.scripted:
        return ""
    parts = [
        '<section id="timelines" class="block"><h2>Test users</h2><div class="legend">'
        '<span class="muted">Every message each scripted user was sent or had skipped, and when '
        f"(times in {escape(view.zone_name)}).</span>"
        '<span class="key"><svg width="14" height="14"><circle cx="7" cy="7" r="6" fill="#3b82f6"/>'
        "</svg>sent</span>"
        '<span class="key"><svg width="14" height="14"><circle cx="7" cy="7" r="5.5" fill="#fff" '
        'stroke="#3b82f6" stroke-width="2"/><path d="M4 4L10 10M10 4L4 10" stroke="#475569"/></svg>'
        "skipped</span>"
        '<span class="key"><svg width="14" height="14"><rect x="3" y="3" width="8" height="8" '
        'fill="#fff" '
        'stroke="#f59e0b" stroke-width="1.5" transform="rotate(45 7 7)"/></svg>'
        "deferred</span>" + _timeline_keys(view) + "</div>"
    ]
    for user in view.scripted:
        parts.append(timeline_chart(view, user))
    parts.append("</section>")
    return "".join(parts)


def _timeline_keys(view: ReportView) -> str:
    """Legend keys for failed and unconfirmed sends, when a test user has any."""
    users = set(view.scripted)
    keys = ""
    if any(m.status == "sent_unconfirmed" for m in view.messages if m.user in users):
        keys += (
            '<span class="key"><svg width="14" height="14"><circle class="unconf" cx="7" cy="7" r="5.5" '
            'fill="#fff" stroke="#3b82f6" stroke-width="2" stroke-dasharray="3 2"/></svg>'
            "unconfirmed</span>"
        )
    if any(f.user_id in users for f in view.failures):
        keys += (
            '<span class="key"><svg width="14" height="14"><circle cx="7" cy="7" r="5.5" fill="#fee2e2" '
            f'stroke="{FAILED_COLOUR}" stroke-width="2"/><path d="M4 4L10 10M10 4L4 10" '
            f'stroke="{FAILED_COLOUR}" stroke-width="1.6"/></svg>failed</span>'
        )
    return keys


def timeline_chart(view: ReportView, user: str) -> str:
    mine = [m for m in view.messages if m.user == user]
    fails = [f for f in view.failures if f.user_id == user]
    # a failed step is part of what happened to the user: in time order among the messages
    events: list[_Message | Failure] = list(mine)
    if fails:
        events = sorted([*mine, *fails], key=lambda e: e.at)
    lanes: list[str] = []
    for m in mine:
        if m.journey not in lanes:
            lanes.append(m.journey)
    for f in fails:
        if f.journey_id not in lanes:
            lanes.append(f.journey_id)
    width, left, right, lane_h, top = 1100, 170, 24, 46, 30
    plot = width - left - right
    span = (view.end - view.start).total_seconds()

    def x(t: dt.datetime) -> float:
        return left + max(0.0, min(1.0, (t - view.start).total_seconds() / span)) * plot

    height = top + max(len(lanes), 1) * lane_h + 8
    parts: list[str] = []
    for i, day in enumerate(view.days()):
        t = dt.datetime(day.year, day.month, day.day, tzinfo=view.zone)
        tx = x(t)
        parts.append(
            f'<line class="grid" x1="{coord(tx)}" x2="{coord(tx)}" y1="{top - 6}" y2="{height - 6}"/>'
        )
        if i % 2 == 0:
            parts.append(f'<text class="axis" x="{coord(tx + 3)}" y="{top - 12}">{_md(day)}</text>')
    for i, lane in enumerate(lanes):
        y = top + i * lane_h + lane_h / 2
        parts.append(
            f'<text class="lane-lbl mono" x="0" y="{coord(y + 4)}">{escape(_clip(lane, 22))}</text>'
            f'<line class="lane" x1="{left}" x2="{width - right}" y1="{coord(y)}" y2="{coord(y)}"/>'
        )
    last_label: dict[str, float] = {}
    flip: dict[str, bool] = {}

    def label_y(journey: str, mx: float, y: float, label: str) -> float:
        """Above the lane, or below it when the previous label would overlap."""
        lw = _label_width(label, 10.5)
        above = not (last_label.get(journey, -1e9) > mx - lw / 2 - 4 and not flip.get(journey))
        flip[journey] = not above
        last_label[journey] = mx + lw / 2
        return y - 11 if above else y + 19

    for event in events:
        if isinstance(event, Failure):
            parts.append(
                _failure_mark(
                    view, event, x, top + lanes.index(event.journey_id) * lane_h + lane_h / 2, label_y
                )
            )
            continue
        m = event
        if m.when is None:
            continue
        y = top + lanes.index(m.journey) * lane_h + lane_h / 2
        mx = x(m.when)
        deferral = view.deferral_of(m)
        if deferral:
            dx = x(deferral.at)
            parts.append(
                f'<g class="deferral" data-step="{attr(m.step)}" data-reason="{attr(deferral.reason)}">'
                f'<line x1="{coord(dx)}" x2="{coord(mx)}" y1="{coord(y)}" y2="{coord(y)}"/>'
                f'<rect x="{coord(dx - 4)}" y="{coord(y - 4)}" width="8" height="8" '
                f'transform="rotate(45 {coord(dx)} {coord(y)})"/>'
                f"<title>{escape(m.step)} deferred at {view.stamp(deferral.at)} ({escape(deferral.reason)})"
                "</title></g>"
            )
        label = m.step
        ly = label_y(m.journey, mx, y, label)
        colour = _colour(m.channel)
        if m.status == "sent":
            marker = f'<circle cx="{coord(mx)}" cy="{coord(y)}" r="6" fill="{colour}"/>'
        elif m.status == "sent_unconfirmed":
            marker = f'<circle class="unconf" cx="{coord(mx)}" cy="{coord(y)}" r="6" stroke="{colour}"/>'
        else:
            marker = (
                f'<circle class="skip" cx="{coord(mx)}" cy="{coord(y)}" r="6" stroke="{colour}"/>'
                f'<path class="skip-x" d="M{coord(mx - 3)} {coord(y - 3)}L{coord(mx + 3)} {coord(y + 3)}'
                f'M{coord(mx + 3)} {coord(y - 3)}L{coord(mx - 3)} {coord(y + 3)}"/>'
            )
        tip = f"{view.stamp(m.when)} · {m.journey} · {m.step} ({m.channel}) · {m.status}" + (
            f": {UNCONFIRMED}" if m.status == "sent_unconfirmed" else f": {m.reason}" if m.reason else ""
        )
        parts.append(
            f'<g class="mark {attr(m.status)}" data-step="{attr(m.step)}" data-status="{attr(m.status)}" '
            f'data-at="{attr(m.at)}">{marker}<text class="mark-lbl" x="{coord(mx)}" y="{coord(ly)}" '
            f'text-anchor="middle">{escape(label)}</text><title>{escape(tip)}</title></g>'
        )
    svg = (
        f'<svg class="timeline-chart" data-user="{attr(user)}" viewBox="0 0 {width} {height}" width="100%">'
        f"{''.join(parts)}</svg>"
    )
    rows = []
    for event in events:
        if isinstance(event, Failure):
            rows.append(_failure_row(view, event))
            continue
        m = event
        deferral = view.deferral_of(m)
        note = '<span class="nodefer"></span>'
        if deferral and m.when:
            hours = (m.when - deferral.at).total_seconds() / 3600
            note = f'<span class="defer">deferred {hours:.0f}h · {escape(deferral.reason)}</span>'
        deferred_attr = f' data-deferred="{attr(deferral.reason)}"' if deferral else ""
        if m.status == "sent_unconfirmed":
            status = (
                f'<span class="status unconfirmed" title="{attr(UNCONFIRMED)}">? unconfirmed · '
                "answer lost, not retried</span>"
            )
        else:
            status = (
                f'<span class="status {attr(m.status)}">'
                f"{'✔ sent' if m.status == 'sent' else escape(m.status)}"
                f"{f' · {escape(m.reason)}' if m.reason else ''}</span>"
            )
        rows.append(
            f'<li class="event" data-step="{attr(m.step)}" data-status="{attr(m.status)}" '
            f'data-at="{attr(m.at)}" data-journey="{attr(m.journey)}" data-channel="{attr(m.channel)}" '
            f'data-reason="{attr(m.reason or "")}"{deferred_attr}>'
            f'<time datetime="{attr(m.at)}">{escape(view.stamp(m.when))}</time>'
            f'<span class="ch" style="background:{_colour(m.channel)}">{escape(m.channel)}</span>'
            f'<span class="what"><b>{escape(m.step)}</b> '
            f'<span class="muted">{escape(m.template)}</span></span>'
            f'<span class="mono muted jr">{escape(m.journey)}</span>{status}{note}</li>'
        )
    sent = sum(1 for m in mine if m.status == "sent")
    unconfirmed = sum(1 for m in mine if m.status == "sent_unconfirmed")
    counts = f"{sent} sent · {len(mine) - sent - unconfirmed} skipped"
    counts += f" · {unconfirmed} unconfirmed" if unconfirmed else ""
    counts += f' · <b class="failed-count">{len(fails)} failed</b>' if fails else ""
    listing = f'<ol class="events">{"".join(rows)}</ol>' if rows else '<p class="muted">No messages.</p>'
    return (
        f'<section class="timeline card" id="timeline-{attr(_slug(user))}" data-user="{attr(user)}">'
        f'<div class="tl-head"><h3>What <span class="mono">{escape(user)}</span> received and when</h3>'
        f'<span class="muted">{counts}</span></div>'
        f"{svg}{listing}</section>"
    )


def _failure_mark(
    view: ReportView,
    f: Failure,
    x: Callable[[dt.datetime], float],
    y: float,
    label_y: Callable[[str, float, float, str], float],
) -> str:
    """A failed step on a user's timeline: a red ring with a cross, the step named beside it."""
    when = _parse(f.at)
    if when is None:
        return ""
    mx = x(when)
    ly = label_y(f.journey_id, mx, y, f.step_id)
    tip = f"{view.stamp(when)} · {f.journey_id} · {f.step_id} · failed: {f.reason}"
    return (
        f'<g class="fail-mark" data-step="{attr(f.step_id)}" data-at="{attr(f.at)}" '
        f'data-error="{attr(f.error)}">'
        f'<circle class="fail" cx="{coord(mx)}" cy="{coord(y)}" r="6"/>'
        f'<path class="fail-x" d="M{coord(mx - 3)} {coord(y - 3)}L{coord(mx + 3)} {coord(y + 3)}'
        f'M{coord(mx + 3)} {coord(y - 3)}L{coord(mx - 3)} {coord(y + 3)}"/>'
        f'<text class="mark-lbl" x="{coord(mx)}" y="{coord(ly)}" text-anchor="middle">'
        f"{escape(f.step_id)}</text>"
        f"<title>{escape(tip)}</title></g>"
    )


def _failure_row(view: ReportView, f: Failure) -> str:
    """A failed step in a user's list: the error, and the reason it failed."""
    kind = f.channel or "step"
    colour = _colour(f.channel) if f.channel else "#64748b"
    return (
        f'<li class="failure" data-step="{attr(f.step_id)}" data-at="{attr(f.at)}" '
        f'data-journey="{attr(f.journey_id)}" data-channel="{attr(f.channel or "")}" '
        f'data-error="{attr(f.error)}">'
        f'<time datetime="{attr(f.at)}">{escape(view.stamp(_parse(f.at)))}</time>'
        f'<span class="ch" style="background:{colour}">{escape(kind)}</span>'
        f'<span class="what"><b>{escape(f.step_id)}</b> '
        f'<span class="why">{escape(f.message or f.error)}</span></span>'
        f'<span class="mono muted jr">{escape(f.journey_id)}</span>'
        f'<span class="status failed">✘ failed · {escape(f.error)}</span><span class="nodefer"></span></li>'
    )
