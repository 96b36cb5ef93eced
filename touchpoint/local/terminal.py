"""What ``touchpoint simulate`` prints: a progress bar while it runs, then per journey the funnel,
the KPIs against their targets, the goal and the holdout lift, and the AWS usage and cost; and
what ``touchpoint why`` prints about one user."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from touchpoint.engine.kpi import FUNNEL
from touchpoint.journey.model import IfStep, Journey, SendStep, SplitStep, WaitForStep
from touchpoint.journey.steps import Node, resolve, walk

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


def summary(results: Mapping[str, Any], journeys: Mapping[str, Journey]) -> str:
    lines: list[str] = []
    scenario = results["scenario"]
    lines.append(
        f"Simulated {scenario.get('start_local', scenario['start'])[:16].replace('T', ' ')} → "
        f"{scenario.get('end_local', scenario['end'])[:16].replace('T', ' ')}"
        f"{scenario.get('start_local', '')[19:]}: {_n(scenario['users'])} users, "
        f"{len(scenario['journeys'])} journeys, seed {scenario['seed']}"
    )
    for journey_id, report in results["journeys"].items():
        counts = report["kpis"]["counts"]
        journey = journeys.get(journey_id)
        lines.append("")
        lines.append(f"{journey_id}  {journey.name if journey else report.get('name', '')}")
        funnel = " → ".join(f"{stage} {_n(counts.get(stage, 0))}" for stage in FUNNEL)
        held = counts.get("held_out", 0)
        lines.append(f"  {funnel}" + (f"  (held out {_n(held)})" if held else ""))
        skipped = counts.get("skipped", 0)
        if skipped:
            lines.append(f"  skipped {_n(skipped)}")
        for kpi, judged in report["kpis"]["targets"].items():
            value = judged.get("value")
            shown = _n(int(value)) if kpi in FUNNEL and value is not None else _pct(value)
            parts = [
                f"{name} {_pct(judged[name]) if kpi not in FUNNEL else _n(judged[name])}"
                for name in ("target", "floor", "ceiling")
                if judged.get(name) is not None
            ]
            mark = (
                NO_DATA
                if value is None
                else NOT_OK
                if judged.get("breached") or judged.get("met") is False
                else OK
            )
            lines.append(f"  {mark} {kpi} {shown}  ({', '.join(parts)}; sample {_n(judged.get('sample'))})")
        goal = report.get("goal")
        if goal:
            mark = NO_DATA if goal.get("met") is None else OK if goal["met"] else NOT_OK
            text = (
                f"  {mark} goal: {goal['event']} within {goal['within']}: {_pct(goal.get('actual'))} of "
                f"{_n(goal.get('entered'))} (target {_pct(goal['target'])}"
            )
            text += f", baseline {_pct(goal['baseline'])})" if goal.get("baseline") is not None else ")"
            if goal.get("holdout_actual") is not None:
                lift = goal.get("lift")
                text += (
                    f"; holdout {_pct(goal['holdout_actual'])} of {_n(goal['holdout_entered'])}, lift "
                    f"{'+' if lift and lift >= 0 else ''}{(lift or 0) * 100:.1f} pts"
                )
            lines.append(text)
        for alert in (a for a in results.get("alerts", []) if a["journey_id"] == journey_id):
            where = "below floor" if alert["condition"] == "below_floor" else "above ceiling"
            show = _n if alert["kpi"] in FUNNEL else _pct
            bound = f"{where} {show(alert['threshold'])}"
            lines.append(
                f"  ⚠ {alert['at'][:10]} {alert['kpi']} {alert['status']} ({bound}: "
                f"{show(alert['value'])}, sample {_n(alert['sample'])}, {alert['period']})"
            )
    aws = results["aws"]
    lines.append("")
    lines.append(
        f"AWS: {_n(aws['state_transitions'])} state transitions · {_n(aws['lambda_invocations'])} Lambda "
        f"invocations · {_n(aws['dynamodb_requests'])} DynamoDB requests · {_n(aws['ses_messages'])} "
        f"emails · {_n(aws['sms_messages'])} SMS · {_n(aws['events_put'])} events"
    )
    parts = aws.get("cost_usd", {})
    messages = parts.get("ses", 0.0) + parts.get("sms", 0.0)
    lines.append(
        f"Estimated AWS cost: ${aws['estimated_cost_usd']:.4f} "
        f"(engine ${aws['estimated_cost_usd'] - messages:.4f}, email ${parts.get('ses', 0.0):.4f}, "
        f"SMS ${parts.get('sms', 0.0):.4f}), ${aws['cost_per_1000_user_journeys_usd']:.4f} per 1,000 "
        "user-journeys (prices: touchpoint/local/pricing.py)"
    )
    if results["rejected_events"]:
        lines.append(f"Rejected events: {len(results['rejected_events'])} (see --json)")
    return "\n".join(lines) + "\n"


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
}


def _reason(code: str | None) -> str:
    return REASONS.get(code or "", code or "unknown")


def _utc(at: str) -> str:
    return at[:16].replace("T", " ") + " UTC"


def why(
    results: Mapping[str, Any], journeys: Mapping[str, Journey], user_id: str, journey_id: str | None
) -> str:
    trace = [
        t
        for t in results.get("trace", [])
        if t["user_id"] == user_id and (journey_id is None or t["journey_id"] == journey_id)
    ]
    executions = [
        e
        for e in results["executions"]
        if e["user_id"] == user_id and (journey_id is None or e["journey_id"] == journey_id)
    ]
    seen = {t["journey_id"] for t in trace if t["journey_id"]} | {e["journey_id"] for e in executions}
    if not seen and user_id not in results["scenario"].get("scripted_users", []):
        return (
            f"{user_id}: nothing in this simulation — not one of its users, or no journey was ever "
            "triggered for them (synthetic users are u00000, u00001, …)\n"
        )
    lines = [f"Why {user_id} got what they got" + (f" from {journey_id}" if journey_id else "") + ":"]
    for jid in sorted(seen):
        lines.append("")
        lines.append(f"{jid}")
        for entry in (t for t in trace if t["journey_id"] == jid):
            detail = entry["detail"]
            at = _utc(entry["at"])
            match entry["kind"]:
                case "entry":
                    if detail.get("entered"):
                        held = " (held out: measured, sent nothing)" if detail.get("holdout") else ""
                        lines.append(f"  {at}  entered ({detail.get('trigger')}){held}")
                    else:
                        reason = _reason(detail.get("reason"))
                        lines.append(f"  {at}  did not enter ({detail.get('trigger')}): {reason}")
                case "deferral":
                    lines.append(
                        f"  {at}  {detail.get('step_id')}: deferred — {_reason(detail.get('reason'))}"
                        + (f", until {_utc(detail['until'])}" if detail.get("until") else "")
                    )
                case "send":
                    if detail.get("status") == "sent":
                        extra = f", {detail['segments']} segment(s)" if detail.get("segments") else ""
                        lines.append(
                            f"  {at}  {detail.get('step_id')}: sent {detail.get('channel')} "
                            f"{detail.get('template_file') or detail.get('template')}{extra}"
                        )
                    else:
                        lines.append(
                            f"  {at}  {detail.get('step_id')}: skipped — {_reason(detail.get('reason'))}"
                        )
                case "exited":
                    lines.append(f"  {at}  left the journey: {detail.get('reason')}")
                case "converted":
                    lines.append(f"  {at}  converted (the goal happened)")
                case kind:
                    lines.append(f"  {at}  {kind}: {detail}")
        journey = journeys.get(jid)
        for execution in (e for e in executions if e["journey_id"] == jid):
            lines.append(f"  path: {' → '.join(execution['path']) or '(none)'}")
            if journey is not None:
                lines += [f"  branch {b}" for b in branches_taken(journey, execution["path"])]
            lines.append(
                f"  status: {execution['status']}"
                + (f" ({execution['exit_reason']})" if execution.get("exit_reason") else "")
            )
    never = [j for j in results["scenario"]["journeys"] if j not in seen and journey_id in (None, j)]
    if never:
        lines.append("")
        lines.append(
            f"Never a candidate for {', '.join(never)}: no trigger fired for {user_id}, or a scheduled "
            "or date trigger ran while they were outside the audience (runs record only the audience)."
        )
    return "\n".join(lines) + "\n"
