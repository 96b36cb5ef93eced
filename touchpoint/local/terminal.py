"""What ``touchpoint simulate`` prints: a progress bar while it runs, then per journey the funnel,
the KPIs against their targets, the goal and the holdout lift, failed and unconfirmed sends, and
the AWS usage and cost; and what ``touchpoint why`` prints about one user.

A failed step does not fail its execution (docs/decisions.md D6), so the failures are read from
the ``step_failed`` entries of the trace (``failures``), here and in the HTML report."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO, assert_never
from zoneinfo import ZoneInfo

from touchpoint.engine.kpi.rates import FUNNEL
from touchpoint.journey.model import COUNT_KPIS, IfStep, Journey, SendStep, SplitStep, WaitForStep
from touchpoint.journey.steps import Node, resolve, walk
from touchpoint.journey.types import CHANNELS
from touchpoint.local.pricing import FREE_TIERS
from touchpoint.local.results import (
    AnyTrace,
    CampaignReport,
    ConvertedTrace,
    DeferralTrace,
    EntryTrace,
    Execution,
    ExitedTrace,
    Faults,
    OperationTrace,
    ReconciledTrace,
    SendTrace,
    SimulationResults,
    SnsSms,
    StepFailedTrace,
    UnsubscribedTrace,
)
from touchpoint.logs import redact
from touchpoint.metrics import channel_key, rate
from touchpoint.words import plural

OK, NOT_OK, NO_DATA = "✔", "✘", "·"  # met, missed, nothing to judge yet


class ProgressBar:
    """A bar on a terminal; a line every 10% when the output is a log (CI)."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 32) -> None:
        self.stream, self.width = stream, width
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last_decile = -1

    def __call__(self, done: float, label: str) -> None:
        elapsed = time.monotonic() - self.started
        if self.tty:
            filled = int(done * self.width)
            bar = "█" * filled + "░" * (self.width - filled)
            self.stream.write(f"\r  [{bar}] {done:4.0%}  {label}  ({elapsed:.0f}s)")
            if done >= 1.0:
                self.stream.write("\n")
            self.stream.flush()
        elif int(done * 10) > self.last_decile:
            self.last_decile = int(done * 10)
            self.stream.write(f"  {done:4.0%}  {label}  ({elapsed:.0f}s)\n")
            self.stream.flush()


