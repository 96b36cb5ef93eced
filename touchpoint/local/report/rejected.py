"""The events the stack refused, grouped by the field that made them invalid."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping

from touchpoint.local.report.fmt import (
    _clip,
    _reason_field,
)
from touchpoint.local.report.view import ReportView
from touchpoint.local.svg import attr, coord, escape


def rejected_section(view: ReportView) -> str:
    items = view.results.rejected_events
    groups = Counter(_reason_field(r.reason) for r in items)
    head = (
        f'<section id="rejected" class="block" data-count="{len(items)}"><h2>Rejected events '
        f'<span class="count">{len(items):,}</span></h2>'
    )
    if not items:
        return head + '<div class="card"><p class="muted">No event was rejected.</p></div></section>'
    ordered = sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))
    top = max(groups.values())
    label_w, bar_w, row_h = 220, 300, 26
    bars = []
    for i, (field, n) in enumerate(ordered):
        w = n / top * bar_w
        bars.append(
            f'<g class="reason-bar" data-reason="{attr(field)}" data-value="{n}" '
            f'transform="translate(0 {i * row_h})">'
            f'<text class="lbl mono" x="0" y="16">{escape(_clip(field, 30))}</text>'
            f'<rect class="track" x="{label_w}" y="4" width="{bar_w}" height="16" rx="3"/>'
            f'<rect class="bar" x="{label_w}" y="4" width="{coord(w)}" height="16" rx="3"/>'
            f'<text class="val" x="{coord(label_w + w + 6)}" y="16">{n:,}</text></g>'
        )
    height = len(ordered) * row_h
    svg = (
        f'<svg class="rejected-chart" viewBox="0 0 600 {height}" width="600" height="{height}">'
        f"{''.join(bars)}</svg>"
    )
    rows = []
    for r in items:
        event = r.event or {}
        detail = event.get("detail") if isinstance(event, Mapping) else None
        kind = event.get("detail-type", "?") if isinstance(event, Mapping) else "?"
        who = detail.get("user_id", "") if isinstance(detail, Mapping) else ""
        payload = json.dumps(event, ensure_ascii=False, sort_keys=True, indent=1, default=str)
        rows.append(
            f'<li class="rejected-event" data-reason="{attr(_reason_field(r.reason))}">'
            f'<span class="mono">{escape(kind)}</span> <span class="muted mono">{escape(who)}</span>'
            f'<div class="why">{escape(r.reason)}</div>'
            f"<details><summary>event</summary><pre>{escape(payload)}</pre></details></li>"
        )
    return (
        head + '<div class="card grid2 tight"><div><h4>By field</h4>'
        f'{svg}</div><div><h4>Events</h4><ul class="rejected-list">{"".join(rows)}</ul></div></div>'
        "</section>"
    )
