"""One card per journey (funnel, goal, KPIs, map) and the campaign blocks with their stage strip."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from touchpoint.compiler.graph import trigger_text
from touchpoint.engine.kpi.rates import FUNNEL
from touchpoint.journey.model import COUNT_KPIS, Journey
from touchpoint.local import diagram
from touchpoint.local.report.fmt import (
    _USER_STAGES,
    _count,
    _dv,
    _int,
    _kpi_text,
    _md,
    _num,
    _parse,
    _pct,
    _slug,
    _words,
)
from touchpoint.local.report.sends import (
    failed_table,
    outcome_chips,
    sends_chart,
    skip_chips,
    unconfirmed_table,
)
from touchpoint.local.report.view import ReportView
from touchpoint.local.results import Goal, Target
from touchpoint.local.svg import attr, coord, escape
from touchpoint.metrics import RATES, rate


def journeys_section(view: ReportView) -> str:
    parts = ['<section id="journeys" class="block"><h2>Journeys</h2>']
    campaigns: dict[str, list[str]] = defaultdict(list)
    for jid in view.ordered_journeys():
        campaign = view.campaign_of(jid)
        if campaign is None:
            parts.append(journey_card(view, jid))
        else:
            campaigns[campaign[0]].append(jid)
    for cid, members in campaigns.items():
        parts.append(campaign_block(view, cid, members))
    parts.append("</section>")
    return "".join(parts)


def campaign_block(view: ReportView, cid: str, members: list[str]) -> str:
    date = (view.campaign_of(members[0]) or ("", "", ""))[2]
    plan = view.results.campaigns.get(cid)
    return (
        f'<section class="campaign" id="campaign-{attr(_slug(cid))}" data-campaign="{attr(cid)}">'
        f'<div class="camp-head"><span class="chip camp">campaign</span><h2>{escape(cid)}</h2>'
        + (f'<span class="camp-name">{escape(plan.name)}</span>' if plan is not None else "")
        + f'<span class="muted">event date {escape(date)} · {len(members)} stage'
        f"{'s' if len(members) != 1 else ''}</span></div>"
        f'<div class="card">{stage_strip(view, cid, date, members)}{plan_table(view, cid)}</div>'
        + "".join(journey_card(view, j) for j in members)
        + "</section>"
    )


def stage_strip(view: ReportView, cid: str, date: str, members: list[str]) -> str:
    windows = view.stage_windows(members)
    event_day = None
    try:
        day = dt.date.fromisoformat(date)
        event_day = dt.datetime(day.year, day.month, day.day, tzinfo=view.zone)
    except ValueError:
        pass
    lo = min([w[2] for w in windows] + ([event_day] if event_day else []))
    hi = max([w[3] for w in windows] + ([event_day + dt.timedelta(days=1)] if event_day else []))
    lo = view.local(lo).replace(hour=0, minute=0, second=0, microsecond=0)
    span = max((hi - lo).total_seconds(), 86400.0)
    width, left, row_h = 1100, 170, 30
    plot = width - left - 20

    def x(t: dt.datetime) -> float:
        return left + (t - lo).total_seconds() / span * plot

    parts: list[str] = []
    n_days = int(span // 86400) + 1
    top = 22
    for i in range(n_days + 1):
        t = lo + dt.timedelta(days=i)
        if t > hi:
            break
        parts.append(
            f'<line class="grid" x1="{coord(x(t))}" x2="{coord(x(t))}" y1="{top - 4}" '
            f'y2="{top + len(windows) * row_h}"/>'
            f'<text class="axis" x="{coord(x(t) + 3)}" y="12">{_md(view.local(t))}</text>'
        )
    for i, (jid, stage, begin, finish) in enumerate(windows):
        y = top + i * row_h
        data = view.data.get(jid)
        entered = data.kpis.counts.get("entered", 0) if data else 0
        parts.append(
            f'<g class="stage" data-journey="{attr(jid)}" data-stage="{attr(stage)}">'
            f'<text class="lbl" x="0" y="{y + 18}">{escape(stage)}</text>'
            f'<text class="lbl mono muted" x="70" y="{y + 18}">{escape(jid)}</text>'
            f'<rect class="stage-bar s-{i % 4 + 1}" x="{coord(x(begin))}" y="{y + 5}" '
            f'width="{coord(max(x(finish) - x(begin), 6))}" height="{row_h - 10}" rx="5"/>'
            f'<text class="in-bar" x="{coord(x(begin) + 8)}" y="{y + 19}">{entered:,} entered</text></g>'
        )
    if event_day:
        ex = x(event_day)
        parts.append(
            f'<line class="event-day" x1="{coord(ex)}" x2="{coord(ex)}" y1="{top - 6}" '
            f'y2="{top + len(windows) * row_h}"/><text class="event-day-lbl" x="{coord(ex + 4)}" '
            f'y="{top + len(windows) * row_h + 14}">event day</text>'
        )
    height = top + len(windows) * row_h + 22
    return (
        f'<svg class="stages" data-campaign="{attr(cid)}" viewBox="0 0 {width} {height}" width="100%">'
        f"{''.join(parts)}</svg>"
    )


_VERDICT = {
    "met": ("ok", "✔", "met"),
    "missed": ("bad", "✘", "missed"),
    "not_enough_data": ("none", "–", "not enough data"),
    "inconclusive": ("warn", "?", "not yet clear"),
}


def plan_table(view: ReportView, cid: str) -> str:
    """The campaign's plan with the actual figure beside each target, and the campaign goal."""
    plan = view.results.campaigns.get(cid)
    if plan is None:
        return ""
    rows = []
    for stage in plan.stages:
        zone = ZoneInfo(plan.timezone)
        window = f"{_window_day(stage.from_, zone)} – {_window_day(stage.until, zone, last=True)}"
        kpis = "".join(
            f'<li class="kpi v-{attr(k.verdict)}" data-kpi="{attr(k.kpi)}" data-verdict="{attr(k.verdict)}">'
            f"{escape(k.kpi)} {escape(_figure(k.kpi, k.value))} "
            f'<span class="muted">target {escape(_figure(k.kpi, k.target))}</span> '
            f"{_verdict(k.verdict)}</li>"
            for k in stage.kpis
        )
        rows.append(
            f'<tr data-stage="{attr(stage.id)}"><td>{escape(stage.name or stage.id)}</td>'
            f'<td class="mono">{escape(stage.journey)}</td><td>{escape(window)}</td>'
            f'<td>{escape(stage.owner)}</td><td class="num">{stage.funnel.get("entered", 0):,}</td>'
            f'<td><ul class="plain">{kpis}</ul></td></tr>'
        )
    goal = plan.goal
    goal_html = ""
    if goal is not None:
        interval = (
            f" (95% interval {_pct(goal.interval[0])} – {_pct(goal.interval[1])})" if goal.interval else ""
        )
        revenue = f" · revenue {goal.revenue:,.2f}" if goal.revenue is not None else ""
        goal_html = (
            f'<p class="campaign-goal" data-verdict="{attr(goal.verdict)}" '
            f'data-participants="{goal.participants}" data-converted="{goal.converted}">'
            f"<b>Campaign goal</b> {escape(goal.event)}: {goal.converted:,} of {goal.participants:,} "
            f"participants, {_pct(goal.rate)}{escape(interval)} against target {_pct(goal.target)} "
            f"{_verdict(goal.verdict)}{escape(revenue)}</p>"
        )
    return (
        f'<table class="plan" data-campaign="{attr(cid)}"><thead><tr><th>stage</th><th>journey</th>'
        "<th>window</th><th>owner</th><th>entered</th><th>KPIs: actual, target</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{goal_html}"
    )