def _n(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


# --------------------------------------------------------------------------- failed steps

#: How an unconfirmed send reads (docs in touchpoint/engine/send.py): shown, never counted as sent.
UNCONFIRMED = "unconfirmed: the provider's answer was lost; not retried"
RECONCILED = "reconciled: the provider's events show it went out"
SHORT_CAUSE = 90  # characters of a cause in one summary line


@dataclass(frozen=True)
class Failure:
    """A step that failed for one user: a ``step_failed`` entry of the trace, its cause in words.

    ``message`` is the Lambda error's ``errorMessage`` (or the plain cause), with addresses and
    phone numbers masked: a provider's refusal may echo the recipient."""

    user_id: str
    journey_id: str
    step_id: str
    at: str
    error: str  # the name the Task's Catch saw: TemplateError, SendFailed, States.Timeout …
    message: str  # "" when the cause says nothing more than the error
    channel: str | None  # set for sends: only they count in send_failure_rate

    @property
    def reason(self) -> str:
        """``TemplateError: welcome.email.j2: 'nickname' is undefined; add it …``"""
        return f"{self.error}: {self.message}" if self.message else self.error

    @property
    def short(self) -> str:
        """The reason cut to its first clause, for one line: what differs between failures."""
        return short_cause(self.reason)


def short_cause(text: str, limit: int = SHORT_CAUSE) -> str:
    """The first clause of ``text`` (up to ``; `` or a line break), at most ``limit`` characters,
    with `` …`` when something was cut."""
    head = text.split("\n", 1)[0].split("; ", 1)[0].rstrip()
    if len(head) > limit:
        head = head[: limit - 1].rstrip()
    return head if head == text.rstrip() else f"{head} …"


def _cause(cause: object) -> tuple[str | None, str]:
    """(errorType, errorMessage) of a Task's Cause: Lambda's error object as JSON, else the text."""
    if not isinstance(cause, str) or not cause.strip():
        return None, ""
    try:
        data = json.loads(cause)
    except ValueError:
        return None, cause.strip()
    if isinstance(data, dict) and ("errorMessage" in data or "errorType" in data):
        kind, message = data.get("errorType"), data.get("errorMessage")
        return (str(kind) if kind else None), ("" if message is None else str(message).strip())
    return None, cause.strip()


def failure(entry: StepFailedTrace) -> Failure:
    """One ``step_failed`` trace entry (detail: step_id, error, cause, channel for sends)."""
    detail = entry.detail
    kind, message = _cause(detail.cause)
    return Failure(
        entry.user_id,
        entry.journey_id or "",
        detail.step_id,
        entry.at,
        detail.error or kind or "error",
        redact(message),
        detail.channel or None,
    )


def failures(results: SimulationResults) -> list[Failure]:
    """Every failed step of the run, in trace (time) order."""
    return [failure(t) for t in results.trace if isinstance(t, StepFailedTrace)]


def top_reasons(found: Sequence[Failure]) -> list[tuple[int, str, str]]:
    """(count, step, short reason), most frequent first: a template broken for everyone is one
    line however many users it failed for."""
    groups = Counter((f.step_id, f.short) for f in found)
    return [(n, step, text) for (step, text), n in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))]


def _failure_lines(
    counts: Mapping[str, Any], rates: Mapping[str, Any], found: Sequence[Failure]
) -> list[str]:
    """``failed N`` with the send failure rate and the top reasons; ``unconfirmed N``."""
    lines = []
    failed = int(counts.get("failed", 0) or 0)
    others = sum(1 for f in found if f.channel is None)
    if failed or found:
        numbers = {k: float(v) for k, v in counts.items() if isinstance(v, int | float)}
        shown = rates.get("send_failure_rate")
        value = shown if isinstance(shown, int | float) else rate(numbers, "send_failure_rate")[0]
        parts = [f"send_failure_rate {_pct(value)}"]
        used = [c for c in CHANNELS if rate(numbers, f"{c}_send_failure_rate")[1]]
        for channel in used if len(used) > 1 else ():  # one channel: the same number again
            if numbers.get(channel_key(channel, "failed")):
                parts.append(f"{channel} {_pct(rate(numbers, f'{channel}_send_failure_rate')[0])}")
        text = f"  failed {_n(failed)}  ({', '.join(parts)})"
        if others:
            text += f"; {_n(others)} other step{'s' if others != 1 else ''} failed"
        lines.append(text)
        reasons = top_reasons(found)
        for n, step, reason in reasons[:3]:
            lines.append(f"    {_n(n)}× {step}: {reason}")
        if len(reasons) > 3:
            rest = sum(n for n, _, _ in reasons[3:])
            others_text = f"{len(reasons) - 3} other reason{'s' if len(reasons) > 4 else ''}"
            lines.append(f"    … {_n(rest)} more, for {others_text} (see --html or --json)")
    unconfirmed = int(counts.get("unconfirmed", 0) or 0)
    reconciled = int(counts.get("reconciled", 0) or 0)
    if unconfirmed or reconciled:
        text = f"  unconfirmed {_n(unconfirmed)} — the provider's answer was lost; not retried"
        if reconciled:
            text += f" ({_n(reconciled)} reconciled: the provider's events show they went out)"
        lines.append(text)
    return lines


