"""The Double-12 campaign in the synthesized stack: each stage journey's schedule fires only within
its window (Scheduler StartDate/EndDate in UTC), the campaign has its dashboard, and the stage
floors are alarmed through their journeys. One synth for the module."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto import mock_aws

from infra import journeys as compiled
from infra.observability import campaigns
from infra.stack import TouchpointStack
from tests.conftest import STATEMACHINES
from tests.infra.conftest import CONFIG, resources, synthesize
from touchpoint import metrics
from touchpoint.registry import load as load_registry
from touchpoint.schedules import Cron, parse_schedule

JOURNEYS = compiled.load(STATEMACHINES)
D12 = load_registry(STATEMACHINES / "registry.json").campaigns["d12"]
ZONE = "Asia/Shanghai"
#: journey → (expression, window start, window end in UTC): the plan of journeys/campaigns/d12.yaml,
#: by hand. The sustain stage's {daily: "10:00"} covers the sale's one day.
STAGE_SCHEDULES = {
    "d12-warmup": ("cron(0 10 5 12 ? 2026)", "2026-12-04T16:00:00Z", "2026-12-08T16:00:00Z"),
    "d12-launch": ("cron(0 10 9 12 ? 2026)", "2026-12-08T16:00:00Z", "2026-12-10T16:00:00Z"),
    "d12-sustain": ("cron(0 10 12 12 ? 2026)", "2026-12-11T16:00:00Z", "2026-12-12T16:00:00Z"),
    "d12-review": ("cron(0 10 14 12 ? 2026)", "2026-12-12T16:00:00Z", "2026-12-15T16:00:00Z"),
}
Built = tuple[TouchpointStack, dict[str, Any]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return synthesize(CONFIG, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="module")
def template(built: Built) -> dict[str, Any]:
    return built[1]


@pytest.fixture(scope="module")
def schedules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        s["Properties"]["Name"]: s["Properties"]
        for s in resources(template, "AWS::Scheduler::Schedule").values()
    }


@pytest.fixture(scope="module")
def dashboard(template: dict[str, Any]) -> dict[str, Any]:
    """The campaign dashboard's body, parsed (each token, such as the Region, as ``<token>``)."""
    found = [
        d
        for d in resources(template, "AWS::CloudWatch::Dashboard").values()
        if d["Properties"]["DashboardName"] == "touchpoint_campaign_d12"
    ]
    assert len(found) == 1
    body = found[0]["Properties"]["DashboardBody"]
    text = (
        body
        if isinstance(body, str)
        else "".join(p if isinstance(p, str) else "<token>" for p in body["Fn::Join"][1])
    )
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }


