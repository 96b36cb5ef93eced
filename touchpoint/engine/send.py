"""The send gate and delivery: every message of every journey passes through ``Sender.handle``.

Order of the checks (each skip carries its reason): an earlier attempt reached the provider →
the guard (the condition of the ``if`` a guarded send stands for, on the first attempt only:
false calls back ``condition_false`` with no message event, as if the ``if`` had not chosen the
send, or fails the task with ``Touchpoint.ConditionFalse`` into the ``if``'s else side when the
payload says ``when_false: fail``; docs/decisions.md D22, D27) → journey stopped → paused (held)
→ holdout → the user left the journey → no profile / contact → suppressed → no consent
(marketing) → outside the send window (deferred) → template → frequency caps (deferred or
skipped) → provider.

A send is idempotent on (execution, step): the decision and the provider call run once, and a
retry — with a new task token, after the provider had already accepted — gets the stored result
instead of a second message. Deferrals are not stored as results; they schedule a wake-up that
runs the gate again (docs/decisions.md D1).

Provider calls are not idempotent, so the call is bracketed by a *send intent* in the state table
(docs/reliability.md): intent written → provider called once (no SDK retries) → outcome recorded.
A retry that finds an intent never calls the provider again: an accepted send returns its message
id, and one whose answer was lost (a timeout, a crash between the call and the record) becomes
``sent_unconfirmed``, which the journey treats as sent and a provider event later reconciles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import TypeAdapter

from touchpoint import contract
from touchpoint.channels import tags
from touchpoint.clock import Clock, iso, pause
from touchpoint.engine.message import Addressed, Message, compose, refusal
from touchpoint.engine.payload import SendRequest
from touchpoint.engine.ports import (
    BusPort,
    CapScope,
    EmailPort,
    ExecutionsPort,
    OncePort,
    OverCap,
    ProfilesPort,
    SendIntent,
    SmsPort,
    StatePort,
    WakeupsPort,
)
from touchpoint.engine.timing import window_opens
from touchpoint.errors import ContactOptedOut, SendAmbiguous, SendFailed, TransientError
from touchpoint.events import JourneyEvent
from touchpoint.profiles import Profile, contact_digest, suppression_mutation
from touchpoint.render import Renderer
from touchpoint.settings import Settings

if TYPE_CHECKING:
    from touchpoint.journey.model import Condition

#: Attempts to record a provider's answer before the invocation gives up (a retry then finds the
#: intent still ``calling`` and records the send as unconfirmed: never a second message).
RECORD_ATTEMPTS = 4


@cache
def _conditions() -> tuple[TypeAdapter[Condition], Callable[[Condition, Profile, dt.datetime], bool]]:
    """The condition model and its evaluator, imported on the first guarded send only: they hold
    the journey model, which most sends (and a send function's cold start) never need."""
    from touchpoint.conditions import evaluate  # noqa: PLC0415 - see above
    from touchpoint.journey.model import Condition  # noqa: PLC0415

    return TypeAdapter(Condition), evaluate


class Deferred(Exception):  # noqa: N818 - a control-flow signal, not an error
    def __init__(self, until: dt.datetime, reason: str) -> None:
        super().__init__(reason)
        self.until, self.reason = until, reason


@dataclass(frozen=True)
class Handled:
    status: Literal["sent", "sent_unconfirmed", "skipped", "deferred"]
    reason: str | None
    result: dict[str, Any]


class Sender:
    def __init__(
        self,
        settings: Settings,
        profiles: ProfilesPort,
        state: StatePort,
        renderer: Renderer,
        executions: ExecutionsPort,
        wakeups: WakeupsPort,
        bus: BusPort,
        once: OncePort,
        clock: Clock,
        email: EmailPort | None = None,
        sms: SmsPort | None = None,
    ) -> None:
        self.settings, self.profiles, self.state, self.renderer = settings, profiles, state, renderer
        self.executions, self.wakeups, self.bus, self.once, self.clock = executions, wakeups, bus, once, clock
        self.email, self.sms = email, sms

    def handle(self, request: SendRequest, function_arn: str) -> Handled:
        """Gate and send, then complete the task, or schedule the wake-up of a deferral."""
        now = self.clock.now()
        first = dt.datetime.fromisoformat(request.first_attempt_at) if request.first_attempt_at else now
        try:
            result = self.once.run(request.key, lambda: self._decide_and_send(request, first))
        except Deferred as deferral:
            wake = request.model_copy(
                update={"first_attempt_at": iso(first), "held": deferral.reason == "paused"}
            )
            if deferral.reason == "paused":
                self.state.put_hold(
                    request.journey_id, request.key, {**wake.model_dump(), "function_arn": function_arn}
                )
            name = self.wakeups.schedule(
                deferral.until, function_arn, wake.model_dump(), f"{request.key}:{iso(deferral.until)}"
            )
            self.state.put_wakeup_ref(request.user_id, name, deferral.until)
            return Handled("deferred", deferral.reason, {"until": iso(deferral.until)})
        if request.held:
            self.state.delete_hold(request.journey_id, request.key, request.user_id)
        if result.get("reason") == contract.CONDITION_FALSE:  # the if did not choose the send: no message
            if request.when_false == "fail":  # the Task's Catch takes the run to the if's else side
                self.executions.fail(request.token, contract.CONDITION_FALSE_ERROR, "the condition is false")
            else:
                self.executions.succeed(request.token, result)
            return Handled("skipped", contract.CONDITION_FALSE, result)
        self.executions.succeed(request.token, result)
        self.bus.put(
            [
                JourneyEvent(
                    "journey.message",
                    f"message:{request.key}",
                    request.user_id,
                    now,
                    {
                        "journey_id": request.journey_id,
                        "step_id": request.step_id,
                        "channel": request.channel,
                        "template": request.template,
                        "execution": request.execution,
                        "holdout": request.holdout,
                        **result,
                    },
                )
            ]
        )
        return Handled(result["status"], result.get("reason"), result)

    # ------------------------------------------------------------------ the gate

    def _decide_and_send(self, request: SendRequest, first: dt.datetime) -> dict[str, Any]:
        now = self.clock.now()
        deadline = first + dt.timedelta(seconds=contract.MAX_DEFER_SECONDS)

        def defer(until: dt.datetime, reason: str) -> dict[str, Any]:
            if until > deadline or now >= deadline:
                return skipped(reason)
            raise Deferred(until, reason)

        def skipped(reason: str) -> dict[str, Any]:
            return {"status": "skipped", "reason": reason, "at": iso(now)}

        marketing = request.category == "marketing"
        scopes = self._scopes(request, marketing)
        digest = tags.send_digest(request.key)
        view = self.state.send_view(request.user_id, request.journey_id, scopes, digest)
        if view.intent is not None:  # an earlier attempt reached the provider: never call it again
            return self._resume(view.intent, now)
        if request.when is not None and request.first_attempt_at is None:  # decided once, as the if was
            profile = Profile(self.profiles.get(request.user_id))
            model, evaluate = _conditions()
            if not evaluate(model.validate_python(request.when), profile, now):
                return skipped(contract.CONDITION_FALSE)
        flag = view.flag
        if flag == "stopped":
            return skipped("stopped")
        if flag == "paused":
            return defer(deadline, "paused")
        if request.holdout:
            return skipped("holdout")
        entry = view.entry
        if entry is None or entry.execution_arn != request.execution or entry.status != "running":
            return skipped("exited")
        profile = Profile(self.profiles.get(request.user_id))
        refused = refusal(profile, request.channel, marketing)
        if refused is not None:
            return skipped(refused)
        contact = profile.contact(request.channel)
        assert contact is not None  # refusal() checked it
        zone = profile.timezone(request.timezone)
        if request.send_window is not None:
            window = request.send_window
            opens = window_opens(now, zone, window.from_, window.to, window.days)
            if opens is not None:
                return defer(opens, "send_window")
        addressed = Addressed(
            request.channel, request.template, request.user_id, request.journey_id, request.step_id, marketing
        )
        message = compose(self.renderer, self.settings, addressed, profile, contact, now)
        if scopes:
            reservation = self.state.reserve(request.user_id, scopes, request.key, now, view.caps)
            if isinstance(reservation, OverCap):
                if request.on_cap == "skip":
                    return skipped("frequency_cap")
                return defer(reservation.free_at, "frequency_cap")
        intent = SendIntent(
            digest=digest,
            key=request.key,
            user_id=request.user_id,
            journey_id=request.journey_id,
            step_id=request.step_id,
            template=request.template,
            channel=request.channel,
            execution_arn=request.execution,
            at=now,
            contact=contact_digest(contact),
        )
        stored = self.state.begin_send(intent, self._expiry(now))
        if stored is not None:  # a concurrent attempt got there first
            return self._resume(stored, now)
        try:
            result = self._deliver(request, contact, message, marketing, digest)
        except SendAmbiguous as error:
            self._record(replace(intent, status="unconfirmed", detail=str(error)), now)
            return self._unconfirmed(str(error), now)
        except (TransientError, SendFailed) as error:
            self.state.forget_send(intent)  # the provider answered: nothing went out
            if scopes:
                self.state.release(request.user_id, scopes, request.key)
            if isinstance(error, ContactOptedOut):
                self.profiles.apply(
                    request.user_id, [suppression_mutation(request.channel, error.reason, contact, now)]
                )
                return skipped(error.reason)
            raise
        accepted = replace(
            intent, status="accepted", message_id=result["message_id"], template_file=result["template_file"]
        )
        self._record(accepted, now)
        return {"status": "sent", "reason": None, "at": iso(now), **result}

    def _resume(self, intent: SendIntent, now: dt.datetime) -> dict[str, Any]:
        """The result of a send whose provider call already happened, without calling it again."""
        detail = (
            intent.detail
            or "an earlier attempt ended after calling the provider, before its answer was recorded"
        )
        if intent.status == "reconciled":
            # the provider's events revealed the message before this retry, and were counted as
            # its send then: this attempt reports what it knows, as when the events come after
            return {**self._unconfirmed(detail, now), "message_id": intent.message_id}
        if intent.message_id is not None:
            result: dict[str, Any] = {"message_id": intent.message_id}
            if intent.template_file is not None:
                result["template_file"] = intent.template_file
            return {"status": "sent", "reason": None, "at": iso(intent.at), **result}
        if intent.status == "calling":
            self._record(replace(intent, status="unconfirmed", detail=detail), now)
        return self._unconfirmed(detail, now)

    def _unconfirmed(self, detail: str, now: dt.datetime) -> dict[str, Any]:
        return {"status": "sent_unconfirmed", "reason": "ambiguous", "detail": detail[:500], "at": iso(now)}

    def _record(self, intent: SendIntent, now: dt.datetime) -> None:
        """The provider's answer, retried here: a retry of the whole send could not call again."""
        for attempt in range(RECORD_ATTEMPTS):
            try:
                self.state.finish_send(intent, self._expiry(now))
                return
            except TransientError:
                if attempt == RECORD_ATTEMPTS - 1:
                    raise
                pause(0.05 * 2**attempt)

    def _expiry(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(days=contract.MESSAGE_INDEX_DAYS)

    def _scopes(self, request: SendRequest, marketing: bool) -> list[CapScope]:
        scopes = []
        if marketing:
            scopes.append(
                CapScope("global:marketing", self.settings.global_cap_max, self.settings.global_cap_seconds)
            )
        if request.limit is not None:
            scopes.append(
                CapScope(
                    f"journey:{request.journey_id}:{request.channel}",
                    request.limit.max,
                    request.limit.per_seconds,
                )
            )
        return scopes

    def _deliver(
        self, request: SendRequest, contact: str, message: Message, marketing: bool, digest: str
    ) -> dict[str, Any]:
        labels = {
            tags.JOURNEY: request.journey_id,
            tags.STEP: request.step_id,
            tags.TEMPLATE: request.template,
            tags.SEND: digest,
        }
        template_file = message.rendered.file
        if message.email is not None:
            if self.email is None:
                raise SendFailed("this function has no email provider")
            return {
                "message_id": self.email.send(contact, message.email, labels),
                "template_file": template_file,
            }
        if self.sms is None or message.sms is None:
            raise SendFailed("this function has no SMS provider")
        encoding, parts = message.sms_segments
        context = {
            "journey_id": request.journey_id,
            "step_id": request.step_id,
            "template": request.template,
            tags.SEND: digest,
        }
        message_id = self.sms.send(contact, message.sms, marketing, context)
        return {
            "message_id": message_id,
            "template_file": template_file,
            "encoding": encoding,
            "segments": parts,
        }
