"""Per journey: sends by step, skip reasons, how runs ended, failed steps and unconfirmed sends."""

from __future__ import annotations

from collections import Counter

from touchpoint.journey.model import Journey
from touchpoint.local.report.fmt import (
    _HATCH,
    FAILED_COLOUR,
    MAX_FAILURE_ROWS,
    _chips,
    _clip,
    _colour,
    _dv,
    _parse,
    _slug,
)
from touchpoint.local.report.view import ReportView
from touchpoint.local.svg import attr, coord, escape
from touchpoint.local.terminal import RECONCILED, UNCONFIRMED, top_reasons


def sends_chart(view: ReportView, jid: str, model: Journey | None) -> str:
    steps = view.step_sends(jid, model)
    order, channel = steps.order, steps.channel
    sent, skipped, unconfirmed, failed = steps.sent, steps.skipped, steps.unconfirmed, steps.failed
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
        extra = [(name, n) for name, n in (("unconfirmed", unconfirmed[step]), ("failed", failed[step])) if n]
        attrs = "".join(f' data-{name}="{n}"' for name, n in extra)
        segments = ""
        if wu:
            segments += (
                f'<rect class="unconfirmed-seg" x="{coord(label_w + ws + wk)}" y="4" width="{coord(wu)}" '
                f'height="16" fill="#f59e0b"/>'
            )
        if wf:
            segments += (
                f'<rect class="fail-seg" x="{coord(label_w + ws + wk + wu)}" y="4" width="{coord(wf)}" '
                f'height="16" fill="{FAILED_COLOUR}"/>'
            )
        counted = "".join(f'<tspan class="{name}"> / {n:,} {name}</tspan>' for name, n in extra)
        said = "".join(f", {n:,} {name}" for name, n in extra)
        parts.append(
            f'<g class="send-row" data-step="{attr(step)}" data-sent="{sent[step]}" '
            f'data-skipped="{skipped[step]}"{attrs} transform="translate(0 {y})">'
            f'<text class="lbl mono" x="0" y="16">{escape(_clip(step, 20))}</text>'
            f'<rect class="track" x="{label_w}" y="4" width="{bar_w}" height="16" rx="3"/>'
            f'<rect x="{label_w}" y="4" width="{coord(ws)}" height="16" fill="{colour}"/>'
            f'<rect class="skip-seg" x="{coord(label_w + ws)}" y="4" width="{coord(wk)}" height="16" '
            f'fill="url(#tp-hatch)"/>{segments}'
            f'<text class="val" x="{label_w + bar_w + 8}" y="16">{sent[step]:,}'
            f'<tspan class="muted"> / {skipped[step]:,} skipped</tspan>{counted}</text>'
            f"<title>{escape(step)}: {sent[step]:,} sent, {skipped[step]:,} skipped{said}</title></g>"
        )
    height = len(order) * row_h
    return (
        f'<svg class="sends" data-journey="{attr(jid)}" viewBox="0 0 540 {height}" width="540" '
        f'height="{height}">{_HATCH}{"".join(parts)}</svg>'
    )


def skip_chips(view: ReportView, jid: str) -> str:
    reasons = Counter(
        m.reason or "unknown" for m in view.messages if m.journey == jid and m.status == "skipped"
    )
    if reasons:
        return _chips(reasons, "reason")
    failed = view.failed_count(jid)
    unconfirmed = sum(1 for m in view.messages if m.journey == jid and m.status == "sent_unconfirmed")
    if not failed and not unconfirmed:
        return '<p class="muted small">Nothing skipped.</p>'
    # never "nothing skipped" alone when messages did not go out: say what happened instead
    what = [f"{failed:,} failed"] if failed else []
    what += [f"{unconfirmed:,} unconfirmed"] if unconfirmed else []
    return f'<p class="small fail-note">No send was skipped, but {" and ".join(what)}: see below.</p>'


