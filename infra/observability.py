"""Dashboards and alarms, generated from the journeys and from ``touchpoint.metrics``.

kpi_rollup emits one EMF metric per counter (``metric_name``) with the dimension sets [Journey]
and, for message counters, [Journey, Channel]. Rates are never emitted: they are metric math over
those counters, with the numerator and denominator of ``metrics.RATES``, so a dashboard, a KPI
alarm, kpi_rollup and the simulator mean the same thing by "open rate".

A failed send does not fail its execution (docs/decisions.md D6), so every journey that sends gets
two send-failure alarms by default (docs/deploy.md#7-operate): ``send_failure_rate`` over a day,
and "sends failing" over an hour, for a step that fails for everyone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from constructs import Construct

from infra.journeys import CompiledJourney
from infra.wiring import PLACEHOLDER_FUNCTIONS
from touchpoint import metrics
from touchpoint.journey.model import KpiTarget

if TYPE_CHECKING:
    from infra.stack import TouchpointStack

OVERVIEW_DASHBOARD: Final = "touchpoint-overview"
#: SES reviews an account whose bounce rate reaches 5 % or complaint rate 0.1 % (and may pause
#: sending at 10 % / 0.5 %); the alarms fire at the review thresholds, before enforcement.
SES_BOUNCE_REVIEW: Final = 0.05
SES_COMPLAINT_REVIEW: Final = 0.001
OPERATIONAL_PERIOD: Final = Duration.minutes(5)
KPI_PERIOD: Final = Duration.seconds(metrics.KPI_ALARM_PERIOD_SECONDS)
FUNNEL: Final = ("triggered", "eligible", "entered", "sent", "delivered", "opened", "clicked", "converted")
DASHBOARD_RATES: Final = ("delivery_rate", "open_rate", "click_rate", "conversion_rate", "send_failure_rate")
FAILURE_COUNTERS: Final = ("failed", "entry_failed", "bounced", "complained")
#: Default ceiling of every sending journey's daily ``send_failure_rate`` and of its hourly
#: "sends failing" alarm; a journey's own ``kpis.send_failure_rate.ceiling`` replaces it.
SEND_FAILURE_CEILING: Final = 0.05
#: The daily rate is judged once the day has this many sends (sent + failed) …
SEND_FAILURE_MIN_SAMPLE: Final = 100
#: … or this many failures; the hourly alarm needs as many within the hour. Fewer is noise (one
#: profile without a variable, one refused address), not a broken step.
SEND_FAILURE_MIN_FAILED: Final = 3
SENDS_FAILING_PERIOD: Final = Duration.hours(1)


def counter_metric(
    counter: str, journey_id: str, *, channel: str | None = None, period: Duration | None = None
) -> cw.Metric:
    """One kpi_rollup counter as CloudWatch knows it (namespace, name, dimension set)."""
    dimensions = {metrics.DIM_JOURNEY: journey_id}
    if channel is not None:
        if counter not in metrics.MESSAGE_COUNTERS:
            raise ValueError(f"{counter} carries no {metrics.DIM_CHANNEL} dimension")
        dimensions[metrics.DIM_CHANNEL] = channel
    return cw.Metric(
        namespace=metrics.NAMESPACE,
        metric_name=metrics.metric_name(counter),
        dimensions_map=dimensions,
        statistic=cw.Stats.SUM,
        period=period or Duration.hours(1),
        label=counter if channel is None else f"{counter} ({channel})",
    )


def rate_parts(name: str, journey_id: str, period: Duration) -> tuple[str, str, dict[str, cw.IMetric]]:
    """Numerator and denominator expressions of ``metrics.RATES[name]``; missing counts are zero.
    A channel's rate (``email_delivery_rate``) reads that channel's counters only; a counter on
    both sides is one metric (an alarm is billed per metric it reads)."""
    definition = metrics.RATES[name]
    using: dict[str, cw.IMetric] = {}
    keys: dict[str, str] = {}  # a counter in both (failed ÷ (sent + failed)) is read once
    sums = []
    for prefix, counters in (("n", definition.numerator), ("d", definition.denominator)):
        terms = []
        for counter in counters:
            if counter not in keys:
                channel = f"{definition.channel}_" if definition.channel else ""
                keys[counter] = key = f"{prefix}_{channel}{counter}"
                using[key] = counter_metric(counter, journey_id, channel=definition.channel, period=period)
            terms.append(f"FILL({keys[counter]}, 0)")
        sums.append("(" + " + ".join(terms) + ")")
    return sums[0], sums[1], using


def rate_expression(name: str, journey_id: str) -> cw.MathExpression:
    """A daily rate for graphs: numerator / denominator, no point while the denominator is 0."""
    period = Duration.days(1)
    numerator, denominator, using = rate_parts(name, journey_id, period)
    return cw.MathExpression(
        expression=f"IF({denominator} > 0, {numerator} / {denominator})",
        using_metrics=using,
        label=name,
        period=period,
    )


def kpi_alarm_metric(name: str, journey_id: str, kpi: KpiTarget, threshold: float) -> cw.IMetric:
    """What a KPI floor or ceiling is compared with, over ``KPI_ALARM_PERIOD_SECONDS``.

    A rate is judged only once its denominator reaches ``min_sample``; before that the expression
    yields the threshold itself, which a strict comparison never breaches. A count KPI is the
    counter's sum."""
    if name not in metrics.RATES:
        return counter_metric(name, journey_id, period=KPI_PERIOD)
    numerator, denominator, using = rate_parts(name, journey_id, KPI_PERIOD)
    return cw.MathExpression(
        expression=f"IF({denominator} >= {kpi.min_sample}, {numerator} / {denominator}, {threshold})",
        using_metrics=using,
        label=f"{name} (min sample {kpi.min_sample})",
        period=KPI_PERIOD,
    )


