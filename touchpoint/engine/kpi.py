"""kpi_rollup's domain: count journey events and message feedback exactly once, emit the counts as
metrics, and judge every journey's KPIs on a schedule.

Counting
    Every input becomes a ``Plan``: the counters to add 1 to (per journey, UTC day of the event,
    channel for message counters, step where ``kpi_step_dimension`` lists the journey) and one
    ``Marker`` that must not exist yet. The store writes the marker and all the ADDs in ONE
    DynamoDB transaction (``touchpoint/aws/kpis.py``), so:

    * a redelivery (SQS at-least-once, EventBridge retries, a retried Lambda) finds the marker,
      the transaction is cancelled and nothing is added: it cannot count twice;
    * a failed or timed-out attempt either committed everything (the retry is then a duplicate)
      or nothing (the record is reported as a batch item failure and counted on redelivery): it
      cannot lose a count, because the marker never exists without the ADDs.

    The marker is the event id (every journey event and every feedback has a deterministic one),
    except for opens and clicks, which are unique per message: their marker is the message id and
    the kind (``SEEN#<message id>`` / ``opened``), so the third open of an email counts nothing.

    Each message has at most one final outcome, counted once whichever arrives first (its marker
    is ``SEEN#<message id>`` / ``outcome``): ``delivered``; ``bounced`` (the recipient's server
    or the carrier refused it: a bounce, a final SMS failure); or ``dropped`` (the provider took
    the request but never sent it: SES's suppression lists, a reject, a rendering failure; AWS
    counts those in no bounce or complaint rate). Non-final statuses are in flight and count
    nothing. None of them is ``failed``: ``failed`` means the send itself failed and was never
    accepted, and ``send_failure_rate`` divides it by ``sent + failed``, which only works while
    the two are disjoint. A message is therefore ``sent`` and then one outcome (or none yet).

    A send whose provider answer was lost counts as ``unconfirmed``; when the provider's events
    show it was sent after all, trigger_eval reports it again as sent (``reconciled``), so it
    then counts in ``sent`` as well (docs/reliability.md).

    Feedback is attributed by the message's tags (SES) or echoed context (End User Messaging),
    and when those are missing by the message index, as trigger_eval attributes it.

Metrics
    The counts of a batch are summed and emitted once per (journey, channel, step) as EMF with the
    dimension sets [Journey] (every counter), [Journey, Channel] (message counters) and
    [Journey, Step] (message counters of journeys listed in ``kpi_step_dimension``). No user id,
    message id or template is ever a dimension. Duplicates emit nothing.

Rollup (hourly)
    * Rates (``metrics.RATES``) are computed over a rolling window of the last ``WINDOW_DAYS`` UTC
      days, today included, and also since the journey's first count (the ``all`` period).
    * A rate KPI is judged on the window: below ``floor`` or above ``ceiling`` is a breach, but only
      once the rate's denominator reaches ``min_sample``; below it the KPI is
      ``insufficient_sample`` and its alert state does not change.
    * A count KPI (``entered``, ``sent`` …) is judged on the last complete UTC day (as the CloudWatch
      alarms judge it, ``metrics.KPI_ALARM_PERIOD_SECONDS``), and only once the journey counted
      something before that day (so a journey launched yesterday evening is not below its floor).
      ``min_sample`` does not apply to counts.
    * Alerts fire on transitions of the remembered alert state: ok → breached sends one alert,
      breached → ok one recovery notice, an ongoing breach nothing. Each is an SNS message and a
      ``journey.kpi_alert`` event.
    * The goal is reported (never alerted) on matured cohorts: users who entered on the
      ``WINDOW_DAYS`` UTC days ending on the last day whose goal window has fully elapsed, and the
      conversions of exactly those users (counted by entry day), holdout apart.

The pure pieces (``plan_for``, ``compute_rates``, ``judge``, ``goal_report``, ``transitions``)
take plain values, so the simulator's report uses the same arithmetic."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter as Tally
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal, Protocol, cast

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from touchpoint import contract, metrics, wire
from touchpoint.clock import Clock, iso
from touchpoint.engine.ports import MessageRecord
from touchpoint.errors import TransientError, Unstorable
from touchpoint.events import (
    Event,
    ExecutionEnded,
    Feedback,
    Ignored,
    Rejected,
    describe_errors,
    in_range,
    parse_envelope,
)
from touchpoint.journey.model import COUNT_KPIS, Goal, Journey, KpiTarget, SendStep
from touchpoint.journey.steps import resolve, walk
from touchpoint.journey.types import CHANNELS
from touchpoint.logs import redact
from touchpoint.registry import Registry, RegistryEntry
from touchpoint.routing import JOURNEY_EVENT_PREFIX
from touchpoint.settings import Settings

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
#: Rates where less is better: their target is met at or below it.
LOWER_IS_BETTER = frozenset({"unsubscribe_rate", "complaint_rate", "bounce_rate", "send_failure_rate"})

_JOURNEY_ID = re.compile(r"^[a-z][a-z0-9-]{0,47}$")
_STEP_ID = re.compile(r"^[a-z][a-z0-9_.-]{0,199}$")


# --------------------------------------------------------------------------- values


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

    def dimensions(self, counter: str) -> tuple[str | None, str | None]:
        if counter in metrics.MESSAGE_COUNTERS:
            return self.channel, self.step
        return None, None

    def cells(self) -> dict[Cell, int]:
        cells: Tally[Cell] = Tally()
        for counter in self.counters:
            channel, step = self.dimensions(counter)
            for period in (self.day.isoformat(), PERIOD_ALL):
                cells[Cell(self.journey_id, period, counter, channel or NONE, step or NONE)] += 1
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


# --------------------------------------------------------------------------- ports


class KpiStorePort(Protocol):
    def count(self, marker: Marker, cells: Mapping[Cell, int], expires_at: dt.datetime) -> bool:
        """Write the marker and add the cells atomically; False (nothing added) if the marker exists."""
        ...

    def count_many(self, entries: Sequence[tuple[Marker, Mapping[Cell, int], dt.datetime]]) -> list[bool]:
        """``count`` for a batch: each entry's marker and the summed cells in as few transactions
        as fit; per entry, True if counted now, False if its marker existed (nothing added)."""
        ...

    def read(self, journey_id: str, period: str) -> list[tuple[Cell, int]]: ...
    def read_days(self, journey_id: str, first: dt.date, last: dt.date) -> list[tuple[Cell, int]]: ...
    def alert_states(self, journey_id: str) -> dict[str, str]: ...
    def save_alert_state(self, journey_id: str, kpi: str, state: str, at: dt.datetime) -> None: ...


class MetricsPort(Protocol):
    def emit(self, blobs: Sequence[MetricBlob]) -> None: ...


class AlertsPort(Protocol):
    def publish(self, alert: Alert) -> None: ...


class MessagesPort(Protocol):
    """The message index (the state table): who and which step a provider's message id was."""

    def messages(self, message_ids: Sequence[str]) -> dict[str, MessageRecord]: ...


