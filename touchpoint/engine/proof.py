"""Proof sends (``touchpoint send-test``): one message of a journey's send step to a tester,
built exactly as the send builds it and sent through the same provider, with ``[TEST] `` in front.

A proof is outside the journey: no execution, no frequency cap counted, no send intent or message
index entry, no journey event (so no KPI), and provider tags that name no journey, so its delivery
events are attributed to none. Of the gate it keeps what protects a recipient: an address that is
not one, and a suppressed destination, are refused. Every proof is appended to the audit log with
the caller's identity and the destination masked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from touchpoint.channels import tags
from touchpoint.clock import Clock
from touchpoint.engine.message import Message, SendingStep, compose, send_steps
from touchpoint.engine.ports import CallerPort, EmailPort, ProfilesPort, ProofRecord, ProofsPort, SmsPort
from touchpoint.errors import ContactOptedOut, SendFailed, TemplateError
from touchpoint.events import E164, EMAIL
from touchpoint.journey.model import Journey
from touchpoint.journey.steps import resolve, walk
from touchpoint.logs import redact
from touchpoint.profiles import Profile
from touchpoint.render import Renderer
from touchpoint.settings import Settings
from touchpoint.suggest import did_you_mean

#: What a proof's recipient sees first: in front of an email's subject, at the start of an SMS
#: (after the +86 sender signature, which carriers require first).
TEST_MARKER = "[TEST] "
#: The user an unsubscribe link in a proof names when its profile names none.
PROOF_USER = "proof"

Channel = Literal["email", "sms"]


class ProofRefused(Exception):  # noqa: N818 - reads as the condition it is
    """Why a proof was not sent, in one line that holds no contact data."""


@dataclass(frozen=True)
class Refusal:
    """A proof of ``--test-users`` that was not sent, and why (the others still are)."""

    user_id: str
    step_id: str
    reason: str


class Proofs:
    def __init__(
        self,
        settings: Settings,
        journeys: Mapping[str, Journey],
        profiles: ProfilesPort,
        audit: ProofsPort,
        caller: CallerPort,
        renderer: Renderer,
        clock: Clock,
        email: EmailPort | None,
        sms: SmsPort | None,
    ) -> None:
        self.settings, self.journeys, self.profiles, self.audit = settings, journeys, profiles, audit
        self.caller, self.renderer, self.clock, self.email, self.sms = caller, renderer, clock, email, sms

    def journey(self, journey_id: str) -> Journey:
        journey = self.journeys.get(journey_id)
        if journey is None:
            raise ProofRefused(f"no journey {journey_id!r}{did_you_mean(journey_id, self.journeys)}")
        return journey

    def step(self, journey: Journey, step_id: str) -> SendingStep:
        steps = {s.step_id: s for s in send_steps(journey)}
        if step_id in steps:
            return steps[step_id]
        other = {n.id: n.step.kind for n in walk(resolve(journey.steps))}
        if step_id in other:
            raise ProofRefused(f"step {step_id!r} of {journey.id} is not a send (it is {other[step_id]})")
        raise ProofRefused(f"no send step {step_id!r} in {journey.id}{did_you_mean(step_id, steps)}")

    def send(
        self, journey_id: str, step_id: str, destination: str, profile: Mapping[str, Any]
    ) -> ProofRecord:
        """One proof of one step to ``destination``, rendered for ``profile`` (a profile item's
        shape). Refused when the destination is not an address (or number) or is suppressed, on
        the profile or on the stored profile of the user it names."""
        journey = self.journey(journey_id)
        step = self.step(journey, step_id)
        _check_valid(step.channel, destination)
        user_id = profile.get("user_id")
        stored = self.profiles.get(user_id) if isinstance(user_id, str) and user_id else {}
        _check_unsuppressed(step.channel, destination, (profile, stored))
        return self._proof(journey, step, destination, profile, self.caller.caller())

    def send_test_users(self, journey_id: str) -> list[ProofRecord | Refusal]:
        """One proof of every send step, in step order, to each of ``rollout.test_users``, each
        rendered for and sent to the test user's stored profile."""
        journey = self.journey(journey_id)
        users = journey.rollout.test_users if journey.rollout is not None else []
        if not users:
            raise ProofRefused(f"journey {journey.id} has no rollout.test_users")
        steps = send_steps(journey)
        if not steps:
            raise ProofRefused(f"journey {journey.id} has no send steps")
        by = self.caller.caller()
        results: list[ProofRecord | Refusal] = []
        for user_id in users:
            item = self.profiles.get(user_id)
            for step in steps:
                try:
                    contact = _contact(item, step.channel)
                    _check_valid(step.channel, contact)
                    _check_unsuppressed(step.channel, contact, (item,))
                    results.append(self._proof(journey, step, contact, item, by))
                except ProofRefused as refused:
                    results.append(Refusal(user_id, step.step_id, str(refused)))
        return results

    # ------------------------------------------------------------------ one proof

    def _proof(
        self, journey: Journey, step: SendingStep, destination: str, item: Mapping[str, Any], by: str
    ) -> ProofRecord:
        now = self.clock.now()
        profile = Profile({**item, _field(step.channel): destination})
        addressed = step.addressed(profile.user_id or PROOF_USER, journey.id)
        try:
            message = compose(self.renderer, self.settings, addressed, profile, destination, now, TEST_MARKER)
            message_id = self._deliver(journey, step, destination, message)
        except TemplateError as error:
            raise ProofRefused(redact(str(error))) from None
        except ContactOptedOut:
            raise ProofRefused(f"{redact(destination)} opted out with the carrier") from None
        except SendFailed as error:
            raise ProofRefused(f"the provider refused it: {redact(str(error))}") from None
        record = ProofRecord(
            journey_id=journey.id,
            step_id=step.step_id,
            template=step.template,
            channel=step.channel,
            by=by,
            at=now,
            destination=redact(destination),
            message_id=message_id,
        )
        self.audit.record_proof(record)
        return record

    def _deliver(self, journey: Journey, step: SendingStep, destination: str, message: Message) -> str:
        labels = {tags.PROOF: journey.id}
        if message.email is not None:
            if self.email is None:
                raise SendFailed("no email provider")
            return self.email.send(destination, message.email, labels)
        if self.sms is None or message.sms is None:
            raise SendFailed("no SMS provider")
        return self.sms.send(destination, message.sms, step.marketing, labels)


