"""The alarms, each notifying the alert topic: a KPI alarm for every floor and ceiling a journey
declares (and the default send-failure ceiling), failed and throttled executions and failing
sends per journey, and the operational ones (dead letters, function errors, trigger backlog, SES
reputation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from constructs import Construct

from infra.journeys import CompiledJourney
from infra.observability.metrics import (
    OPERATIONAL_PERIOD,
    SEND_FAILURE_MIN_FAILED,
    default_send_failure_metric,
    kpi_alarm_metric,
    send_failure_kpi,
    sends_failing_metric,
)
from infra.observability.observed import Observed

#: SES reviews an account whose bounce rate reaches 5 % or complaint rate 0.1 % (and may pause
#: sending at 10 % / 0.5 %); the alarms fire at the review thresholds, before enforcement.
SES_BOUNCE_REVIEW: Final = 0.05
SES_COMPLAINT_REVIEW: Final = 0.001


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


class Alarms:
    """Creates every alarm on ``scope``; the lists are what the dashboards show."""

    def __init__(self, scope: Construct, observed: Observed) -> None:
        self.scope = scope
        self.observed = observed
        self.action = cw_actions.SnsAction(observed.alert_topic)
        self.kpi: dict[str, list[cw.Alarm]] = {}
        self.journeys: dict[str, list[cw.Alarm]] = {}
        self.operational: list[cw.Alarm] = []
        for journey in observed.journeys:
            self.kpi[journey.id] = self._kpi_alarms(journey)
            self.journeys[journey.id] = self._journey_alarms(journey)
        self._operational_alarms()

    def of(self, journey_id: str) -> list[cw.Alarm]:
        return [*self.kpi[journey_id], *self.journeys[journey_id]]

    @property
    def everything(self) -> list[cw.Alarm]:
        return [
            *self.operational,
            *(a for alarms in self.kpi.values() for a in alarms),
            *(a for alarms in self.journeys.values() for a in alarms),
        ]

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
            self.scope,
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
        machine = self.observed.state_machines[journey.id]
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
        observed = self.observed
        for name, queue in observed.queues.dead_letter_queues.items():
            self.operational.append(
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
        for name, function in observed.functions.items():
            self.operational.append(
                self._alarm(
                    f"Errors-{name}",
                    function.metric_errors(period=OPERATIONAL_PERIOD),
                    name=f"touchpoint-{name.replace('_', '-')}-errors",
                    description=f"{name} raised errors (failed invocations).",
                    threshold=1,
                    operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                )
            )
        self.operational.append(
            self._alarm(
                "TriggerBacklog",
                observed.queues.trigger.metric_approximate_age_of_oldest_message(
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
            self.operational.append(
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