# --------------------------------------------------------------------------- parsing


class _JourneyDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    event_id: Annotated[str, Field(min_length=1, max_length=2048)]
    occurred_at: AwareDatetime
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at")
    @classmethod
    def _in_range(cls, value: dt.datetime) -> dt.datetime:
        return in_range(value)


class RollupAction(BaseModel):
    """The scheduled invocation: ``{"action": "rollup"}``."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["rollup"]


ACTION: TypeAdapter[RollupAction] = TypeAdapter(RollupAction)


def parse_input(raw: Any) -> Input:
    """An EventBridge event (as delivered through SQS) → what kpi_rollup may count."""
    if not isinstance(raw, dict):
        return Rejected("not a JSON object")
    source, detail_type, detail = raw.get("source"), raw.get("detail-type"), raw.get("detail")
    if isinstance(detail_type, str) and detail_type.startswith(JOURNEY_EVENT_PREFIX):
        if source != contract.JOURNEY_SOURCE:
            return Ignored(f"journey events are only counted from {contract.JOURNEY_SOURCE}")
        if detail_type not in COUNTED_TYPES:
            return Ignored(f"{detail_type} is not counted")
        if not isinstance(detail, dict):
            return Rejected("journey event without a detail object")
        try:
            parsed = _JourneyDetail.model_validate(detail)
        except ValidationError as error:
            return Rejected(describe_errors(error))
        return JourneyInput(detail_type, parsed.event_id, parsed.occurred_at, parsed.properties)
    if source not in FEEDBACK_SOURCES:
        return Ignored(f"events from {source} are not counted")
    envelope = parse_envelope(raw)
    if isinstance(envelope, Event | ExecutionEnded):
        return Ignored("not message feedback")
    return envelope


def send_steps_of(journey: Journey) -> dict[str, str]:
    """step id → channel of a journey's send steps (the ids the compiler and the events use)."""
    return {n.id: n.step.send.channel for n in walk(resolve(journey.steps)) if isinstance(n.step, SendStep)}


