"""The counters kpi_rollup keeps and the values its stages pass: cells, markers, plans,
judgements and alerts."""

from __future__ import annotations

import datetime as dt
from collections import Counter as Tally
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from touchpoint import contract, metrics
from touchpoint.events import Feedback, Ignored, Rejected
from touchpoint.journey.model import KpiTarget

#: Rates and alerts are judged over the last WINDOW_DAYS UTC days, today included.
WINDOW_DAYS = 7
#: Event markers outlive every redelivery: SQS keeps a message at most 14 days, EventBridge retries
#: for 24 hours.
EVENT_MARKER_DAYS = 15
#: Unique open/click markers: an email opened again after this long counts as a new unique open.
SEEN_MARKER_DAYS = 90
#: Period of the lifetime counters (next to the yyyy-mm-dd day periods).
PERIOD_ALL = "all"
#: Placeholder for "no channel" / "no step" in a counter cell.
NONE = "-"
#: Storage-only counters (never metrics): conversions by the day their user ENTERED the journey,
#: for the goal's cohort report.
GOAL_CONVERTED = "goal_converted"
GOAL_CONVERTED_HELD_OUT = "goal_converted_held_out"

#: Campaign counters, kept on the stage journey a participant entered first (docs/campaigns.md):
#: participants (once per user), converted participants (once per user), revenue in cents.
CAMPAIGN_PARTICIPANTS = "campaign_participants"
CAMPAIGN_CONVERTED = "campaign_converted"
CAMPAIGN_REVENUE = "campaign_revenue"
CAMPAIGN_COUNTERS = (CAMPAIGN_PARTICIPANTS, CAMPAIGN_CONVERTED, CAMPAIGN_REVENUE)
CAMPAIGN_JOINED_EVENT = contract.CAMPAIGN_JOINED
CAMPAIGN_CONVERTED_EVENT = contract.CAMPAIGN_CONVERTED
CAMPAIGN_REVENUE_EVENT = contract.CAMPAIGN_REVENUE

UNSUBSCRIBED = "journey.unsubscribed"
KPI_ALERT = "journey.kpi_alert"
COUNTED_TYPES = frozenset(
    {
        "journey.entry",
        "journey.message",
        contract.STEP_FAILED,
        "journey.exited",
        "journey.converted",
        UNSUBSCRIBED,
        CAMPAIGN_JOINED_EVENT,
        CAMPAIGN_CONVERTED_EVENT,
        CAMPAIGN_REVENUE_EVENT,
    }
)
#: Feedback → counter. Opens and clicks are unique per message.
FEEDBACK_COUNTERS: Mapping[str, metrics.Counter] = {
    "email.delivered": "delivered",
    "sms.delivered": "delivered",
    "email.opened": "opened",
    "email.clicked": "clicked",
    "email.bounced": "bounced",
    "email.complained": "complained",
    "email.failed": "dropped",  # accepted, then suppressed, rejected or not rendered: never sent
    "sms.failed": "bounced",  # accepted, then the carrier failed it for good: never delivered
}
FEEDBACK_SOURCES = frozenset({"aws.ses", "aws.sms-voice"})
UNIQUE_PER_MESSAGE = frozenset({"opened", "clicked", "complained"})
#: A message's one final outcome (the first to arrive is counted, later ones are not).
OUTCOMES = frozenset({"delivered", "bounced", "dropped"})
OUTCOME = "outcome"
#: The statuses of journey.message and what each counts.
MESSAGE_STATUSES: Mapping[str, tuple[str, ...]] = {
    "sent": ("sent",),
    "skipped": ("skipped",),
    "sent_unconfirmed": ("unconfirmed",),
}


@dataclass(frozen=True, order=True)
class Cell:
    """One counter item: ``KPI#<journey>#<period>`` / ``<counter>#<channel>#<step>``."""

    journey_id: str
    period: str  # yyyy-mm-dd (UTC) or PERIOD_ALL
    counter: str
    channel: str = NONE
    step: str = NONE


