"""Dashboards and alarms, generated from the journeys, the campaigns and ``touchpoint.metrics``:
the metrics they read (``metrics``), the alarms (``alarms``), the dashboards (``dashboards``, and
``campaigns`` for the campaign plans) and the alert topic they notify (``topic``)."""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from infra.observability import campaigns as campaign_dashboards
from infra.observability import dashboards
from infra.observability.alarms import Alarms
from infra.observability.observed import Observed
from touchpoint.registry import CampaignEntry


class Observability(Construct):
    """Per-journey dashboards and KPI alarms, the overview dashboard, the operational alarms and a
    dashboard per campaign."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        observed: Observed,
        campaigns: Sequence[CampaignEntry] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms = Alarms(self, observed)
        for journey in observed.journeys:
            dashboards.journey_dashboard(self, observed, journey, self.alarms.of(journey.id))
        dashboards.overview_dashboard(self, observed, self.alarms.everything)
        by_id = {j.id: j for j in observed.journeys}
        for campaign in campaigns:
            stage_alarms = [a for journey_id in campaign.journeys for a in self.alarms.of(journey_id)]
            campaign_dashboards.campaign_dashboard(self, campaign, by_id, stage_alarms)
