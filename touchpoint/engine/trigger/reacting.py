"""Reacting to what happened: an event (profile, waits, goals, exits, entries), message
feedback, an ended execution."""

from __future__ import annotations

import datetime as dt
import json

from touchpoint import contract
from touchpoint.clock import iso
from touchpoint.conditions import matches_where
from touchpoint.engine.ports import MessageRecord, UserState
from touchpoint.engine.trigger.actions import WHERE, Outcome
from touchpoint.engine.trigger.entering import Entering
from touchpoint.events import Event, ExecutionEnded, Feedback, JourneyEvent, event_digest, to_cents
from touchpoint.journey.model import EventTrigger
from touchpoint.profiles import CONTACT_PROPERTY, Profile, mutations_for


class Reacting(Entering):
    def on_feedback(self, feedback: Feedback) -> Outcome:
        message = self.state.message(feedback.message_id)
        if message is None and feedback.send is not None:
            message = self._reconcile(feedback)
        if message is None:
            return Outcome("ignored", f"no message {feedback.message_id} was sent by Touchpoint")
        context = {
            "journey_id": message.journey_id,
            "step_id": message.step_id,
            "template": message.template,
            "channel": message.channel,
            "execution": message.execution_arn,
        }
        if message.contact:
            context[CONTACT_PROPERTY] = message.contact
        event = feedback.attributed(message.user_id, context)
        if feedback.permanent:
            event = Event(
                event.type,
                event.source,
                event.detail.model_copy(update={"properties": {**event.properties, "permanent": True}}),
            )
        return self.on_event(event)

    def _reconcile(self, feedback: Feedback) -> MessageRecord | None:
        """Feedback about a message whose send was recorded as unconfirmed (its provider's answer
        was lost): the provider has it after all. Record it once, as sent."""
        assert feedback.send is not None
        expires = self.clock.now() + dt.timedelta(days=contract.MESSAGE_INDEX_DAYS)
        found = self.state.reconcile_send(feedback.send, feedback.message_id, expires)
        if found is None:
            return None
        intent, now_reconciled = found
        if now_reconciled:
            self.bus.put(
                [
                    JourneyEvent(
                        "journey.message",
                        f"message:{intent.key}:reconciled",
                        intent.user_id,
                        feedback.occurred_at,
                        {
                            "journey_id": intent.journey_id,
                            "step_id": intent.step_id,
                            "channel": intent.channel,
                            "template": intent.template,
                            "execution": intent.execution_arn,
                            "status": "sent",
                            "reason": "reconciled",
                            "reconciled": True,
                            "message_id": feedback.message_id,
                        },
                    )
                ]
            )
        return intent.message(feedback.message_id)

    def on_event(self, event: Event) -> Outcome:
        now = self.clock.now()
        mutations = mutations_for(event, now)
        applied = self.profiles.apply(event.user_id, mutations)
        if applied.status == "gone":
            return Outcome("ignored", "no such profile (feedback about a profile that does not exist)")
        if applied.status == "erased":
            if event.is_message_event:
                return Outcome("ignored", "the profile was erased")
            reason = (
                f"erased: the user was erased at {applied.old.get('erased_at')}, after this event occurred"
            )
            # kept without its content and without a reference from the user: nothing personal remains
            self.state.reject(_erased_stub(event), reason, now)
            return Outcome("rejected", reason)
        if applied.status == "full":
            reason = (
                "profile_full: the profile holds over 300 KB; remove attributes (a profile.updated "
                "event with null values) before it takes more"
            )
            return self._reject(_describe(event), reason, event.user_id)
        changes = mutations[0].consent_changes
        if changes:
            self.state.log_consent(event.user_id, event.id, changes)
        self._index_dates(event.user_id, applied.old, applied.new)
        outcome = Outcome("duplicate" if applied.status == "duplicate" else "processed")
        attribute_candidates = self._attribute_triggers(applied.old, applied.new)
        if not attribute_candidates and not self.registry.concerns(event.type):
            return outcome  # a profile update only: no journey starts, exits, converts or waits on it
        profile = Profile(applied.new)
        emitted: list[JourneyEvent] = []
        user: UserState | None = None  # an event only triggers: read when a candidate needs it
        if self.registry.reacts_to(event.type):
            user = self.state.user_state(event.user_id)
            outcome.resumed = self._resume_waits(event, user, now)
            outcome.converted = self._goals(event, user, emitted)
            self._campaign_goals(event, user, emitted)
            outcome.exited = self._exits(event, user)
        candidates = [
            j
            for j in self.registry.triggered_by(event.type)
            if isinstance(j.trigger, EventTrigger) and matches_where(j.trigger.where, event.properties, now)
        ]
        candidates += attribute_candidates
        if candidates:
            user = None if outcome.exited else user
            outcome.decisions = self._enter(
                candidates, profile, user, event.id, event.type, now, emitted, trigger_at=event.at
            )
        self.bus.put(emitted)
        return outcome

    def on_execution_ended(self, ended: ExecutionEnded) -> Outcome:
        """Free the user's group slot and record the exit (once) when a journey execution ends."""
        journey_id = contract.journey_of(ended.state_machine_arn)
        if journey_id is None:
            return Outcome("ignored", "not a journey execution")
        user_id = _user_of(ended)
        if user_id is None:
            return Outcome("ignored", "execution without a user")
        reason = (ended.output or {}).get("exit", {}).get("reason") if ended.output else None
        record = self.state.end_entry(user_id, journey_id, ended.execution_arn, ended.status, reason)
        if record is None:
            return Outcome("duplicate", "already recorded")
        if record.group:
            self.state.release_group(user_id, record.group, ended.execution_arn)
        why = (
            record.exit_reason
            or reason
            or ("completed" if ended.status == "SUCCEEDED" else ended.status.lower())
        )
        self.bus.put(
            [
                JourneyEvent(
                    "journey.exited",
                    f"exited:{ended.execution_arn}",
                    user_id,
                    ended.stopped_at,
                    {
                        "journey_id": journey_id,
                        "execution": ended.execution_arn,
                        "status": ended.status,
                        "reason": why,
                        "holdout": record.holdout,
                    },
                )
            ]
        )
        return Outcome("processed", why)

    # ------------------------------------------------------------------ pieces

    def _resume_waits(self, event: Event, user: UserState, now: dt.datetime) -> list[str]:
        resumed = []
        for wait in user.waits:
            if wait.event != event.type:
                continue
            if wait.expires_at < now:
                self.state.take_wait(event.user_id, wait.sort_key)
                continue
            entry = user.entries.get(wait.journey_id)
            if entry is not None and entry.execution_arn == wait.execution_arn and event.at < entry.since:
                continue  # happened before this run began: a late copy of an old event
            if not matches_where(WHERE.validate_python(dict(wait.where)), event.properties, now):
                continue
            if self.state.take_wait(event.user_id, wait.sort_key):
                output = {"event_id": event.id, "type": event.type, "at": iso(event.at)}
                if self.executions.succeed(wait.token, output):
                    resumed.append(f"{wait.journey_id}/{wait.step_id}")
        return resumed

    def _goals(self, event: Event, user: UserState, emitted: list[JourneyEvent]) -> list[str]:
        converted = []
        for journey in self.registry.goals_on(event.type):
            goal, record = journey.goal, user.entries.get(journey.id)
            if goal is None or record is None or record.converted_at is not None:
                continue
            in_window = record.since <= event.at <= record.since + dt.timedelta(seconds=goal.within)
            if not in_window or not matches_where(goal.where, event.properties, event.at):
                continue
            if self.state.record_conversion(event.user_id, journey.id, record.execution_arn, event.at):
                converted.append(journey.id)
                emitted.append(
                    JourneyEvent(
                        "journey.converted",
                        f"converted:{record.execution_arn}",
                        event.user_id,
                        event.at,
                        {
                            "journey_id": journey.id,
                            "execution": record.execution_arn,
                            "event_id": event.id,
                            "entered_at": iso(record.entered_at),
                            "holdout": record.holdout,
                        },
                    )
                )
        return converted

    def _campaign_goals(self, event: Event, user: UserState, emitted: list[JourneyEvent]) -> None:
        """A participant's order within the campaign goal's window of their first stage entry: the
        conversion (kpi_rollup counts it once per user) and its revenue (once per order), both kept
        on the stage they entered first. No state is written, so a redelivered event loses nothing."""
        for campaign in self.registry.campaign_goals_on(event.type):
            goal = campaign.goal
            stages = [user.entries[j] for j in campaign.journeys if j in user.entries]
            if goal is None or not stages:
                continue
            first = min(stages, key=lambda r: (r.since, r.journey_id))
            in_window = first.since <= event.at <= first.since + dt.timedelta(seconds=goal.within)
            if not in_window or not matches_where(goal.where, event.properties, event.at):
                continue
            properties = {
                "journey_id": first.journey_id,
                "campaign_id": campaign.id,
                "user_id": event.user_id,
                "event_id": event.id,
            }
            emitted.append(
                JourneyEvent(
                    contract.CAMPAIGN_CONVERTED,
                    f"campaign-converted:{campaign.id}:{event.id}",
                    event.user_id,
                    event.at,
                    properties,
                )
            )
            cents = None if goal.value is None else to_cents(event.properties.get(goal.value))
            if cents is not None:
                emitted.append(
                    JourneyEvent(
                        contract.CAMPAIGN_REVENUE,
                        f"campaign-revenue:{campaign.id}:{event.id}",
                        event.user_id,
                        event.at,
                        {**properties, "value_cents": cents},
                    )
                )

    def _exits(self, event: Event, user: UserState) -> list[str]:
        exited = []
        for journey in self.registry.exits_on(event.type):
            record = user.entries.get(journey.id)
            if record is None or record.status != "running" or event.at < record.since:
                continue  # an event from before this run started (a late copy) cannot end it
            if not any(
                r.event == event.type and matches_where(r.where, event.properties, event.at)
                for r in journey.exit
            ):
                continue
            reason = f"exit:{event.type}"
            if self.state.mark_exiting(event.user_id, journey.id, record.execution_arn, reason):
                self.executions.stop(record.execution_arn, reason)
                exited.append(journey.id)
        return exited


def _erased_stub(event: Event) -> str:
    return json.dumps({"detail-type": event.type, "event_id_sha256": event_digest(event.id)}, sort_keys=True)


def _describe(event: Event) -> str:
    """An event as the rejected-events store keeps it, when it came from inside (feedback)."""
    return json.dumps(
        {"detail-type": event.type, "source": event.source, "detail": event.detail.model_dump(mode="json")},
        sort_keys=True,
        ensure_ascii=False,
    )


def _user_of(ended: ExecutionEnded) -> str | None:
    """The user of an ended execution, from its input (a stopped execution has no output)."""
    user = (ended.input or {}).get(contract.INPUT_USER)
    return user if isinstance(user, str) else None