def _field(channel: Channel) -> str:
    """The profile attribute that holds the channel's contact point."""
    return "email" if channel == "email" else "phone"


def _contact(item: Mapping[str, Any], channel: Channel) -> str:
    profile = Profile(item)
    if not profile.exists:
        raise ProofRefused("the test user has no profile")
    contact = profile.contact(channel)
    if contact is None:
        raise ProofRefused(f"the test user's profile has no {_field(channel)}")
    return contact


def _check_valid(channel: Channel, destination: str) -> None:
    """The engine's own patterns, as the event contract and the gate apply them."""
    if not (EMAIL if channel == "email" else E164).fullmatch(destination):
        kind = "an email address" if channel == "email" else "an E.164 phone number"
        raise ProofRefused(f"the destination is not {kind}")


def _check_unsuppressed(channel: Channel, destination: str, profiles: Sequence[Mapping[str, Any]]) -> None:
    """As the gate checks it (``Profile.suppression``): a suppression recorded for this
    destination, or one recorded without a destination, on any of ``profiles``."""
    for item in profiles:
        suppression = Profile({**item, _field(channel): destination}).suppression(channel)
        if suppression is not None:
            reason = suppression.get("reason", "suppressed")
            raise ProofRefused(f"{redact(destination)} is suppressed on {channel} ({reason})")