# --------------------------------------------------------------------------- counting (pure)


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


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
    day = _day(item.occurred_at)
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
    if item.type == "journey.converted":
        entered_at = properties.get("entered_at")
        try:
            entered_moment = dt.datetime.fromisoformat(str(entered_at).replace("Z", "+00:00"))
        except ValueError:
            cohort = day
        else:
            aware = entered_moment if entered_moment.tzinfo else entered_moment.replace(tzinfo=dt.UTC)
            cohort = _day(aware)
        held_out = properties.get("holdout") is True
        cohort_counters = (GOAL_CONVERTED, GOAL_CONVERTED_HELD_OUT) if held_out else (GOAL_CONVERTED,)
        return Plan(journey, day, marker, ("converted",), cohort_day=cohort, cohort_counters=cohort_counters)
    return Plan(journey, day, marker, ("exited",))


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


# --------------------------------------------------------------------------- rates and KPIs (pure)


def totals(rows: Iterable[tuple[Cell, int]]) -> dict[str, int]:
    """Counter totals of stored cells, summed over channels and steps, and for message counters
    also per channel (``email:sent``), which the per-channel rates divide."""
    counts: Tally[str] = Tally()
    for cell, n in rows:
        counts[cell.counter] += n
        if cell.channel != NONE:
            counts[metrics.channel_key(cell.channel, cell.counter)] += n
    return dict(counts)


def add(*counts: Mapping[str, float]) -> dict[str, float]:
    total: dict[str, float] = {}
    for c in counts:
        for name, n in c.items():
            total[name] = total.get(name, 0) + n
    return total


def compute_rates(counts: Mapping[str, float]) -> dict[str, dict[str, float | None]]:
    """Every rate of ``metrics.RATES`` from counter totals: ``{name: {"value", "denominator"}}``;
    the value is None when the denominator is 0."""
    result: dict[str, dict[str, float | None]] = {}
    for name in metrics.RATES:
        value, denominator = metrics.rate(dict(counts), name)
        result[name] = {"value": value, "denominator": denominator}
    return result


def _target_met(kpi: str, value: float | None, target: float | None) -> bool | None:
    if value is None or target is None:
        return None
    return value <= target if kpi in LOWER_IS_BETTER else value >= target


def judge(
    kpis: Mapping[Any, KpiTarget],
    window: Mapping[str, float],
    last_day: Mapping[str, float],
    live_before_last_day: bool,
) -> list[Judgement]:
    """Each KPI against its floor / ceiling: rates on the window, counts on the last complete day."""
    judgements = []
    for kpi, spec in sorted(kpis.items()):
        if kpi in metrics.RATES:
            value, sample = metrics.rate(dict(window), kpi)
            kind: Literal["rate", "count"] = "rate"
            if value is None:
                status: Status = "no_data"
            elif sample < spec.min_sample:
                status = "insufficient_sample"
            else:
                status = _bounds(value, spec)
        else:
            kind = "count"
            value = float(last_day.get(kpi, 0))
            sample = value
            status = _bounds(value, spec) if live_before_last_day else "no_data"
        met = _target_met(kpi, value, spec.target)
        judgements.append(Judgement(kpi, kind, value, sample, status, spec, met))
    return judgements


def _bounds(value: float, spec: KpiTarget) -> Status:
    if spec.floor is not None and value < spec.floor:
        return "below_floor"
    if spec.ceiling is not None and value > spec.ceiling:
        return "above_ceiling"
    return "ok"


def transitions(
    journey: RegistryEntry,
    judgements: Sequence[Judgement],
    states: Mapping[str, str],
    period: str,
    at: dt.datetime,
) -> list[Alert]:
    """Alerts for changes of state only: a new breach, or the end of one. Undecidable KPIs
    (insufficient sample, no data) keep their state."""
    alerts = []
    for j in judgements:
        before = states.get(j.kpi, "ok")
        if j.value is None or j.status not in (*BREACHES, "ok") or j.status == before:
            continue
        if j.status in BREACHES:
            status: Literal["breached", "recovered"] = "breached"
            condition: str = j.status
        elif before in BREACHES:
            status, condition = "recovered", before
        else:
            continue
        threshold = j.spec.floor if condition == "below_floor" else j.spec.ceiling
        definition = metrics.RATES.get(j.kpi)
        alerts.append(
            Alert(
                journey.id,
                journey.name,
                journey.owner,
                j.kpi,
                status,
                condition,
                j.value,
                float(threshold if threshold is not None else 0),
                j.sample,
                j.spec.min_sample if j.kind == "rate" else 0,
                " + ".join(definition.denominator) if definition else j.kpi,
                period,
                j.spec.target,
                at,
            )
        )
    return alerts