def summary(results: SimulationResults, journeys: Mapping[str, Journey]) -> str:
    lines: list[str] = []
    scenario = results.scenario
    by_journey: dict[str, list[Failure]] = {}
    for failure in failures(results):
        by_journey.setdefault(failure.journey_id, []).append(failure)
    lines.append(
        f"Simulated {scenario.start_local[:16].replace('T', ' ')} → "
        f"{scenario.end_local[:16].replace('T', ' ')}"
        f"{scenario.start_local[19:]}: {plural(scenario.users, 'user')}, "
        f"{plural(len(scenario.journeys), 'journey')}, seed {scenario.seed}"
    )
    for journey_id, report in results.journeys.items():
        counts = report.kpis.counts
        journey = journeys.get(journey_id)
        lines.append("")
        lines.append(f"{journey_id}  {journey.name if journey else report.name}")
        funnel = " → ".join(f"{stage} {_n(counts.get(stage, 0))}" for stage in FUNNEL)
        held = counts.get("held_out", 0)
        lines.append(f"  {funnel}" + (f"  (held out {_n(held)})" if held else ""))
        skipped = counts.get("skipped", 0)
        if skipped:
            lines.append(f"  skipped {_n(skipped)}")
        lines += _failure_lines(counts, report.kpis.rates, by_journey.get(journey_id, []))
        for kpi, judged in report.kpis.targets.items():
            value = judged.value
            shown = _n(int(value)) if kpi in FUNNEL and value is not None else _pct(value)
            bounds = {"target": judged.target, "floor": judged.floor, "ceiling": judged.ceiling}
            parts = [
                f"{name} {_pct(bound) if kpi not in FUNNEL else _n(bound)}"
                for name, bound in bounds.items()
                if bound is not None
            ]
            mark = NO_DATA if value is None else NOT_OK if judged.breached or judged.met is False else OK
            lines.append(f"  {mark} {kpi} {shown}  ({', '.join(parts)}; sample {_n(judged.sample)})")
        goal = report.goal
        if goal:
            mark = NO_DATA if goal.met is None else OK if goal.met else NOT_OK
            text = (
                f"  {mark} goal: {goal.event} within {goal.within}: {_pct(goal.actual)} of "
                f"{_n(goal.entered)} (target {_pct(goal.target)}"
            )
            text += f", baseline {_pct(goal.baseline)})" if goal.baseline is not None else ")"
            if goal.holdout_actual is not None:
                lift = goal.lift
                text += (
                    f"; holdout {_pct(goal.holdout_actual)} of {_n(goal.holdout_entered)}, lift "
                    f"{'+' if lift and lift >= 0 else ''}{(lift or 0) * 100:.1f} pts"
                )
            lines.append(text)
        for alert in (a for a in results.alerts if a.journey_id == journey_id):
            where = "below floor" if alert.condition == "below_floor" else "above ceiling"
            show = _n if alert.kpi in FUNNEL else _pct
            bound = f"{where} {show(alert.threshold)}"
            lines.append(
                f"  ⚠ {alert.at[:10]} {alert.kpi} {alert.status} ({bound}: "
                f"{show(alert.value)}, sample {_n(alert.sample)}, {alert.period})"
            )
    for campaign_id, plan in results.campaigns.items():
        lines += _campaign_lines(campaign_id, plan)
    aws = results.aws
    lines.append("")
    lines.append(
        f"AWS: {_n(aws.state_transitions)} state transitions · {_n(aws.lambda_invocations)} Lambda "
        f"invocations · {_n(aws.dynamodb_requests)} DynamoDB requests · {plural(aws.ses_messages, 'email')} "
        f"· {_n(aws.sms_messages)} SMS · {plural(aws.events_put, 'event')}"
    )
    cost = aws.cost_usd
    messages = cost.ses + cost.sms
    lines.append(
        f"Estimated AWS cost: ${aws.estimated_cost_usd:.4f} "
        f"(engine ${aws.estimated_cost_usd - messages:.4f}, email ${cost.ses:.4f}, "
        f"SMS ${cost.sms:.4f}), ${aws.cost_per_1000_user_journeys_usd:.4f} per 1,000 "
        f"user-journeys (prices: touchpoint/local/pricing.py; {FREE_TIERS})"
    )
    sms = results.providers.sms
    lines += [f"Note: {sms.note}"] if isinstance(sms, SnsSms) else []
    if results.faults is not None:
        lines += _fault_lines(results.faults)
    if results.rejected_events:
        lines.append(f"Rejected events: {len(results.rejected_events)} (see --json)")
    return "\n".join(lines) + "\n"


