"""One message as the provider receives it: the template rendered for a profile, the signed
unsubscribe link, the MIME document of an email or the full text of an SMS.

The send, a proof and a preview must show the same bytes, so all three build the message here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from touchpoint.channels import email as mime
from touchpoint.channels import sms as sms_text
from touchpoint.events import E164, EMAIL
from touchpoint.journey.model import Journey, SendStep
from touchpoint.journey.steps import resolve, walk
from touchpoint.profiles import Profile
from touchpoint.render import Rendered, Renderer
from touchpoint.settings import Settings
from touchpoint.templates import Channel
from touchpoint.unsubscribe import Unsubscribe, link

Refusal = Literal["no_profile", "no_contact", "invalid_contact", "suppressed", "no_consent"]


def refusal(profile: Profile, channel: Channel, marketing: bool) -> Refusal | None:
    """Why the gate skips this profile on ``channel`` at any moment (checked in this order), or
    None. The send and the preview ask the same question."""
    if not profile.exists:
        return "no_profile"
    contact = profile.contact(channel)
    if contact is None:
        return "no_contact"
    if not (EMAIL if channel == "email" else E164).fullmatch(contact):
        return "invalid_contact"
    if profile.suppression(channel) is not None:
        return "suppressed"
    if marketing and not profile.has_consent(channel):
        return "no_consent"
    return None


@dataclass(frozen=True)
class Addressed:
    """Who the message is for and where it comes from in a journey."""

    channel: Channel
    template: str
    user_id: str
    journey_id: str
    step_id: str
    marketing: bool


@dataclass(frozen=True)
class SendingStep:
    """A send step as its message needs it: the compiled step id, channel, template and the
    category in effect (the step's, else the journey's)."""

    step_id: str
    channel: Channel
    template: str
    category: str

    @property
    def marketing(self) -> bool:
        return self.category == "marketing"

    def addressed(self, user_id: str, journey_id: str) -> Addressed:
        return Addressed(self.channel, self.template, user_id, journey_id, self.step_id, self.marketing)


def send_steps(journey: Journey) -> list[SendingStep]:
    """Every send step in step order (depth first, in file order), by the ids the compiler gives."""
    return [
        SendingStep(n.id, n.step.send.channel, n.step.send.template, n.step.send.category or journey.category)
        for n in walk(resolve(journey.steps))
        if isinstance(n.step, SendStep)
    ]


@dataclass(frozen=True)
class Message:
    rendered: Rendered
    unsubscribe_url: str
    email: bytes | None = None  # the MIME document SES v2 receives
    sms: str | None = None  # the text the carrier receives (signature, body, opt-out suffix)

    @property
    def sms_segments(self) -> tuple[str, int]:
        """(encoding, segments) of the SMS text: what the carrier bills."""
        assert self.sms is not None
        return sms_text.segments(self.sms)


def compose(
    renderer: Renderer,
    settings: Settings,
    addressed: Addressed,
    profile: Profile,
    contact: str,
    now: dt.datetime,
    mark: str = "",
) -> Message:
    """Raises TemplateError when the template cannot be rendered for this profile. ``mark``
    (a proof's ``[TEST] ``) leads the subject, or the SMS text after its sender signature."""
    unsubscribe_url = link(
        settings.unsubscribe_url,
        settings.unsubscribe_secret,
        Unsubscribe(addressed.user_id, addressed.channel, addressed.journey_id, int(now.timestamp())),
    )
    rendered = renderer.render(
        addressed.channel,
        addressed.template,
        profile,
        {
            "unsubscribe_url": unsubscribe_url,
            "journey_id": addressed.journey_id,
            "step_id": addressed.step_id,
        },
    )
    if addressed.channel == "email":
        raw = mime.build_message(
            settings.email_from,
            contact,
            mark + (rendered.subject or ""),
            rendered.text,
            rendered.html or "",
            unsubscribe_url,
        )
        return Message(rendered, unsubscribe_url, email=raw)
    body = sms_text.compose(
        rendered.text,
        contact,
        addressed.marketing,
        settings.sms_signature_cn,
        settings.sms_opt_out_suffix_cn,
    )
    return Message(rendered, unsubscribe_url, sms=marked(body, mark, settings.sms_signature_cn))


def marked(body: str, mark: str, signature: str) -> str:
    """The mark at the start of the text, after the sender signature when it leads (carriers
    require the signature first)."""
    if not mark:
        return body
    if signature and body.startswith(signature):
        return f"{signature}{mark}{body.removeprefix(signature)}"
    return mark + body