def _verdict(verdict: str) -> str:
    css, mark, words = _VERDICT[verdict]
    return f'<span class="{css}">{mark} {words}</span>'


def _window_day(moment: str | None, zone: ZoneInfo, last: bool = False) -> str:
    """A window bound as the day it covers in the campaign's zone (the end is exclusive: the day
    before)."""
    parsed = _parse(moment)
    if parsed is None:
        return "–"
    local = parsed.astimezone(zone) - (dt.timedelta(seconds=1) if last else dt.timedelta())
    return local.strftime("%Y-%m-%d")


def _figure(kpi: str, value: float | None) -> str:
    if value is None:
        return "–"
    return _pct(value) if kpi in RATES else f"{value:,.0f}"


def journey_card(view: ReportView, jid: str) -> str:
    data = view.data[jid]
    model = view.models.get(jid)
    name = data.name or (model.name if model else jid)
    counts, rates, targets, goal = data.kpis.counts, data.kpis.rates, data.kpis.targets, data.goal
    meta = [f'<span class="mono">{escape(jid)}</span>']
    campaign = view.campaign_of(jid)
    if campaign:
        meta.append(f'<span class="chip stage">{escape(campaign[1])}</span>')
    if model:
        meta.append(f"<span>{escape(trigger_text(model.trigger))}</span>")
        meta.append(f"<span>owner {escape(model.owner)}</span>")
        if model.holdout:
            meta.append(f'<span class="chip">holdout {model.holdout.percent:g}%</span>')
        if model.rollout:
            meta.append(f'<span class="chip">canary {model.rollout.percent:g}%</span>')
    description = (
        f'<p class="desc">{escape(model.description.strip())}</p>' if model and model.description else ""
    )
    verdict = ""
    if goal:
        ok = bool(goal.met)
        verdict = (
            f'<span class="pill {"ok" if ok else "warn"}">goal {"✔" if ok else "✘"} '
            f"{escape(_pct(_num(goal.actual)))} of {escape(_pct(_num(goal.target)))}</span>"
        )
    alarms = sum(1 for t in targets.values() if t.breached)
    if alarms:
        verdict += f'<span class="pill bad">{alarms} KPI alarm{"s" if alarms != 1 else ""}</span>'
    failed = view.failed_count(jid)
    if failed:
        verdict += (
            f'<a class="pill bad" href="#failures-{attr(_slug(jid))}">{failed:,} failed '
            f"step{'s' if failed != 1 else ''}</a>"
        )
    unconfirmed = _int(counts.get("unconfirmed"))
    if unconfirmed:
        verdict += (
            f'<a class="pill warn" href="#unconfirmed-{attr(_slug(jid))}">{unconfirmed:,} unconfirmed</a>'
        )
    stats = diagram.step_counts(view.results, jid)
    diagram_html = (
        diagram.journey_svg(model, stats, title=f"Journey map of {jid}")
        if model
        else '<p class="muted">The journey file was not given to the report.</p>'
    )
    return (
        f'<section class="journey card" id="journey-{attr(_slug(jid))}" data-journey="{attr(jid)}">'
        f'<div class="jhead"><div><h3>{escape(name)}</h3><div class="meta">{"".join(meta)}</div>'
        f'{description}</div><div class="verdicts">{verdict}</div></div>'
        '<div class="grid2">'
        f'<div class="panel"><h4>Funnel</h4>{funnel_chart(view, jid, counts, rates)}</div>'
        f'<div class="panel"><h4>Goal</h4>{goal_chart(view, jid, goal, model)}'
        f"<h4>KPIs</h4>{kpi_chart(view, jid, targets, model)}</div>"
        "</div>"
        '<div class="grid2 map">'
        f'<div class="panel"><h4>Journey map</h4><p class="hint">Badges count the runs that reached '
        f"each step.{' Red boxes failed for some of them.' if failed else ''}</p>"
        f'<div class="diagram-box">{diagram_html}</div></div>'
        f'<div class="panel"><h4>Sends by step</h4>{sends_chart(view, jid, model)}'
        f"<h4>Skip reasons</h4>{skip_chips(view, jid)}"
        f"<h4>How runs ended</h4>{outcome_chips(view, jid)}</div>"
        f"</div>{failed_table(view, jid, model)}{unconfirmed_table(view, jid)}</section>"
    )


