"""Acceptance: a journey added and compiled reaches the next synth with no infra change: its state
machine, schedule, dashboard and KPI alarms, and its registry entry inside the function asset."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from infra.config import DeployConfig
from infra.stack import TouchpointStack
from tests.conftest import JOURNEYS, STATEMACHINES
from tests.infra.conftest import resources, synthesize
from touchpoint.cli import main as touchpoint

SPRING_SALE = """\
schema: touchpoint/v1
id: spring-sale
name: Spring sale
owner: growth@example.com
timezone: Europe/Paris
trigger: {schedule: "cron(0 9 ? * MON *)"}
audience: {all: [{consent: email}]}
kpis:
  open_rate: {target: 0.3, floor: 0.18, min_sample: 250}
  unsubscribe_rate: {ceiling: 0.02}
steps:
  - send: {channel: email, template: d12-teaser}
    id: teaser
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(JOURNEYS, root / "journeys")
    shutil.copytree(STATEMACHINES, root / "statemachines")
    (root / "journeys" / "spring-sale.yaml").write_text(SPRING_SALE, encoding="utf-8")
    code = touchpoint(["compile", "--journeys", str(root / "journeys"), "--out", str(root / "statemachines")])
    assert code == 0
    return root


@pytest.fixture(scope="module")
def built(project: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[TouchpointStack, dict[str, Any]]:
    return synthesize(DeployConfig(project_dir=project), tmp_path_factory.mktemp("cdk.out"))


def test_the_new_journey_has_a_state_machine(built: tuple[TouchpointStack, dict[str, Any]]) -> None:
    _, template = built
    names = {
        m["Properties"]["StateMachineName"]
        for m in resources(template, "AWS::StepFunctions::StateMachine").values()
    }
    assert "touchpoint-spring-sale" in names
    assert len(names) == len(list(STATEMACHINES.glob("*.manifest.json"))) + 1


def test_the_new_journey_has_its_schedule_in_its_time_zone(
    built: tuple[TouchpointStack, dict[str, Any]],
) -> None:
    _, template = built
    schedule = next(
        s["Properties"]
        for s in resources(template, "AWS::Scheduler::Schedule").values()
        if s["Properties"]["Name"] == "touchpoint-spring-sale"
    )
    assert schedule["ScheduleExpression"] == "cron(0 9 ? * MON *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Paris"
    # the run id is the scheduled time, so a retried invocation continues the same run
    assert json.loads(schedule["Target"]["Input"]) == {
        "action": "schedule",
        "journey_id": "spring-sale",
        "run_id": "<aws.scheduler.scheduled-time>",
    }


def test_the_new_journey_has_a_dashboard_and_its_alarms(
    built: tuple[TouchpointStack, dict[str, Any]],
) -> None:
    _, template = built
    dashboards = {
        d["Properties"]["DashboardName"] for d in resources(template, "AWS::CloudWatch::Dashboard").values()
    }
    assert "touchpoint-spring-sale" in dashboards
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }
    floor = alarms["touchpoint-spring-sale-open_rate-floor"]
    assert floor["Threshold"] == 0.18
    assert any(">= 250, " in m.get("Expression", "") for m in floor["Metrics"])
    assert alarms["touchpoint-spring-sale-unsubscribe_rate-ceiling"]["Threshold"] == 0.02
    assert "touchpoint-spring-sale-executions-failed" in alarms


def test_the_new_journey_reaches_the_functions(
    built: tuple[TouchpointStack, dict[str, Any]], project: Path
) -> None:
    stack, _ = built
    assert "spring-sale" in {j.id for j in stack.journeys}
    from infra.packaging import stage_code

    staged = stage_code(project)
    registry = json.loads((staged / "statemachines" / "registry.json").read_text(encoding="utf-8"))
    assert "spring-sale" in registry["journeys"]
    assert (staged / "journeys" / "spring-sale.yaml").is_file()
