"""Entering journeys: which attribute triggers fire, the entry decision, the start of the
execution, and the date index."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from touchpoint import contract
from touchpoint.clock import iso
from touchpoint.engine import entry as rules
from touchpoint.engine.flags import EntryFlags
from touchpoint.engine.ports import GroupSlot, UserState
from touchpoint.engine.trigger.base import Base
from touchpoint.engine.trigger.dates import date_keys
from touchpoint.errors import StartFailed
from touchpoint.events import JourneyEvent
from touchpoint.journey.model import AttributeTrigger
from touchpoint.profiles import Profile, changed_among
from touchpoint.registry import RegistryEntry


class Entering(Base):
    @cached_property
    def entry_flags(self) -> EntryFlags:
        """The flags entries are decided with, kept a few seconds (touchpoint/engine/flags.py)."""
        return EntryFlags(self.state, self.clock)

    def _attribute_triggers(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[RegistryEntry]:
        """The attribute-triggered journeys this profile change starts: only those watching an
        attribute that changed are looked at (the registry's index), whatever the journey count."""
        fired = []
        for name, (before, after) in changed_among(old, new, self.registry.watched).items():
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
        user: UserState | None,
        event_id: str,
        event_type: str,
        now: dt.datetime,
        emitted: list[JourneyEvent],
        trigger_at: dt.datetime | None = None,
    ) -> list[rules.Decision]:
        journeys = {j.id: j for j in candidates}
        flags = self.entry_flags.of(journeys)
        if user is None:  # not read yet: only if a candidate passes the rules of the profile alone
            screened = all(
                rules.screen(j, profile, flags.get(j.id), now) is not None for j in journeys.values()
            )
            user = UserState() if screened else self.state.user_state(profile.user_id)
        decisions = [
            rules.decide(j, profile, user, flags.get(j.id), event_id, now) for j in journeys.values()
        ]
        decisions = rules.resolve_groups(decisions, journeys, user, self.executions.is_running)
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
            campaign = journey.campaign
            if campaign is not None and decision.enter:
                # counted once per user and campaign (kpi_rollup), on the first stage they enter
                emitted.append(
                    JourneyEvent(
                        contract.CAMPAIGN_JOINED,
                        f"campaign-joined:{campaign.id}:{profile.user_id}:{event_id}",
                        profile.user_id,
                        now,
                        {"journey_id": journey.id, "campaign_id": campaign.id, "user_id": profile.user_id},
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
        name = contract.execution_name(journey.id, journey.version, user_id, event_id)
        machine = self.settings.state_machine_arn(journey.id)
        arn = contract.execution_arn(machine, name)
        resumed = decision.resume
        entered_at = resumed.entered_at if resumed is not None else now
        group = journey.entry.group
        slot = GroupSlot(group, journey.id, journey.entry.priority, arn) if group is not None else None
        # the slot's holder resolve_groups let us replace: one preempted, or one no longer running
        holder = decision.preempts or (user.groups.get(group) if group is not None else None)
        replacing = holder.execution_arn if holder is not None else None
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
        # decision, so two events entering at once start one execution; written with the group
        # slot in one request, so neither is ever left without the other.
        if resumed is None:
            previous = user.entries.get(journey.id)
            record = rules.entry_record(journey, decision, arn, event_id, now, previous, trigger_at or now)
            entered = self.state.enter(
                user_id, record, previous.execution_arn if previous else None, slot, replacing
            )
            if entered != "entered":
                return rules.Decision(journey.id, False, entered, True)
        elif slot is not None and not self.state.claim_group(user_id, slot, replacing):
            # a redelivery finishing a start: its slot was written with its entry (claiming it
            # again changes nothing), unless a journey took it since, seeing ours never started
            return rules.Decision(journey.id, False, "group_busy", True)
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
        for attribute, (before, after) in changed_among(old, new, self.date_attributes).items():
            if before is not None:
                self.state.index_date(attribute, date_keys(before), user_id, add=False)
            if after is not None:
                self.state.index_date(attribute, date_keys(after), user_id, add=True)


def _as_set(value: Any) -> set[Any]:
    if isinstance(value, set | frozenset | list | tuple):
        return set(value)
    return set() if value is None else {value}
