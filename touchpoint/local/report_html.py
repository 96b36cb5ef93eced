"""The simulator's HTML report: ``render(results, journeys)`` → one self-contained HTML page.

``results`` is the ``touchpoint simulate --json`` contract (docs/simulation.md). The page has no
script and loads nothing: CSS and SVG charts are inline, the Content-Security-Policy forbids every
fetch, and it opens from a mail attachment or a CI artefact as well as from disk. Every value from
the results or the journeys (user ids, template names, reasons, event payloads) is escaped.

Stable hooks for tests and tools: ``section#overview``, ``section#messages-per-day``,
``section#journey-<id>`` (``data-journey``), ``section#campaign-<id>``, ``section#timeline-<user>``
(``data-user``), ``section#rejected``; charts are ``svg.funnel|goal|kpis|sends|daily|timeline-chart|
aws|rejected-chart|stages|diagram`` with ``data-*`` attributes carrying the exact input numbers.

Failed steps (caught by the Task, recorded, the run goes on: docs/decisions.md D6) are read from
the trace: ``div#failures-<id>`` per journey (``data-count``; a ``tr.failure`` per failure, with
``data-user|step|at|error``), ``div#unconfirmed-<id>`` when a provider's answer was lost, and
``li.failure`` rows in the test users' timelines. Causes are shown with addresses and numbers
masked (``touchpoint.logs.redact``)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from touchpoint.compiler.graph import trigger_text
from touchpoint.conditions import parse_time
from touchpoint.engine.kpi import FUNNEL
from touchpoint.journey.model import COUNT_KPIS, Journey, SendStep
from touchpoint.journey.steps import resolve, walk
from touchpoint.local import diagram
from touchpoint.local.terminal import RECONCILED, UNCONFIRMED, Failure, failures, top_reasons
from touchpoint.metrics import rate

_USER_STAGES = frozenset({"triggered", "eligible", "entered", "converted"})
STAGE_ORDER: tuple[str, ...] = ("warm-up", "launch", "sustain", "review")
AWS_METRICS: tuple[tuple[str, str], ...] = (
    ("state_transitions", "Step Functions state transitions"),
    ("lambda_invocations", "Lambda invocations"),
    ("dynamodb_requests", "DynamoDB requests"),
    ("events_put", "EventBridge events"),
    ("ses_messages", "SES emails"),
    ("sms_messages", "SMS messages"),
)
CHANNEL_COLOURS = {"email": "#3b82f6", "sms": "#10b981"}
_OTHER_COLOUR = "#a855f7"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # only for results without a scenario or any message
FAILED_COLOUR = "#dc2626"
#: Rows of a journey's failed-steps table; the rest are counted (all of them are in the JSON trace).
MAX_FAILURE_ROWS = 50


def render(
    results: Mapping[str, Any],
    journeys: Mapping[str, Journey],
    *,
    scripted_users: Sequence[str] | None = None,
    title: str = "Touchpoint simulation report",
) -> str:
    """The report for one simulation run.

    ``scripted_users`` are the users whose timelines are drawn; by default
    ``results["scenario"]["scripted_users"]``, else the journeys' ``rollout.test_users`` that
    appear in the results."""
    return _Report(results, journeys, scripted_users, title).html()


# --------------------------------------------------------------------------- formatting


def _e(value: object) -> str:
    return html.escape(str(value), quote=False)


def _a(value: object) -> str:
    return html.escape(str(value), quote=True)


def _dv(value: object) -> str:
    """A number as a ``data-value``: exactly what the JSON held (ints stay ints)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _n(value: float) -> str:
    text = f"{round(value, 1):.1f}"
    return text[:-2] if text.endswith(".0") else text


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    text = f"{value * 100:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def _count(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _usd(value: float | None) -> str:
    if value is None:
        return "–"
    return f"${value:,.4f}" if 0 < abs(value) < 0.1 else f"${value:,.2f}"


def _md(day: dt.date) -> str:
    """``Dec 5`` (strftime's ``%-d`` is not portable)."""
    return f"{day:%b} {day.day}"


def _kpi_text(name: str, value: float | None) -> str:
    return _count(value) if name in COUNT_KPIS else _pct(value)


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: object) -> int:
    number = _num(value)
    return int(number) if number is not None else 0


def _slug(value: str) -> str:
    """An element id part: the value itself, whitespace made ``_`` (ids may not hold spaces)."""
    return re.sub(r"\s", "_", value)


def _parse(value: object) -> dt.datetime | None:
    return parse_time(value) if isinstance(value, str) else None


def _label_width(text: str, size: float) -> float:
    return diagram.text_width(text, size)


def _words(name: str) -> str:
    return name.replace("_", " ")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Message:
    index: int
    user: str
    journey: str
    step: str
    channel: str
    template: str
    status: str
    reason: str | None
    at: str
    when: dt.datetime | None


@dataclass(frozen=True)
class _Deferral:
    user: str
    journey: str
    step: str
    reason: str
    at: dt.datetime
    until: dt.datetime | None


