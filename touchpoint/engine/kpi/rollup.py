"""The kpi_rollup service: counts SQS batches exactly once, emits their metrics, and runs the
hourly rollup."""

from __future__ import annotations

import datetime as dt
from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from touchpoint import wire
from touchpoint.clock import Clock, iso
from touchpoint.engine.kpi.counting import metric_blobs, plan_for
from touchpoint.engine.kpi.parsing import parse_input
from touchpoint.engine.kpi.rates import (
    add,
    compute_rates,
    goal_cohort_days,
    goal_report,
    judge,
    totals,
    transitions,
)
from touchpoint.engine.kpi.values import (
    BREACHES,
    EVENT_MARKER_DAYS,
    PERIOD_ALL,
    SEEN_MARKER_DAYS,
    WINDOW_DAYS,
    Cell,
    Input,
    Marker,
    Outcome,
    Plan,
    utc_day,
)
from touchpoint.engine.ports import AlertsPort, KpiStorePort, MessagesPort, MetricsPort
from touchpoint.errors import TransientError, Unstorable
from touchpoint.events import Feedback, Ignored, Rejected
from touchpoint.logs import redact
from touchpoint.registry import Registry, RegistryEntry
from touchpoint.settings import Settings

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
                self._batch.setdefault((plan.journey_id, channel, step), Tally())[counter] += plan.amount
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
        today = utc_day(now)
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