def failed_table(view: ReportView, jid: str, model: Journey | None) -> str:
    """Who, when, which step, the error and its reason, for every failed step of the journey."""
    found = [f for f in view.failures if f.journey_id == jid]
    head = (
        f'<div class="failures" id="failures-{attr(_slug(jid))}" data-journey="{attr(jid)}" '
        f'data-count="{len(found)}"><h4>Failed steps</h4>'
    )
    if not found:
        return head + '<p class="muted small">No step failed.</p></div>'
    chips = "".join(
        f'<span class="chip failure" data-step="{attr(step)}" data-value="{n}">'
        f'<span class="mono">{escape(step)}</span> {escape(text)} <b>{n:,}</b></span>'
        for n, step, text in top_reasons(found)
    )
    templates = view.step_templates(model)
    rows = []
    for f in found[:MAX_FAILURE_ROWS]:
        when = _parse(f.at)
        template = templates.get(f.step_id, "")
        kind = f.channel or "step"
        rows.append(
            f'<tr class="failure" data-user="{attr(f.user_id)}" data-step="{attr(f.step_id)}" '
            f'data-at="{attr(f.at)}" data-error="{attr(f.error)}">'
            f'<td><time datetime="{attr(f.at)}">{escape(view.stamp(when))}</time></td>'
            f'<td class="mono user">{escape(f.user_id)}</td>'
            f'<td><span class="ch" style="background:{_colour(kind) if f.channel else "#64748b"}">'
            f'{escape(kind)}</span> <b class="mono">{escape(f.step_id)}</b> '
            f'<span class="muted">{escape(template)}</span></td>'
            f'<td class="mono err">{escape(f.error)}</td>'
            f'<td class="why">{escape(f.message or "no cause given")}</td></tr>'
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


def unconfirmed_table(view: ReportView, jid: str) -> str:
    """Sends whose provider answer was lost (never retried), and which of them were reconciled."""
    pending = [m for m in view.messages if m.journey == jid and m.status == "sent_unconfirmed"]
    if not pending:
        return ""
    later = [m for m in view.messages if m.journey == jid and m.status == "sent" and m.reason == "reconciled"]
    rows = []
    for m in pending[:MAX_FAILURE_ROWS]:
        found = next((r for r in later if (r.user, r.step) == (m.user, m.step) and r.at >= m.at), None)
        outcome = f"{RECONCILED} ({view.stamp(found.when)})" if found is not None else UNCONFIRMED
        rows.append(
            f'<tr class="unconfirmed-send" data-user="{attr(m.user)}" data-step="{attr(m.step)}" '
            f'data-at="{attr(m.at)}" data-reconciled="{_dv(found is not None)}">'
            f'<td><time datetime="{attr(m.at)}">{escape(view.stamp(m.when))}</time></td>'
            f'<td class="mono user">{escape(m.user)}</td>'
            f'<td><span class="ch" style="background:{_colour(m.channel)}">{escape(m.channel)}</span> '
            f'<b class="mono">{escape(m.step)}</b> <span class="muted">{escape(m.template)}</span></td>'
            f"<td>{escape(outcome)}</td></tr>"
        )
    more = len(pending) - MAX_FAILURE_ROWS
    if more > 0:
        rows.append(f'<tr class="more"><td colspan="4" class="muted">… and {more:,} more.</td></tr>')
    return (
        f'<div class="failures unconfirmed-sends" id="unconfirmed-{attr(_slug(jid))}" '
        f'data-journey="{attr(jid)}" data-count="{len(pending)}"><h4>Unconfirmed sends</h4>'
        '<p class="hint">The provider may have taken these messages, but its answer was lost: the '
        "engine never sends them again (it could send twice), and counts them apart from sent until "
        "the provider's events show they went out (reconciled).</p>"
        '<table class="failed-steps"><thead><tr><th>When</th><th>User</th><th>Step</th>'
        f"<th>Outcome</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def outcome_chips(view: ReportView, jid: str) -> str:
    ends: Counter[str] = Counter()
    for e in view.executions:
        if e.journey_id != jid:
            continue
        status, reason = e.status, e.exit_reason
        ends["still running" if status == "RUNNING" else str(reason or status.lower() or "unknown")] += 1
    if not ends:
        return '<p class="muted small">No runs.</p>'
    return _chips(ends, "outcome")