def funnel_chart(
    view: ReportView, jid: str, counts: Mapping[str, int], rates: Mapping[str, float | None]
) -> str:
    values = {s: _num(counts.get(s)) or 0.0 for s in FUNNEL}
    outcomes = [(o, _num(counts.get(o)) or 0.0) for o in ("failed", "unconfirmed") if _num(counts.get(o))]
    user_top = max([values[s] for s in FUNNEL if s in _USER_STAGES] + [1])
    msg_top = max([values[s] for s in FUNNEL if s not in _USER_STAGES] + [v for _, v in outcomes] + [1])

    def rate_of(name: str) -> float | None:
        given = _num(rates.get(name))
        return given if given is not None else rate({k: _num(v) or 0 for k, v in counts.items()}, name)[0]

    entered = values["entered"]
    notes = {
        "eligible": (
            f"{_pct(values['eligible'] / values['triggered'])} of triggered" if values["triggered"] else ""
        ),
        "entered": f"reach {_pct(rate_of('reach_rate'))}"
        + (f" · {_count(_num(counts.get('held_out')))} held out" if _num(counts.get("held_out")) else ""),
        "sent": f"{values['sent'] / entered:.1f} per entrant" if entered else "",
        "delivered": f"delivery {_pct(rate_of('delivery_rate'))}",
        "opened": f"open {_pct(rate_of('open_rate'))}",
        "clicked": f"click {_pct(rate_of('click_rate'))}",
        "converted": f"conversion {_pct(rate_of('conversion_rate'))}",
    }
    label_w, bar_w, row_h = 86, 250, 28
    parts: list[str] = []
    y = 0
    for stage in FUNNEL:
        if stage == "sent":
            parts.append(f'<text class="group" x="0" y="{y + 14}">MESSAGES</text>')
            y += 20
        elif stage == "converted":
            parts.append(f'<text class="group" x="0" y="{y + 14}">GOAL</text>')
            y += 20
        elif stage == "triggered":
            parts.append(f'<text class="group" x="0" y="{y + 14}">USERS</text>')
            y += 20
        value = values[stage]
        top = user_top if stage in _USER_STAGES else msg_top
        w = value / top * bar_w if top else 0
        kind = "conv" if stage == "converted" else "user" if stage in _USER_STAGES else "msg"
        parts.append(
            f'<g class="stage-row" transform="translate(0 {y})">'
            f'<text class="lbl" x="0" y="17">{escape(stage)}</text>'
            f'<rect class="track" x="{label_w}" y="4" width="{bar_w}" height="18" rx="4"/>'
            f'<rect class="bar {kind}" data-stage="{stage}" data-value="{attr(_dv(counts.get(stage, 0)))}" '
            f'x="{label_w}" y="4" width="{coord(max(w, 2 if value else 0))}" height="18" rx="4">'
            f"<title>{escape(stage)}: {escape(_count(value))}</title></rect>"
            f'<text class="val" x="{coord(label_w + max(w, 0) + 6)}" y="17">{escape(_count(value))}</text>'
            f'<text class="note" x="{label_w + bar_w + 50}" y="17">{escape(notes.get(stage, ""))}</text></g>'
        )
        y += row_h
        if stage == "sent":  # what did not go out as sent, right under it
            for outcome, value in outcomes:
                w = value / msg_top * bar_w
                reconciled = _int(counts.get("reconciled"))
                note = (
                    f"send failure {_pct(rate_of('send_failure_rate'))}"
                    if outcome == "failed"
                    else "answer lost, not retried" + (f" · {reconciled:,} reconciled" if reconciled else "")
                )
                parts.append(
                    f'<g class="outcome-row" transform="translate(0 {y})">'
                    f'<text class="lbl {outcome}" x="8" y="17">↳ {outcome}</text>'
                    f'<rect class="track" x="{label_w}" y="4" width="{bar_w}" height="18" rx="4"/>'
                    f'<rect class="obar {outcome}" data-outcome="{outcome}" '
                    f'data-value="{attr(_dv(counts.get(outcome)))}" x="{label_w}" y="4" '
                    f'width="{coord(max(w, 2))}" height="18" rx="4">'
                    f"<title>{outcome}: {escape(_count(value))}</title></rect>"
                    f'<text class="val" x="{coord(label_w + w + 6)}" y="17">{escape(_count(value))}</text>'
                    f'<text class="note" x="{label_w + bar_w + 50}" y="17">{escape(note)}</text></g>'
                )
                y += row_h
    return (
        f'<svg class="funnel" data-journey="{attr(jid)}" viewBox="0 0 540 {y}" width="540" height="{y}">'
        f"{''.join(parts)}</svg>"
    )


