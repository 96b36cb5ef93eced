"""One dashboard per campaign of ``statemachines/registry.json``: the plan (stages, their windows
as local dates, owners), each stage's funnel and KPIs against their targets, and the campaign goal
summed over the stage journeys.

The stage floors and ceilings need no alarm of their own: the compiler merges a stage's KPIs into
its journey's, so the per-journey KPI alarms (``infra.observability.alarms``) already judge them.
The campaign counters are kept on the stage journey a participant entered first (kpi_rollup), so a
campaign total is the sum over its stage journeys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

from infra.journeys import CompiledJourney, ProjectError
from infra.observability.metrics import counter_metric, rate_expression
from touchpoint import durations, metrics
from touchpoint import registry as registry_module
from touchpoint.engine.kpi.values import CAMPAIGN_CONVERTED, CAMPAIGN_PARTICIPANTS, CAMPAIGN_REVENUE
from touchpoint.journey.model import KpiName, KpiTarget
from touchpoint.registry import CampaignEntry, StageEntry

#: A stage's funnel; a counter none of the journey's channels reports (SMS opens) is left out.
STAGE_FUNNEL: Final = ("entered", "sent", "delivered", "opened", "clicked", "converted")
DAILY: Final = Duration.days(1)
_BOUNDS: Final = (("floor", cw.Color.RED), ("ceiling", cw.Color.RED), ("target", cw.Color.GREEN))


def dashboard_name(campaign_id: str) -> str:
    """``touchpoint_campaign_<id>``: journey dashboards are ``touchpoint-<journey>`` and a journey id
    has no ``_``, so no journey (not even one called campaign-d12) can take the campaign's name."""
    return f"touchpoint_campaign_{campaign_id}"


def load(statemachines: Path, journeys: Sequence[CompiledJourney]) -> list[CampaignEntry]:
    """The registry's campaigns, each stage journey checked to be one the stack deploys."""
    campaigns = registry_module.load(statemachines / registry_module.FILE_NAME).campaigns
    deployed = {j.id for j in journeys}
    for campaign in campaigns.values():
        missing = sorted(set(campaign.journeys) - deployed)
        if missing:
            raise ProjectError(
                f"campaign {campaign.id} names stage journeys {missing} without a manifest; "
                "run `touchpoint compile`"
            )
    return [campaigns[i] for i in sorted(campaigns)]


def local_window(stage: StageEntry, zone: ZoneInfo) -> str:
    """The window as the plan reads it: local days, the last one inclusive (``until`` is the first
    instant without entries); times only when a bound is not a local midnight."""
    start, end = (moment.astimezone(zone) for moment in _span(stage))
    if start.time() == dt.time() and end.time() == dt.time():
        last = (end - dt.timedelta(days=1)).date()
        return start.date().isoformat() if last == start.date() else f"{start.date()} – {last}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} (until)"


def _span(stage: StageEntry) -> tuple[dt.datetime, dt.datetime]:
    start, end = stage.window.from_, stage.window.until
    if start is None or end is None:  # the registry always writes both (registry.campaign_entry)
        raise ProjectError(
            f"stage {stage.id}: the registry gives no complete window; run `touchpoint compile`"
        )
    return start, end


def stage_kpis(stage: StageEntry, journey: CompiledJourney) -> dict[KpiName, KpiTarget]:
    """The stage's KPIs and its journey's own (the registry has already merged them; a stage's
    value wins, as it does there)."""
    return {**journey.settings.kpis, **stage.kpis}


def _annotations(kpis: Mapping[KpiName, KpiTarget]) -> list[cw.HorizontalAnnotation]:
    colors = dict(_BOUNDS)
    return [
        cw.HorizontalAnnotation(value=value, label=f"{name} {bound}", color=colors[bound])
        for name, kpi in sorted(kpis.items())
        for bound, value in _bounds(kpi)
    ]