#: The counters a journey's funnel shows, in order: who was considered, then the countable KPIs.
FUNNEL: tuple[str, ...] = ("triggered", "eligible", *COUNT_KPIS)


def goal_cohort_days(within_seconds: int, now: dt.datetime) -> list[dt.date]:
    """The WINDOW_DAYS entry days, ending on the last one whose goal window has fully elapsed
    (every entrant of day d had until d + 1 day + within to convert)."""
    last = _day(now - dt.timedelta(seconds=within_seconds)) - dt.timedelta(days=1)
    return [last - dt.timedelta(days=i) for i in range(WINDOW_DAYS - 1, -1, -1)]


def goal_report(goal: Goal, cohort: Mapping[str, float], days: Sequence[dt.date]) -> dict[str, Any]:
    """Conversion within the goal window of the users who entered on ``days`` (holdout apart)."""
    entered, held_out = cohort.get("entered", 0), cohort.get("held_out", 0)
    converted, converted_held_out = cohort.get(GOAL_CONVERTED, 0), cohort.get(GOAL_CONVERTED_HELD_OUT, 0)
    treated = entered - held_out
    rate = (converted - converted_held_out) / treated if treated else None
    holdout_rate = converted_held_out / held_out if held_out else None
    return {
        "event": goal.event,
        "within_seconds": goal.within,
        "cohort": f"{days[0].isoformat()} .. {days[-1].isoformat()} UTC" if days else None,
        "entered": treated,
        "converted": converted - converted_held_out,
        "rate": rate,
        "target": goal.target,
        "met": None if rate is None else rate >= goal.target,
        "baseline": goal.baseline,
        "holdout": {"entered": held_out, "converted": converted_held_out, "rate": holdout_rate},
        "lift": rate - holdout_rate if rate is not None and holdout_rate is not None else None,
    }


# --------------------------------------------------------------------------- alert messages (pure)


def _show(value: float) -> str:
    return f"{value:.4f}" if value < 1 or not float(value).is_integer() else f"{value:.0f}"


def alert_subject(alert: Alert) -> str:
    """SNS subjects must be ASCII, one line, under 100 characters: journey and KPI ids are."""
    where = "below floor" if alert.condition == "below_floor" else "above ceiling"
    if alert.status == "breached":
        text = f"Touchpoint KPI alert: {alert.journey_id} {alert.kpi} {where}"
    else:
        text = f"Touchpoint KPI recovered: {alert.journey_id} {alert.kpi}"
    return text.encode("ascii", "replace").decode()[:99]


def alert_body(alert: Alert) -> str:
    bound = "floor" if alert.condition == "below_floor" else "ceiling"
    if alert.status == "breached":
        relation = "below its floor" if alert.condition == "below_floor" else "above its ceiling"
        headline = f'{alert.kpi} of journey "{alert.journey_name}" ({alert.journey_id}) is {relation}.'
        footer = (
            "You get this once when the KPI crosses the threshold, and one recovery notice when it is "
            "back within bounds."
        )
    else:
        headline = (
            f'{alert.kpi} of journey "{alert.journey_name}" ({alert.journey_id}) is back within its {bound}.'
        )
        footer = "The alert sent when it crossed the threshold is resolved."
    lines = [
        headline,
        "",
        f"Value:      {_show(alert.value)}",
        f"{bound.capitalize() + ':':<11} {_show(alert.threshold)}",
    ]
    if alert.target is not None:
        lines.append(f"Target:     {_show(alert.target)}")
    sample = f"Sample:     {alert.sample:.0f} ({alert.sample_of})"
    if alert.min_sample:
        sample += f", alerts need at least {alert.min_sample}"
    lines += [
        sample,
        f"Period:     {alert.period}",
        f"Owner:      {alert.owner}",
        f"Checked at: {iso(alert.at)}",
        "",
        footer,
    ]
    return "\n".join(lines)


