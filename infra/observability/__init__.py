"""Dashboards and alarms, generated from the journeys and from ``touchpoint.metrics``: the metrics
they read (``metrics``), the alarms (``alarms``), the dashboards (``dashboards``) and the alert
topic they notify (``topic``)."""

from __future__ import annotations

from constructs import Construct

from infra.observability import dashboards
from infra.observability.alarms import Alarms
from infra.observability.observed import Observed


class Observability(Construct):
    """Per-journey dashboards and KPI alarms, the overview dashboard and the operational alarms."""

    def __init__(self, scope: Construct, construct_id: str, *, observed: Observed) -> None:
        super().__init__(scope, construct_id)
        self.alarms = Alarms(self, observed)
        for journey in observed.journeys:
            dashboards.journey_dashboard(self, observed, journey, self.alarms.of(journey.id))
        dashboards.overview_dashboard(self, observed, self.alarms.everything)
