"""Rates, KPI judgements, alert transitions and the goal's cohort report (pure: the simulator's
report uses the same arithmetic)."""

from __future__ import annotations

import datetime as dt
from collections import Counter as Tally
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from touchpoint import metrics
from touchpoint.engine.kpi.values import (
    BREACHES,
    GOAL_CONVERTED,
    GOAL_CONVERTED_HELD_OUT,
    NONE,
    WINDOW_DAYS,
    Alert,
    Cell,
    Judgement,
    Status,
    utc_day,
)
from touchpoint.journey.model import COUNT_KPIS, Goal, KpiTarget
from touchpoint.registry import RegistryEntry

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
    return value <= target if kpi in metrics.LOWER_IS_BETTER else value >= target


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
    last = utc_day(now - dt.timedelta(seconds=within_seconds)) - dt.timedelta(days=1)
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