_VERDICT_MARK = {"met": OK, "missed": NOT_OK, "not_enough_data": NO_DATA, "inconclusive": "?"}


def _campaign_lines(campaign_id: str, plan: CampaignReport) -> list[str]:
    """The plan table with the actual figure beside each target, then the campaign goal."""
    last = plan.until if plan.until != plan.date else None
    lines = [
        "",
        f"campaign {campaign_id}  {plan.name}  ({plan.date}{f' – {last}' if last else ''}, {plan.timezone})",
    ]
    for stage in plan.stages:
        window = f"{(stage.from_ or '')[:10]} – {_last_day(stage.until)}"
        kpis = " · ".join(
            f"{_VERDICT_MARK[k.verdict]} {k.kpi} {_figure(k.kpi, k.value)} "
            f"(target {_figure(k.kpi, k.target)})"
            for k in stage.kpis
        )
        entered = _n(stage.funnel.get("entered", 0))
        lines.append(f"  {stage.name or stage.id:<10} {window}  {entered} entered  {kpis}".rstrip())
    goal = plan.goal
    if goal is not None:
        interval = (
            f", 95% interval {_pct(goal.interval[0])}–{_pct(goal.interval[1])}" if goal.interval else ""
        )
        revenue = f"; revenue {goal.revenue:,.2f}" if goal.revenue is not None else ""
        words = goal.verdict.replace("_", " ")
        lines.append(
            f"  {_VERDICT_MARK[goal.verdict]} goal: {goal.event}: {_n(goal.converted)} of "
            f"{_n(goal.participants)} participants, {_pct(goal.rate)}{interval} "
            f"(target {_pct(goal.target)}: {words}){revenue}"
        )
    return lines


def _last_day(until: str | None) -> str:
    """An exclusive window end as the last local day it covers."""
    if until is None:
        return "…"
    end = dt.datetime.fromisoformat(until)
    return (end - dt.timedelta(seconds=1)).strftime("%Y-%m-%d")


def _figure(kpi: str, value: float | None) -> str:
    return _n(value) if kpi in COUNT_KPIS else _pct(value)


def _fault_lines(report: Faults) -> list[str]:
    """What the rehearsed faults did, and what the engine made of them (docs/simulation.md#faults)."""
    injected = ", ".join(f"{name.replace('_', ' ')} {_n(count)}" for name, count in report.injected.items())
    retried = report.retried
    todo = [f"{name.replace('_', ' ')} {_n(count)}" for name, count in report.act_on if count]
    in_flight = report.unconfirmed_in_flight
    return [
        "",
        f"Faults: {' · '.join(report.faults)}",
        f"  injected: {injected or 'nothing yet'}",
        f"  retried: {_n(retried.step_attempts)} step attempts, {_n(retried.sqs_records)} SQS records, "
        f"{_n(retried.scheduled_invocations)} scheduled invocations · deferred {_n(report.deferred)}"
        f" · fell back {_n(report.fell_back)}",
        f"  unconfirmed {_n(report.unconfirmed)}, reconciled {_n(report.reconciled)}"
        + (f", in flight at the end {_n(in_flight)}" if in_flight else "")
        + f" · dead letters {_n(len(report.dead_letters))}",
        f"  {NOT_OK} act on: {', '.join(todo)}"
        if todo
        else f"  {OK} nothing to act on: no failed step, every unconfirmed send reconciled, no dead letter",
    ]


