"""A campaign's plan table, generated from the files (``touchpoint plan``), so the table a team
reviews is the plan that runs: one row per stage with its segment, channels, content, trigger,
owner, window and KPIs in words, as GitHub markdown or CSV.

Pure: the caller hands in the campaign and its stage journeys as written (each row applies its
stage, as the loader does), and how to word a trigger that is not a campaign schedule (the
compiler's trigger_text sits above this layer)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import astuple, dataclass

from touchpoint.conditions import describe, describe_where
from touchpoint.durations import format_duration
from touchpoint.journey.campaigns import Span, apply, once_at, span_of
from touchpoint.journey.loader import Project
from touchpoint.journey.model import (
    COUNT_KPIS,
    Journey,
    KpiName,
    KpiTarget,
    ScheduleTrigger,
    SendStep,
    Trigger,
)
from touchpoint.journey.model.campaign import CampaignFile, CampaignGoal, Stage
from touchpoint.journey.model.triggers import DailySchedule, OnceSchedule
from touchpoint.journey.steps import resolve, walk
from touchpoint.metrics import LOWER_IS_BETTER

TriggerWords = Callable[[Trigger], str]

PARTICIPANTS = "participants of earlier stages"
EVERYONE = "everyone"
_DAY = dt.time()


@dataclass(frozen=True)
class PlanRow:
    """One stage of the plan, every cell in words."""

    stage: str
    segment: str
    channels: str
    content: str
    trigger: str
    owner: str
    window: str
    kpis: str


HEADER = ("stage", "segment", "channels", "content", "trigger", "owner", "window", "KPIs")


@dataclass(frozen=True)
class Plan:
    """The campaign above the table, and the table."""

    name: str
    dates: str
    timezone: str
    owner: str
    goal: str | None
    rows: tuple[PlanRow, ...]


def plan_for(project: Project, campaign: CampaignFile, other_trigger: TriggerWords) -> Plan:
    """The plan of one campaign of a loaded project without errors."""
    staged = {stage.journey for stage in campaign.stages}
    written = {
        j.written.id: j.written for j in project.journeys if j.written is not None and j.written.id in staged
    }
    return plan_of(campaign, written, other_trigger)


def plan_of(campaign: CampaignFile, journeys: Mapping[str, Journey], other_trigger: TriggerWords) -> Plan:
    """``journeys``: the stage journeys by id as written; each row is its journey as the stage runs
    it (campaigns.apply), with the schedule in the words it was written in."""
    rows = tuple(
        _row(campaign, i, journeys[stage.journey], other_trigger) for i, stage in enumerate(campaign.stages)
    )
    dates = (
        f"{campaign.date}" if campaign.last_day == campaign.date else f"{campaign.date} – {campaign.last_day}"
    )
    goal = goal_text(campaign.goal) if campaign.goal is not None else None
    return Plan(campaign.name, dates, campaign.timezone, campaign.owner, goal, rows)


def _row(campaign: CampaignFile, index: int, written: Journey, other_trigger: TriggerWords) -> PlanRow:
    stage = campaign.stages[index]
    journey = apply(written, campaign, index)
    sends = [n.step.send for n in walk(resolve(journey.steps)) if isinstance(n.step, SendStep)]
    return PlanRow(
        stage=stage.name or stage.id,
        segment=segment_text(journey, stage),
        channels=", ".join(dict.fromkeys(s.channel for s in sends)) or "none",
        content=", ".join(dict.fromkeys(s.template for s in sends)) or "none",
        trigger=schedule_words(campaign, stage, written.trigger) or other_trigger(journey.trigger),
        owner=stage.owner or journey.owner,
        window=window_text(span_of(campaign, stage.window)),
        kpis=kpis_text(journey.kpis),
    )


def segment_text(journey: Journey, stage: Stage) -> str:
    audience = describe(journey.audience) if journey.audience is not None else None
    if stage.audience == "participants":
        return f"{PARTICIPANTS} and {audience}" if audience else PARTICIPANTS
    return audience or EVERYONE


def schedule_words(campaign: CampaignFile, stage: Stage, trigger: Trigger) -> str | None:
    """A campaign schedule as written, in words: ``daily 10:00`` (every day of the window) or
    ``once, 2026-12-05 10:00``; None for any other trigger (the caller words it)."""
    if not isinstance(trigger, ScheduleTrigger):
        return None
    match trigger.schedule:
        case DailySchedule():
            return f"daily {trigger.schedule.daily}"
        case OnceSchedule():
            return f"once, {once_at(campaign, trigger.schedule, stage.window):%Y-%m-%d %H:%M}"
        case _:
            return None


def window_text(span: Span) -> str:
    """Local dates, both included (the end is exclusive: a midnight end shows the day before); a
    bound off midnight keeps its time."""
    start = f"{span.start:%Y-%m-%d}" if span.start.time() == _DAY else f"{span.start:%Y-%m-%d %H:%M}"
    if span.end.time() == _DAY:
        last = f"{span.end.date() - dt.timedelta(days=1)}"
    else:
        last = f"{span.end:%Y-%m-%d %H:%M}"
    return start if start == last else f"{start} – {last}"


def kpis_text(kpis: Mapping[KpiName, KpiTarget]) -> str:
    """``open_rate ≥ 25% (floor 10%); clicked ≥ 500``; lower-is-better rates with ≤."""
    return "; ".join(kpi_text(name, target) for name, target in kpis.items())


def kpi_text(name: str, kpi: KpiTarget) -> str:
    shown = _count if name in COUNT_KPIS else _percent
    head = name
    if kpi.target is not None:
        head += f" {'≤' if name in LOWER_IS_BETTER else '≥'} {shown(kpi.target)}"
    bounds = [
        f"{label} {shown(value)}"
        for label, value in (("floor", kpi.floor), ("ceiling", kpi.ceiling))
        if value is not None
    ]
    return f"{head} ({', '.join(bounds)})" if bounds else head


def goal_text(goal: CampaignGoal) -> str:
    words = goal.metric or f"{_percent(goal.target)} of participants convert"
    where = f" where {describe_where(goal.where)}" if goal.where else ""
    detail = (
        f"{goal.event}{where} within {format_duration(goal.within)} of a participant's first stage entry, "
        f"target {_percent(goal.target)}"
    )
    revenue = f"; revenue: {goal.value}" if goal.value else ""
    return f"{words} ({detail}{revenue})"


def _percent(value: float) -> str:
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,}"


# --------------------------------------------------------------------------- rendering


def markdown(plan: Plan) -> str:
    """The campaign in a few lines, then the plan as a GitHub markdown table."""
    lines = [
        f"# {_cell(plan.name)}",
        "",
        f"- date: {plan.dates}",
        f"- time zone: {plan.timezone}",
        f"- owner: {plan.owner}",
    ]
    if plan.goal is not None:
        lines.append(f"- goal: {plan.goal}")
    lines += ["", _md_row(HEADER), _md_row(tuple("---" for _ in HEADER))]
    lines += [_md_row(astuple(row)) for row in plan.rows]
    return "\n".join(lines) + "\n"


def _md_row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _cell(text: str) -> str:
    """A table cell on one line: pipes escaped, line breaks as spaces."""
    return " ".join(text.split()).replace("|", "\\|")


def csv_text(plan: Plan) -> str:
    """The table alone, one header row, as the csv module writes it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(astuple(row) for row in plan.rows)
    return out.getvalue()
