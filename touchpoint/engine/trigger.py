"""trigger_eval's domain: what one event, schedule run or date sweep does.

Every step is safe to repeat. A redelivered event is recognised by its dedupe marker and changes
the profile only once; entries, exits, conversions and resumes are all idempotent (deterministic
execution names, conditional writes), so a retry after a crash finishes the work instead of
doing it twice. Journey lifecycle events carry deterministic ids so kpi_rollup counts them once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, assert_never
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from touchpoint import contract, wire
from touchpoint.clock import Clock, iso
from touchpoint.conditions import evaluate, matches_where
from touchpoint.engine import entry as rules
from touchpoint.engine.ports import (
    BusPort,
    ExecutionsPort,
    GroupSlot,
    MessageRecord,
    ProfilesPort,
    QueuePort,
    StatePort,
    UserState,
    WaitRecord,
)
from touchpoint.engine.timing import next_local_time
from touchpoint.errors import StartFailed, TransientError
from touchpoint.events import (
    Event,
    ExecutionEnded,
    Feedback,
    Ignored,
    JourneyEvent,
    Parsed,
    Rejected,
    describe_errors,
    event_digest,
    parse_envelope,
)
from touchpoint.journey.model import AttributeTrigger, Condition, DateTrigger, EventTrigger, Where
from touchpoint.profiles import (
    CONTACT_PROPERTY,
    Profile,
    changed,
    mutations_for,
    property_problems,
    step_mutations,
)
from touchpoint.registry import Registry, RegistryEntry
from touchpoint.settings import Settings
from touchpoint.state.items import wait_sort_key


class EvaluateAction(BaseModel):
    action: Literal["evaluate"]
    user_id: str
    condition: dict[str, Any]


class NextTimeAction(BaseModel):
    action: Literal["next_time"]
    user_id: str
    time: str
    weekday: str | None = None
    timezone: str


class RegisterWaitAction(BaseModel):
    action: Literal["register_wait"]
    token: str
    execution: str
    user_id: str
    journey_id: str
    step_id: str
    event: str
    where: dict[str, Any] = {}
    timeout_seconds: int


class StepAction(BaseModel):
    """A journey's tag, set or emit step (touchpoint/compiler/lower.py ``journey_action``), or its
    wake-up after a pause (``held``)."""

    action: Literal["step"]
    token: str
    execution: str
    execution_name: str
    user_id: str
    journey_id: str
    step_id: str
    kind: Literal["tag", "set", "emit"]
    change: dict[str, Any]
    held: bool = False


class ScheduleAction(BaseModel):
    action: Literal["schedule"]
    journey_id: str
    run_id: str | None = None  # the schedule's fire time (the stack passes Scheduler's scheduled time)
    start: dict[str, Any] | None = None


class DatesAction(BaseModel):
    action: Literal["dates"]


Action = Annotated[
    EvaluateAction | NextTimeAction | RegisterWaitAction | StepAction | ScheduleAction | DatesAction,
    Field(discriminator="action"),
]
ACTION: TypeAdapter[Action] = TypeAdapter(Action)
CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)
WHERE: TypeAdapter[Where] = TypeAdapter(Where)
SCAN_PAGE = 500


@dataclass
class Outcome:
    """What happened to one input, for logs, tests and the simulator's ``why``."""

    status: str  # processed · duplicate · rejected · ignored
    reason: str | None = None
    decisions: list[rules.Decision] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    exited: list[str] = field(default_factory=list)
    converted: list[str] = field(default_factory=list)