def branches_taken(journey: Journey, path: list[str]) -> list[str]:
    """Human lines for the branch each branching step took, read from the path of step ids."""
    nodes = {n.id: n for n in walk(resolve(journey.steps))}
    out = []
    for i, step_id in enumerate(path):
        node = nodes.get(step_id)
        if node is None or not node.branches:
            continue
        after = path[i + 1] if i + 1 < len(path) else None
        label = _branch(node, after)
        if label:
            out.append(f"{step_id}: {label}")
    return out


def _branch(node: Node, after: str | None) -> str | None:
    entered = next((b for b in node.branches if after in {n.id for n in walk(b.nodes)}), None)
    empty = [b for b in node.branches if not b.nodes]
    match node.step:
        case IfStep():
            chosen = entered or (empty[0] if len(empty) == 1 else None)
            return None if chosen is None else ("yes" if chosen.label == "then" else "no")
        case WaitForStep():
            chosen = entered or (empty[0] if len(empty) == 1 else None)
            return (
                None if chosen is None else ("the event came" if chosen.label == "on_event" else "timed out")
            )
        case SplitStep():
            chosen = entered or (empty[0] if len(empty) == 1 else None)
            return None if chosen is None else f"path {chosen.label}"
        case SendStep():
            return "not sent: fallback" if entered else None
    return None


#: What each entry, skip and deferral reason means, for ``why`` (codes: docs/events.md).
REASONS = {
    # entry
    "not_effective": "outside the journey's effective dates",
    "stopped": "the journey is stopped",
    "paused": "the journey is paused",
    "audience": "not in the audience",
    "not_a_participant": "did not enter an earlier stage of the campaign (audience: participants)",
    "already_entered": "already entered once (entry.reentry: never)",
    "in_journey": "still in this journey",
    "reentry_wait": "entered too recently (entry.reentry.after)",
    "not_in_rollout": "outside the canary's rollout percentage",
    "lower_priority": "a higher-priority journey of the group took this event",
    "group_busy": "busy in an equal- or higher-priority journey of the group",
    # sends
    "holdout": "in the holdout group: measured, never sent",
    "exited": "left the journey before the send",
    "no_profile": "the profile is gone",
    "no_contact": "no address or number for the channel",
    "invalid_contact": "the address or number is invalid",
    "suppressed": "suppressed after a bounce or complaint",
    "no_consent": "no marketing consent for the channel",
    "send_window": "outside the send window",
    "frequency_cap": "frequency cap reached",
    "carrier_opt_out": "the number opted out with the carrier (STOP): now suppressed",
}


def _reason(code: str | None) -> str:
    return REASONS.get(code or "", code or "unknown")


def _utc(at: str) -> str:
    return at[:16].replace("T", " ") + " UTC"


def _failed_note(execution: Execution, found: Sequence[Failure]) -> str:
    """What the status line must add when a step of this run failed: the Task's Catch recorded
    it and the run went on, so the status alone (SUCCEEDED) would say all went well."""
    start, end = execution.entered_at, execution.ended_at
    steps = list(dict.fromkeys(f.step_id for f in found if start <= f.at and (end is None or f.at <= end)))
    if not steps:
        return ""
    if len(steps) == 1:
        which = f"step {steps[0]} failed"
    else:
        which = f"{len(steps)} steps failed ({', '.join(steps)})"
    going = "went on" if execution.status != "RUNNING" else "goes on"
    return f" — but {which}: caught and recorded, the journey {going} without it (docs/decisions.md D6)"