class _Report:
    def __init__(
        self,
        results: Mapping[str, Any],
        journeys: Mapping[str, Journey],
        scripted: Sequence[str] | None,
        title: str,
    ) -> None:
        self.results = results
        self.models = journeys
        self.title = title
        self.scenario: Mapping[str, Any] = results.get("scenario") or {}
        self.data: Mapping[str, Any] = results.get("journeys") or {}
        self.messages = [
            _Message(
                i,
                str(m.get("user_id", "")),
                str(m.get("journey_id", "")),
                str(m.get("step_id", "")),
                str(m.get("channel", "")),
                str(m.get("template", "")),
                str(m.get("status", "")),
                None if m.get("reason") is None else str(m.get("reason")),
                str(m.get("at", "")),
                _parse(m.get("at")),
            )
            for i, m in enumerate(results.get("messages") or ())
        ]
        self.executions: list[Mapping[str, Any]] = list(results.get("executions") or ())
        zones = {j.timezone for j in journeys.values()}
        self.zone_name = zones.pop() if len(zones) == 1 else "UTC"
        self.zone = ZoneInfo(self.zone_name)
        times = [m.when for m in self.messages if m.when]
        self.start = _parse(self.scenario.get("start")) or (min(times) if times else _EPOCH)
        self.end = _parse(self.scenario.get("end")) or (max(times) if times else self.start)
        if self.end <= self.start:
            self.end = self.start + dt.timedelta(days=1)
        self.scripted = self._scripted(scripted)
        self.deferrals = [
            _Deferral(
                str(t.get("user_id", "")),
                str(t.get("journey_id", "")),
                str((t.get("detail") or {}).get("step_id", "")),
                str((t.get("detail") or {}).get("reason", "")),
                when,
                _parse((t.get("detail") or {}).get("until")),
            )
            for t in results.get("trace") or ()
            if t.get("kind") == "deferral" and (when := _parse(t.get("at")))
        ]
        self.deferred = self._match_deferrals()
        self.failures: list[Failure] = failures(results)

    def _scripted(self, given: Sequence[str] | None) -> list[str]:
        if given is not None:
            return list(given)
        listed = self.scenario.get("scripted_users")
        if isinstance(listed, list):
            return [str(u) for u in listed]
        present = {m.user for m in self.messages}
        wanted = sorted({u for j in self.models.values() if j.rollout for u in j.rollout.test_users})
        return [u for u in wanted if u in present]

    # ------------------------------------------------------------------ time helpers

    def local(self, when: dt.datetime) -> dt.datetime:
        return when.astimezone(self.zone)

    def days(self) -> list[dt.date]:
        first = self.local(self.start).date()
        last = self.local(self.end - dt.timedelta(microseconds=1)).date()
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    def stamp(self, when: dt.datetime | None) -> str:
        return f"{_md(self.local(when))} {self.local(when):%H:%M}" if when else "–"

    # ------------------------------------------------------------------ page

    def html(self) -> str:
        journeys_html = self.journeys_section()
        body = "".join(
            [
                self.header(),
                '<main class="wrap">',
                self.overview(),
                self.daily(),
                journeys_html,
                self.timelines(),
                self.rejected(),
                '<footer class="foot">Generated by <code>touchpoint simulate</code> · times in ',
                _e(self.zone_name),
                " · the same scenario and seed give the same report</footer>",
                "</main>",
            ]
        )
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'; img-src data:\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(self.title)}</title><style>{_CSS}{diagram.CSS}</style></head>"
            f"<body>{body}</body></html>\n"
        )

    def header(self) -> str:
        first, last = self.days()[0], self.days()[-1]
        span = f"{_md(first)}, {first.year} → {_md(last)}, {last.year}"
        nav = [("overview", "Overview"), ("messages-per-day", "Messages"), ("journeys", "Journeys")]
        if self.scripted:
            nav.append(("timelines", "Test users"))
        nav.append(("rejected", "Rejected events"))
        links = "".join(f'<a href="#{k}">{_e(v)}</a>' for k, v in nav)
        facts = [
            ("Period", f"{span} ({len(self.days())} days, {self.zone_name})"),
            ("Seed", _count(_num(self.scenario.get("seed")))),
            ("Users", _count(_num(self.scenario.get("users")))),
            ("Journeys", str(len(self.data))),
        ]
        fact_html = "".join(
            f'<div class="fact" data-fact="{_a(k.lower())}"><span>{_e(k)}</span><b>{_e(v)}</b></div>'
            for k, v in facts
        )
        return (
            f'<header class="top"><div class="wrap"><div class="brand"><span class="logo">◆</span>'
            f"Touchpoint <span>simulation report</span></div><h1>{_e(self.title)}</h1>"
            f'<div class="facts" id="scenario" data-start="{_a(self.scenario.get("start", ""))}" '
            f'data-end="{_a(self.scenario.get("end", ""))}" data-seed="{_a(_dv(self.scenario.get("seed")))}" '
            f'data-users="{_a(_dv(self.scenario.get("users")))}">{fact_html}</div>'
            f"<nav>{links}</nav></div></header>"
        )

    # ------------------------------------------------------------------ overview

    def overview(self) -> str:
        aws: Mapping[str, Any] = self.results.get("aws") or {}
        totals: Counter[str] = Counter()
        for data in self.data.values():
            counts = (data.get("kpis") or {}).get("counts") or {}
            for key in ("entered", "converted", "failed"):
                totals[key] += _int(counts.get(key))
        sent = sum(1 for m in self.messages if m.status == "sent")
        skipped = sum(1 for m in self.messages if m.status == "skipped")
        failed = totals["failed"]
        cost = _num(aws.get("estimated_cost_usd"))
        per_1000 = _num(aws.get("cost_per_1000_user_journeys_usd"))
        tiles = [
            ("users", "Users", _count(_num(self.scenario.get("users"))), "simulated profiles", None),
            (
                "entered",
                "Journey entries",
                _count(totals["entered"]),
                f"{len(self.executions):,} executions",
                None,
            ),
            ("sent", "Messages sent", _count(sent), self._channel_split("sent"), None),
            ("skipped", "Skipped", _count(skipped), self._top_reason(), None),
            ("failed", "Failed sends", _count(failed), self._top_failure(), failed),
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
            + (f' data-value="{_a(_dv(v))}"' if v is not None else "")
            + f'><span class="lbl">{_e(label)}</span><b>{_e(big)}</b><small>{_e(small)}</small></div>'
            for k, label, big, small, v in tiles
        )
        return (
            '<section id="overview" class="block"><h2>Overview</h2>'
            f'<div class="tiles">{tile_html}</div>'
            '<div class="grid2 wide-left">'
            f'<div class="card"><h3>Journeys at a glance</h3>{self.scorecard()}</div>'
            f'<div class="card"><h3>AWS usage and cost</h3>{self.aws_chart(aws)}</div>'
            "</div></section>"
        )

    def _channel_split(self, status: str) -> str:
        counts = Counter(m.channel for m in self.messages if m.status == status)
        return " · ".join(f"{counts[c]:,} {c}" for c in sorted(counts)) or "none"

    def _top_failure(self) -> str:
        """The most frequent error of the failed steps, and the unconfirmed sends apart."""
        errors = Counter(f.error for f in self.failures)
        parts = []
        if errors:
            error, n = sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            parts.append(f"most: {error} ({n:,})")
        unconfirmed = sum(1 for m in self.messages if m.status == "sent_unconfirmed")
        if unconfirmed:
            parts.append(f"{unconfirmed:,} unconfirmed")
        return " · ".join(parts) or "none"

    def _top_reason(self) -> str:
        reasons = Counter(m.reason or "unknown" for m in self.messages if m.status == "skipped")
        if not reasons:
            return "none"
        reason, n = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        return f"most: {reason} ({n:,})"

    def scorecard(self) -> str:
        rows = []
        for jid in self.ordered_journeys():
            data = self.data[jid]
            counts = (data.get("kpis") or {}).get("counts") or {}
            targets = (data.get("kpis") or {}).get("targets") or {}
            goal = data.get("goal") or {}
            model = self.models.get(jid)
            name = data.get("name") or (model.name if model else jid)
            marks = "".join(
                f'<span class="mark {v[0]}" title="{_a(_words(k))}: {v[2]}">{v[1]}</span>'
                for k, t in targets.items()
                for v in [self._verdict(t)]
            )
            goal_cell = self._mini_goal(goal) if goal else '<span class="muted">no goal</span>'
            stage = self._campaign(jid)
            chip = f'<span class="chip stage">{_e(stage[1])}</span>' if stage else ""
            failed = self._failed_count(jid)
            if failed:
                chip += f' <span class="chip failed" data-failed="{failed}">{failed:,} failed</span>'
            rows.append(
                f'<tr data-journey="{_a(jid)}"><td><a href="#journey-{_a(_slug(jid))}">{_e(name)}</a>'
                f'<div class="muted mono">{_e(jid)} {chip}</div></td>'
                f'<td class="num">{_count(_int(counts.get("entered")))}</td>'
                f'<td class="num">{_count(_int(counts.get("sent")))}</td>'
                f"<td>{goal_cell}</td><td>{marks}</td></tr>"
            )
        return (
            '<table class="scorecard"><thead><tr><th>Journey</th><th class="num">Entered</th>'
            '<th class="num">Sent</th><th>Goal: actual vs target</th><th>KPIs</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    def _failed_count(self, jid: str) -> int:
        """Failed steps of a journey: the trace's (sends and others), at least the KPI count."""
        counts = ((self.data.get(jid) or {}).get("kpis") or {}).get("counts") or {}
        return max(_int(counts.get("failed")), sum(1 for f in self.failures if f.journey_id == jid))

    def _mini_goal(self, goal: Mapping[str, Any]) -> str:
        actual, target = _num(goal.get("actual")), _num(goal.get("target"))
        top = max(v for v in (actual or 0, target or 0, _num(goal.get("baseline")) or 0, 0.01)) * 1.25
        w = 84
        bar = (actual or 0) / top * w
        cls = "ok" if goal.get("met") else "bad"
        tx = (target or 0) / top * w
        return (
            f'<span class="mini"><svg class="mini-goal" width="{w}" height="18" viewBox="0 0 {w} 18">'
            f'<rect class="track" x="0" y="5" width="{w}" height="8" rx="4"/>'
            f'<rect class="fill {cls}" x="0" y="5" width="{_n(bar)}" height="8" rx="4"/>'
            f'<line class="tmark" x1="{_n(tx)}" x2="{_n(tx)}" y1="1" y2="17"/></svg>'
            f"<b>{_e(_pct(actual))}</b>"
            f'<span class="muted small">/ {_e(_pct(target))}</span></span>'
        )

    def aws_chart(self, aws: Mapping[str, Any]) -> str:
        rows = [(k, label, _num(aws.get(k))) for k, label in AWS_METRICS]
        top = max([v or 0 for _, _, v in rows] + [1])
        label_w, bar_w, row_h = 196, 170, 26
        parts = []
        for i, (key, label, value) in enumerate(rows):
            y = i * row_h
            w = (value or 0) / top * bar_w
            parts.append(
                f'<g class="aws-bar" data-metric="{key}" data-value="{_a(_dv(aws.get(key)))}" '
                f'transform="translate(0 {y})"><text class="lbl" x="0" y="15">{_e(label)}</text>'
                f'<rect class="track" x="{label_w}" y="4" width="{bar_w}" height="14" rx="3"/>'
                f'<rect class="bar" x="{label_w}" y="4" width="{_n(max(w, 1.5))}" height="14" rx="3"/>'
                f'<text class="val" x="{_n(label_w + bar_w + 8)}" y="15">{_e(_count(value))}</text></g>'
            )
        height = len(rows) * row_h
        svg = (
            f'<svg class="aws" viewBox="0 0 430 {height}" width="430" height="{height}">'
            f"{''.join(parts)}</svg>"
        )
        requests = aws.get("requests") or {}
        req = " · ".join(f"{_e(k)} {_count(_num(v))}" for k, v in sorted(requests.items()))
        cost = _num(aws.get("estimated_cost_usd"))
        per = _num(aws.get("cost_per_1000_user_journeys_usd"))
        return (
            f'{svg}<div class="costs"><div class="cost" data-metric="estimated_cost_usd" '
            f'data-value="{_a(_dv(aws.get("estimated_cost_usd")))}"><b>{_e(_usd(cost))}</b>'
            f'<span>estimated for the run</span></div><div class="cost" '
            f'data-metric="cost_per_1000_user_journeys_usd" '
            f'data-value="{_a(_dv(aws.get("cost_per_1000_user_journeys_usd")))}"><b>{_e(_usd(per))}</b>'
            f"<span>per 1,000 user-journeys</span></div></div>"
            + (f'<p class="muted small">API requests: {req}</p>' if req else "")
        )

    # ------------------------------------------------------------------ messages per day

    def daily(self) -> str:
        days = self.days()
        index = {d: i for i, d in enumerate(days)}
        channels = sorted({m.channel for m in self.messages})
        cells: Counter[tuple[int, str, str]] = Counter()
        for m in self.messages:
            if m.when is None or m.status not in ("sent", "skipped"):
                continue
            slot_of = index.get(self.local(m.when).date())
            if slot_of is not None:
                cells[(slot_of, m.channel, m.status)] += 1
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
                f'y1="{_n(y)}" y2="{_n(y)}"/><text class="axis" x="{left - 6}" y="{_n(y + 4)}" '
                f'text-anchor="end">{value}</text>'
            )
        if down and down * scale >= 14:
            y = zero + down * scale
            parts.append(
                f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_n(y)}" y2="{_n(y)}"/>'
                f'<text class="axis" x="{left - 6}" y="{_n(y + 4)}" text-anchor="end">{down}</text>'
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
                        f'data-channel="{_a(channel)}" '
                        f'data-status="{status}" data-value="{value}" x="{_n(x)}" y="{_n(y)}" '
                        f'width="{_n(bar_w)}" height="{_n(h)}" fill="{_colour(channel)}">'
                        f"<title>{_md(day)}: {value} {_e(channel)} {status}</title></rect>"
                    )
            if d % 2 == 0 or len(days) <= 16:
                parts.append(
                    f'<text class="axis" x="{_n(left + d * slot + slot / 2)}" y="{_n(low + 14)}" '
                    f'text-anchor="middle">{day.day}</text>'
                )
            if day.day == 1 or d == 0:
                parts.append(
                    f'<text class="axis month" x="{_n(left + d * slot + slot / 2)}" y="{_n(low + 29)}" '
                    f'text-anchor="middle">{day:%b}</text>'
                )
        legend = "".join(
            f'<span class="key"><i style="background:{_colour(c)}"></i>{_e(c)} sent</span>'
            f'<span class="key"><i class="hatch" style="background:{_colour(c)}"></i>{_e(c)} skipped</span>'
            for c in channels
        )
        return (
            '<section id="messages-per-day" class="block"><h2>Messages per day</h2><div class="card">'
            f'<div class="legend">{legend}<span class="muted small">sent above the line, skipped below · '
            f"days in {_e(self.zone_name)}</span></div>"
            f'<svg class="daily" viewBox="0 0 {width} {_n(height)}" width="100%" '
            f'preserveAspectRatio="xMidYMid meet">{_HATCH}{"".join(parts)}</svg></div></section>'
        )

    # ------------------------------------------------------------------ journeys

    def _campaign(self, jid: str) -> tuple[str, str, str] | None:
        """(campaign id, stage, date) from the results, else from the journey file."""
        data = self.data.get(jid) or {}
        campaign = data.get("campaign")
        if isinstance(campaign, Mapping) and campaign.get("id"):
            return str(campaign["id"]), str(campaign.get("stage", "")), str(campaign.get("date", ""))
        model = self.models.get(jid)
        if model and model.campaign:
            c = model.campaign
            return c.id, c.stage, c.date.isoformat()
        return None

    def ordered_journeys(self) -> list[str]:
        """Standalone journeys by id, then each campaign's stages in plan order."""
        alone = sorted(j for j in self.data if self._campaign(j) is None)
        staged = sorted(
            (j for j in self.data if self._campaign(j) is not None),
            key=lambda j: (
                (self._campaign(j) or ("", "", ""))[0],
                _stage_rank((self._campaign(j) or ("", "", ""))[1]),
                j,
            ),
        )
        return alone + staged

    def journeys_section(self) -> str:
        parts = ['<section id="journeys" class="block"><h2>Journeys</h2>']
        campaigns: dict[str, list[str]] = defaultdict(list)
        for jid in self.ordered_journeys():
            campaign = self._campaign(jid)
            if campaign is None:
                parts.append(self.journey(jid))
            else:
                campaigns[campaign[0]].append(jid)
        for cid, members in campaigns.items():
            parts.append(self.campaign(cid, members))
        parts.append("</section>")
        return "".join(parts)

    def campaign(self, cid: str, members: list[str]) -> str:
        date = (self._campaign(members[0]) or ("", "", ""))[2]
        return (
            f'<section class="campaign" id="campaign-{_a(_slug(cid))}" data-campaign="{_a(cid)}">'
            f'<div class="camp-head"><span class="chip camp">campaign</span><h2>{_e(cid)}</h2>'
            f'<span class="muted">event date {_e(date)} · {len(members)} stage'
            f"{'s' if len(members) != 1 else ''}</span></div>"
            f'<div class="card">{self.stage_strip(cid, date, members)}</div>'
            + "".join(self.journey(j) for j in members)
            + "</section>"
        )

    def stage_strip(self, cid: str, date: str, members: list[str]) -> str:
        windows: list[tuple[str, str, dt.datetime, dt.datetime]] = []
        for jid in members:
            model = self.models.get(jid)
            entries = [
                t
                for e in self.executions
                if e.get("journey_id") == jid and (t := _parse(e.get("entered_at")))
            ]
            ends = [
                t for e in self.executions if e.get("journey_id") == jid and (t := _parse(e.get("ended_at")))
            ]
            eff = model.effective if model else None
            begin = (eff.from_ if eff and eff.from_ else None) or (min(entries) if entries else self.start)
            finish = (eff.until if eff and eff.until else None) or (max(ends) if ends else begin)
            if finish <= begin:
                finish = begin + dt.timedelta(days=1)
            windows.append((jid, (self._campaign(jid) or ("", "", ""))[1], begin, finish))
        event_day = None
        try:
            day = dt.date.fromisoformat(date)
            event_day = dt.datetime(day.year, day.month, day.day, tzinfo=self.zone)
        except ValueError:
            pass
        lo = min([w[2] for w in windows] + ([event_day] if event_day else []))
        hi = max([w[3] for w in windows] + ([event_day + dt.timedelta(days=1)] if event_day else []))
        lo = self.local(lo).replace(hour=0, minute=0, second=0, microsecond=0)
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
                f'<line class="grid" x1="{_n(x(t))}" x2="{_n(x(t))}" y1="{top - 4}" '
                f'y2="{top + len(windows) * row_h}"/>'
                f'<text class="axis" x="{_n(x(t) + 3)}" y="12">{_md(self.local(t))}</text>'
            )
        for i, (jid, stage, begin, finish) in enumerate(windows):
            y = top + i * row_h
            entered = _int(((self.data.get(jid) or {}).get("kpis") or {}).get("counts", {}).get("entered"))
            parts.append(
                f'<g class="stage" data-journey="{_a(jid)}" data-stage="{_a(stage)}">'
                f'<text class="lbl" x="0" y="{y + 18}">{_e(stage)}</text>'
                f'<text class="lbl mono muted" x="70" y="{y + 18}">{_e(jid)}</text>'
                f'<rect class="stage-bar s-{_a(_slug(stage))}" x="{_n(x(begin))}" y="{y + 5}" '
                f'width="{_n(max(x(finish) - x(begin), 6))}" height="{row_h - 10}" rx="5"/>'
                f'<text class="in-bar" x="{_n(x(begin) + 8)}" y="{y + 19}">{entered:,} entered</text></g>'
            )
        if event_day:
            ex = x(event_day)
            parts.append(
                f'<line class="event-day" x1="{_n(ex)}" x2="{_n(ex)}" y1="{top - 6}" '
                f'y2="{top + len(windows) * row_h}"/><text class="event-day-lbl" x="{_n(ex + 4)}" '
                f'y="{top + len(windows) * row_h + 14}">event day</text>'
            )
        height = top + len(windows) * row_h + 22
        return (
            f'<svg class="stages" data-campaign="{_a(cid)}" viewBox="0 0 {width} {height}" width="100%">'
            f"{''.join(parts)}</svg>"
        )

    def journey(self, jid: str) -> str:
        data = self.data[jid]
        model = self.models.get(jid)
        name = str(data.get("name") or (model.name if model else jid))
        kpis = data.get("kpis") or {}
        counts: Mapping[str, Any] = kpis.get("counts") or {}
        rates: Mapping[str, Any] = kpis.get("rates") or {}
        targets: Mapping[str, Any] = kpis.get("targets") or {}
        goal: Mapping[str, Any] | None = data.get("goal")
        meta = [f'<span class="mono">{_e(jid)}</span>']
        campaign = self._campaign(jid)
        if campaign:
            meta.append(f'<span class="chip stage">{_e(campaign[1])}</span>')
        if model:
            meta.append(f"<span>{_e(trigger_text(model.trigger))}</span>")
            meta.append(f"<span>owner {_e(model.owner)}</span>")
            if model.holdout:
                meta.append(f'<span class="chip">holdout {model.holdout.percent:g}%</span>')
            if model.rollout:
                meta.append(f'<span class="chip">canary {model.rollout.percent:g}%</span>')
        description = (
            f'<p class="desc">{_e(model.description.strip())}</p>' if model and model.description else ""
        )
        verdict = ""
        if goal:
            ok = bool(goal.get("met"))
            verdict = (
                f'<span class="pill {"ok" if ok else "warn"}">goal {"✔" if ok else "✘"} '
                f"{_e(_pct(_num(goal.get('actual'))))} of {_e(_pct(_num(goal.get('target'))))}</span>"
            )
        alarms = sum(1 for t in targets.values() if isinstance(t, Mapping) and t.get("breached"))
        if alarms:
            verdict += f'<span class="pill bad">{alarms} KPI alarm{"s" if alarms != 1 else ""}</span>'
        failed = self._failed_count(jid)
        if failed:
            verdict += (
                f'<a class="pill bad" href="#failures-{_a(_slug(jid))}">{failed:,} failed '
                f"step{'s' if failed != 1 else ''}</a>"
            )
        unconfirmed = _int(counts.get("unconfirmed"))
        if unconfirmed:
            verdict += (
                f'<a class="pill warn" href="#unconfirmed-{_a(_slug(jid))}">{unconfirmed:,} unconfirmed</a>'
            )
        stats = diagram.step_counts(self.results, jid)
        diagram_html = (
            diagram.journey_svg(model, stats, title=f"Journey map of {jid}")
            if model
            else '<p class="muted">The journey file was not given to the report.</p>'
        )
        return (
            f'<section class="journey card" id="journey-{_a(_slug(jid))}" data-journey="{_a(jid)}">'
            f'<div class="jhead"><div><h3>{_e(name)}</h3><div class="meta">{"".join(meta)}</div>'
            f'{description}</div><div class="verdicts">{verdict}</div></div>'
            '<div class="grid2">'
            f'<div class="panel"><h4>Funnel</h4>{self.funnel(jid, counts, rates)}</div>'
            f'<div class="panel"><h4>Goal</h4>{self.goal(jid, goal, model)}'
            f"<h4>KPIs</h4>{self.kpis(jid, targets, model)}</div>"
            "</div>"
            '<div class="grid2 map">'
            f'<div class="panel"><h4>Journey map</h4><p class="hint">Badges count the runs that reached '
            f"each step.{' Red boxes failed for some of them.' if failed else ''}</p>"
            f'<div class="diagram-box">{diagram_html}</div></div>'
            f'<div class="panel"><h4>Sends by step</h4>{self.sends(jid, model)}'
            f"<h4>Skip reasons</h4>{self.skip_reasons(jid)}"
            f"<h4>How runs ended</h4>{self.outcomes(jid)}</div>"
            f"</div>{self.failed_steps(jid, model)}{self.unconfirmed(jid)}</section>"
        )

    def funnel(self, jid: str, counts: Mapping[str, Any], rates: Mapping[str, Any]) -> str:
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
                f"{_pct(values['eligible'] / values['triggered'])} of triggered"
                if values["triggered"]
                else ""
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
                f'<text class="lbl" x="0" y="17">{_e(stage)}</text>'
                f'<rect class="track" x="{label_w}" y="4" width="{bar_w}" height="18" rx="4"/>'
                f'<rect class="bar {kind}" data-stage="{stage}" data-value="{_a(_dv(counts.get(stage, 0)))}" '
                f'x="{label_w}" y="4" width="{_n(max(w, 2 if value else 0))}" height="18" rx="4">'
                f"<title>{_e(stage)}: {_e(_count(value))}</title></rect>"
                f'<text class="val" x="{_n(label_w + max(w, 0) + 6)}" y="17">{_e(_count(value))}</text>'
                f'<text class="note" x="{label_w + bar_w + 50}" y="17">{_e(notes.get(stage, ""))}</text></g>'
            )
            y += row_h
            if stage == "sent":  # what did not go out as sent, right under it
                for outcome, value in outcomes:
                    w = value / msg_top * bar_w
                    reconciled = _int(counts.get("reconciled"))
                    note = (
                        f"send failure {_pct(rate_of('send_failure_rate'))}"
                        if outcome == "failed"
                        else "answer lost, not retried"
                        + (f" · {reconciled:,} reconciled" if reconciled else "")
                    )
                    parts.append(
                        f'<g class="outcome-row" transform="translate(0 {y})">'
                        f'<text class="lbl {outcome}" x="8" y="17">↳ {outcome}</text>'
                        f'<rect class="track" x="{label_w}" y="4" width="{bar_w}" height="18" rx="4"/>'
                        f'<rect class="obar {outcome}" data-outcome="{outcome}" '
                        f'data-value="{_a(_dv(counts.get(outcome)))}" x="{label_w}" y="4" '
                        f'width="{_n(max(w, 2))}" height="18" rx="4">'
                        f"<title>{outcome}: {_e(_count(value))}</title></rect>"
                        f'<text class="val" x="{_n(label_w + w + 6)}" y="17">{_e(_count(value))}</text>'
                        f'<text class="note" x="{label_w + bar_w + 50}" y="17">{_e(note)}</text></g>'
                    )
                    y += row_h
        return (
            f'<svg class="funnel" data-journey="{_a(jid)}" viewBox="0 0 540 {y}" width="540" height="{y}">'
            f"{''.join(parts)}</svg>"
        )

    def goal(self, jid: str, goal: Mapping[str, Any] | None, model: Journey | None) -> str:
        if not goal:
            return '<p class="muted">This journey has no goal.</p>'
        actual = _num(goal.get("actual"))
        target = _num(goal.get("target"))
        baseline = _num(goal.get("baseline"))
        holdout = _num(goal.get("holdout_actual"))
        lift = _num(goal.get("lift"))
        met = bool(goal.get("met"))
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
                f'<rect class="bar {cls}" data-series="{label}" data-value="{_a(_dv(value))}" x="{label_w}" '
                f'y="{y + 4}" width="{_n(w)}" height="18" rx="4"/>'
                f'<text class="val" x="{label_w + bar_w + 10}" y="{y + 17}">{_e(_pct(value))}</text>'
            )
        bottom = y0 + len(rows) * row_h
        for cls, value, text in (("baseline", baseline, "baseline"), ("target", target, "target")):
            if value is None:
                continue
            mx = label_w + value / top * bar_w
            ty = y0 - 6 if cls == "target" else bottom + 10
            parts.append(
                f'<line class="marker {cls}" data-value="{_a(_dv(value))}" x1="{_n(mx)}" x2="{_n(mx)}" '
                f'y1="{y0 - 2}" y2="{bottom - 2}"/><text class="mlbl {cls}" x="{_n(mx)}" y="{ty}" '
                f'text-anchor="middle">{text} {_e(_pct(value))}</text>'
            )
        svg = (
            f'<svg class="goal" data-journey="{_a(jid)}" data-actual="{_a(_dv(goal.get("actual")))}" '
            f'data-target="{_a(_dv(goal.get("target")))}" data-baseline="{_a(_dv(goal.get("baseline")))}" '
            f'data-holdout="{_a(_dv(goal.get("holdout_actual")))}" data-lift="{_a(_dv(goal.get("lift")))}" '
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
            f'<div class="goal-head"><b class="big {"ok" if met else "warn"}">{_e(_pct(actual))}</b>'
            f"<span>{'✔ met' if met else '✘ not met'} · target {_e(_pct(target))}"
            f"{f' · baseline {_e(_pct(baseline))}' if baseline is not None else ''}</span>{lift_text}</div>"
            f'<div class="muted small">{_e(goal.get("event", ""))} within {_e(goal.get("within", ""))}'
            f"{f' — {_e(metric)}' if metric else ''}{self._goal_counts(goal)}</div>{svg}"
        )

    @staticmethod
    def _goal_counts(goal: Mapping[str, Any]) -> str:
        """``5 of 42 entrants converted · holdout 0 of 4`` when the results carry the counts."""
        entered, converted = _num(goal.get("entered")), _num(goal.get("converted"))
        if entered is None or converted is None:
            return ""
        text = f"<br>{_count(converted)} of {_count(entered)} entrants converted"
        held = _num(goal.get("holdout_entered"))
        share = _num(goal.get("holdout_actual"))
        if held:
            text += f" · holdout {_pct(share)} of {_count(held)}"
        return text

    def _verdict(self, target: Mapping[str, Any]) -> tuple[str, str, str]:
        """(css class, symbol, words) for a KPI target."""
        if _num(target.get("value")) is None:
            return "none", "–", "no data"
        if target.get("breached"):
            return "bad", "✘", "alarm"
        if target.get("met"):
            return "ok", "✔", "met"
        if target.get("met") is None and target.get("target") is None:
            return "ok", "✔", "within limits"  # only a floor or ceiling, and not breached
        return "warn", "✘", "off target"

    def kpis(self, jid: str, targets: Mapping[str, Any], model: Journey | None) -> str:
        if not targets:
            return '<p class="muted">No KPI targets.</p>'
        label_w, bar_w, row_h = 118, 250, 46
        parts: list[str] = []
        for i, (name, t) in enumerate(targets.items()):
            y = i * row_h
            value = _num(t.get("value"))
            marks = {k: _num(t.get(k)) for k in ("target", "floor", "ceiling")}
            known = [v for v in (value, *marks.values()) if v is not None]
            top = max([*known, 1e-9]) * 1.3
            if name not in COUNT_KPIS:
                top = min(top, 1.0)
            cls, symbol, words = self._verdict(t)
            w = (value or 0) / top * bar_w
            sample = _int(t.get("sample"))
            min_sample = model.kpis[name].min_sample if model and name in model.kpis else None
            low = min_sample is not None and sample < min_sample
            inner = [
                f'<text class="lbl" x="0" y="22">{_e(_words(name))}</text>',
                f'<rect class="track" x="{label_w}" y="12" width="{bar_w}" height="14" rx="3"/>',
                f'<rect class="bar {cls}" data-value="{_a(_dv(t.get("value")))}" x="{label_w}" y="12" '
                f'width="{_n(w)}" height="14" rx="3"/>',
            ]
            for kind, mark in marks.items():
                if mark is None:
                    continue
                mx = label_w + mark / top * bar_w
                ty = 8 if kind == "target" else 40
                inner.append(
                    f'<line class="marker {kind}" data-value="{_a(_dv(t.get(kind)))}" x1="{_n(mx)}" '
                    f'x2="{_n(mx)}" y1="7" y2="31"/><text class="mlbl {kind}" x="{_n(mx)}" y="{ty}" '
                    f'text-anchor="middle">{kind} {_e(_kpi_text(name, mark))}</text>'
                )
            inner.append(
                f'<text class="val" x="{label_w + bar_w + 12}" y="23">{_e(_kpi_text(name, value))}</text>'
                f'<text class="verdict {cls}" x="{label_w + bar_w + 78}" y="23">{symbol} {words}</text>'
                f'<text class="sample{" low" if low else ""}" x="{label_w + bar_w + 12}" y="38">n={sample:,}'
                f"{' < min ' + str(min_sample) if low else ''}</text>"
            )
            parts.append(
                f'<g class="kpi" data-kpi="{_a(name)}" data-value="{_a(_dv(t.get("value")))}" '
                f'data-met="{_dv(bool(t.get("met")))}" data-breached="{_dv(bool(t.get("breached")))}" '
                f'transform="translate(0 {y})">{"".join(inner)}</g>'
            )
        height = len(targets) * row_h
        return (
            f'<svg class="kpis" data-journey="{_a(jid)}" viewBox="0 0 540 {height}" width="540" '
            f'height="{height}">{"".join(parts)}</svg>'
        )

    def sends(self, jid: str, model: Journey | None) -> str:
        sent: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        unconfirmed: Counter[str] = Counter()
        failed = Counter(f.step_id for f in self.failures if f.journey_id == jid and f.channel)
        channel: dict[str, str] = {}
        order: list[str] = []
        for m in self.messages:
            if m.journey != jid:
                continue
            if m.step not in channel:
                order.append(m.step)
            channel.setdefault(m.step, m.channel)
            if m.status == "sent":
                sent[m.step] += 1
            elif m.status == "sent_unconfirmed":
                unconfirmed[m.step] += 1
            else:
                skipped[m.step] += 1
        for f in self.failures:  # a step that only ever failed has no message
            if f.journey_id == jid and f.channel and f.step_id not in channel:
                order.append(f.step_id)
                channel[f.step_id] = f.channel
        if model:  # file order, with steps that never sent anything too
            file_order = [n.id for n in walk(resolve(model.steps)) if n.kind == "send"]
            for node in walk(resolve(model.steps)):
                if isinstance(node.step, SendStep):
                    channel.setdefault(node.id, node.step.send.channel)
            order = file_order + [s for s in order if s not in file_order]
        if not order:
            return '<p class="muted">No sends.</p>'
        top = max([sent[s] + skipped[s] + failed[s] + unconfirmed[s] for s in order] + [1])
        label_w, row_h = 150, 26
        bar_w = 210 if failed or unconfirmed else 270  # room for "/ n failed" after the bar
        parts = []
        for i, step in enumerate(order):
            y = i * row_h
            ws = sent[step] / top * bar_w
            wk = skipped[step] / top * bar_w
            wu = unconfirmed[step] / top * bar_w
            wf = failed[step] / top * bar_w
            colour = _colour(channel.get(step, ""))
            extra = [
                (name, n) for name, n in (("unconfirmed", unconfirmed[step]), ("failed", failed[step])) if n
            ]
            attrs = "".join(f' data-{name}="{n}"' for name, n in extra)
            segments = ""
            if wu:
                segments += (
                    f'<rect class="unconfirmed-seg" x="{_n(label_w + ws + wk)}" y="4" width="{_n(wu)}" '
                    f'height="16" fill="#f59e0b"/>'
                )
            if wf:
                segments += (
                    f'<rect class="fail-seg" x="{_n(label_w + ws + wk + wu)}" y="4" width="{_n(wf)}" '
                    f'height="16" fill="{FAILED_COLOUR}"/>'
                )
            counted = "".join(f'<tspan class="{name}"> / {n:,} {name}</tspan>' for name, n in extra)
            said = "".join(f", {n:,} {name}" for name, n in extra)
            parts.append(
                f'<g class="send-row" data-step="{_a(step)}" data-sent="{sent[step]}" '
                f'data-skipped="{skipped[step]}"{attrs} transform="translate(0 {y})">'
                f'<text class="lbl mono" x="0" y="16">{_e(_clip(step, 20))}</text>'
                f'<rect class="track" x="{label_w}" y="4" width="{bar_w}" height="16" rx="3"/>'
                f'<rect x="{label_w}" y="4" width="{_n(ws)}" height="16" fill="{colour}"/>'
                f'<rect class="skip-seg" x="{_n(label_w + ws)}" y="4" width="{_n(wk)}" height="16" '
                f'fill="url(#tp-hatch)"/>{segments}'
                f'<text class="val" x="{label_w + bar_w + 8}" y="16">{sent[step]:,}'
                f'<tspan class="muted"> / {skipped[step]:,} skipped</tspan>{counted}</text>'
                f"<title>{_e(step)}: {sent[step]:,} sent, {skipped[step]:,} skipped{said}</title></g>"
            )
        height = len(order) * row_h
        return (
            f'<svg class="sends" data-journey="{_a(jid)}" viewBox="0 0 540 {height}" width="540" '
            f'height="{height}">{_HATCH}{"".join(parts)}</svg>'
        )

    def skip_reasons(self, jid: str) -> str:
        reasons = Counter(
            m.reason or "unknown" for m in self.messages if m.journey == jid and m.status == "skipped"
        )
        if reasons:
            return _chips(reasons, "reason")
        failed = self._failed_count(jid)
        unconfirmed = sum(1 for m in self.messages if m.journey == jid and m.status == "sent_unconfirmed")
        if not failed and not unconfirmed:
            return '<p class="muted small">Nothing skipped.</p>'
        # never "nothing skipped" alone when messages did not go out: say what happened instead
        what = [f"{failed:,} failed"] if failed else []
        what += [f"{unconfirmed:,} unconfirmed"] if unconfirmed else []
        return f'<p class="small fail-note">No send was skipped, but {" and ".join(what)}: see below.</p>'

    def _step_templates(self, model: Journey | None) -> dict[str, str]:
        """Send step id → its template name, to say which template a failed send rendered."""
        if model is None:
            return {}
        return {
            n.id: n.step.send.template for n in walk(resolve(model.steps)) if isinstance(n.step, SendStep)
        }

    def failed_steps(self, jid: str, model: Journey | None) -> str:
        """Who, when, which step, the error and its reason, for every failed step of the journey."""
        found = [f for f in self.failures if f.journey_id == jid]
        head = (
            f'<div class="failures" id="failures-{_a(_slug(jid))}" data-journey="{_a(jid)}" '
            f'data-count="{len(found)}"><h4>Failed steps</h4>'
        )
        if not found:
            return head + '<p class="muted small">No step failed.</p></div>'
        chips = "".join(
            f'<span class="chip failure" data-step="{_a(step)}" data-value="{n}">'
            f'<span class="mono">{_e(step)}</span> {_e(text)} <b>{n:,}</b></span>'
            for n, step, text in top_reasons(found)
        )
        templates = self._step_templates(model)
        rows = []
        for f in found[:MAX_FAILURE_ROWS]:
            when = _parse(f.at)
            template = templates.get(f.step_id, "")
            kind = f.channel or "step"
            rows.append(
                f'<tr class="failure" data-user="{_a(f.user_id)}" data-step="{_a(f.step_id)}" '
                f'data-at="{_a(f.at)}" data-error="{_a(f.error)}">'
                f'<td><time datetime="{_a(f.at)}">{_e(self.stamp(when))}</time></td>'
                f'<td class="mono user">{_e(f.user_id)}</td>'
                f'<td><span class="ch" style="background:{_colour(kind) if f.channel else "#64748b"}">'
                f'{_e(kind)}</span> <b class="mono">{_e(f.step_id)}</b> '
                f'<span class="muted">{_e(template)}</span></td>'
                f'<td class="mono err">{_e(f.error)}</td>'
                f'<td class="why">{_e(f.message or "no cause given")}</td></tr>'
            )
        more = len(found) - MAX_FAILURE_ROWS
        if more > 0:
            rows.append(
                f'<tr class="more"><td colspan="5" class="muted">… and {more:,} more: every one is in '
                "the <code>--json</code> trace (kind step_failed).</td></tr>"
            )
        return (
            head + '<p class="hint">Each failure was caught and recorded (<code>journey.step_failed</code>); '
            "the run went on without the step, so it still ends SUCCEEDED (docs/decisions.md D6).</p>"
            f'<div class="chips">{chips}</div>'
            '<table class="failed-steps"><thead><tr><th>When</th><th>User</th><th>Step</th><th>Error</th>'
            f"<th>Reason</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )

    def unconfirmed(self, jid: str) -> str:
        """Sends whose provider answer was lost (never retried), and which of them were reconciled."""
        pending = [m for m in self.messages if m.journey == jid and m.status == "sent_unconfirmed"]
        if not pending:
            return ""
        later = [
            m for m in self.messages if m.journey == jid and m.status == "sent" and m.reason == "reconciled"
        ]
        rows = []
        for m in pending[:MAX_FAILURE_ROWS]:
            found = next((r for r in later if (r.user, r.step) == (m.user, m.step) and r.at >= m.at), None)
            outcome = f"{RECONCILED} ({self.stamp(found.when)})" if found is not None else UNCONFIRMED
            rows.append(
                f'<tr class="unconfirmed-send" data-user="{_a(m.user)}" data-step="{_a(m.step)}" '
                f'data-at="{_a(m.at)}" data-reconciled="{_dv(found is not None)}">'
                f'<td><time datetime="{_a(m.at)}">{_e(self.stamp(m.when))}</time></td>'
                f'<td class="mono user">{_e(m.user)}</td>'
                f'<td><span class="ch" style="background:{_colour(m.channel)}">{_e(m.channel)}</span> '
                f'<b class="mono">{_e(m.step)}</b> <span class="muted">{_e(m.template)}</span></td>'
                f"<td>{_e(outcome)}</td></tr>"
            )
        more = len(pending) - MAX_FAILURE_ROWS
        if more > 0:
            rows.append(f'<tr class="more"><td colspan="4" class="muted">… and {more:,} more.</td></tr>')
        return (
            f'<div class="failures unconfirmed-sends" id="unconfirmed-{_a(_slug(jid))}" '
            f'data-journey="{_a(jid)}" data-count="{len(pending)}"><h4>Unconfirmed sends</h4>'
            '<p class="hint">The provider may have taken these messages, but its answer was lost: the '
            "engine never sends them again (it could send twice), and counts them apart from sent until "
            "the provider's events show they went out (reconciled).</p>"
            '<table class="failed-steps"><thead><tr><th>When</th><th>User</th><th>Step</th>'
            f"<th>Outcome</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )

    def outcomes(self, jid: str) -> str:
        ends: Counter[str] = Counter()
        for e in self.executions:
            if e.get("journey_id") != jid:
                continue
            status = str(e.get("status", ""))
            reason = e.get("exit_reason")
            ends["still running" if status == "RUNNING" else str(reason or status.lower() or "unknown")] += 1
        if not ends:
            return '<p class="muted small">No runs.</p>'
        return _chips(ends, "outcome")

    # ------------------------------------------------------------------ timelines

    def timelines(self) -> str:
        if not self.scripted:
            return ""
        parts = [
            '<section id="timelines" class="block"><h2>Test users</h2><div class="legend">'
            '<span class="muted">Every message each scripted user was sent or had skipped, and when '
            f"(times in {_e(self.zone_name)}).</span>"
            '<span class="key"><svg width="14" height="14"><circle cx="7" cy="7" r="6" fill="#3b82f6"/>'
            "</svg>sent</span>"
            '<span class="key"><svg width="14" height="14"><circle cx="7" cy="7" r="5.5" fill="#fff" '
            'stroke="#3b82f6" stroke-width="2"/><path d="M4 4L10 10M10 4L4 10" stroke="#475569"/></svg>'
            "skipped</span>"
            '<span class="key"><svg width="14" height="14"><rect x="3" y="3" width="8" height="8" '
            'fill="#fff" '
            'stroke="#f59e0b" stroke-width="1.5" transform="rotate(45 7 7)"/></svg>'
            "deferred</span>" + self._timeline_keys() + "</div>"
        ]
        for user in self.scripted:
            parts.append(self.timeline(user))
        parts.append("</section>")
        return "".join(parts)

    def _timeline_keys(self) -> str:
        """Legend keys for failed and unconfirmed sends, when a test user has any."""
        users = set(self.scripted)
        keys = ""
        if any(m.status == "sent_unconfirmed" for m in self.messages if m.user in users):
            keys += (
                '<span class="key"><svg width="14" height="14"><circle class="unconf" cx="7" cy="7" r="5.5" '
                'fill="#fff" stroke="#3b82f6" stroke-width="2" stroke-dasharray="3 2"/></svg>'
                "unconfirmed</span>"
            )
        if any(f.user_id in users for f in self.failures):
            keys += (
                '<span class="key"><svg width="14" height="14"><circle cx="7" cy="7" r="5.5" fill="#fee2e2" '
                f'stroke="{FAILED_COLOUR}" stroke-width="2"/><path d="M4 4L10 10M10 4L4 10" '
                f'stroke="{FAILED_COLOUR}" stroke-width="1.6"/></svg>failed</span>'
            )
        return keys

    def _deferral_of(self, m: _Message) -> _Deferral | None:
        """The first deferral of this message (a message is deferred, maybe several times, then
        sent or skipped: deferrals belong to the next decision of the same user, journey and step)."""
        return self.deferred.get(m.index)

    def _match_deferrals(self) -> dict[int, _Deferral]:
        decisions: dict[tuple[str, str, str], list[_Message]] = defaultdict(list)
        for m in self.messages:
            if m.when is not None:
                decisions[(m.user, m.journey, m.step)].append(m)
        matched: dict[int, _Deferral] = {}
        for d in sorted(self.deferrals, key=lambda d: d.at):
            later = [m for m in decisions.get((d.user, d.journey, d.step), ()) if m.when and m.when >= d.at]
            if later:
                first = min(later, key=lambda m: (m.when, m.index))
                matched.setdefault(first.index, d)
        return matched

    def timeline(self, user: str) -> str:
        mine = [m for m in self.messages if m.user == user]
        fails = [f for f in self.failures if f.user_id == user]
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
        span = (self.end - self.start).total_seconds()

        def x(t: dt.datetime) -> float:
            return left + max(0.0, min(1.0, (t - self.start).total_seconds() / span)) * plot

        height = top + max(len(lanes), 1) * lane_h + 8
        parts: list[str] = []
        for i, day in enumerate(self.days()):
            t = dt.datetime(day.year, day.month, day.day, tzinfo=self.zone)
            tx = x(t)
            parts.append(f'<line class="grid" x1="{_n(tx)}" x2="{_n(tx)}" y1="{top - 6}" y2="{height - 6}"/>')
            if i % 2 == 0:
                parts.append(f'<text class="axis" x="{_n(tx + 3)}" y="{top - 12}">{_md(day)}</text>')
        for i, lane in enumerate(lanes):
            y = top + i * lane_h + lane_h / 2
            parts.append(
                f'<text class="lane-lbl mono" x="0" y="{_n(y + 4)}">{_e(_clip(lane, 22))}</text>'
                f'<line class="lane" x1="{left}" x2="{width - right}" y1="{_n(y)}" y2="{_n(y)}"/>'
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
                    self._failure_mark(
                        event, x, top + lanes.index(event.journey_id) * lane_h + lane_h / 2, label_y
                    )
                )
                continue
            m = event
            if m.when is None:
                continue
            y = top + lanes.index(m.journey) * lane_h + lane_h / 2
            mx = x(m.when)
            deferral = self._deferral_of(m)
            if deferral:
                dx = x(deferral.at)
                parts.append(
                    f'<g class="deferral" data-step="{_a(m.step)}" data-reason="{_a(deferral.reason)}">'
                    f'<line x1="{_n(dx)}" x2="{_n(mx)}" y1="{_n(y)}" y2="{_n(y)}"/>'
                    f'<rect x="{_n(dx - 4)}" y="{_n(y - 4)}" width="8" height="8" '
                    f'transform="rotate(45 {_n(dx)} {_n(y)})"/>'
                    f"<title>{_e(m.step)} deferred at {self.stamp(deferral.at)} ({_e(deferral.reason)})"
                    "</title></g>"
                )
            label = m.step
            ly = label_y(m.journey, mx, y, label)
            colour = _colour(m.channel)
            if m.status == "sent":
                marker = f'<circle cx="{_n(mx)}" cy="{_n(y)}" r="6" fill="{colour}"/>'
            elif m.status == "sent_unconfirmed":
                marker = f'<circle class="unconf" cx="{_n(mx)}" cy="{_n(y)}" r="6" stroke="{colour}"/>'
            else:
                marker = (
                    f'<circle class="skip" cx="{_n(mx)}" cy="{_n(y)}" r="6" stroke="{colour}"/>'
                    f'<path class="skip-x" d="M{_n(mx - 3)} {_n(y - 3)}L{_n(mx + 3)} {_n(y + 3)}'
                    f'M{_n(mx + 3)} {_n(y - 3)}L{_n(mx - 3)} {_n(y + 3)}"/>'
                )
            tip = f"{self.stamp(m.when)} · {m.journey} · {m.step} ({m.channel}) · {m.status}" + (
                f": {UNCONFIRMED}" if m.status == "sent_unconfirmed" else f": {m.reason}" if m.reason else ""
            )
            parts.append(
                f'<g class="mark {_a(m.status)}" data-step="{_a(m.step)}" data-status="{_a(m.status)}" '
                f'data-at="{_a(m.at)}">{marker}<text class="mark-lbl" x="{_n(mx)}" y="{_n(ly)}" '
                f'text-anchor="middle">{_e(label)}</text><title>{_e(tip)}</title></g>'
            )
        svg = (
            f'<svg class="timeline-chart" data-user="{_a(user)}" viewBox="0 0 {width} {height}" width="100%">'
            f"{''.join(parts)}</svg>"
        )
        rows = []
        for event in events:
            if isinstance(event, Failure):
                rows.append(self._failure_row(event))
                continue
            m = event
            deferral = self._deferral_of(m)
            note = '<span class="nodefer"></span>'
            if deferral and m.when:
                hours = (m.when - deferral.at).total_seconds() / 3600
                note = f'<span class="defer">deferred {hours:.0f}h · {_e(deferral.reason)}</span>'
            deferred_attr = f' data-deferred="{_a(deferral.reason)}"' if deferral else ""
            if m.status == "sent_unconfirmed":
                status = (
                    f'<span class="status unconfirmed" title="{_a(UNCONFIRMED)}">? unconfirmed · '
                    "answer lost, not retried</span>"
                )
            else:
                status = (
                    f'<span class="status {_a(m.status)}">{"✔ sent" if m.status == "sent" else _e(m.status)}'
                    f"{f' · {_e(m.reason)}' if m.reason else ''}</span>"
                )
            rows.append(
                f'<li class="event" data-step="{_a(m.step)}" data-status="{_a(m.status)}" '
                f'data-at="{_a(m.at)}" data-journey="{_a(m.journey)}" data-channel="{_a(m.channel)}" '
                f'data-reason="{_a(m.reason or "")}"{deferred_attr}>'
                f'<time datetime="{_a(m.at)}">{_e(self.stamp(m.when))}</time>'
                f'<span class="ch" style="background:{_colour(m.channel)}">{_e(m.channel)}</span>'
                f'<span class="what"><b>{_e(m.step)}</b> <span class="muted">{_e(m.template)}</span></span>'
                f'<span class="mono muted jr">{_e(m.journey)}</span>{status}{note}</li>'
            )
        sent = sum(1 for m in mine if m.status == "sent")
        unconfirmed = sum(1 for m in mine if m.status == "sent_unconfirmed")
        counts = f"{sent} sent · {len(mine) - sent - unconfirmed} skipped"
        counts += f" · {unconfirmed} unconfirmed" if unconfirmed else ""
        counts += f' · <b class="failed-count">{len(fails)} failed</b>' if fails else ""
        listing = f'<ol class="events">{"".join(rows)}</ol>' if rows else '<p class="muted">No messages.</p>'
        return (
            f'<section class="timeline card" id="timeline-{_a(_slug(user))}" data-user="{_a(user)}">'
            f'<div class="tl-head"><h3>What <span class="mono">{_e(user)}</span> received and when</h3>'
            f'<span class="muted">{counts}</span></div>'
            f"{svg}{listing}</section>"
        )

    def _failure_mark(
        self,
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
        tip = f"{self.stamp(when)} · {f.journey_id} · {f.step_id} · failed: {f.reason}"
        return (
            f'<g class="fail-mark" data-step="{_a(f.step_id)}" data-at="{_a(f.at)}" '
            f'data-error="{_a(f.error)}">'
            f'<circle class="fail" cx="{_n(mx)}" cy="{_n(y)}" r="6"/>'
            f'<path class="fail-x" d="M{_n(mx - 3)} {_n(y - 3)}L{_n(mx + 3)} {_n(y + 3)}'
            f'M{_n(mx + 3)} {_n(y - 3)}L{_n(mx - 3)} {_n(y + 3)}"/>'
            f'<text class="mark-lbl" x="{_n(mx)}" y="{_n(ly)}" text-anchor="middle">{_e(f.step_id)}</text>'
            f"<title>{_e(tip)}</title></g>"
        )

    def _failure_row(self, f: Failure) -> str:
        """A failed step in a user's list: the error, and the reason it failed."""
        kind = f.channel or "step"
        colour = _colour(f.channel) if f.channel else "#64748b"
        return (
            f'<li class="failure" data-step="{_a(f.step_id)}" data-at="{_a(f.at)}" '
            f'data-journey="{_a(f.journey_id)}" data-channel="{_a(f.channel or "")}" '
            f'data-error="{_a(f.error)}">'
            f'<time datetime="{_a(f.at)}">{_e(self.stamp(_parse(f.at)))}</time>'
            f'<span class="ch" style="background:{colour}">{_e(kind)}</span>'
            f'<span class="what"><b>{_e(f.step_id)}</b> '
            f'<span class="why">{_e(f.message or f.error)}</span></span>'
            f'<span class="mono muted jr">{_e(f.journey_id)}</span>'
            f'<span class="status failed">✘ failed · {_e(f.error)}</span><span class="nodefer"></span></li>'
        )

    # ------------------------------------------------------------------ rejected events

    def rejected(self) -> str:
        items: list[Mapping[str, Any]] = list(self.results.get("rejected_events") or ())
        groups = Counter(_reason_field(str(r.get("reason", ""))) for r in items)
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
                f'<g class="reason-bar" data-reason="{_a(field)}" data-value="{n}" '
                f'transform="translate(0 {i * row_h})">'
                f'<text class="lbl mono" x="0" y="16">{_e(_clip(field, 30))}</text>'
                f'<rect class="track" x="{label_w}" y="4" width="{bar_w}" height="16" rx="3"/>'
                f'<rect class="bar" x="{label_w}" y="4" width="{_n(w)}" height="16" rx="3"/>'
                f'<text class="val" x="{_n(label_w + w + 6)}" y="16">{n:,}</text></g>'
            )
        height = len(ordered) * row_h
        svg = (
            f'<svg class="rejected-chart" viewBox="0 0 600 {height}" width="600" height="{height}">'
            f"{''.join(bars)}</svg>"
        )
        rows = []
        for r in items:
            event = r.get("event") or {}
            detail = event.get("detail") if isinstance(event, Mapping) else None
            kind = event.get("detail-type", "?") if isinstance(event, Mapping) else "?"
            who = detail.get("user_id", "") if isinstance(detail, Mapping) else ""
            payload = json.dumps(event, ensure_ascii=False, sort_keys=True, indent=1, default=str)
            rows.append(
                f'<li class="rejected-event" data-reason="{_a(_reason_field(str(r.get("reason", ""))))}">'
                f'<span class="mono">{_e(kind)}</span> <span class="muted mono">{_e(who)}</span>'
                f'<div class="why">{_e(r.get("reason", ""))}</div>'
                f"<details><summary>event</summary><pre>{_e(payload)}</pre></details></li>"
            )
        return (
            head + '<div class="card grid2 tight"><div><h4>By field</h4>'
            f'{svg}</div><div><h4>Events</h4><ul class="rejected-list">{"".join(rows)}</ul></div></div>'
            "</section>"
        )


# --------------------------------------------------------------------------- small pieces


def _stage_rank(stage: str) -> int:
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)


def _reason_field(reason: str) -> str:
    """``detail.occurred_at: "…" is not …`` → ``detail.occurred_at`` (reasons group by field)."""
    head, sep, _ = reason.partition(":")
    return head.strip() if sep and head.strip() and " " not in head.strip() else reason[:60] or "unknown"


def _colour(channel: str) -> str:
    return CHANNEL_COLOURS.get(channel, _OTHER_COLOUR)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _chips(counts: Mapping[str, int], kind: str) -> str:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return (
        '<div class="chips">'
        + "".join(
            f'<span class="chip {kind}" data-{kind}="{_a(k)}" data-value="{v}">{_e(k)} <b>{v:,}</b></span>'
            for k, v in ordered
        )
        + "</div>"
    )


def _nice_step(top: float) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top / step <= 5:
            return step
    return int(10 ** len(str(int(top))) / 10)


_HATCH = (
    '<defs><pattern id="tp-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e2e8f0"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#94a3b8" stroke-width="2"/></pattern></defs>'
)

_CSS = """
:root { --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#f4f6fb; --card:#fff; --ok:#059669;
  --bad:#dc2626; --warn:#d97706; --indigo:#4f46e5; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin:0; background:var(--bg); color:var(--ink); font-size:14px; line-height:1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC",
  "PingFang SC", "Microsoft YaHei", "DejaVu Sans", sans-serif; }
.wrap { max-width:1200px; margin:0 auto; padding:0 24px; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size:12px; }
.muted { color:var(--muted); } .small { font-size:12px; }
h1,h2,h3,h4 { margin:0; } h2 { font-size:20px; margin:0 0 14px; letter-spacing:-.01em; }
h3 { font-size:16px; }
h4 { font-size:12px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted);
  margin:14px 0 8px; font-weight:600; } .panel h4:first-child { margin-top:0; }
.top { background:linear-gradient(120deg,#1e1b4b,#312e81 55%,#4338ca); color:#fff; padding:22px 0 0; }
.brand { font-weight:700; opacity:.9; font-size:13px; letter-spacing:.04em; text-transform:uppercase; }
.brand span { opacity:.7; font-weight:500; } .logo { color:#a5b4fc; margin-right:6px; }
.top h1 { font-size:26px; margin:6px 0 14px; font-weight:700; letter-spacing:-.02em; }
.facts { display:flex; gap:28px; flex-wrap:wrap; }
.fact span { display:block; font-size:11px; text-transform:uppercase; letter-spacing:.08em; opacity:.7; }
.fact b { font-size:15px; font-weight:600; }
.top nav { display:flex; gap:4px; margin-top:18px; }
.top nav a { color:#e0e7ff; text-decoration:none; padding:9px 14px; border-radius:8px 8px 0 0;
  font-weight:500; }
.top nav a:hover { background:rgba(255,255,255,.12); }
.block { margin:28px 0; }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:18px 20px;
  box-shadow:0 1px 2px rgba(15,23,42,.04),0 4px 14px rgba(15,23,42,.04); }
.card h3 { margin-bottom:12px; }
.tiles { display:grid; grid-template-columns:repeat(7,1fr); gap:12px; margin-bottom:14px; }
.tile { background:#fff; border:1px solid var(--line); border-radius:12px; padding:14px 16px; }
.tile .lbl { display:block; font-size:12px; color:var(--muted); font-weight:500; }
.tile b { display:block; font-size:24px; letter-spacing:-.02em; margin:2px 0; }
.tile small { color:var(--muted); font-size:11.5px; }
.tile[data-metric=estimated_cost_usd] { background:#eef2ff; border-color:#c7d2fe; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
.grid2 > * { min-width:0; }
.grid2.map { grid-template-columns:minmax(0,1.15fr) minmax(0,1fr); margin-top:16px; padding-top:16px;
  border-top:1px solid var(--line); }
.grid2.tight { gap:24px; }
.grid2.wide-left { grid-template-columns:minmax(0,1.45fr) minmax(0,1fr); }
svg { max-width:100%; height:auto; overflow:visible; }
svg text { font-size:12px; fill:var(--ink); }
svg .track { fill:#f1f5f9; } svg .grid { stroke:#eef2f7; } svg .grid.zero { stroke:#94a3b8; }
svg .axis { fill:var(--muted); font-size:11px; } svg .axis.month { font-weight:600; fill:#334155; }
svg .axis.side { font-size:10.5px; }
svg .lbl { fill:#334155; } svg .val { font-weight:600; } svg .note { fill:var(--muted); font-size:11.5px; }
svg .group { fill:#94a3b8; font-size:10px; font-weight:700; letter-spacing:.08em; }
svg.funnel .bar.user { fill:#6366f1; } svg.funnel .bar.msg { fill:#3b82f6; }
svg.funnel .bar.conv { fill:#10b981; }
svg .bar.ok { fill:#10b981; } svg .bar.bad { fill:#ef4444; } svg .bar.warn { fill:#f59e0b; }
svg .bar.none { fill:#cbd5e1; } svg .bar.hold { fill:#94a3b8; }
svg.aws .bar { fill:#6366f1; } svg.rejected-chart .bar { fill:#f43f5e; }
svg .marker { stroke-width:2; } svg .marker.target { stroke:#0f172a; }
svg .marker.floor, svg .marker.ceiling { stroke:#dc2626; stroke-dasharray:3 2; }
svg .marker.baseline { stroke:#64748b; stroke-dasharray:4 3; }
svg .mlbl { font-size:10px; fill:#334155; } svg .mlbl.floor, svg .mlbl.ceiling { fill:#b91c1c; }
svg .mlbl.baseline { fill:#64748b; }
svg .verdict { font-weight:700; } svg .verdict.ok { fill:var(--ok); } svg .verdict.bad { fill:var(--bad); }
svg .verdict.warn { fill:var(--warn); } svg .verdict.none { fill:var(--muted); }
svg .sample { fill:var(--muted); font-size:10.5px; } svg .sample.low { fill:var(--warn); }
svg .muted { fill:var(--muted); font-weight:400; }
svg.mini-goal { vertical-align:middle; overflow:visible; max-width:none; flex:none; }
svg.mini-goal .fill.ok { fill:#10b981; }
svg.mini-goal .fill.bad { fill:#f59e0b; } svg.mini-goal .tmark { stroke:#0f172a; stroke-width:2; }
.mini { display:inline-flex; align-items:center; gap:6px; white-space:nowrap; }
.costs { display:flex; gap:16px; margin-top:14px; }
.cost { flex:1; background:#f8fafc; border:1px solid var(--line); border-radius:10px; padding:10px 14px; }
.cost b { display:block; font-size:22px; letter-spacing:-.02em; }
.cost span { color:var(--muted); font-size:12px; }
table.scorecard { width:100%; border-collapse:collapse; }
.scorecard th { text-align:left; font-size:11px; text-transform:uppercase; letter-spacing:.06em;
  color:var(--muted); font-weight:600; padding:0 8px 8px; border-bottom:1px solid var(--line); }
.scorecard td:nth-child(4), .scorecard td:last-child { white-space:nowrap; }
.scorecard td { padding:8px; border-bottom:1px solid #f1f5f9; vertical-align:middle; }
.scorecard a { color:var(--ink); font-weight:600; text-decoration:none; }
.scorecard a:hover { color:var(--indigo); }
.num { text-align:right; font-variant-numeric:tabular-nums; }
.mark { display:inline-grid; place-items:center; width:20px; height:20px; border-radius:50%;
  font-size:11px; font-weight:700; margin-right:3px; }
.mark.ok { background:#d1fae5; color:#047857; } .mark.bad { background:#fee2e2; color:#b91c1c; }
.mark.warn { background:#fef3c7; color:#b45309; } .mark.none { background:#f1f5f9; color:var(--muted); }
.chip { display:inline-block; padding:1px 8px; border-radius:999px; background:#f1f5f9; color:#334155;
  font-size:11.5px; font-weight:500; border:1px solid var(--line); }
.chip.stage { background:#f5f3ff; border-color:#ddd6fe; color:#6d28d9; }
.chip.camp { background:#312e81; color:#fff; border-color:#312e81; text-transform:uppercase;
  letter-spacing:.06em; font-size:10.5px; }
.chips { display:flex; flex-wrap:wrap; gap:6px; }
.chips .chip b { margin-left:4px; }
.chip.reason { background:#fff7ed; border-color:#fed7aa; color:#9a3412; }
.legend { display:flex; gap:16px; align-items:center; margin-bottom:6px; flex-wrap:wrap; }
.key { display:inline-flex; align-items:center; gap:6px; font-size:12.5px; color:#334155; }
.key i { width:12px; height:12px; border-radius:3px; display:inline-block; }
.key i.hatch { opacity:.45; }
svg .seg.skipped { opacity:.45; }
.journey { margin:0 0 20px; }
.jhead { display:flex; justify-content:space-between; gap:16px; margin-bottom:16px; }
.jhead h3 { font-size:18px; }
.meta { display:flex; flex-wrap:wrap; gap:6px 12px; color:var(--muted); font-size:12.5px; margin-top:4px;
  align-items:center; }
.desc { margin:8px 0 0; color:#475569; max-width:760px; font-size:13px; }
.verdicts { display:flex; gap:6px; align-items:flex-start; flex-wrap:wrap; justify-content:flex-end; }
.pill { padding:4px 10px; border-radius:999px; font-size:12px; font-weight:600; white-space:nowrap; }
.pill.ok { background:#d1fae5; color:#047857; } .pill.bad { background:#fee2e2; color:#b91c1c; }
.pill.warn { background:#fef3c7; color:#b45309; }
.goal-head { display:flex; align-items:baseline; gap:12px; flex-wrap:wrap; }
.goal-head .big { font-size:28px; letter-spacing:-.02em; } .big.ok { color:var(--ok); }
.big.bad { color:var(--bad); } .big.warn { color:var(--warn); }
.lift { font-weight:600; font-size:12.5px; padding:2px 8px; border-radius:6px; }
.lift.up { background:#ecfdf5; color:#047857; } .lift.down { background:#fef2f2; color:#b91c1c; }
svg.goal { margin-top:10px; }
.diagram-box { background:#fbfcfe; border:1px solid #eef2f7; border-radius:10px; padding:8px;
  display:flex; justify-content:center; }
.campaign { margin:26px 0; padding:16px; border-radius:16px; background:#eef0fb; border:1px solid #dfe3f7; }
.camp-head { display:flex; align-items:center; gap:10px; margin-bottom:12px; }
.camp-head h2 { margin:0; }
.campaign > .card { margin-bottom:16px; }
svg.stages .stage-bar { fill:#a5b4fc; } svg.stages .s-warm-up { fill:#fcd34d; }
svg.stages .s-launch { fill:#f97316; } svg.stages .s-sustain { fill:#ef4444; }
svg.stages .s-review { fill:#8b5cf6; }
svg.stages .in-bar { font-size:11px; font-weight:600; fill:#1f2937; }
svg.stages .event-day { stroke:#dc2626; stroke-width:2; }
svg.stages .event-day-lbl { fill:#dc2626; font-size:11px; font-weight:700; }
svg.stages .lbl { font-weight:600; } svg .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace;
  font-size:11px; }
.timeline { margin-bottom:16px; }
.tl-head { display:flex; justify-content:space-between; align-items:baseline; margin-bottom:8px; }
svg.timeline-chart .lane { stroke:#e2e8f0; stroke-width:2; }
svg.timeline-chart .lane-lbl { fill:#334155; }
svg.timeline-chart .skip { fill:#fff; stroke-width:2; } svg.timeline-chart .skip-x { stroke:#475569;
  stroke-width:1.6; }
svg.timeline-chart .mark-lbl { font-size:10.5px; fill:#334155; }
svg.timeline-chart .deferral line { stroke:#f59e0b; stroke-width:2; stroke-dasharray:3 3; }
svg.timeline-chart .deferral rect { fill:#fff; stroke:#f59e0b; stroke-width:1.5; }
ol.events { list-style:none; margin:12px 0 0; padding:0; border-top:1px solid var(--line); }
ol.events li { display:grid; gap:12px; align-items:center;
  grid-template-columns:104px 52px minmax(0,1fr) 150px 170px 200px;
  padding:7px 4px; border-bottom:1px solid #f1f5f9; font-size:13px; }
ol.events time { color:#334155; font-variant-numeric:tabular-nums; }
.ch { color:#fff; font-size:10.5px; font-weight:700; text-transform:uppercase; border-radius:4px;
  padding:1px 0; text-align:center; letter-spacing:.04em; }
.status, .defer { justify-self:start; }
.status { font-size:12px; font-weight:600; padding:2px 8px; border-radius:6px; white-space:nowrap; }
.status.sent { background:#ecfdf5; color:#047857; } .status.skipped { background:#f1f5f9; color:#475569; }
.status.failed { background:#fef2f2; color:#b91c1c; }
.defer { font-size:12px; color:#b45309; background:#fffbeb; padding:2px 8px; border-radius:6px;
  white-space:nowrap; }
.count { display:inline-block; background:#ffe4e6; color:#be123c; border-radius:999px; padding:0 10px;
  font-size:14px; vertical-align:middle; }
ul.rejected-list { list-style:none; margin:0; padding:0; }
.rejected-event { padding:8px 0; border-bottom:1px solid #f1f5f9; }
.rejected-event .why { color:#9f1239; font-size:12.5px; margin-top:2px; overflow-wrap:anywhere; }
details summary { cursor:pointer; color:var(--muted); font-size:12px; margin-top:2px; }
details pre { background:#0f172a; color:#e2e8f0; padding:10px; border-radius:8px; font-size:11.5px;
  overflow:auto; max-height:220px; }
.hint { margin:-4px 0 8px; color:var(--muted); font-size:12px; }
.chip.failed, .chip.failure { background:#fef2f2; border-color:#fecaca; color:#991b1b; }
a.pill { text-decoration:none; }
svg.funnel .obar.failed { fill:#ef4444; } svg.funnel .obar.unconfirmed { fill:#f59e0b; }
svg .lbl.failed, svg tspan.failed { fill:#b91c1c; font-weight:600; }
svg .lbl.unconfirmed, svg tspan.unconfirmed { fill:#b45309; font-weight:600; }
.failures { margin-top:16px; padding-top:16px; border-top:1px solid var(--line); }
.failures .chips { margin-bottom:10px; }
table.failed-steps { width:100%; border-collapse:collapse; font-size:13px; }
.failed-steps th { text-align:left; font-size:11px; text-transform:uppercase; letter-spacing:.06em;
  color:var(--muted); font-weight:600; padding:0 8px 6px; border-bottom:1px solid var(--line); }
.failed-steps td { padding:6px 8px; border-bottom:1px solid #f1f5f9; vertical-align:top; }
.failed-steps td:first-child { white-space:nowrap; font-variant-numeric:tabular-nums; }
.failed-steps td.user { white-space:nowrap; }
.failed-steps td.err { color:#b91c1c; font-weight:600; white-space:nowrap; }
.failed-steps .ch { display:inline-block; padding:1px 6px; }
.failed-steps .why, ol.events .why { color:#7f1d1d; overflow-wrap:anywhere; }
.fail-note { color:#b91c1c; margin:0; }
.status.unconfirmed { background:#fffbeb; color:#b45309; }
.failed-count { color:#b91c1c; }
ol.events li.failure { background:#fef2f2; }
svg.timeline-chart .unconf { fill:#fff; stroke-width:2; stroke-dasharray:3 2; }
svg.timeline-chart .fail { fill:#fee2e2; stroke:#dc2626; stroke-width:2; }
svg.timeline-chart .fail-x { stroke:#dc2626; stroke-width:1.6; }
.foot { color:var(--muted); font-size:12px; padding:16px 0 40px; text-align:center; }
"""
