"""What one profile would receive from each send step of a journey, and what the gate would do
with it at a given moment — built by the send's own functions (``message.compose``,
``message.refusal``, ``timing.window_opens``), so a preview cannot drift from a real send."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from touchpoint.engine.message import Message, Refusal, SendingStep, compose, refusal
from touchpoint.engine.timing import window_opens
from touchpoint.errors import TemplateError
from touchpoint.journey.model import Journey
from touchpoint.logs import redact
from touchpoint.profiles import Profile
from touchpoint.render import Renderer
from touchpoint.settings import Settings

#: Where a message is rendered to when the profile has no contact point (the gate would skip it,
#: but the author still wants to read it).
STAND_IN_CONTACT = {"email": "preview@example.com", "sms": "+10000000000"}

_WHY: dict[Refusal, str] = {
    "no_profile": "the user has no profile",
    "no_contact": "no {contact}",
    "invalid_contact": "the {contact} is not valid",
    "suppressed": "the {contact} is suppressed",
    "no_consent": "no consent for {channel}",
}


@dataclass(frozen=True)
class Preview:
    step_id: str
    channel: str
    template: str
    verdict: str  # what the gate would do: "would send …", "deferred to …", "skipped: …"
    to: str  # the contact point, masked
    message: Message | None  # None when the template cannot be rendered for this profile
    error: str | None = None


def preview(
    journey: Journey,
    step: SendingStep,
    item: Mapping[str, Any],
    renderer: Renderer,
    settings: Settings,
    now: dt.datetime,
) -> Preview:
    profile = Profile(item)
    verdict = _verdict(journey, profile, step.channel, step.marketing, now)
    contact = profile.contact(step.channel) or STAND_IN_CONTACT[step.channel]
    to = redact(contact)
    addressed = step.addressed(profile.user_id or "preview", journey.id)
    try:
        message = compose(renderer, settings, addressed, profile, contact, now)
    except TemplateError as error:
        return Preview(step.step_id, step.channel, step.template, "fails: the template", to, None, str(error))
    return Preview(step.step_id, step.channel, step.template, verdict, to, message)


def _verdict(journey: Journey, profile: Profile, channel: str, marketing: bool, now: dt.datetime) -> str:
    contact = "email address" if channel == "email" else "phone number"
    refused = refusal(profile, "email" if channel == "email" else "sms", marketing)
    if refused is not None:
        return "skipped: " + _WHY[refused].format(contact=contact, channel=channel)
    zone = profile.timezone(journey.timezone)
    window = journey.send_window
    if window is not None:
        opens = window_opens(now, zone, window.from_, window.to, window.days)
        if opens is not None:
            local = opens.astimezone(ZoneInfo(zone))
            return f"deferred to {local:%Y-%m-%d %H:%M} {zone}: send window"
    return "would send (frequency caps not checked: they depend on earlier sends)"
