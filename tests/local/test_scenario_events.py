"""Scripted events are checked against the journeys' event catalogue, like journeys are."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import JOURNEYS
from touchpoint.local.scenario import ScenarioError, load_scenario

SCENARIO = f"""start: 2026-12-01T00:00:00+08:00
duration: 2d
journeys: {JOURNEYS}
population: {{count: 0}}
users:
  - id: qa-1
    events:
      - {{at: 1h, type: user.registered}}
      - {{at: 2h, type: cart.update, properties: {{items: 1}}}}
      - {{at: 3h, type: order.placed, properties: {{amout: 10}}}}
      - {{at: 4h, type: email.click, properties: {{step_id: welcome}}}}
      - {{at: 5h, type: email.clicked, properties: {{journey_id: new-user-7day, step_id: welcome}}}}
"""


def test_misspelt_scripted_events_and_properties_are_refused_at_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, "s.yaml")
    lines = [str(v) for v in refused.value.violations]
    assert [line.split(": ", 1)[0] for line in lines] == [
        "s.yaml:9 users[0].events[1].type",
        "s.yaml:10 users[0].events[2].properties.amout",
        "s.yaml:11 users[0].events[3].type",
    ]
    assert 'unknown event "cart.update"; did you mean "cart.updated"?' in lines[0]
    assert 'order.placed has no property "amout"; did you mean "amount"?' in lines[1]
    assert 'unknown event "email.click"; did you mean "email.clicked"? feedback events:' in lines[2]


def test_the_shipped_scenarios_script_only_known_events() -> None:
    for path in sorted((JOURNEYS.parent / "scenarios").glob("*.yaml")):
        load_scenario(path)