def send_failure_kpi(journey: CompiledJourney) -> tuple[KpiTarget, bool] | None:
    """The ``send_failure_rate`` ceiling a sending journey is alarmed on, and whether it is the
    default (the journey declares no ceiling of its own); None for a journey that never sends."""
    if not journey.settings.channels:
        return None
    declared = journey.settings.kpis.get("send_failure_rate")
    if declared is not None and declared.ceiling is not None:
        return declared, False
    if declared is not None:  # a target only: keep it, and its min_sample, under the default ceiling
        return declared.model_copy(update={"ceiling": SEND_FAILURE_CEILING}), True
    return KpiTarget(ceiling=SEND_FAILURE_CEILING, min_sample=SEND_FAILURE_MIN_SAMPLE), True


def default_send_failure_metric(journey_id: str, kpi: KpiTarget) -> cw.IMetric:
    """The default daily ``send_failure_rate``: judged once the day has ``min_sample`` sends, or
    ``SEND_FAILURE_MIN_FAILED`` failures, so that a small journey whose template is broken for
    everyone alarms too; before either, the ceiling itself (never above it)."""
    assert kpi.ceiling is not None
    numerator, denominator, using = rate_parts("send_failure_rate", journey_id, KPI_PERIOD)
    judged = f"{numerator} / {denominator}"
    return cw.MathExpression(
        expression=(
            f"IF({denominator} >= {kpi.min_sample}, {judged}, "
            f"IF({numerator} >= {SEND_FAILURE_MIN_FAILED}, {judged}, {kpi.ceiling}))"
        ),
        using_metrics=using,
        label=f"send_failure_rate (min sample {kpi.min_sample} or {SEND_FAILURE_MIN_FAILED} failures)",
        period=KPI_PERIOD,
    )