def alert_event(alert: Alert) -> dict[str, Any]:
    """The ``journey.kpi_alert`` PutEvents entry (without EventBusName)."""
    detail = {
        "event_id": alert.event_id,
        "occurred_at": iso(alert.at),
        "properties": {
            "journey_id": alert.journey_id,
            "kpi": alert.kpi,
            "status": alert.status,
            "condition": alert.condition,
            "value": alert.value,
            "threshold": alert.threshold,
            "sample": alert.sample,
            "min_sample": alert.min_sample,
            "period": alert.period,
            "target": alert.target,
            "owner": alert.owner,
        },
    }
    return {
        "Source": contract.JOURNEY_SOURCE,
        "DetailType": KPI_ALERT,
        "Detail": json.dumps(detail, sort_keys=True, ensure_ascii=False),
    }


# --------------------------------------------------------------------------- the service


def _unreadable(error: Exception) -> str:
    return f"{type(error).__name__}: {redact(str(error))[:300]}"


def _duplicate(plan: Plan) -> Outcome:
    reason = "already counted for this message" if plan.marker.kind == "seen" else "already counted"
    return Outcome("duplicate", reason, plan.journey_id)


@dataclass
class KpiRollup:
    settings: Settings
    registry: Registry
    store: KpiStorePort
    emitter: MetricsPort
    alerts: AlertsPort
    clock: Clock
    send_steps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    messages: MessagesPort | None = None
    _batch: dict[tuple[str, str | None, str | None], Tally[str]] = field(default_factory=dict)

    # ------------------------------------------------------------------ counting

    def count_body(self, body: str) -> Outcome:
        """One SQS message (an EventBridge event)."""
        return self.count_bodies([body])[0]

    def count(self, item: Input) -> Outcome:
        return self._count([self._plan(item)])[0]

    def count_bodies(self, bodies: Sequence[str]) -> list[Outcome]:
        """An SQS batch: every countable input in one transaction where they fit (fewer writes
        and fewer conflicts on hot counters than one transaction per record), same exactly-once
        guarantee: each input's marker is in the transaction that adds its counts.

        One bad record never fails its neighbours: an input that cannot be read or planned is
        rejected with its reason, and if the store refuses the batch's data (Unstorable), each
        record is counted alone so only the one at fault is rejected. Contention and throttling
        (TransientError) answer ``retry`` for the records not yet counted; any other failure (a
        missing table, a permission) fails the invocation, as a retry or a fix can cure it."""
        items: list[Input | Outcome] = []
        for body in bodies:
            try:
                items.append(parse_input(wire.load(body)))
            except wire.Unacceptable as error:
                items.append(Outcome("rejected", str(error)))
            except Exception as error:  # a hostile body must not fail the batch
                items.append(Outcome("rejected", _unreadable(error)))
        self._attribute(items)
        prepared: list[Plan | Outcome] = []
        for item in items:
            try:
                prepared.append(item if isinstance(item, Outcome) else self._plan(item))
            except Exception as error:  # as above
                prepared.append(Outcome("rejected", _unreadable(error)))
        try:
            return self._count(prepared)
        except TransientError:
            return [
                p if isinstance(p, Outcome) else Outcome("retry", "contended", p.journey_id) for p in prepared
            ]
        except Exception:  # find the record at fault
            return [self._count_alone(p) for p in prepared]

    def _count_alone(self, plan: Plan | Outcome) -> Outcome:
        if isinstance(plan, Outcome):
            return plan
        try:
            return self._count([plan])[0]
        except TransientError:
            return Outcome("retry", "contended", plan.journey_id)
        except Unstorable as error:  # this record is the one the store refuses
            return Outcome("rejected", f"could not be counted: {_unreadable(error)}", plan.journey_id)

    def _attribute(self, items: list[Input | Outcome]) -> None:
        """Feedback without the journey in its tags or context (End User Messaging events carry
        no context unless the send set one) is attributed by the message index, in one read."""
        missing = [
            i
            for i, item in enumerate(items)
            if isinstance(item, Feedback) and "journey_id" not in item.properties
        ]
        if not missing or self.messages is None:
            return
        ids = sorted({cast(Feedback, items[i]).message_id for i in missing})
        found = self.messages.messages(ids)
        for i in missing:
            feedback = cast(Feedback, items[i])
            record = found.get(feedback.message_id)
            if record is not None:
                context = {
                    "journey_id": record.journey_id,
                    "step_id": record.step_id,
                    "template": record.template,
                }
                items[i] = replace(feedback, properties={**feedback.properties, **context})

    def _plan(self, item: Input) -> Plan | Outcome:
        if isinstance(item, Ignored):
            return Outcome("ignored", item.reason)
        if isinstance(item, Rejected):
            return Outcome("rejected", item.reason)
        plan = plan_for(item, self.settings.kpi_step_dimension, self.send_steps)
        if isinstance(plan, Ignored):
            return Outcome("ignored", plan.reason)
        if isinstance(plan, Rejected):
            return Outcome("rejected", plan.reason)
        return plan

    def _count(self, prepared: Sequence[Plan | Outcome]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [p if isinstance(p, Outcome) else None for p in prepared]
        entries: list[tuple[Marker, Mapping[Cell, int], dt.datetime]] = []
        positions: list[int] = []
        markers: set[Marker] = set()
        for i, plan in enumerate(prepared):
            if isinstance(plan, Outcome):
                continue
            if plan.marker in markers:  # the same input twice in one batch
                outcomes[i] = _duplicate(plan)
                continue
            markers.add(plan.marker)
            days = SEEN_MARKER_DAYS if plan.marker.kind == "seen" else EVENT_MARKER_DAYS
            entries.append((plan.marker, plan.cells(), self.clock.now() + dt.timedelta(days=days)))
            positions.append(i)
        counted = self.store.count_many(entries) if entries else []
        for i, was_counted in zip(positions, counted, strict=True):
            plan = prepared[i]
            assert isinstance(plan, Plan)
            if not was_counted:
                outcomes[i] = _duplicate(plan)
                continue
            for counter in plan.counters:
                channel, step = plan.dimensions(counter)
                self._batch.setdefault((plan.journey_id, channel, step), Tally())[counter] += 1
            outcomes[i] = Outcome("counted", None, plan.journey_id, plan.counters)
        return [o for o in outcomes if o is not None]

    def flush_metrics(self) -> int:
        """Emit the batch's counts (one EMF document per journey/channel/step); the number emitted."""
        blobs = metric_blobs(self._batch)
        self._batch = {}
        if blobs:
            self.emitter.emit(blobs)
        return len(blobs)

    # ------------------------------------------------------------------ the scheduled rollup

    def rollup(self) -> dict[str, Any]:
        now = self.clock.now()
        journeys = {}
        alerted = 0
        for journey_id in sorted(self.registry.journeys):
            report = self.rollup_journey(self.registry.journeys[journey_id], now)
            alerted += len(report["alerts"])
            journeys[journey_id] = report
        return {"at": iso(now), "window_days": WINDOW_DAYS, "alerts": alerted, "journeys": journeys}

    def rollup_journey(self, journey: RegistryEntry, now: dt.datetime) -> dict[str, Any]:
        today = _day(now)
        window_days = [today - dt.timedelta(days=i) for i in range(WINDOW_DAYS - 1, -1, -1)]
        cohort_days = goal_cohort_days(journey.goal.within, now) if journey.goal is not None else []
        first = min([*window_days, *cohort_days])
        by_day: dict[str, list[tuple[Cell, int]]] = {}
        for cell, n in self.store.read_days(journey.id, first, today):
            by_day.setdefault(cell.period, []).append((cell, n))

        def day(d: dt.date) -> dict[str, int]:
            return totals(by_day.get(d.isoformat(), []))

        window = add(*(day(d) for d in window_days))
        lifetime = totals(self.store.read(journey.id, PERIOD_ALL))
        yesterday = today - dt.timedelta(days=1)
        before = (
            lifetime.get("triggered", 0) - day(today).get("triggered", 0) - day(yesterday).get("triggered", 0)
        )
        judgements = judge(journey.kpis, window, day(yesterday), live_before_last_day=before > 0)
        period = f"{window_days[0].isoformat()} .. {today.isoformat()} UTC"
        states = self.store.alert_states(journey.id) if journey.kpis else {}
        alerts = transitions(journey, judgements, states, period, now)
        for alert in alerts:
            self.alerts.publish(alert)  # first: a failure here leaves the state, so it is retried
            self.store.save_alert_state(journey.id, alert.kpi, alert.state, now)
        goal = None
        if journey.goal is not None:
            goal = goal_report(journey.goal, add(*(day(d) for d in cohort_days)), cohort_days)
        return {
            "period": period,
            "counts": window,
            "rates": {name: r["value"] for name, r in compute_rates(window).items()},
            "lifetime": {
                "counts": lifetime,
                "rates": {name: r["value"] for name, r in compute_rates(lifetime).items()},
            },
            "kpis": [j.as_dict() for j in judgements],
            "breaches": [j.kpi for j in judgements if j.status in BREACHES],
            "alerts": [{"kpi": a.kpi, "status": a.status, "condition": a.condition} for a in alerts],
            "goal": goal,
        }