def goal_chart(view: ReportView, jid: str, goal: Goal | None, model: Journey | None) -> str:
    if not goal:
        return '<p class="muted">This journey has no goal.</p>'
    actual = _num(goal.actual)
    target = _num(goal.target)
    baseline = _num(goal.baseline)
    holdout = _num(goal.holdout_actual)
    lift = _num(goal.lift)
    met = bool(goal.met)
    top = min(1.0, max([v for v in (actual, target, baseline, holdout) if v is not None] + [0.01]) * 1.3)
    label_w, bar_w, row_h = 86, 300, 30
    rows = [("entrants", actual, "ok" if met else "warn")]
    if holdout is not None:
        rows.append(("holdout", holdout, "hold"))
    parts: list[str] = []
    y0 = 18
    for i, (label, value, cls) in enumerate(rows):
        y = y0 + i * row_h
        w = (value or 0) / top * bar_w
        parts.append(
            f'<text class="lbl" x="0" y="{y + 17}">{label}</text>'
            f'<rect class="track" x="{label_w}" y="{y + 4}" width="{bar_w}" height="18" rx="4"/>'
            f'<rect class="bar {cls}" data-series="{label}" data-value="{attr(_dv(value))}" x="{label_w}" '
            f'y="{y + 4}" width="{coord(w)}" height="18" rx="4"/>'
            f'<text class="val" x="{label_w + bar_w + 10}" y="{y + 17}">{escape(_pct(value))}</text>'
        )
    bottom = y0 + len(rows) * row_h
    for cls, value, text in (("baseline", baseline, "baseline"), ("target", target, "target")):
        if value is None:
            continue
        mx = label_w + value / top * bar_w
        ty = y0 - 6 if cls == "target" else bottom + 10
        parts.append(
            f'<line class="marker {cls}" data-value="{attr(_dv(value))}" x1="{coord(mx)}" x2="{coord(mx)}" '
            f'y1="{y0 - 2}" y2="{bottom - 2}"/><text class="mlbl {cls}" x="{coord(mx)}" y="{ty}" '
            f'text-anchor="middle">{text} {escape(_pct(value))}</text>'
        )
    svg = (
        f'<svg class="goal" data-journey="{attr(jid)}" data-actual="{attr(_dv(goal.actual))}" '
        f'data-target="{attr(_dv(goal.target))}" data-baseline="{attr(_dv(goal.baseline))}" '
        f'data-holdout="{attr(_dv(goal.holdout_actual))}" data-lift="{attr(_dv(goal.lift))}" '
        f'data-met="{_dv(met)}" viewBox="0 0 540 {bottom + 14}" width="540" height="{bottom + 14}">'
        f"{''.join(parts)}</svg>"
    )
    metric = model.goal.metric if model and model.goal and model.goal.metric else None
    lift_text = (
        f'<span class="lift {"up" if lift >= 0 else "down"}">{"+" if lift >= 0 else "−"}'
        f"{abs(lift) * 100:.1f} pts vs holdout</span>"
        if lift is not None
        else ""
    )
    return (
        f'<div class="goal-head"><b class="big {"ok" if met else "warn"}">{escape(_pct(actual))}</b>'
        f"<span>{'✔ met' if met else '✘ not met'} · target {escape(_pct(target))}"
        f"{f' · baseline {escape(_pct(baseline))}' if baseline is not None else ''}</span>{lift_text}</div>"
        f'<div class="muted small">{escape(goal.event)} within {escape(goal.within)}'
        f"{f' — {escape(metric)}' if metric else ''}{_goal_counts(goal)}</div>{svg}"
    )


