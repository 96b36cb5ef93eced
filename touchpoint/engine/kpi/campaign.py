"""A campaign's report (pure): each stage's figures beside its targets, and the campaign goal over
all participants with a confidence interval, from the counters kpi_rollup keeps per stage journey.

The simulator's report and a deployment's read the same counters through this one function."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from touchpoint.engine.kpi.rates import judge
from touchpoint.engine.kpi.values import CAMPAIGN_CONVERTED, CAMPAIGN_PARTICIPANTS, CAMPAIGN_REVENUE
from touchpoint.journey.model import COUNT_KPIS
from touchpoint.registry import CampaignEntry, RegistryEntry

#: Below this many participants the goal reads "not enough data", whatever the rate.
GOAL_MIN_SAMPLE = 100
#: Two-sided 95% normal quantile for the Wilson interval (docs/decisions.md D18).
Z_95 = 1.959963984540054

Verdict = Literal["met", "missed", "not_enough_data", "inconclusive"]


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion (Wilson 1927; recommended over the normal
    interval for small n and rates near 0 by Brown, Cai & DasGupta 2001)."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def goal_verdict(converted: int, participants: int, target: float) -> Verdict:
    """Met only when the whole interval is at or above the target, missed only when it is below."""
    interval = wilson(converted, participants)
    if interval is None or participants < GOAL_MIN_SAMPLE:
        return "not_enough_data"
    low, high = interval
    if low >= target:
        return "met"
    if high < target:
        return "missed"
    return "inconclusive"


def campaign_report(
    campaign: CampaignEntry,
    journeys: Mapping[str, RegistryEntry],
    counts: Mapping[str, Mapping[str, int]],
) -> dict[str, Any]:
    """``counts``: each stage journey's lifetime counters (the rollup's ``all`` period)."""
    stages = []
    for stage in campaign.stages:
        mine = counts.get(stage.journey, {})
        journey = journeys.get(stage.journey)
        kpis = []
        for judgement in judge(
            journey.kpis if journey else stage.kpis, mine, mine, live_before_last_day=True
        ):
            spec = judgement.spec
            verdict: Verdict
            if judgement.status in ("insufficient_sample", "no_data"):
                verdict = "not_enough_data"
            elif judgement.status in ("below_floor", "above_ceiling") or judgement.target_met is False:
                verdict = "missed"
            else:
                verdict = "met"
            kpis.append(
                {
                    "kpi": judgement.kpi,
                    "value": None if judgement.value is None else round(judgement.value, 4),
                    "target": spec.target,
                    "floor": spec.floor,
                    "ceiling": spec.ceiling,
                    "sample": judgement.sample,
                    "verdict": verdict,
                }
            )
        stages.append(
            {
                "id": stage.id,
                "name": stage.name,
                "journey": stage.journey,
                "owner": stage.owner,
                "audience": stage.audience,
                "from": stage.window.from_.isoformat() if stage.window.from_ else None,
                "until": stage.window.until.isoformat() if stage.window.until else None,
                "funnel": {name: mine.get(name, 0) for name in COUNT_KPIS},
                "participants": mine.get(CAMPAIGN_PARTICIPANTS, 0),
                "kpis": kpis,
            }
        )
    return {
        "name": campaign.name,
        "owner": campaign.owner,
        "timezone": campaign.timezone,
        "date": campaign.date.isoformat(),
        "until": campaign.until.isoformat(),
        "stages": stages,
        "goal": _goal(campaign, counts),
    }


def _goal(campaign: CampaignEntry, counts: Mapping[str, Mapping[str, int]]) -> dict[str, Any] | None:
    goal = campaign.goal
    if goal is None:
        return None

    def total(counter: str) -> int:
        return sum(counts.get(j, {}).get(counter, 0) for j in campaign.journeys)

    participants, converted = total(CAMPAIGN_PARTICIPANTS), total(CAMPAIGN_CONVERTED)
    interval = wilson(converted, participants)
    return {
        "event": goal.event,
        "target": goal.target,
        "participants": participants,
        "converted": converted,
        "rate": round(converted / participants, 4) if participants else None,
        "interval": None if interval is None else [round(interval[0], 4), round(interval[1], 4)],
        "verdict": goal_verdict(converted, participants, goal.target),
        "revenue": None if goal.value is None else round(total(CAMPAIGN_REVENUE) / 100, 2),
        "value": goal.value,
    }
