"""Counting (pure): the counters one input adds, and a batch's counts as EMF documents."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from typing import Any

from touchpoint import contract, metrics
from touchpoint.engine.kpi.values import (
    CAMPAIGN_CONVERTED,
    CAMPAIGN_CONVERTED_EVENT,
    CAMPAIGN_JOINED_EVENT,
    CAMPAIGN_PARTICIPANTS,
    CAMPAIGN_REVENUE,
    CAMPAIGN_REVENUE_EVENT,
    FEEDBACK_COUNTERS,
    GOAL_CONVERTED,
    GOAL_CONVERTED_HELD_OUT,
    MESSAGE_STATUSES,
    OUTCOME,
    OUTCOMES,
    UNIQUE_PER_MESSAGE,
    UNSUBSCRIBED,
    JourneyInput,
    Marker,
    MetricBlob,
    Plan,
    utc_day,
)
from touchpoint.events import Feedback, Ignored, Rejected, event_digest
from touchpoint.journey.types import CHANNELS

_JOURNEY_ID = re.compile(r"^[a-z][a-z0-9-]{0,47}$")
_STEP_ID = re.compile(r"^[a-z][a-z0-9_.-]{0,199}$")


# --------------------------------------------------------------------------- counting (pure)


def _journey_of(properties: Mapping[str, Any]) -> str | Rejected:
    journey = properties.get("journey_id")
    if not isinstance(journey, str) or not _JOURNEY_ID.fullmatch(journey):
        return Rejected("properties.journey_id is missing or is not a journey id")
    return journey


def _step_of(properties: Mapping[str, Any]) -> str | Rejected | None:
    step = properties.get("step_id")
    if step is None:
        return None
    if not isinstance(step, str) or not _STEP_ID.fullmatch(step):
        return Rejected("properties.step_id is not a step id")
    return step


def plan_for(
    item: JourneyInput | Feedback,
    step_dimension: Collection[str] = (),
    send_steps: Mapping[str, Mapping[str, str]] | None = None,
) -> Plan | Ignored | Rejected:
    """The counters one input adds (pure: no storage, no clock)."""
    properties = item.properties
    if isinstance(item, Feedback) and properties.get("journey_id") is None:
        return Ignored("feedback about a message no journey sent (no journey tag)")
    journey = _journey_of(properties)
    if isinstance(journey, Rejected):
        return journey
    step = _step_of(properties)
    if isinstance(step, Rejected):
        return step
    step_dim = step if journey in step_dimension else None
    day = utc_day(item.occurred_at)
    if isinstance(item, Feedback):
        counter = FEEDBACK_COUNTERS.get(item.type)
        if counter is None:
            return Ignored(f"{item.type} is not counted")
        if counter in OUTCOMES:
            marker = Marker("seen", item.message_id, OUTCOME)
        elif counter in UNIQUE_PER_MESSAGE:
            marker = Marker("seen", item.message_id, counter)
        else:
            marker = Marker("event", item.event_id)
        return Plan(journey, day, marker, (counter,), item.channel, step_dim)

    marker = Marker("event", item.event_id)
    channel = properties.get("channel")
    if channel is not None and channel not in CHANNELS:
        return Rejected(f"properties.channel must be one of {', '.join(CHANNELS)}")
    if item.type == "journey.entry":
        entered = properties.get("entered") is True
        eligible = properties.get("eligible") is True or entered
        counters: list[str] = ["triggered"]
        if eligible:
            counters.append("eligible")
        if entered:
            counters.append("entered")
            if properties.get("holdout") is True:
                counters.append("held_out")
        elif properties.get("reason") == "entry_failed":
            counters.append("entry_failed")
        return Plan(journey, day, marker, tuple(counters))
    if item.type == "journey.message":
        status = properties.get("status")
        if not isinstance(status, str) or status not in MESSAGE_STATUSES:
            return Rejected(f"properties.status must be one of {', '.join(MESSAGE_STATUSES)}")
        if channel is None:
            return Rejected("properties.channel is missing")
        reconciled = status == "sent" and properties.get("reconciled") is True
        message_counters = ("sent", "reconciled") if reconciled else MESSAGE_STATUSES[status]
        return Plan(journey, day, marker, message_counters, channel, step_dim)
    if item.type == contract.STEP_FAILED:
        if channel is None and step is not None:
            channel = (send_steps or {}).get(journey, {}).get(step)
        if channel is None:
            return Ignored(f"step {step} is not a send step: only failed sends are counted")
        return Plan(journey, day, marker, ("failed",), channel, step_dim)
    if item.type == UNSUBSCRIBED:
        if channel is None:
            return Rejected("properties.channel is missing")
        return Plan(journey, day, marker, ("unsubscribed",), channel, step_dim)
    if item.type in (CAMPAIGN_JOINED_EVENT, CAMPAIGN_CONVERTED_EVENT, CAMPAIGN_REVENUE_EVENT):
        return _campaign_plan(item, journey, day)
    if item.type == "journey.converted":
        entered_at = properties.get("entered_at")
        try:
            entered_moment = dt.datetime.fromisoformat(str(entered_at).replace("Z", "+00:00"))
        except ValueError:
            cohort = day
        else:
            aware = entered_moment if entered_moment.tzinfo else entered_moment.replace(tzinfo=dt.UTC)
            cohort = utc_day(aware)
        held_out = properties.get("holdout") is True
        cohort_counters = (GOAL_CONVERTED, GOAL_CONVERTED_HELD_OUT) if held_out else (GOAL_CONVERTED,)
        return Plan(journey, day, marker, ("converted",), cohort_day=cohort, cohort_counters=cohort_counters)
    return Plan(journey, day, marker, ("exited",))


def _campaign_plan(item: JourneyInput, journey: str, day: dt.date) -> Plan | Rejected:
    """A participant and a converted participant count once per user and campaign (a "seen" marker,
    so every order after the first changes nothing); revenue counts once per order."""
    campaign = item.properties.get("campaign_id")
    user = item.properties.get("user_id")
    if not isinstance(campaign, str) or not _JOURNEY_ID.fullmatch(campaign):
        return Rejected("properties.campaign_id is missing or is not a campaign id")
    if item.type == CAMPAIGN_REVENUE_EVENT:
        cents = item.properties.get("value_cents")
        if not isinstance(cents, int) or isinstance(cents, bool) or cents < 0:
            return Rejected("properties.value_cents must be a whole number of cents ≥ 0")
        return Plan(journey, day, Marker("event", item.event_id), (CAMPAIGN_REVENUE,), amount=cents)
    if not isinstance(user, str) or not user:
        return Rejected("properties.user_id is missing")
    counter = CAMPAIGN_PARTICIPANTS if item.type == CAMPAIGN_JOINED_EVENT else CAMPAIGN_CONVERTED
    # the marker outlives an erasure for up to 90 days, so it keeps a digest, never the user id
    return Plan(journey, day, Marker("seen", f"{campaign}:{event_digest(user)}", counter), (counter,))


def metric_blobs(tallies: Mapping[tuple[str, str | None, str | None], Mapping[str, int]]) -> list[MetricBlob]:
    """EMF documents for a batch: one per (journey, channel, step) with its summed counts."""
    blobs = []
    for key in sorted(tallies, key=lambda k: tuple(x or "" for x in k)):
        journey, channel, step = key
        counts = tallies[key]
        values = {metrics.metric_name(c): float(n) for c, n in sorted(counts.items()) if n}
        if not values:
            continue
        dimensions = {metrics.DIM_JOURNEY: journey}
        sets: list[tuple[str, ...]] = [(metrics.DIM_JOURNEY,)]
        if channel is not None:
            dimensions[metrics.DIM_CHANNEL] = channel
            sets.append((metrics.DIM_JOURNEY, metrics.DIM_CHANNEL))
        if step is not None:
            dimensions[metrics.DIM_STEP] = step
            sets.append((metrics.DIM_JOURNEY, metrics.DIM_STEP))
        blobs.append(MetricBlob(dimensions, tuple(sets), values))
    return blobs
