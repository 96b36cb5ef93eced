"""preview: every message of a journey as one profile would receive it, and what the gate would
do with it at a moment (touchpoint.engine.preview), as text or as one HTML page."""

from __future__ import annotations

import argparse
import datetime as dt
import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from touchpoint.cli.journeys import DEFAULT_JOURNEYS
from touchpoint.cli.output import UsageError, existing, journey_file, print_violations, read_profile
from touchpoint.clock import SystemClock
from touchpoint.engine.message import send_steps
from touchpoint.engine.preview import Preview, preview
from touchpoint.journey.loader import display_path, load_project
from touchpoint.local.scenario import ScenarioError, load_scenario
from touchpoint.local.simulator.world import profile_of
from touchpoint.logs import redact
from touchpoint.render import Renderer
from touchpoint.settings import Settings
from touchpoint.suggest import did_you_mean
from touchpoint.words import plural


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("preview", help="show a journey's messages as one profile would receive them")
    p.add_argument("journey", help="a journey id in the journeys directory, or a journey file")
    p.add_argument("step", nargs="?", help="one send step id (default: every send step, in order)")
    p.add_argument("--journeys", type=Path, default=DEFAULT_JOURNEYS, help="the journeys directory")
    p.add_argument("--profile", type=Path, metavar="FILE", help="a profile item (YAML or JSON) as stored")
    p.add_argument("--user", help="a user of --scenario: its scripted or synthetic profile")
    p.add_argument("--scenario", type=Path, help="the scenario --user belongs to")
    p.add_argument("--locale", help="render this language variant (default: the profile's locale)")
    p.add_argument("--at", help="the moment the gate is asked about (ISO 8601 with offset; default: now)")
    p.add_argument("--html", type=Path, metavar="FILE", help="also write one page with every message")
    p.set_defaults(run=_preview)


def _preview(args: argparse.Namespace) -> int:
    path = journey_file(args.journey, args.journeys)
    project = load_project([path])
    if project.errors():
        print_violations(project.errors())
        return 1
    loaded, journey = project.valid()[0]
    steps = send_steps(journey)
    if args.step is not None:
        ids = [step.step_id for step in steps]
        if args.step not in ids:
            raise UsageError(f'{journey.id} has no send step "{args.step}"{did_you_mean(args.step, ids)}')
        steps = [step for step in steps if step.step_id == args.step]
    item = dict(_profile(args))
    if args.locale:
        item["locale"] = args.locale
    now = _moment(args.at)
    renderer = Renderer(loaded.path.parent, project.context_of(loaded).profile)
    settings = Settings.from_env()
    previews = [preview(journey, step, item, renderer, settings, now) for step in steps]
    print(text(journey.id, previews, now), end="")
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(page(journey.id, previews), encoding="utf-8")
        print(f"wrote {args.html}")
    return 0


def _profile(args: argparse.Namespace) -> Mapping[str, Any]:
    if (args.profile is None) == (args.user is None):
        raise UsageError("give --profile FILE, or --user ID with --scenario FILE")
    if args.profile is not None:
        return read_profile(args.profile)
    if args.scenario is None:
        raise UsageError("--user needs --scenario FILE")
    existing(args.scenario, "scenario file")
    try:
        scenario = load_scenario(args.scenario, display_path(args.scenario))
    except ScenarioError as error:
        raise UsageError(str(error.violations[0])) from None
    found = profile_of(scenario, args.user)
    if found is None:
        hint = did_you_mean(args.user, [u.id for u in scenario.users])
        raise UsageError(
            f'no user "{args.user}" in {args.scenario}{hint or "; synthetic users are u00000, …"}'
        )
    return found


def _moment(at: str | None) -> dt.datetime:
    if at is None:
        return SystemClock().now()
    try:
        moment = dt.datetime.fromisoformat(at)
    except ValueError:
        raise UsageError(f'--at "{at}" is not a date-time; write 2026-12-03T08:00:00+08:00') from None
    if moment.tzinfo is None:
        raise UsageError(f'--at "{at}" has no offset; write 2026-12-03T08:00:00+08:00')
    return moment


