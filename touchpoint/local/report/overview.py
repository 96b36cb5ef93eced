"""The report's overview: the headline tiles, the journeys' scorecard, AWS usage and cost."""

from __future__ import annotations

from collections import Counter

from touchpoint.local.pricing import FREE_TIERS
from touchpoint.local.report.fmt import (
    AWS_METRICS,
    _count,
    _dv,
    _int,
    _num,
    _pct,
    _slug,
    _usd,
    _words,
)
from touchpoint.local.report.view import ReportView
from touchpoint.local.results import Aws, Goal
from touchpoint.local.svg import attr, coord, escape


def overview_section(view: ReportView) -> str:
    aws = view.results.aws
    totals: Counter[str] = Counter()
    for data in view.data.values():
        for key in ("entered", "converted", "failed"):
            totals[key] += data.kpis.counts.get(key, 0)
    sent = sum(1 for m in view.messages if m.status == "sent")
    skipped = sum(1 for m in view.messages if m.status == "skipped")
    failed = totals["failed"]
    cost = _num(aws.estimated_cost_usd)
    per_1000 = _num(aws.cost_per_1000_user_journeys_usd)
    tiles = [
        ("users", "Users", _count(_num(view.scenario.users)), "simulated profiles", None),
        (
            "entered",
            "Journey entries",
            _count(totals["entered"]),
            f"{len(view.executions):,} executions",
            None,
        ),
        ("sent", "Messages sent", _count(sent), _channel_split(view, "sent"), None),
        ("skipped", "Skipped", _count(skipped), _top_reason(view), None),
        ("failed", "Failed sends", _count(failed), _top_failure(view), failed),
        ("converted", "Conversions", _count(totals["converted"]), "goal events in window", None),
        (
            "estimated_cost_usd",
            "Estimated AWS cost",
            _usd(cost),
            f"{_usd(per_1000)} per 1,000 user-journeys",
            cost,
        ),
    ]
    tile_html = "".join(
        f'<div class="tile" data-metric="{k}"'
        + (f' data-value="{attr(_dv(v))}"' if v is not None else "")
        + f'><span class="lbl">{escape(label)}</span><b>{escape(big)}</b><small>{escape(small)}</small></div>'
        for k, label, big, small, v in tiles
    )
    return (
        '<section id="overview" class="block"><h2>Overview</h2>'
        f'<div class="tiles">{tile_html}</div>'
        '<div class="grid2 wide-left">'
        f'<div class="card"><h3>Journeys at a glance</h3>{scorecard(view)}</div>'
        f'<div class="card"><h3>AWS usage and cost</h3>{aws_chart(view, aws)}</div>'
        "</div></section>"
    )


def _channel_split(view: ReportView, status: str) -> str:
    counts = Counter(m.channel for m in view.messages if m.status == status)
    return " · ".join(f"{counts[c]:,} {c}" for c in sorted(counts)) or "none"


def _top_failure(view: ReportView) -> str:
    """The most frequent error of the failed steps, and the unconfirmed sends apart."""
    errors = Counter(f.error for f in view.failures)
    parts = []
    if errors:
        error, n = sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        parts.append(f"most: {error} ({n:,})")
    unconfirmed = sum(1 for m in view.messages if m.status == "sent_unconfirmed")
    if unconfirmed:
        parts.append(f"{unconfirmed:,} unconfirmed")
    return " · ".join(parts) or "none"


def _top_reason(view: ReportView) -> str:
    reasons = Counter(m.reason or "unknown" for m in view.messages if m.status == "skipped")
    if not reasons:
        return "none"
    reason, n = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return f"most: {reason} ({n:,})"


