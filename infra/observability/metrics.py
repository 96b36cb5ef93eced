"""The metrics the alarms and dashboards read, as kpi_rollup emits them.

kpi_rollup emits one EMF metric per counter (``metric_name``) with the dimension sets [Journey]
and, for message counters, [Journey, Channel]. Rates are never emitted: they are metric math over
those counters, with the numerator and denominator of ``metrics.RATES``, so a dashboard, a KPI
alarm, kpi_rollup and the simulator mean the same thing by "open rate".

A failed send does not fail its execution (docs/decisions.md D6), so every journey that sends is
judged on its send failures by default (docs/deploy.md#7-operate): ``send_failure_rate`` over a
day, and "sends failing" over an hour, for a step that fails for everyone."""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw

from infra.journeys import CompiledJourney
from touchpoint import metrics
from touchpoint.journey.model import KpiTarget

OPERATIONAL_PERIOD: Final = Duration.minutes(5)
KPI_PERIOD: Final = Duration.seconds(metrics.KPI_ALARM_PERIOD_SECONDS)
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