def text(journey_id: str, previews: list[Preview], now: dt.datetime) -> str:
    lines: list[str] = []
    for shown in previews:
        message = shown.message
        file = message.rendered.file if message else shown.template
        lines.append(f"== {journey_id} · {shown.step_id} · {shown.channel} · {file}")
        lines.append(f"gate at {now.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC: {shown.verdict}")
        lines.append(f"to: {shown.to}")
        if message is None:
            lines += [f"error: {redact(shown.error or '')}", ""]
            continue
        rendered = message.rendered
        if message.sms is not None:
            encoding, segments = message.sms_segments
            lines.append("text: " + message.sms)
            lines.append(
                f"{plural(segments, 'segment')} · {encoding} · {plural(len(message.sms), 'character')}"
            )
        else:
            lines.append(f"subject: {rendered.subject}")
            lines.append("text:")
            lines += [f"  {line}".rstrip() for line in rendered.text.splitlines()]
            lines.append(f"html: {len((rendered.html or '').encode())} bytes (see --html)")
            lines.append(f"unsubscribe: {message.unsubscribe_url}")
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


_STYLE = """
body{font-family:Arial,Helvetica,sans-serif;margin:16px;background:#f4f1ec;color:#222}
section{background:#fff;border-radius:8px;padding:12px 16px;margin:0 0 20px;box-sizing:border-box}
h2{font-size:16px;margin:0 0 4px;overflow-wrap:anywhere}
.gate{margin:0 0 10px;font-size:14px;color:#555}
.frames{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure{margin:0;max-width:100%}
figcaption{font-size:12px;color:#777;margin-bottom:4px}
iframe{border:1px solid #ddd;height:720px;max-width:100%;background:#fff}
.desktop{width:640px}.phone{width:375px}
.bubble{max-width:300px;background:#e5f6df;border-radius:14px;padding:10px 14px;
  white-space:pre-wrap;overflow-wrap:anywhere}
"""

_MEASURE = (
    "<script>addEventListener('load',()=>{const d=document.documentElement;"
    "d.dataset.width=String(innerWidth);d.dataset.overflow=String(d.scrollWidth>innerWidth);})</script>"
)


def page(journey_id: str, previews: list[Preview]) -> str:
    """One self-contained page: each email at desktop and phone width (sandboxed frames, no
    scripts inside), each SMS as a bubble."""
    cards: list[str] = []
    for shown in previews:
        message = shown.message
        title = html.escape(
            f"{shown.step_id} · {shown.channel} · {message.rendered.file if message else shown.template}"
        )
        body: str
        if message is None:
            body = f"<p>{html.escape(redact(shown.error or ''))}</p>"
        elif message.sms is not None:
            encoding, segments = message.sms_segments
            bubble = f'<div class="bubble">{html.escape(message.sms)}</div>'
            body = f'{bubble}<p class="gate">{plural(segments, "segment")} · {encoding}</p>'
        else:
            doc = html.escape(message.rendered.html or "", quote=True)
            subject = html.escape(message.rendered.subject or "")
            frames = "".join(
                f'<figure><figcaption>{label}</figcaption><iframe class="{cls}" sandbox="" srcdoc="{doc}" '
                f'title="{title} at {label}"></iframe></figure>'
                for cls, label in (("desktop", "desktop 640 px"), ("phone", "phone 375 px"))
            )
            body = f'<p><b>Subject:</b> {subject}</p><div class="frames">{frames}</div>'
        cards.append(
            f'<section data-step="{html.escape(shown.step_id)}"><h2>{title}</h2>'
            f'<p class="gate">{html.escape(shown.verdict)}</p>{body}</section>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Preview · {html.escape(journey_id)}</title><style>{_STYLE}</style>{_MEASURE}</head>"
        f"<body><h1>{html.escape(journey_id)}</h1>{''.join(cards)}</body></html>\n"
    )