def _goal_counts(goal: Goal) -> str:
    """``5 of 42 entrants converted · holdout 0 of 4`` when the results carry the counts."""
    entered, converted = _num(goal.entered), _num(goal.converted)
    if entered is None or converted is None:
        return ""
    text = f"<br>{_count(converted)} of {_count(entered)} entrants converted"
    held = _num(goal.holdout_entered)
    share = _num(goal.holdout_actual)
    if held:
        text += f" · holdout {_pct(share)} of {_count(held)}"
    return text


def kpi_chart(view: ReportView, jid: str, targets: Mapping[str, Target], model: Journey | None) -> str:
    if not targets:
        return '<p class="muted">No KPI targets.</p>'
    label_w, bar_w, row_h = 118, 250, 46
    parts: list[str] = []
    for i, (name, t) in enumerate(targets.items()):
        y = i * row_h
        value = _num(t.value)
        given = {"target": t.target, "floor": t.floor, "ceiling": t.ceiling}
        marks = {k: _num(v) for k, v in given.items()}
        known = [v for v in (value, *marks.values()) if v is not None]
        top = max([*known, 1e-9]) * 1.3
        if name not in COUNT_KPIS:
            top = min(top, 1.0)
        cls, symbol, words = view.verdict(t)
        w = (value or 0) / top * bar_w
        sample = _int(t.sample)
        min_sample = model.kpis[name].min_sample if model and name in model.kpis else None
        low = min_sample is not None and sample < min_sample
        inner = [
            f'<text class="lbl" x="0" y="22">{escape(_words(name))}</text>',
            f'<rect class="track" x="{label_w}" y="12" width="{bar_w}" height="14" rx="3"/>',
            f'<rect class="bar {cls}" data-value="{attr(_dv(t.value))}" x="{label_w}" y="12" '
            f'width="{coord(w)}" height="14" rx="3"/>',
        ]
        for kind, mark in marks.items():
            if mark is None:
                continue
            mx = label_w + mark / top * bar_w
            ty = 8 if kind == "target" else 40
            inner.append(
                f'<line class="marker {kind}" data-value="{attr(_dv(given[kind]))}" x1="{coord(mx)}" '
                f'x2="{coord(mx)}" y1="7" y2="31"/><text class="mlbl {kind}" x="{coord(mx)}" y="{ty}" '
                f'text-anchor="middle">{kind} {escape(_kpi_text(name, mark))}</text>'
            )
        inner.append(
            f'<text class="val" x="{label_w + bar_w + 12}" y="23">{escape(_kpi_text(name, value))}</text>'
            f'<text class="verdict {cls}" x="{label_w + bar_w + 78}" y="23">{symbol} {words}</text>'
            f'<text class="sample{" low" if low else ""}" x="{label_w + bar_w + 12}" y="38">n={sample:,}'
            f"{' < min ' + str(min_sample) if low else ''}</text>"
        )
        parts.append(
            f'<g class="kpi" data-kpi="{attr(name)}" data-value="{attr(_dv(t.value))}" '
            f'data-met="{_dv(bool(t.met))}" data-breached="{_dv(t.breached)}" '
            f'transform="translate(0 {y})">{"".join(inner)}</g>'
        )
    height = len(targets) * row_h
    return (
        f'<svg class="kpis" data-journey="{attr(jid)}" viewBox="0 0 540 {height}" width="540" '
        f'height="{height}">{"".join(parts)}</svg>'
    )