def sends_failing_metric(journey_id: str) -> cw.IMetric:
    """The share of the last hour's sends that failed, once at least ``SEND_FAILURE_MIN_FAILED``
    did (else 0): a step broken for everyone fails each of its sends at once."""
    numerator, denominator, using = rate_parts("send_failure_rate", journey_id, SENDS_FAILING_PERIOD)
    return cw.MathExpression(
        expression=f"IF({numerator} >= {SEND_FAILURE_MIN_FAILED}, {numerator} / {denominator}, 0)",
        using_metrics=using,
        label=f"share of the hour's sends failed (at least {SEND_FAILURE_MIN_FAILED})",
        period=SENDS_FAILING_PERIOD,
    )


@dataclass(frozen=True)
class KpiAlarm:
    """One daily KPI alarm, before it is a construct (so tests can read what it will judge)."""

    journey_id: str
    kpi: str
    bound: str  # floor | ceiling
    threshold: float
    operator: cw.ComparisonOperator
    metric: cw.IMetric
    description: str

    @property
    def name(self) -> str:
        return f"touchpoint-{self.journey_id}-{self.kpi}-{self.bound}"


def kpi_alarms(journey: CompiledJourney) -> list[KpiAlarm]:
    """An alarm for every floor and ceiling the journey declares, and the default
    ``send_failure_rate`` ceiling of a sending journey that declares none (the same alarm name:
    declaring a ceiling replaces the default, it does not add a second alarm)."""
    kpis = dict(journey.settings.kpis)
    failure = send_failure_kpi(journey)
    if failure is not None:
        kpis["send_failure_rate"] = failure[0]
    created = []
    for name, kpi in sorted(kpis.items()):
        for bound, threshold, operator in (
            ("floor", kpi.floor, cw.ComparisonOperator.LESS_THAN_THRESHOLD),
            ("ceiling", kpi.ceiling, cw.ComparisonOperator.GREATER_THAN_THRESHOLD),
        ):
            if threshold is None:
                continue
            target = f", target {kpi.target}" if kpi.target is not None else ""
            metric = kpi_alarm_metric(name, journey.id, kpi, threshold)
            default = ""
            if name == "send_failure_rate" and bound == "ceiling" and failure is not None and failure[1]:
                metric = default_send_failure_metric(journey.id, kpi)
                default = (
                    f" (the default ceiling, judged from {kpi.min_sample} sends or "
                    f"{SEND_FAILURE_MIN_FAILED} failures a day; declare kpis.send_failure_rate.ceiling "
                    "to change it)"
                )
            created.append(
                KpiAlarm(
                    journey.id,
                    name,
                    bound,
                    threshold,
                    operator,
                    metric,
                    f"Journey {journey.id} ({journey.settings.owner}): daily {name} "
                    f"{'below its floor' if bound == 'floor' else 'above its ceiling'} "
                    f"{threshold}{target}{default}.",
                )
            )
    return created


