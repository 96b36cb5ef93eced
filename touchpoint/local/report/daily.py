"""Messages per day: sent above the line, skipped below, per channel."""

from __future__ import annotations

from touchpoint.local.report.fmt import (
    _HATCH,
    _colour,
    _md,
    _nice_step,
)
from touchpoint.local.report.view import ReportView
from touchpoint.local.svg import attr, coord, escape


def daily_chart(view: ReportView) -> str:
    days = view.days()
    channels = sorted({m.channel for m in view.messages})
    cells = view.daily_cells()
    up = max([sum(cells[(d, c, "sent")] for c in channels) for d in range(len(days))] + [1])
    down = max([sum(cells[(d, c, "skipped")] for c in channels) for d in range(len(days))] + [0])
    step = _nice_step(up)
    up_top = max(step, -(-up // step) * step)
    width, left, right = 1100, 44, 10
    scale = 220 / up_top
    zero = 12 + up_top * scale
    low = zero + down * scale + (8 if down else 0)
    height = low + 34
    slot = (width - left - right) / max(len(days), 1)
    bar_w = max(4.0, slot * 0.68)
    parts: list[str] = []
    for value in range(0, up_top + 1, step):
        y = zero - value * scale
        parts.append(
            f'<line class="grid{" zero" if value == 0 else ""}" x1="{left}" x2="{width - right}" '
            f'y1="{coord(y)}" y2="{coord(y)}"/><text class="axis" x="{left - 6}" y="{coord(y + 4)}" '
            f'text-anchor="end">{value}</text>'
        )
    if down and down * scale >= 14:
        y = zero + down * scale
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{coord(y)}" y2="{coord(y)}"/>'
            f'<text class="axis" x="{left - 6}" y="{coord(y + 4)}" text-anchor="end">{down}</text>'
        )
    for d, day in enumerate(days):
        x = left + d * slot + (slot - bar_w) / 2
        y_up, y_down = zero, zero
        for status in ("sent", "skipped"):
            for channel in channels:
                value = cells[(d, channel, status)]
                if not value:
                    continue
                h = value * scale
                if status == "sent":
                    y_up -= h
                    y = y_up
                else:
                    y = y_down
                    y_down += h
                parts.append(
                    f'<rect class="seg {status}" data-day="{day.isoformat()}" '
                    f'data-channel="{attr(channel)}" '
                    f'data-status="{status}" data-value="{value}" x="{coord(x)}" y="{coord(y)}" '
                    f'width="{coord(bar_w)}" height="{coord(h)}" fill="{_colour(channel)}">'
                    f"<title>{_md(day)}: {value} {escape(channel)} {status}</title></rect>"
                )
        if d % 2 == 0 or len(days) <= 16:
            parts.append(
                f'<text class="axis" x="{coord(left + d * slot + slot / 2)}" y="{coord(low + 14)}" '
                f'text-anchor="middle">{day.day}</text>'
            )
        if day.day == 1 or d == 0:
            parts.append(
                f'<text class="axis month" x="{coord(left + d * slot + slot / 2)}" y="{coord(low + 29)}" '
                f'text-anchor="middle">{day:%b}</text>'
            )
    legend = "".join(
        f'<span class="key"><i style="background:{_colour(c)}"></i>{escape(c)} sent</span>'
        f'<span class="key"><i class="hatch" style="background:{_colour(c)}"></i>{escape(c)} skipped</span>'
        for c in channels
    )
    return (
        '<section id="messages-per-day" class="block"><h2>Messages per day</h2><div class="card">'
        f'<div class="legend">{legend}<span class="muted small">sent above the line, skipped below · '
        f"days in {escape(view.zone_name)}</span></div>"
        f'<svg class="daily" viewBox="0 0 {width} {coord(height)}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet">{_HATCH}{"".join(parts)}</svg></div></section>'
    )