class TriggerEval:
    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        profiles: ProfilesPort,
        state: StatePort,
        executions: ExecutionsPort,
        bus: BusPort,
        queue: QueuePort,
        clock: Clock,
    ) -> None:
        self.settings, self.registry = settings, registry
        self.profiles, self.state, self.executions = profiles, state, executions
        self.bus, self.queue, self.clock = bus, queue, clock
        self.date_attributes = sorted(
            {
                j.trigger.date.attribute
                for j in registry.journeys.values()
                if isinstance(j.trigger, DateTrigger)
            }
        )

    # ------------------------------------------------------------------ inputs

    def handle_body(self, body: str) -> Outcome:
        """One SQS message: an EventBridge event, or a continuation page of a schedule run."""
        try:
            data = wire.load(body)
        except wire.Unacceptable as error:
            return self.handle(Rejected(str(error)), body)
        if isinstance(data, dict) and "action" in data and "detail-type" not in data:
            try:
                action = ACTION.validate_python(data)
            except ValidationError as error:
                return self.handle(Rejected(describe_errors(error)), body)
            self.run(action)
            return Outcome("processed", str(data["action"]))
        return self.handle(parse_envelope(data), body)

    def run(self, action: Action, function_arn: str = "") -> dict[str, Any]:
        """A direct invocation: from a state machine, EventBridge Scheduler, or the queue
        (``function_arn``: this function's, where a held step is woken up)."""
        match action:
            case EvaluateAction():
                return {"result": self.evaluate(action.user_id, action.condition)}
            case NextTimeAction():
                return {"until": self.next_time(action.user_id, action.time, action.weekday, action.timezone)}
            case RegisterWaitAction():
                self.register_wait(action.model_dump())
                return {"registered": True}
            case StepAction():
                return {"status": self.journey_step(action, function_arn)}
            case ScheduleAction():
                run_id = action.run_id or iso(self.clock.now().replace(second=0, microsecond=0))
                outcome = self.run_schedule(action.journey_id, run_id, action.start)
                return {"entered": sum(d.enter for d in outcome.decisions), "run_id": run_id}
            case DatesAction():
                outcome = self.run_dates()
                return {"entered": sum(d.enter for d in outcome.decisions)}
            case _:
                assert_never(action)

    def reject_body(self, body: str, reason: str) -> Outcome:
        """An input that failed while being processed for a reason no retry can change (data the
        store refuses, a value the code cannot handle): recorded once with the reason, as a
        malformed event is, instead of failing every retry into the dead-letter queue."""
        return self._reject(body, f"could not be processed: {reason}")

    def handle(self, parsed: Parsed, raw: str) -> Outcome:
        match parsed:
            case Event():
                problems = property_problems(parsed.type, parsed.properties)
                if problems:
                    return self._reject(raw, "; ".join(f"detail.{p}" for p in problems), parsed.user_id)
                return self.on_event(parsed)
            case Feedback():
                return self.on_feedback(parsed)
            case ExecutionEnded():
                return self.on_execution_ended(parsed)
            case Ignored():
                return Outcome("ignored", parsed.reason)
            case Rejected():
                return self._reject(raw, parsed.reason)
            case _:
                assert_never(parsed)

    def _reject(self, raw: str, reason: str, user_id: str | None = None) -> Outcome:
        self.state.reject(raw, reason, self.clock.now(), user_id or _user_in(raw))
        return Outcome("rejected", reason)

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
        user = self.state.user_state(event.user_id)
        emitted: list[JourneyEvent] = []
        outcome.resumed = self._resume_waits(event, user, now)
        outcome.converted = self._goals(event, user, emitted)
        outcome.exited = self._exits(event, user)
        candidates = [
            j
            for j in self.registry.triggered_by(event.type)
            if isinstance(j.trigger, EventTrigger) and matches_where(j.trigger.where, event.properties, now)
        ]
        candidates += attribute_candidates
        if candidates:
            user = self.state.user_state(event.user_id) if outcome.exited else user
            outcome.decisions = self._enter(
                candidates, profile, user, event.id, event.type, now, emitted, trigger_at=event.at
            )
        self.bus.put(emitted)
        return outcome

    def on_execution_ended(self, ended: ExecutionEnded) -> Outcome:
        """Free the user's group slot and record the exit (once) when a journey execution ends."""
        journey_id = _journey_of(ended.state_machine_arn)
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

    def _attribute_triggers(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[RegistryEntry]:
        fired = []
        names = {
            j.trigger.attribute.name
            for j in self.registry.journeys.values()
            if isinstance(j.trigger, AttributeTrigger)
        }
        for name, (before, after) in changed(old, new, names).items():
            for journey in self.registry.watching(name):
                assert isinstance(journey.trigger, AttributeTrigger)
                change = journey.trigger.attribute
                before_set, after_set = _as_set(before), _as_set(after)
                if (
                    ("added" in change.model_fields_set and change.added in after_set - before_set)
                    or ("removed" in change.model_fields_set and change.removed in before_set - after_set)
                    or ("to" in change.model_fields_set and after == change.to)
                    or change.changed
                ):
                    fired.append(journey)
        return fired

    def _enter(
        self,
        candidates: Iterable[RegistryEntry],
        profile: Profile,
        user: UserState,
        event_id: str,
        event_type: str,
        now: dt.datetime,
        emitted: list[JourneyEvent],
        trigger_at: dt.datetime | None = None,
    ) -> list[rules.Decision]:
        journeys = {j.id: j for j in candidates}
        flags = self.state.flags(journeys)
        decisions = [
            rules.decide(j, profile, user, flags.get(j.id), event_id, now) for j in journeys.values()
        ]
        running = {
            slot.execution_arn: self.executions.is_running(slot.execution_arn)
            for slot in user.groups.values()
        }
        decisions = rules.resolve_groups(decisions, journeys, user, running)
        final = []
        for candidate in decisions:
            journey = journeys[candidate.journey_id]
            decision = (
                self._start(journey, candidate, profile.user_id, user, event_id, event_type, now, trigger_at)
                if candidate.enter
                else candidate
            )
            final.append(decision)
            emitted.append(
                JourneyEvent(
                    "journey.entry",
                    f"entry:{journey.id}:{profile.user_id}:{event_id}",
                    profile.user_id,
                    now,
                    {
                        "journey_id": journey.id,
                        # a replay reports the entry its event made (a retry after a crash may
                        # not have reported it): the same event id, so it is counted once
                        "entered": decision.enter or decision.replay,
                        "eligible": decision.eligible,
                        "reason": None if decision.replay else decision.reason,
                        "holdout": decision.holdout,
                        "trigger": event_type,
                    },
                )
            )
        return final

    def _start(
        self,
        journey: RegistryEntry,
        decision: rules.Decision,
        user_id: str,
        user: UserState,
        event_id: str,
        event_type: str,
        now: dt.datetime,
        trigger_at: dt.datetime | None,
    ) -> rules.Decision:
        name = rules.execution_name(journey.id, journey.version, user_id, event_id)
        machine = self.settings.state_machine_arn(journey.id)
        arn = machine.replace(":stateMachine:", ":execution:") + f":{name}"
        resumed = decision.resume
        entered_at = resumed.entered_at if resumed is not None else now
        group = journey.entry.group
        if group is not None:
            slot = GroupSlot(group, journey.id, journey.entry.priority, arn)
            replacing = (
                decision.preempts.execution_arn
                if decision.preempts
                else (user.groups[group].execution_arn if group in user.groups else None)
            )
            if not self.state.claim_group(user_id, slot, replacing):
                return rules.Decision(journey.id, False, "group_busy", True)
        payload = {
            contract.INPUT_USER: user_id,
            "journey_id": journey.id,
            "journey_version": journey.version,
            contract.INPUT_HOLDOUT: decision.holdout,
            contract.INPUT_BUCKETS: decision.buckets,
            contract.INPUT_ENTRY: {"event_id": event_id, "type": event_type, "at": iso(entered_at)},
        }
        # The entry is recorded first: the execution's first step may be a send, and the gate
        # only sends for executions it finds running. Conditioned on the entry read before the
        # decision, so two events entering at once start one execution.
        if resumed is None:
            previous = user.entries.get(journey.id)
            record = rules.entry_record(journey, decision, arn, event_id, now, previous, trigger_at or now)
            if not self.state.put_entry(user_id, record, previous.execution_arn if previous else None):
                if group is not None:
                    self.state.release_group(user_id, group, arn)
                return rules.Decision(journey.id, False, "in_journey", True)
        try:
            self.executions.start(machine, name, payload)
        except StartFailed as failure:
            self.state.end_entry(user_id, journey.id, arn, "FAILED", f"entry_failed:{failure}")
            if group is not None:
                self.state.release_group(user_id, group, arn)
            return rules.Decision(journey.id, False, "entry_failed", True)
        if decision.preempts is not None:
            old = decision.preempts
            cause = f"preempted:{journey.id}"
            if self.state.mark_exiting(user_id, old.journey_id, old.execution_arn, cause):
                self.executions.stop(old.execution_arn, cause)
        return decision

    def _index_dates(self, user_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        for attribute, (before, after) in changed(old, new, self.date_attributes).items():
            if before is not None:
                self.state.index_date(attribute, date_keys(before), user_id, add=False)
            if after is not None:
                self.state.index_date(attribute, date_keys(after), user_id, add=True)

    # ------------------------------------------------------------------ schedules and dates

    def run_schedule(self, journey_id: str, run_id: str, start: dict[str, Any] | None = None) -> Outcome:
        """One page of a schedule-triggered journey's run; the next page is queued, so a run over
        millions of profiles never hits the Lambda time limit. For schedule triggers "triggered"
        counts the profiles in the audience, not every profile scanned."""
        journey = self.registry.journeys.get(journey_id)
        if journey is None:
            return Outcome("ignored", f"no journey {journey_id}")
        items, next_start = self.profiles.scan(start, SCAN_PAGE)
        now = self.clock.now()
        outcome = Outcome("processed")
        emitted: list[JourneyEvent] = []
        event_id = f"schedule:{journey_id}:{run_id}"
        for index, item in enumerate(items):
            profile = Profile(item)
            # The audience is checked on the scanned item first: a schedule considers every profile,
            # but only the ones it could enter cost a state read and a journey.entry event.
            if not profile.exists or (
                journey.audience is not None and not evaluate(journey.audience, profile, now)
            ):
                continue
            try:
                user = self.state.user_state(profile.user_id)
                outcome.decisions += self._enter([journey], profile, user, event_id, "schedule", now, emitted)
            except TransientError:
                if index == 0:
                    raise  # no progress to keep: the invocation is retried
                # Keep the progress: what entered so far is reported, and the rest of the page
                # continues from this profile on, as a page of its own (a retried page would
                # redo every entry: idempotent, but on a throttled table it might never finish).
                next_start = {"user_id": items[index - 1]["user_id"]}
                break
        self.bus.put(emitted)
        if next_start is not None:
            self.queue.send(
                {"action": "schedule", "journey_id": journey_id, "run_id": run_id, "start": next_start}
            )
        return outcome

    def run_dates(self) -> Outcome:
        """Date triggers whose local time falls in this sweep's window, per user time zone."""
        now = self.clock.now()
        window = dt.timedelta(minutes=self.settings.date_sweep_minutes)
        outcome = Outcome("processed")
        emitted: list[JourneyEvent] = []
        for journey in self.registry.journeys.values():
            if not isinstance(journey.trigger, DateTrigger):
                continue
            spec = journey.trigger.date
            shift = dt.timedelta(seconds=(spec.before or 0) - (spec.after or 0))
            users: set[str] = set()
            for sweep_day in due_local_days(now, spec.at, window):
                day = sweep_day + shift
                keys = {day.strftime("%m-%d") if spec.yearly else day.isoformat()}
                if spec.yearly and day.month == 2 and day.day == 28 and not _leap(day.year):
                    keys.add("02-29")  # leap-day dates are celebrated on 28 February
                for key in keys:
                    users.update(self.state.users_on(spec.attribute, key))
            for user_id in sorted(users):
                profile = Profile(self.profiles.get(user_id))
                if not profile.exists:
                    continue
                local_day = _due_day(profile, journey, now, window)
                if local_day is None:
                    continue
                user = self.state.user_state(user_id)
                event_id = f"date:{journey.id}:{local_day.isoformat()}"
                outcome.decisions += self._enter([journey], profile, user, event_id, "date", now, emitted)
        self.bus.put(emitted)
        return outcome

    # ------------------------------------------------------------------ what the state machines ask

    def evaluate(self, user_id: str, condition: Mapping[str, Any]) -> bool:
        profile = Profile(self.profiles.get(user_id))
        return evaluate(CONDITION.validate_python(dict(condition)), profile, self.clock.now())

    def next_time(self, user_id: str, time: str, weekday: str | None, journey_timezone: str) -> str:
        profile = Profile(self.profiles.get(user_id))
        zone = profile.timezone(journey_timezone)
        return iso(next_local_time(self.clock.now(), zone, time, weekday)).replace(".000Z", "Z")

    def journey_step(self, step: StepAction, function_arn: str) -> str:
        """Apply a tag, set or emit step and call its Task back; while the journey is paused the
        step is held (the token waits; ``resume`` wakes it), as a send is: a paused journey
        changes no profile and tells no CRM anything. A retry applies it again harmlessly: tags
        and attributes are set, not added, and an emitted event keeps its id."""
        flag = self.state.flags([step.journey_id]).get(step.journey_id)
        key = f"{step.execution}:{step.step_id}"
        if flag == "paused":
            if not step.held:
                held = {**step.model_dump(), "held": True, "function_arn": function_arn}
                self.state.put_hold(step.journey_id, key, held)
            return "held"
        if step.held:
            self.state.delete_hold(step.journey_id, key, step.user_id)
        if flag == "stopped":
            self.executions.succeed(step.token, {"status": "skipped", "reason": "stopped"})
            return "skipped"
        now = self.clock.now()
        if step.kind == "emit":
            properties = {
                **step.change.get("properties", {}),
                "journey_id": step.journey_id,
                "step_id": step.step_id,
            }
            self.bus.put(
                [
                    JourneyEvent(
                        str(step.change["type"]),
                        f"{step.execution_name}:{step.step_id}",
                        step.user_id,
                        now,
                        properties,
                    )
                ]
            )
        else:
            applied = self.profiles.apply(step.user_id, step_mutations(step.kind, step.change, now))
            if applied.status != "applied":
                self.executions.fail(step.token, contract.PROFILE_GONE_ERROR, "the profile was erased")
                return "gone"
        self.executions.succeed(step.token, {"status": "done"})
        return "done"

    def register_wait(self, payload: Mapping[str, Any]) -> None:
        now = self.clock.now()
        execution = str(payload["execution"])
        record = WaitRecord(
            sort_key=wait_sort_key(
                str(payload["event"]), str(payload["journey_id"]), str(payload["step_id"]), execution
            ),
            event=str(payload["event"]),
            journey_id=str(payload["journey_id"]),
            step_id=str(payload["step_id"]),
            execution_arn=execution,
            token=str(payload["token"]),
            where=dict(payload.get("where") or {}),
            expires_at=now + dt.timedelta(seconds=int(payload["timeout_seconds"])),
        )
        self.state.put_wait(str(payload["user_id"]), record)


def date_keys(value: Any) -> list[str]:
    """Index keys of a date attribute: ``MM-DD`` for yearly triggers and the full date for one-offs."""
    text = str(value)[:10]
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return []
    return [day.strftime("%m-%d"), day.isoformat()]


def due_local_days(now: dt.datetime, at: str, window: dt.timedelta) -> list[dt.date]:
    """The local dates on which a zone's clock shows ``at`` during the sweep window starting now:
    zone offsets run from UTC-12 to UTC+14, so at most two dates — usually one — have a user due."""
    hour, minute = map(int, at.split(":"))
    utc = now.astimezone(dt.UTC)
    days = set()
    for offset_quarters in range(-48, 14 * 4 + 1):
        local = utc + dt.timedelta(minutes=15 * offset_quarters)
        due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if due <= local < due + window:
            days.add(local.date())
    return sorted(days)


def _due_day(
    profile: Profile, journey: RegistryEntry, now: dt.datetime, window: dt.timedelta
) -> dt.date | None:
    """The user's local date if the trigger is due within this sweep's window, else None."""
    assert isinstance(journey.trigger, DateTrigger)
    spec = journey.trigger.date
    zone = ZoneInfo(profile.timezone(journey.timezone))
    local = now.astimezone(zone)
    hour, minute = map(int, spec.at.split(":"))
    due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if not due <= local < due + window:
        return None
    value = profile.value(spec.attribute)
    try:
        date = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
    target = local.date() + dt.timedelta(seconds=(spec.before or 0) - (spec.after or 0))
    if spec.yearly:
        matches = (date.month, date.day) == (target.month, target.day) or (
            (date.month, date.day) == (2, 29)
            and (target.month, target.day) == (2, 28)
            and not _leap(target.year)
        )
    else:
        matches = date == target
    return local.date() if matches else None


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _as_set(value: Any) -> set[Any]:
    if isinstance(value, set | frozenset | list | tuple):
        return set(value)
    return set() if value is None else {value}


def _user_in(raw: str) -> str | None:
    """The user a rejected input names, if it parses that far (so erasure finds the record)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    detail = data.get("detail") if isinstance(data, dict) else None
    user = detail.get("user_id") if isinstance(detail, dict) else None
    return user if isinstance(user, str) and 0 < len(user) <= 128 else None


def _erased_stub(event: Event) -> str:
    return json.dumps({"detail-type": event.type, "event_id_sha256": event_digest(event.id)}, sort_keys=True)


def _describe(event: Event) -> str:
    """An event as the rejected-events store keeps it, when it came from inside (feedback)."""
    return json.dumps(
        {"detail-type": event.type, "source": event.source, "detail": event.detail.model_dump(mode="json")},
        sort_keys=True,
        ensure_ascii=False,
    )


def _journey_of(state_machine_arn: str) -> str | None:
    name = state_machine_arn.rsplit(":", 1)[-1]
    return name.removeprefix("touchpoint-") if name.startswith("touchpoint-") else None


def _user_of(ended: ExecutionEnded) -> str | None:
    """The user of an ended execution, from its input (a stopped execution has no output)."""
    user = (ended.input or {}).get(contract.INPUT_USER)
    return user if isinstance(user, str) else None