class Observability(Construct):
    """Per-journey dashboards and KPI alarms, the overview dashboard and the operational alarms."""

    def __init__(self, scope: Construct, construct_id: str, *, stack: TouchpointStack) -> None:
        super().__init__(scope, construct_id)
        self.stack = stack
        self.action = cw_actions.SnsAction(stack.alert_topic)
        self.kpi_alarms: dict[str, list[cw.Alarm]] = {}
        self.operational_alarms: list[cw.Alarm] = []
        self.journey_alarms: dict[str, list[cw.Alarm]] = {}
        for journey in stack.journeys:
            self.kpi_alarms[journey.id] = self._kpi_alarms(journey)
            self.journey_alarms[journey.id] = self._journey_alarms(journey)
        self._operational_alarms()
        for journey in stack.journeys:
            self._journey_dashboard(journey)
        self._overview_dashboard()

    # ------------------------------------------------------------------ alarms

    def _alarm(
        self,
        construct_id: str,
        metric: cw.IMetric,
        *,
        name: str,
        description: str,
        threshold: float,
        operator: cw.ComparisonOperator,
        evaluation_periods: int = 1,
    ) -> cw.Alarm:
        """Every alarm notifies the alert topic; no data (no traffic) never alarms."""
        alarm = cw.Alarm(
            self,
            construct_id,
            metric=metric,
            alarm_name=name,
            alarm_description=description,
            threshold=threshold,
            comparison_operator=operator,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self.action)
        return alarm

    def _kpi_alarms(self, journey: CompiledJourney) -> list[cw.Alarm]:
        return [
            self._alarm(
                f"Kpi-{journey.id}-{a.kpi}-{a.bound}",
                a.metric,
                name=a.name,
                description=a.description,
                threshold=a.threshold,
                operator=a.operator,
            )
            for a in kpi_alarms(journey)
        ]

    def _journey_alarms(self, journey: CompiledJourney) -> list[cw.Alarm]:
        """Failed and throttled executions; for a sending journey, sends failing within the hour."""
        machine = self.stack.state_machines[journey.id]
        created = []
        failure = send_failure_kpi(journey)
        if failure is not None:
            ceiling = failure[0].ceiling
            assert ceiling is not None
            created.append(
                self._alarm(
                    f"SendsFailing-{journey.id}",
                    sends_failing_metric(journey.id),
                    name=f"touchpoint-{journey.id}-sends-failing",
                    description=(
                        f"Journey {journey.id} ({journey.settings.owner}): at least "
                        f"{SEND_FAILURE_MIN_FAILED} sends failed within the hour, over {ceiling:.0%} of its "
                        "sends: a step may be failing for everyone (a template variable without a default, "
                        "a refused identity). Runs go on without the step; see journey.step_failed events."
                    ),
                    threshold=ceiling,
                    operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                )
            )
        for label, metric in (
            ("failed", machine.metric_failed(period=OPERATIONAL_PERIOD)),
            ("throttled", machine.metric_throttled(period=OPERATIONAL_PERIOD)),
        ):
            created.append(
                self._alarm(
                    f"Executions-{journey.id}-{label}",
                    metric,
                    name=f"touchpoint-{journey.id}-executions-{label}",
                    description=f"Journey {journey.id}: executions {label} (Step Functions).",
                    threshold=1,
                    operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                )
            )
        return created

    def _operational_alarms(self) -> None:
        stack = self.stack
        for name, queue in stack.queues.dead_letter_queues.items():
            self.operational_alarms.append(
                self._alarm(
                    f"DeadLetters-{name}",
                    queue.metric_approximate_number_of_messages_visible(
                        period=OPERATIONAL_PERIOD, statistic=cw.Stats.MAXIMUM
                    ),
                    name=f"touchpoint-dlq-{name}-not-empty",
                    description=f"The {name} dead-letter queue holds messages: inspect and redrive.",
                    threshold=1,
                    operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                )
            )
        for name, function in stack.functions.items():
            self.operational_alarms.append(
                self._alarm(
                    f"Errors-{name}",
                    function.metric_errors(period=OPERATIONAL_PERIOD),
                    name=f"touchpoint-{name.replace('_', '-')}-errors",
                    description=f"{name} raised errors (failed invocations).",
                    threshold=1,
                    operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                )
            )
        self.operational_alarms.append(
            self._alarm(
                "TriggerBacklog",
                stack.queues.trigger.metric_approximate_age_of_oldest_message(
                    period=OPERATIONAL_PERIOD, statistic=cw.Stats.MAXIMUM
                ),
                name="touchpoint-trigger-backlog",
                description="Events wait over 15 minutes for trigger_eval: journeys start late.",
                threshold=900,
                operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=3,
            )
        )
        for name, metric_name, threshold in (
            ("bounce", "Reputation.BounceRate", SES_BOUNCE_REVIEW),
            ("complaint", "Reputation.ComplaintRate", SES_COMPLAINT_REVIEW),
        ):
            self.operational_alarms.append(
                self._alarm(
                    f"Ses-{name}",
                    cw.Metric(
                        namespace="AWS/SES",
                        metric_name=metric_name,
                        statistic=cw.Stats.MAXIMUM,
                        period=Duration.hours(1),
                    ),
                    name=f"touchpoint-ses-{name}-rate",
                    description=(
                        f"SES account {name} rate at or above {threshold:.1%}, where SES puts the account "
                        "under review; sending may be paused next."
                    ),
                    threshold=threshold,
                    operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                )
            )

    # ------------------------------------------------------------------ dashboards

    def _dead_letter_widget(self, width: int) -> cw.GraphWidget:
        return cw.GraphWidget(
            title="Dead-letter queues (messages)",
            left=[
                queue.metric_approximate_number_of_messages_visible(
                    period=OPERATIONAL_PERIOD, statistic=cw.Stats.MAXIMUM, label=name
                )
                for name, queue in self.stack.queues.dead_letter_queues.items()
            ],
            width=width,
        )

    def _journey_dashboard(self, journey: CompiledJourney) -> None:
        settings = journey.settings
        machine = self.stack.state_machines[journey.id]
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
                *(
                    ["| KPI | target | floor | ceiling |", "|---|---|---|---|", *kpi_lines]
                    if kpi_lines
                    else []
                ),
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
                    annotations.append(
                        cw.HorizontalAnnotation(value=value, label=f"{name} {kind}", color=color)
                    )
        failure = send_failure_kpi(journey)
        if failure is not None and failure[1]:
            annotations.append(
                cw.HorizontalAnnotation(
                    value=SEND_FAILURE_CEILING,
                    label="send_failure_rate ceiling (default)",
                    color=cw.Color.RED,
                )
            )
        rates = list(
            dict.fromkeys([*DASHBOARD_RATES, *(k for k in sorted(settings.kpis) if k in metrics.RATES)])
        )
        functions = [
            self.stack.functions[name]
            for placeholder, name in PLACEHOLDER_FUNCTIONS.items()
            if placeholder in journey.placeholders
        ]
        alarms = [*self.kpi_alarms[journey.id], *self.journey_alarms[journey.id]]
        dashboard = cw.Dashboard(
            self,
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
            self._dead_letter_widget(width=8),
        )
        if alarms:
            dashboard.add_widgets(cw.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24))

    def _overview_dashboard(self) -> None:
        stack = self.stack
        dashboard = cw.Dashboard(
            self, "Dashboard-overview", dashboard_name=OVERVIEW_DASHBOARD, default_interval=Duration.days(7)
        )
        lines = [
            f"| [{j.id}](#dashboards:name=touchpoint-{j.id}) | {j.settings.owner} | {j.trigger} | "
            f"{', '.join(j.settings.channels)} |"
            for j in stack.journeys
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
                    left=[counter_metric(counter, j.id).with_(label=j.id) for j in stack.journeys],
                    width=8,
                )
                for counter in ("entered", "sent", "converted")
            )
        )
        functions = list(stack.functions.items())
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
                    stack.queues.trigger.metric_approximate_number_of_messages_visible(
                        label="trigger waiting"
                    ),
                    stack.queues.kpi.metric_approximate_number_of_messages_visible(label="kpi waiting"),
                ],
                right=[
                    stack.queues.trigger.metric_approximate_age_of_oldest_message(label="trigger oldest"),
                    stack.queues.kpi.metric_approximate_age_of_oldest_message(label="kpi oldest"),
                ],
                width=8,
            ),
            self._dead_letter_widget(width=8),
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
                    cw.HorizontalAnnotation(
                        value=SES_BOUNCE_REVIEW, label="bounce review", color=cw.Color.RED
                    ),
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
                left=[stack.state_machines[j.id].metric_failed(label=j.id) for j in stack.journeys],
                width=12,
            ),
            cw.GraphWidget(
                title="Journey executions throttled",
                left=[stack.state_machines[j.id].metric_throttled(label=j.id) for j in stack.journeys],
                width=12,
            ),
        )
        everything = [
            *self.operational_alarms,
            *(a for alarms in self.kpi_alarms.values() for a in alarms),
            *(a for alarms in self.journey_alarms.values() for a in alarms),
        ]
        dashboard.add_widgets(cw.AlarmStatusWidget(title="All alarms", alarms=everything, width=24, height=8))