def _metric_rows(widget: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(namespace, metric name, journey) of each plain metric of a widget."""
    rows = []
    for row in widget["properties"]["metrics"]:
        if isinstance(row[0], str):
            namespace, name, *dimensions, _options = row
            assert dimensions[0] == metrics.DIM_JOURNEY, row
            rows.append((namespace, name, dimensions[1]))
    return rows


def _expressions(widget: dict[str, Any]) -> dict[str, str]:
    """label → expression of each math expression of a widget."""
    return {
        row[0]["label"]: row[0]["expression"]
        for row in widget["properties"]["metrics"]
        if isinstance(row[0], dict)
    }


def _widget(dashboard: dict[str, Any], title_start: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        w for w in dashboard["widgets"] if w["properties"].get("title", "").startswith(title_start)
    ]
    assert len(found) == 1, (title_start, [w["properties"].get("title") for w in dashboard["widgets"]])
    return found[0]


# ---------------------------------------------------------------------- schedules


def test_the_registry_windows_are_the_plan() -> None:
    """The hand-written plan above is the one the compiler made (else the tests below test nothing)."""
    windows = {
        s.journey: tuple(
            m.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for m in (s.window.from_, s.window.until)
            if m is not None
        )
        for s in D12.stages
    }
    assert windows == {j: (start, end) for j, (_, start, end) in STAGE_SCHEDULES.items()}


@pytest.mark.parametrize("journey_id", sorted(STAGE_SCHEDULES))
def test_a_stage_schedule_fires_only_within_its_window(
    schedules: dict[str, dict[str, Any]], journey_id: str
) -> None:
    expression, start, end = STAGE_SCHEDULES[journey_id]
    props = schedules[f"touchpoint-{journey_id}"]
    assert props["ScheduleExpressionTimezone"] == ZONE
    assert props["ScheduleExpression"] == expression
    assert props["State"] == "ENABLED"
    # the expression fires inside the window (in the campaign's local time) and never again
    cron = parse_schedule(expression)
    assert isinstance(cron, Cron)
    fires = _fires(cron, dt.datetime(2026, 11, 1, tzinfo=ZoneInfo(ZONE)))
    assert fires
    assert all(start <= f < end for f in fires), fires


def _fires(cron: Cron, after: dt.datetime) -> list[str]:
    found: list[str] = []
    while (fire := cron.next_after(after)) is not None:
        found.append(fire.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        after = fire
    return found


def test_no_schedule_has_a_start_date_the_deploy_could_find_in_the_past(
    schedules: dict[str, dict[str, Any]],
) -> None:
    """Scheduler refuses a recurring schedule whose StartDate is over 5 minutes old, so a stack
    deployed during a campaign would fail: the window is the cron's, and trigger_eval's."""
    for name, props in schedules.items():
        assert "StartDate" not in props, name
        assert "EndDate" not in props, name
    assert schedules["touchpoint-dormant-winback"]["ScheduleExpression"] == "cron(0 10 * * ? *)"


# ---------------------------------------------------------------------- the stage floors


@pytest.mark.parametrize(
    ("journey_id", "kpi", "floor", "counters"),
    [
        ("d12-warmup", "open_rate", 0.10, ["Delivered", "Opened"]),
        ("d12-sustain", "conversion_rate", 0.05, ["Converted", "Entered"]),
    ],
)
def test_a_stage_floor_is_an_alarm_of_its_journey(
    template: dict[str, Any], journey_id: str, kpi: str, floor: float, counters: list[str]
) -> None:
    alarm = _alarms(template)[f"touchpoint-{journey_id}-{kpi}-floor"]
    assert alarm["Threshold"] == floor
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    used = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert sorted(m["MetricName"] for m in used) == counters
    assert all(m["Dimensions"] == [{"Name": metrics.DIM_JOURNEY, "Value": journey_id}] for m in used)


# ---------------------------------------------------------------------- the dashboard


def test_the_dashboard_opens_on_the_campaign(dashboard: dict[str, Any]) -> None:
    # the first window's start to the last one's end plus the goal's 20 days of conversions
    assert (dashboard["start"], dashboard["end"]) == ("2026-12-04T16:00:00.000Z", "2027-01-04T16:00:00.000Z")


def test_the_plan_lists_each_stage_with_its_local_window_and_owner(dashboard: dict[str, Any]) -> None:
    plan = dashboard["widgets"][0]["properties"]["markdown"]
    assert plan.startswith("# 双十二大促 · Double-12 sale\n")
    rows = [line for line in plan.splitlines() if line.startswith("| ") and "](#dashboards" in line]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert [(c[0], c[2], c[3]) for c in cells] == [
        ("Warm-up", "2026-12-05 – 2026-12-08", "manager@example.com"),
        ("Launch", "2026-12-09 – 2026-12-10", "campaigns@example.com"),
        ("Sustain", "2026-12-12", "campaigns@example.com"),
        ("Review", "2026-12-13 – 2026-12-15", "campaigns@example.com"),
    ]
    assert cells[0][4] == "clicked target 500, open_rate floor 0.1 / target 0.25"
    assert "(participants)" in cells[3][1]
    assert "within 20d" in plan
    assert "target 15%" in plan


@pytest.mark.parametrize(
    ("stage", "journey_id", "counters"),
    [
        ("Warm-up", "d12-warmup", ["Entered", "Sent", "Delivered", "Opened", "Clicked", "Converted"]),
        ("Launch", "d12-launch", ["Entered", "Sent", "Delivered", "Opened", "Clicked", "Converted"]),
        # SMS only: SMS has no opens and its clicks are not tracked
        ("Sustain", "d12-sustain", ["Entered", "Sent", "Delivered", "Converted"]),
        ("Review", "d12-review", ["Entered", "Sent", "Delivered", "Opened", "Clicked", "Converted"]),
    ],
)
def test_each_stage_has_its_funnel(
    dashboard: dict[str, Any], stage: str, journey_id: str, counters: list[str]
) -> None:
    widget = _widget(dashboard, f"{stage} · funnel")
    assert _metric_rows(widget) == [(metrics.NAMESPACE, c, journey_id) for c in counters]
    assert widget["properties"]["setPeriodToTimeRange"] is True


@pytest.mark.parametrize(
    ("stage", "journey_id", "annotations", "rates", "counts"),
    [
        (
            "Warm-up",
            "d12-warmup",
            {
                ("open_rate floor", 0.1, "left"),
                ("open_rate target", 0.25, "left"),
                ("clicked target", 500, "right"),
            },
            ["open_rate"],
            ["Clicked"],
        ),
        # the stage's conversion target and the journey's own open rate KPI
        (
            "Launch",
            "d12-launch",
            {
                ("conversion_rate target", 0.1, "left"),
                ("open_rate floor", 0.12, "left"),
                ("open_rate target", 0.3, "left"),
            },
            ["conversion_rate", "open_rate"],
            [],
        ),
        (
            "Sustain",
            "d12-sustain",
            {("conversion_rate floor", 0.05, "left"), ("conversion_rate target", 0.15, "left")},
            ["conversion_rate"],
            [],
        ),
        ("Review", "d12-review", {("open_rate target", 0.3, "left")}, ["open_rate"], []),
    ],
)
def test_each_stage_has_its_kpis_against_their_targets(
    dashboard: dict[str, Any],
    stage: str,
    journey_id: str,
    annotations: set[tuple[str, float, str]],
    rates: list[str],
    counts: list[str],
) -> None:
    widget = _widget(dashboard, f"{stage} · KPIs")
    shown = {(a["label"], a["value"], a["yAxis"]) for a in widget["properties"]["annotations"]["horizontal"]}
    assert shown == annotations
    assert sorted(_expressions(widget)) == rates
    read = _metric_rows(widget)
    assert {j for _, _, j in read} == {journey_id}
    plain = [row for row in widget["properties"]["metrics"] if isinstance(row[0], str)]
    assert [r[1] for r in plain if r[-1].get("visible", True)] == counts  # the count KPIs, shown


def test_the_campaign_goal_is_summed_over_the_stage_journeys(dashboard: dict[str, Any]) -> None:
    widget = _widget(dashboard, "Campaign goal")
    stages = ["d12-warmup", "d12-launch", "d12-sustain", "d12-review"]
    assert _metric_rows(widget) == [
        (metrics.NAMESPACE, name, j)
        for name in (
            metrics.metric_name(c)
            for c in ("campaign_participants", "campaign_converted", "campaign_revenue")
        )
        for j in stages
    ]
    assert _expressions(widget) == {
        "participants": "(FILL(p0, 0) + FILL(p1, 0) + FILL(p2, 0) + FILL(p3, 0))",
        "converted participants": "(FILL(c0, 0) + FILL(c1, 0) + FILL(c2, 0) + FILL(c3, 0))",
        "converted share": "IF((FILL(p0, 0) + FILL(p1, 0) + FILL(p2, 0) + FILL(p3, 0)) > 0, "
        "(FILL(c0, 0) + FILL(c1, 0) + FILL(c2, 0) + FILL(c3, 0)) / "
        "(FILL(p0, 0) + FILL(p1, 0) + FILL(p2, 0) + FILL(p3, 0)), 0)",
        "revenue": "(FILL(r0, 0) + FILL(r1, 0) + FILL(r2, 0) + FILL(r3, 0)) / 100",  # cents → currency
    }
    share = _widget(dashboard, "Share of participants converted")
    assert share["properties"]["annotations"]["horizontal"] == [
        {"value": 0.15, "color": "#2ca02c", "label": "goal target", "yAxis": "left"}
    ]
    assert "RUNNING_SUM(" in _expressions(share)["converted share"]


def test_the_dashboard_shows_the_stage_journeys_alarms(dashboard: dict[str, Any]) -> None:
    widget = _widget(dashboard, "Stage journeys' alarms")
    # a token per alarm: KPI floors (warm-up, launch, sustain), the default send-failure ceiling,
    # and executions failed / throttled and sends failing, of each of the four journeys
    assert len(widget["properties"]["alarms"]) == 3 + 4 + 3 * 4


def test_a_stage_journey_without_a_manifest_fails_the_synth() -> None:
    deployed = [j for j in JOURNEYS if j.id != "d12-review"]
    with pytest.raises(compiled.ProjectError, match=r"campaign d12 names stage journeys \['d12-review'\]"):
        campaigns.load(STATEMACHINES, deployed)


def test_the_stage_schedules_deploy_as_synthesized_on_moto_at_any_time(
    schedules: dict[str, dict[str, Any]],
) -> None:
    """What CloudFormation would create, created on moto's Scheduler (which, like AWS, refuses a
    recurring schedule whose StartDate is past): with no StartDate, the same on any deploy day."""
    with mock_aws():
        client = boto3.client("scheduler", region_name="us-east-1")
        for journey_id in sorted(STAGE_SCHEDULES):
            props = schedules[f"touchpoint-{journey_id}"]
            client.create_schedule(
                Name=props["Name"],
                ScheduleExpression=props["ScheduleExpression"],
                ScheduleExpressionTimezone=props["ScheduleExpressionTimezone"],
                FlexibleTimeWindow={"Mode": "OFF"},
                Target={
                    "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                    "RoleArn": "arn:aws:iam::123456789012:role/r",
                },
            )
            created = client.get_schedule(Name=props["Name"])
            assert (created["ScheduleExpression"], created["ScheduleExpressionTimezone"]) == (
                STAGE_SCHEDULES[journey_id][0],
                ZONE,
            )