@dataclass(frozen=True)
class Marker:
    """What must not have been counted yet: an event (by id) or a message's first open/click."""

    kind: Literal["event", "seen"]
    key: str  # the event id, or the message id
    what: str = ""  # for "seen": opened | clicked


@dataclass(frozen=True)
class Plan:
    """What one input adds, before the store decides whether it is new."""

    journey_id: str
    day: dt.date
    marker: Marker
    counters: tuple[str, ...]
    channel: str | None = None  # message counters only
    step: str | None = None  # message counters of journeys with the step dimension only
    cohort_day: dt.date | None = None  # for conversions: the day the user entered
    cohort_counters: tuple[str, ...] = ()
    amount: int = 1  # what each counter adds (revenue: the order's value in cents)

    def dimensions(self, counter: str) -> tuple[str | None, str | None]:
        if counter in metrics.MESSAGE_COUNTERS:
            return self.channel, self.step
        return None, None

    def cells(self) -> dict[Cell, int]:
        cells: Tally[Cell] = Tally()
        for counter in self.counters:
            channel, step = self.dimensions(counter)
            for period in (self.day.isoformat(), PERIOD_ALL):
                cells[Cell(self.journey_id, period, counter, channel or NONE, step or NONE)] += self.amount
        if self.cohort_day is not None:
            for counter in self.cohort_counters:
                cells[Cell(self.journey_id, self.cohort_day.isoformat(), counter)] += 1
        return dict(cells)


@dataclass(frozen=True)
class Outcome:
    """What happened to one input, for the log line and the tests."""

    status: Literal["counted", "duplicate", "ignored", "rejected", "retry"]
    reason: str | None = None
    journey_id: str | None = None
    counters: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricBlob:
    """One EMF document: dimension values, the dimension sets they form, and the metric values."""

    dimensions: dict[str, str]
    dimension_sets: tuple[tuple[str, ...], ...]
    values: dict[str, float]


@dataclass(frozen=True)
class JourneyInput:
    """A lifecycle event Touchpoint put on the bus (journey.entry, journey.message …)."""

    type: str
    event_id: str
    occurred_at: dt.datetime
    properties: dict[str, Any]


Input = JourneyInput | Feedback | Ignored | Rejected

Status = Literal["ok", "below_floor", "above_ceiling", "insufficient_sample", "no_data"]
BREACHES: frozenset[str] = frozenset({"below_floor", "above_ceiling"})


@dataclass(frozen=True)
class Judgement:
    kpi: str
    kind: Literal["rate", "count"]
    value: float | None
    sample: float  # the rate's denominator, or the count itself
    status: Status
    spec: KpiTarget
    target_met: bool | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi,
            "kind": self.kind,
            "value": self.value,
            "sample": self.sample,
            "status": self.status,
            "target": self.spec.target,
            "floor": self.spec.floor,
            "ceiling": self.spec.ceiling,
            "min_sample": self.spec.min_sample,
            "target_met": self.target_met,
        }


@dataclass(frozen=True)
class Alert:
    """A KPI crossed a floor or ceiling (``breached``), or came back within bounds (``recovered``)."""

    journey_id: str
    journey_name: str
    owner: str
    kpi: str
    status: Literal["breached", "recovered"]
    condition: str  # below_floor · above_ceiling (for recovered: the one that ended)
    value: float
    threshold: float
    sample: float
    min_sample: int
    sample_of: str  # what the sample counts, e.g. "delivered" or "sent + failed"
    period: str  # e.g. "2026-11-25 .. 2026-12-01 UTC"
    target: float | None
    at: dt.datetime

    @property
    def state(self) -> str:
        """The alert state remembered after this alert."""
        return self.condition if self.status == "breached" else "ok"

    @property
    def event_id(self) -> str:
        hour = self.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H")
        return f"kpi_alert:{self.journey_id}:{self.kpi}:{self.status}:{self.condition}:{hour}"


def utc_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()
