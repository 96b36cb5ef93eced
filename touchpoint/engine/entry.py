"""Who enters which journey: the entry rules as pure functions of the registry entry, the profile,
the user's journey state and the time. trigger_eval applies the result; the simulator's ``why``
explains it from the same ``Decision``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from touchpoint import bucketing
from touchpoint.conditions import evaluate
from touchpoint.engine.ports import EntryRecord, GroupSlot, UserState
from touchpoint.events import event_digest
from touchpoint.journey.model import ReentryAfter
from touchpoint.profiles import Profile
from touchpoint.registry import RegistryEntry

SkipReason = str
"""not_effective · paused · stopped · audience · not_a_participant · already_entered · in_journey ·
reentry_wait · not_in_rollout · lower_priority · group_busy"""

#: Entry events remembered per journey and user (``EntryRecord.history``).
HISTORY_KEEP = 20
#: A redelivery of the event that entered a running journey may finish a start that crashed
#: before StartExecution, for this long after the entry (SQS redelivers within minutes); later
#: copies change nothing.
RESUME_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Decision:
    journey_id: str
    enter: bool
    reason: SkipReason | None
    eligible: bool  # effective, running, and the audience matched
    holdout: bool = False
    buckets: dict[str, int] = field(default_factory=dict)
    preempts: GroupSlot | None = None  # a lower-priority journey of the group to stop
    resume: EntryRecord | None = None  # a redelivery: finish this recorded entry, write nothing new
    replay: bool = False  # a copy of the event that entered: report the entry again, start nothing


def decide(
    journey: RegistryEntry,
    profile: Profile,
    user: UserState,
    flag: str | None,
    event_id: str,
    now: dt.datetime,
) -> Decision:
    """The rules that concern one journey alone, in the order a marketer would explain them."""

    def skip(reason: str, eligible: bool = False) -> Decision:
        return Decision(journey.id, False, reason, eligible)

    refused = screen(journey, profile, flag, now)
    if refused is not None:
        return skip(refused)
    # audience: participants — entered an earlier stage of the campaign (any outcome, holdout too)
    earlier = journey.campaign.participants_of if journey.campaign is not None else None
    if earlier is not None and not any(j in user.entries for j in earlier):
        return skip("not_a_participant")
    previous = user.entries.get(journey.id)
    if previous is not None and event_digest(event_id) in entered_by(previous):
        # a copy of an event that entered: at most finish its own start, never a second entry
        if (
            previous.event_id == event_id
            and previous.status == "running"
            and now - previous.entered_at < dt.timedelta(seconds=RESUME_SECONDS)
        ):
            buckets = _split_buckets(journey, profile.user_id)
            return Decision(journey.id, True, None, True, previous.holdout, buckets, resume=previous)
        if previous.event_id == event_id:  # its journey.entry is reported again (same id: counted once)
            return Decision(journey.id, False, "already_entered", True, previous.holdout, replay=True)
        return skip("already_entered", eligible=True)
    if previous is not None:
        reentry = journey.entry.reentry
        if previous.status != "ended":
            return skip("in_journey", eligible=True)
        if reentry == "never":
            return skip("already_entered", eligible=True)
        if isinstance(reentry, ReentryAfter) and now < previous.entered_at + dt.timedelta(
            seconds=reentry.after
        ):
            return skip("reentry_wait", eligible=True)
    user_id = profile.user_id
    rollout = journey.rollout
    if rollout is not None and user_id not in rollout.test_users:
        in_segment = rollout.segment is None or evaluate(rollout.segment, profile, now)
        if not in_segment or not bucketing.within(
            bucketing.bucket(user_id, journey.id, "rollout"), rollout.percent
        ):
            return skip("not_in_rollout", eligible=True)
    holdout = journey.holdout is not None and bucketing.within(
        bucketing.bucket(user_id, journey.id, "holdout"), journey.holdout.percent
    )
    return Decision(journey.id, True, None, True, holdout, _split_buckets(journey, user_id))


def screen(journey: RegistryEntry, profile: Profile, flag: str | None, now: dt.datetime) -> SkipReason | None:
    """The first rules ``decide`` applies, which need neither the user's journey state nor the
    event: the reason they refuse (not_effective, paused, stopped, audience), or None. An event
    every candidate of which they refuse is decided without reading the user's state."""
    window = journey.effective
    if window and ((window.from_ and now < window.from_) or (window.until and now >= window.until)):
        return "not_effective"
    if flag in ("paused", "stopped"):
        return flag
    if journey.audience is not None and not evaluate(journey.audience, profile, now):
        return "audience"
    return None


def _split_buckets(journey: RegistryEntry, user_id: str) -> dict[str, int]:
    """The user's bucket in each of the journey's splits: the same on every entry and resume."""
    return {s.key: bucketing.bucket(user_id, journey.id, f"split:{s.step_id}") for s in journey.splits}


def resolve_groups(
    decisions: Sequence[Decision],
    journeys: Mapping[str, RegistryEntry],
    user: UserState,
    running: Callable[[str], bool],
) -> list[Decision]:
    """At most one journey per group per user: among this event's candidates the highest priority
    wins (ties: the smaller id); it then preempts a lower-priority journey already running in the
    group, or yields to an equal or higher one. ``running`` says whether a slot's execution still
    runs (a stale slot whose execution ended does not block); it is asked only about a slot another
    journey holds in a group a candidate would enter (each asking is a DescribeExecution)."""
    out = list(decisions)
    best: dict[str, int] = {}
    for i, d in enumerate(out):
        group = journeys[d.journey_id].entry.group
        if not d.enter or group is None:
            continue
        if group not in best or _rank(journeys[d.journey_id]) < _rank(journeys[out[best[group]].journey_id]):
            if group in best:
                out[best[group]] = replace(out[best[group]], enter=False, reason="lower_priority")
            best[group] = i
        else:
            out[i] = replace(d, enter=False, reason="lower_priority")
    for group, i in best.items():
        slot = user.groups.get(group)
        if slot is None or slot.journey_id == out[i].journey_id or not running(slot.execution_arn):
            continue
        if journeys[out[i].journey_id].entry.priority > slot.priority:
            out[i] = replace(out[i], preempts=slot)
        else:
            out[i] = replace(out[i], enter=False, reason="group_busy")
    return out


def _rank(journey: RegistryEntry) -> tuple[int, str]:
    return (-journey.entry.priority, journey.id)


def entered_by(record: EntryRecord) -> tuple[str, ...]:
    """The digests of the events that entered (records from before the history: the last one)."""
    return record.history or (event_digest(record.event_id),)


def entry_record(
    journey: RegistryEntry,
    decision: Decision,
    execution_arn: str,
    event_id: str,
    now: dt.datetime,
    previous: EntryRecord | None,
    trigger_at: dt.datetime,
) -> EntryRecord:
    history = (*(entered_by(previous) if previous else ()), event_digest(event_id))[-HISTORY_KEEP:]
    return EntryRecord(
        journey.id,
        execution_arn,
        now,
        event_id,
        "running",
        decision.holdout,
        journey.entry.group,
        journey.entry.priority,
        history=history,
        trigger_at=trigger_at,
    )
