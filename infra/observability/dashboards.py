"""One dashboard per journey (its funnel, sends, rates against its KPIs, failures, throttles and
alarms) and the overview of all journeys and of the engine's functions, queues and SES reputation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

from infra.journeys import CompiledJourney
from infra.observability.alarms import SES_BOUNCE_REVIEW, SES_COMPLAINT_REVIEW
from infra.observability.metrics import (
    OPERATIONAL_PERIOD,
    SEND_FAILURE_CEILING,
    counter_metric,
    rate_expression,
    send_failure_kpi,
)
from infra.observability.observed import Observed
from infra.wiring import PLACEHOLDER_FUNCTIONS
from touchpoint import metrics

OVERVIEW_DASHBOARD: Final = "touchpoint-overview"
FUNNEL: Final = ("triggered", "eligible", "entered", "sent", "delivered", "opened", "clicked", "converted")
DASHBOARD_RATES: Final = ("delivery_rate", "open_rate", "click_rate", "conversion_rate", "send_failure_rate")
FAILURE_COUNTERS: Final = ("failed", "entry_failed", "bounced", "complained")


def _dead_letter_widget(observed: Observed, width: int) -> cw.GraphWidget:
    return cw.GraphWidget(
        title="Dead-letter queues (messages)",
        left=[
            queue.metric_approximate_number_of_messages_visible(
                period=OPERATIONAL_PERIOD, statistic=cw.Stats.MAXIMUM, label=name
            )
            for name, queue in observed.queues.dead_letter_queues.items()
        ],
        width=width,
    )


def journey_dashboard(
    scope: Construct, observed: Observed, journey: CompiledJourney, alarms: Sequence[cw.Alarm]
) -> None:
    settings = journey.settings
    machine = observed.state_machines[journey.id]
    kpi_lines = [
        "| "
        + " | ".join([name, *("" if v is None else str(v) for v in (kpi.target, kpi.floor, kpi.ceiling))])
        + " |"
        for name, kpi in sorted(settings.kpis.items())
    ]
    goal = (
        f"Goal: {settings.goal.event} within {settings.goal.within}s, target {settings.goal.target}"
        if settings.goal
        else "No goal declared."
    )
    header = "\n".join(
        [
            f"# {settings.name}",
            f"`{journey.id}` · owner {settings.owner} · trigger: {journey.trigger} · "
            f"channels: {', '.join(settings.channels) or 'none'} · "
            f"state machine `{journey.state_machine_name}`",
            "",
            goal,
            "",
            *(["| KPI | target | floor | ceiling |", "|---|---|---|---|", *kpi_lines] if kpi_lines else []),
        ]
    )
    annotations = []
    for name, kpi in settings.kpis.items():
        if name not in metrics.RATES:
            continue
        for kind, value, color in (
            ("floor", kpi.floor, cw.Color.RED),
            ("ceiling", kpi.ceiling, cw.Color.RED),
            ("target", kpi.target, cw.Color.GREEN),
        ):
            if value is not None:
                annotations.append(cw.HorizontalAnnotation(value=value, label=f"{name} {kind}", color=color))
    failure = send_failure_kpi(journey)
    if failure is not None and failure[1]:
        annotations.append(
            cw.HorizontalAnnotation(
                value=SEND_FAILURE_CEILING,
                label="send_failure_rate ceiling (default)",
                color=cw.Color.RED,
            )
        )
    rates = list(dict.fromkeys([*DASHBOARD_RATES, *(k for k in sorted(settings.kpis) if k in metrics.RATES)]))
    functions = [
        observed.functions[name]
        for placeholder, name in PLACEHOLDER_FUNCTIONS.items()
        if placeholder in journey.placeholders
    ]
    dashboard = cw.Dashboard(
        scope,
        f"Dashboard-{journey.id}",
        dashboard_name=f"touchpoint-{journey.id}",
        default_interval=Duration.days(14),
    )
    dashboard.add_widgets(cw.TextWidget(markdown=header, width=24, height=6))
    dashboard.add_widgets(
        cw.SingleValueWidget(
            title="Funnel (selected time range)",
            metrics=[counter_metric(c, journey.id) for c in FUNNEL],
            set_period_to_time_range=True,
            width=24,
            height=4,
        )
    )
    dashboard.add_widgets(
        cw.GraphWidget(
            title="Sends by channel",
            left=[
                counter_metric(counter, journey.id, channel=channel)
                for channel in settings.channels
                for counter in ("sent", "skipped", "failed")
            ],
            stacked=False,
            width=12,
        ),
        cw.GraphWidget(
            title="Rates (daily)",
            left=[rate_expression(name, journey.id) for name in rates],
            left_annotations=annotations,
            left_y_axis=cw.YAxisProps(min=0),
            width=12,
        ),
    )
    dashboard.add_widgets(
        cw.GraphWidget(
            title="Failures",
            left=[counter_metric(c, journey.id) for c in FAILURE_COUNTERS],
            right=[
                machine.metric_failed(label="executions failed"),
                machine.metric_timed_out(label="executions timed out"),
                machine.metric_aborted(label="executions aborted"),
            ],
            width=8,
        ),
        cw.GraphWidget(
            title="Throttles",
            left=[
                machine.metric_throttled(label="execution throttled"),
                *(fn.metric_throttles(label=f"{fn.node.id} throttles") for fn in functions),
            ],
            width=8,
        ),
        _dead_letter_widget(observed, width=8),
    )
    if alarms:
        dashboard.add_widgets(cw.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=24))


def overview_dashboard(scope: Construct, observed: Observed, alarms: Sequence[cw.Alarm]) -> None:
    dashboard = cw.Dashboard(
        scope, "Dashboard-overview", dashboard_name=OVERVIEW_DASHBOARD, default_interval=Duration.days(7)
    )
    lines = [
        f"| [{j.id}](#dashboards:name=touchpoint-{j.id}) | {j.settings.owner} | {j.trigger} | "
        f"{', '.join(j.settings.channels)} |"
        for j in observed.journeys
    ]
    dashboard.add_widgets(
        cw.TextWidget(
            markdown="\n".join(
                [
                    "# Touchpoint",
                    "",
                    "| journey | owner | trigger | channels |",
                    "|---|---|---|---|",
                    *lines,
                ]
            ),
            width=24,
            height=min(2 + len(lines), 12),
        )
    )
    dashboard.add_widgets(
        *(
            cw.GraphWidget(
                title=f"{counter.capitalize()} by journey",
                left=[counter_metric(counter, j.id).with_(label=j.id) for j in observed.journeys],
                width=8,
            )
            for counter in ("entered", "sent", "converted")
        )
    )
    functions = list(observed.functions.items())
    dashboard.add_widgets(
        cw.GraphWidget(
            title="Lambda errors",
            left=[fn.metric_errors(label=name) for name, fn in functions],
            width=8,
        ),
        cw.GraphWidget(
            title="Lambda throttles",
            left=[fn.metric_throttles(label=name) for name, fn in functions],
            width=8,
        ),
        cw.GraphWidget(
            title="Lambda duration p95 (ms)",
            left=[fn.metric_duration(label=name, statistic="p95") for name, fn in functions],
            width=8,
        ),
    )
    dashboard.add_widgets(
        cw.GraphWidget(
            title="Queues: waiting / oldest (s)",
            left=[
                observed.queues.trigger.metric_approximate_number_of_messages_visible(
                    label="trigger waiting"
                ),
                observed.queues.kpi.metric_approximate_number_of_messages_visible(label="kpi waiting"),
            ],
            right=[
                observed.queues.trigger.metric_approximate_age_of_oldest_message(label="trigger oldest"),
                observed.queues.kpi.metric_approximate_age_of_oldest_message(label="kpi oldest"),
            ],
            width=8,
        ),
        _dead_letter_widget(observed, width=8),
        cw.GraphWidget(
            title="SES reputation",
            left=[
                cw.Metric(namespace="AWS/SES", metric_name=m, statistic=cw.Stats.MAXIMUM, label=label)
                for m, label in (
                    ("Reputation.BounceRate", "bounce rate"),
                    ("Reputation.ComplaintRate", "complaint rate"),
                )
            ],
            left_annotations=[
                cw.HorizontalAnnotation(value=SES_BOUNCE_REVIEW, label="bounce review", color=cw.Color.RED),
                cw.HorizontalAnnotation(
                    value=SES_COMPLAINT_REVIEW, label="complaint review", color=cw.Color.ORANGE
                ),
            ],
            width=8,
        ),
    )
    dashboard.add_widgets(
        cw.GraphWidget(
            title="Journey executions failed",
            left=[observed.state_machines[j.id].metric_failed(label=j.id) for j in observed.journeys],
            width=12,
        ),
        cw.GraphWidget(
            title="Journey executions throttled",
            left=[observed.state_machines[j.id].metric_throttled(label=j.id) for j in observed.journeys],
            width=12,
        ),
    )
    dashboard.add_widgets(cw.AlarmStatusWidget(title="All alarms", alarms=list(alarms), width=24, height=8))