def why(
    results: SimulationResults,
    journeys: Mapping[str, Journey],
    user_id: str,
    journey_id: str | None,
    zone: str | None = None,
) -> str:
    """``zone``: the user's own time zone, shown beside UTC (else each journey's, as the engine
    would use it)."""
    trace = [
        t
        for t in results.trace
        if t.user_id == user_id and (journey_id is None or t.journey_id == journey_id)
    ]
    executions = [
        e
        for e in results.executions
        if e.user_id == user_id and (journey_id is None or e.journey_id == journey_id)
    ]
    seen = {t.journey_id for t in trace if t.journey_id} | {e.journey_id for e in executions}
    if not seen and user_id not in results.scenario.scripted_users:
        return (
            f"{user_id}: nothing in this simulation — not one of its users, or no journey was ever "
            "triggered for them (synthetic users are u00000, u00001, …)\n"
        )
    lines = [f"Why {user_id} got what they got" + (f" from {journey_id}" if journey_id else "") + ":"]
    for jid in sorted(seen):
        lines.append("")
        lines.append(f"{jid}")
        journey = journeys.get(jid)
        local = zone or (journey.timezone if journey else None)
        for entry in (t for t in trace if t.journey_id == jid):
            lines.append(f"  {_when(entry.at, local)}  {_told(entry, local)}")
        failed_here = [failure(t) for t in trace if t.journey_id == jid and isinstance(t, StepFailedTrace)]
        for execution in (e for e in executions if e.journey_id == jid):
            lines.append(f"  path: {' → '.join(execution.path) or '(none)'}")
            if journey is not None:
                lines += [f"  branch {b}" for b in branches_taken(journey, execution.path)]
            lines.append(
                f"  status: {execution.status}"
                + (f" ({execution.exit_reason})" if execution.exit_reason else "")
                + _failed_note(execution, failed_here)
            )
    never = [j for j in results.scenario.journeys if j not in seen and journey_id in (None, j)]
    if never:
        lines.append("")
        lines.append(
            f"Never a candidate for {', '.join(never)}: no trigger fired for {user_id}, or a scheduled "
            "or date trigger ran while they were outside the audience (runs record only the audience)."
        )
    return "\n".join(lines) + "\n"


def _when(at: str, zone: str | None) -> str:
    """UTC, and the same moment on the user's clock."""
    if zone is None or zone in ("UTC", "Etc/UTC"):
        return _utc(at)
    local = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    return f"{_utc(at)} ({local:%Y-%m-%d %H:%M} {zone})"


def _told(entry: AnyTrace, zone: str | None = None) -> str:
    """One trace entry of ``why``, in words."""
    match entry:
        case EntryTrace(detail=detail):
            if detail.entered:
                held = " (held out: measured, sent nothing)" if detail.holdout else ""
                return f"entered ({detail.trigger}){held}"
            return f"did not enter ({detail.trigger}): {_reason(detail.reason)}"
        case DeferralTrace(detail=detail):
            until = f", until {_when(detail.until, zone)}" if detail.until else ""
            return f"{detail.step_id}: deferred — {_reason(detail.reason)}{until}"
        case SendTrace(detail=detail):
            what = f"{detail.step_id}: sent {detail.channel} {detail.template_file or detail.template}"
            if detail.status == "sent" and detail.reason == "reconciled":
                return f"{what} — {RECONCILED}"
            if detail.status == "sent":
                return what + (f", {plural(detail.segments, 'segment')}" if detail.segments else "")
            if detail.status == "sent_unconfirmed":
                return f"{what}, {UNCONFIRMED}"
            return f"{detail.step_id}: skipped — {_reason(detail.reason)}"
        case StepFailedTrace():
            failed = failure(entry)
            return f"{failed.step_id}: failed — {failed.reason}"
        case ExitedTrace(detail=detail):
            return f"left the journey: {detail.reason}"
        case ConvertedTrace():
            return "converted (the goal happened)"
        case UnsubscribedTrace(detail=detail):
            return f"unsubscribed ({detail.channel})"
        case ReconciledTrace() | OperationTrace():
            return f"{entry.kind}: {redact(str(entry.detail.model_dump()))}"
        case _:
            assert_never(entry)