def _plan(campaign: CampaignEntry, journeys: Mapping[str, CompiledJourney]) -> str:
    zone = ZoneInfo(campaign.timezone)
    sale = str(campaign.date) if campaign.until == campaign.date else f"{campaign.date} – {campaign.until}"
    goal = campaign.goal
    goal_line = (
        f"Goal: {goal.metric or goal.event} — {goal.event} within {durations.format_duration(goal.within)} "
        f"of a participant's first stage entry, target {goal.target:.0%} of participants"
        + (f", revenue from `{goal.value}`" if goal.value else "")
        if goal
        else "No campaign goal declared."
    )
    rows = []
    for stage in campaign.stages:
        kpis = ", ".join(
            f"{name} {' / '.join(f'{b} {v:g}' for b, v in _bounds(kpi))}"
            for name, kpi in sorted(stage.kpis.items())
        )
        audience = " (participants)" if stage.audience == "participants" else ""
        link = f"[{stage.journey}](#dashboards:name=touchpoint-{stage.journey}){audience}"
        rows.append(
            f"| {stage.name or stage.id} | {link} | {local_window(stage, zone)} | {stage.owner} "
            f"| {kpis or '—'} | {_trigger(journeys[stage.journey])} |"
        )
    return "\n".join(
        [
            f"# {campaign.name}",
            f"`{campaign.id}` · owner {campaign.owner} · sale {sale} · dates in {campaign.timezone}",
            "",
            goal_line,
            "",
            "| stage | journey | window | owner | stage KPIs | trigger |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )


def _trigger(journey: CompiledJourney) -> str:
    schedule = journey.schedule
    return journey.trigger if schedule is None else f"{journey.trigger} `{schedule.expression}`"


def _bounds(kpi: KpiTarget) -> list[tuple[str, float]]:
    return [(bound, value) for bound, _ in _BOUNDS if (value := getattr(kpi, bound)) is not None]


def _funnel(stage: StageEntry, journey: CompiledJourney) -> cw.SingleValueWidget:
    channels = set(journey.settings.channels)
    counters = [
        c
        for c in STAGE_FUNNEL
        if c not in metrics.CHANNELS_REPORTING or channels & metrics.CHANNELS_REPORTING[c]
    ]
    return cw.SingleValueWidget(
        title=f"{stage.name or stage.id} · funnel ({journey.id}, selected time range)",
        metrics=[counter_metric(c, journey.id) for c in counters],
        set_period_to_time_range=True,
        width=12,
        height=6,
    )


def _kpi_widget(stage: StageEntry, journey: CompiledJourney) -> cw.GraphWidget | None:
    """Daily rates (left) and counts (right) with their targets, floors and ceilings: a rate KPI
    and a count KPI are both judged per day (docs: touchpoint/engine/kpi)."""
    kpis = stage_kpis(stage, journey)
    if not kpis:
        return None
    rates = {k: v for k, v in kpis.items() if k in metrics.RATES}
    counts = {k: v for k, v in kpis.items() if k not in metrics.RATES}
    return cw.GraphWidget(
        title=f"{stage.name or stage.id} · KPIs (daily) vs targets",
        left=[rate_expression(name, journey.id) for name in sorted(rates)],
        left_annotations=_annotations(rates),
        left_y_axis=cw.YAxisProps(min=0, label="rate"),
        right=[counter_metric(name, journey.id, period=DAILY) for name in sorted(counts)],
        right_annotations=_annotations(counts),
        right_y_axis=cw.YAxisProps(min=0, label="count"),
        width=12,
        height=6,
    )


def _summed(counter: str, key: str, journeys: Sequence[str]) -> tuple[str, dict[str, cw.IMetric]]:
    """One counter summed over the stage journeys (a missing count is zero)."""
    using: dict[str, cw.IMetric] = {
        f"{key}{i}": counter_metric(counter, journey, period=DAILY) for i, journey in enumerate(journeys)
    }
    return "(" + " + ".join(f"FILL({k}, 0)" for k in using) + ")", using


def _goal_widgets(campaign: CampaignEntry) -> list[cw.IWidget]:
    stages = campaign.journeys
    participants, p_using = _summed(CAMPAIGN_PARTICIPANTS, "p", stages)
    converted, c_using = _summed(CAMPAIGN_CONVERTED, "c", stages)
    revenue, r_using = _summed(CAMPAIGN_REVENUE, "r", stages)

    def math(expression: str, using: dict[str, cw.IMetric], label: str) -> cw.MathExpression:
        return cw.MathExpression(expression=expression, using_metrics=using, label=label, period=DAILY)

    totals = cw.SingleValueWidget(
        title="Campaign goal (selected time range)",
        metrics=[
            math(participants, p_using, "participants"),
            math(converted, c_using, "converted participants"),
            math(
                f"IF({participants} > 0, {converted} / {participants}, 0)",
                {**p_using, **c_using},
                "converted share",
            ),
            math(f"{revenue} / 100", r_using, "revenue"),  # kept in cents
        ],
        set_period_to_time_range=True,
        width=24,
        height=4,
    )
    goal = campaign.goal
    share = cw.GraphWidget(
        title="Share of participants converted (cumulative over the time range)",
        left=[
            math(
                f"IF(RUNNING_SUM({participants}) > 0, "
                f"RUNNING_SUM({converted}) / RUNNING_SUM({participants}))",
                {**p_using, **c_using},
                "converted share",
            )
        ],
        left_annotations=(
            [cw.HorizontalAnnotation(value=goal.target, label="goal target", color=cw.Color.GREEN)]
            if goal
            else []
        ),
        left_y_axis=cw.YAxisProps(min=0),
        width=12,
        height=6,
    )
    daily = cw.GraphWidget(
        title="Participants, conversions (daily) and revenue",
        left=[
            math(participants, p_using, "participants"),
            math(converted, c_using, "converted participants"),
        ],
        right=[math(f"{revenue} / 100", r_using, "revenue")],
        left_y_axis=cw.YAxisProps(min=0),
        right_y_axis=cw.YAxisProps(min=0, label="revenue"),
        width=12,
        height=6,
    )
    return [totals, share, daily]


def _time_range(campaign: CampaignEntry) -> tuple[str, str]:
    """From the first stage's start to the last stage's end, and past it by the goal's window: a
    participant converts up to ``within`` after their first stage entry."""
    spans = [_span(s) for s in campaign.stages]
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    if campaign.goal is not None:
        end += dt.timedelta(seconds=campaign.goal.within)

    def iso(moment: dt.datetime) -> str:
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    return iso(start), iso(end)


def campaign_dashboard(
    scope: Construct,
    campaign: CampaignEntry,
    journeys: Mapping[str, CompiledJourney],
    alarms: Sequence[cw.Alarm],
) -> cw.Dashboard:
    """The campaign's dashboard, opened on the campaign's own time range. ``alarms``: those of its
    stage journeys (their KPI alarms include the stage floors and ceilings)."""
    start, end = _time_range(campaign)
    dashboard = cw.Dashboard(
        scope,
        f"CampaignDashboard-{campaign.id}",
        dashboard_name=dashboard_name(campaign.id),
        start=start,
        end=end,
    )
    plan = _plan(campaign, journeys)
    dashboard.add_widgets(cw.TextWidget(markdown=plan, width=24, height=min(3 + plan.count("\n"), 12)))
    dashboard.add_widgets(*_goal_widgets(campaign))
    for stage in campaign.stages:
        journey = journeys[stage.journey]
        row: list[cw.IWidget] = [_funnel(stage, journey)]
        kpis = _kpi_widget(stage, journey)
        if kpis is not None:
            row.append(kpis)
        dashboard.add_widgets(*row)
    if alarms:
        dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Stage journeys' alarms", alarms=list(alarms), width=24)
        )
    return dashboard