def scorecard(view: ReportView) -> str:
    rows = []
    for jid in view.ordered_journeys():
        data = view.data[jid]
        counts, targets, goal = data.kpis.counts, data.kpis.targets, data.goal
        model = view.models.get(jid)
        name = data.name or (model.name if model else jid)
        marks = "".join(
            f'<span class="mark {v[0]}" title="{attr(_words(k))}: {v[2]}">{v[1]}</span>'
            for k, t in targets.items()
            for v in [view.verdict(t)]
        )
        goal_cell = _mini_goal(view, goal) if goal else '<span class="muted">no goal</span>'
        stage = view.campaign_of(jid)
        chip = f'<span class="chip stage">{escape(stage[1])}</span>' if stage else ""
        failed = view.failed_count(jid)
        if failed:
            chip += f' <span class="chip failed" data-failed="{failed}">{failed:,} failed</span>'
        rows.append(
            f'<tr data-journey="{attr(jid)}"><td><a href="#journey-{attr(_slug(jid))}">{escape(name)}</a>'
            f'<div class="muted mono">{escape(jid)} {chip}</div></td>'
            f'<td class="num">{_count(_int(counts.get("entered")))}</td>'
            f'<td class="num">{_count(_int(counts.get("sent")))}</td>'
            f"<td>{goal_cell}</td><td>{marks}</td></tr>"
        )
    return (
        '<table class="scorecard"><thead><tr><th>Journey</th><th class="num">Entered</th>'
        '<th class="num">Sent</th><th>Goal: actual vs target</th><th>KPIs</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _mini_goal(view: ReportView, goal: Goal) -> str:
    actual, target = _num(goal.actual), _num(goal.target)
    top = max(v for v in (actual or 0, target or 0, _num(goal.baseline) or 0, 0.01)) * 1.25
    w = 84
    bar = (actual or 0) / top * w
    cls = "ok" if goal.met else "bad"
    tx = (target or 0) / top * w
    return (
        f'<span class="mini"><svg class="mini-goal" width="{w}" height="18" viewBox="0 0 {w} 18">'
        f'<rect class="track" x="0" y="5" width="{w}" height="8" rx="4"/>'
        f'<rect class="fill {cls}" x="0" y="5" width="{coord(bar)}" height="8" rx="4"/>'
        f'<line class="tmark" x1="{coord(tx)}" x2="{coord(tx)}" y1="1" y2="17"/></svg>'
        f"<b>{escape(_pct(actual))}</b>"
        f'<span class="muted small">/ {escape(_pct(target))}</span></span>'
    )


def aws_chart(view: ReportView, aws: Aws) -> str:
    given = aws.model_dump()
    rows = [(k, label, _num(given[k])) for k, label in AWS_METRICS]
    top = max([v or 0 for _, _, v in rows] + [1])
    label_w, bar_w, row_h = 196, 170, 26
    parts = []
    for i, (key, label, value) in enumerate(rows):
        y = i * row_h
        w = (value or 0) / top * bar_w
        parts.append(
            f'<g class="aws-bar" data-metric="{key}" data-value="{attr(_dv(given[key]))}" '
            f'transform="translate(0 {y})"><text class="lbl" x="0" y="15">{escape(label)}</text>'
            f'<rect class="track" x="{label_w}" y="4" width="{bar_w}" height="14" rx="3"/>'
            f'<rect class="bar" x="{label_w}" y="4" width="{coord(max(w, 1.5))}" height="14" rx="3"/>'
            f'<text class="val" x="{coord(label_w + bar_w + 8)}" y="15">{escape(_count(value))}</text></g>'
        )
    height = len(rows) * row_h
    svg = f'<svg class="aws" viewBox="0 0 430 {height}" width="430" height="{height}">{"".join(parts)}</svg>'
    requests = aws.requests
    req = " · ".join(f"{escape(k)} {_count(_num(v))}" for k, v in sorted(requests.items()))
    cost = _num(aws.estimated_cost_usd)
    per = _num(aws.cost_per_1000_user_journeys_usd)
    return (
        f'{svg}<div class="costs"><div class="cost" data-metric="estimated_cost_usd" '
        f'data-value="{attr(_dv(aws.estimated_cost_usd))}"><b>{escape(_usd(cost))}</b>'
        f'<span>estimated for the run, {FREE_TIERS}</span></div><div class="cost" '
        f'data-metric="cost_per_1000_user_journeys_usd" '
        f'data-value="{attr(_dv(aws.cost_per_1000_user_journeys_usd))}"><b>{escape(_usd(per))}</b>'
        f"<span>per 1,000 user-journeys</span></div></div>"
        + (f'<p class="muted small">API requests: {req}</p>' if req else "")
        + _by_journey(aws)
    )


def _by_journey(aws: Aws) -> str:
    """Each journey's orchestration cost (its executions' transitions and Task attempts, no
    messages): the figure ``touchpoint cost --measured`` prints beside its range (D27)."""
    if not aws.by_journey:
        return ""
    rows = []
    for jid, j in sorted(aws.by_journey.items()):
        each = j.state_transitions / j.user_journeys if j.user_journeys else None
        rows.append(
            f'<tr data-cost-journey="{attr(jid)}"><td class="mono">{escape(jid)}</td>'
            f'<td class="num">{_count(j.user_journeys)}</td><td class="num">{_count(each)}</td>'
            f'<td class="num" data-value="{attr(_dv(j.cost_per_1000_user_journeys_usd))}">'
            f"${_num(j.cost_per_1000_user_journeys_usd) or 0:.4f}</td></tr>"
        )
    return (
        '<table class="scorecard by-journey"><thead><tr><th>Journey</th><th class="num">User-journeys</th>'
        '<th class="num">Transitions each</th><th class="num">Per 1,000, no messages</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
