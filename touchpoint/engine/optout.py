"""The unsubscribe endpoint's domain: a signed link revokes the channel's consent at once.

GET shows a confirmation page (link scanners follow GETs; they must not unsubscribe anyone);
POST — the button on that page, or a mail client's RFC 8058 one-click request — unsubscribes."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

from touchpoint.clock import Clock
from touchpoint.engine.ports import BusPort, ProfilesPort, RecordsPort
from touchpoint.events import Event, EventDetail, JourneyEvent
from touchpoint.profiles import Profile, mutations_for
from touchpoint.unsubscribe import InvalidToken, verify

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport"
content="width=device-width,initial-scale=1"><title>{title}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222">
<h1 style="font-size:1.4rem">{title}</h1><p>{text}</p>{form}</body></html>"""


@dataclass(frozen=True)
class Page:
    status: int
    body: str


def page(title: str, text: str, form: str = "", status: int = 200) -> Page:
    return Page(status, _PAGE.format(title=html.escape(title), text=html.escape(text), form=form))


class OptOut:
    def __init__(
        self, secret: str, profiles: ProfilesPort, state: RecordsPort, bus: BusPort, clock: Clock
    ) -> None:
        self.secret, self.profiles, self.state, self.bus, self.clock = secret, profiles, state, bus, clock

    def confirm(self, token: str) -> Page:
        try:
            request = verify(self.secret, token, int(self.clock.now().timestamp()))
        except InvalidToken:
            return page("Link not valid", "This unsubscribe link is not valid. 退订链接无效。", status=400)
        what = "emails" if request.channel == "email" else "text messages"
        form = (
            f'<form method="post" action="?t={html.escape(token, quote=True)}">'
            '<button type="submit" style="font-size:1rem;padding:.6rem 1.2rem">'
            "Unsubscribe · 确认退订</button></form>"
        )
        return page("Unsubscribe?", f"Stop marketing {what} from us? 确认不再接收营销信息？", form)

    def unsubscribe(self, token: str) -> Page:
        now = self.clock.now()
        try:
            request = verify(self.secret, token, int(now.timestamp()))
        except InvalidToken:
            return page("Link not valid", "This unsubscribe link is not valid. 退订链接无效。", status=400)
        # The event id is the link and the consent decision it revokes: clicking again changes
        # nothing, but after the user opts in again the same link works again.
        current = Profile(self.profiles.get(request.user_id)).consent(request.channel) or {}
        revokes = f"{token}|{current.get('at', '-')}|{current.get('granted', '-')}"
        event_id = "unsubscribe:" + hashlib.sha256(revokes.encode()).hexdigest()[:32]
        detail = EventDetail(
            event_id=event_id,
            user_id=request.user_id,
            occurred_at=now,
            properties={"source": "unsubscribe-link", "journey_id": request.journey_id},
        )
        event = Event(f"{request.channel}.unsubscribed", "touchpoint.unsubscribe", detail)
        mutations = mutations_for(event, now)
        applied = self.profiles.apply(request.user_id, mutations)
        if applied.status in ("applied", "duplicate"):  # a duplicate: the ledger write may not have happened
            self.state.log_consent(request.user_id, event_id, mutations[0].consent_changes)
        if applied.status == "applied":  # counted once per user, journey and channel, however often clicked
            counted = f"unsubscribed:{request.journey_id}:{request.user_id}:{request.channel}"
            self.bus.put(
                [
                    JourneyEvent(
                        "journey.unsubscribed",
                        counted,
                        request.user_id,
                        now,
                        {"journey_id": request.journey_id, "channel": request.channel},
                    )
                ]
            )
        return page(
            "You are unsubscribed",
            "You will not receive marketing messages on this channel any more. 您已成功退订。",
        )
