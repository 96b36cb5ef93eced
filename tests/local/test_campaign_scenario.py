"""A campaign moved by its date alone: the same population simulated with ``date`` two weeks
later gives the same per-stage figures, two weeks later (docs/campaigns.md)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from touchpoint.local.results import SimulationResults
from touchpoint.local.scenario import load_scenario
from touchpoint.local.simulator import Simulation

SHIFT = dt.timedelta(days=14)  # whole weeks: every weekday stays the same
D12 = ("d12-warmup", "d12-launch", "d12-sustain", "d12-review")


def _simulate(tmp_path: Path, date: dt.date) -> SimulationResults:
    journeys = tmp_path / "journeys"
    journeys.mkdir()
    shutil.copytree(REPO / "journeys" / "templates", journeys / "templates")
    for name in ("events.yaml", "profile.yaml", *(f"{j}.yaml" for j in D12)):
        shutil.copy(REPO / "journeys" / name, journeys / name)
    (journeys / "campaigns").mkdir()
    campaign = (REPO / "journeys" / "campaigns" / "d12.yaml").read_text(encoding="utf-8")
    campaign = campaign.replace("date: 2026-12-12", f"date: {date}").replace(
        "until: 2026-12-12", f"until: {date}"
    )
    (journeys / "campaigns" / "d12.yaml").write_text(campaign, encoding="utf-8")
    start = dt.datetime.combine(date - dt.timedelta(days=11), dt.time(), dt.timezone(dt.timedelta(hours=8)))
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        f"start: {start.isoformat()}\nduration: 16d\nseed: 7\njourneys: journeys/\nbackend: memory\n"
        "population:\n  count: 90\n",
        encoding="utf-8",
    )
    return Simulation(load_scenario(scenario), tmp_path).run()


def _shifted(value: Any) -> Any:
    """Every local timestamp in a campaign report, moved by SHIFT."""
    if isinstance(value, dict):
        return {k: _shifted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v) for v in value]
    if isinstance(value, str) and len(value) >= 10:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        return (moment + SHIFT).isoformat() if len(value) > 10 else (moment.date() + SHIFT).isoformat()
    return value


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationResults, SimulationResults]:
    date = dt.date(2026, 12, 12)
    return (
        _simulate(tmp_path_factory.mktemp("at-date"), date),
        _simulate(tmp_path_factory.mktemp("two-weeks-later"), date + SHIFT),
    )


def test_the_same_campaign_two_weeks_later_gives_the_same_figures_two_weeks_later(
    runs: tuple[SimulationResults, SimulationResults],
) -> None:
    first, later = (r.to_jsonable() for r in runs)
    assert first["campaigns"]["d12"]["goal"]["participants"] > 50  # the comparison has something in it
    assert later["campaigns"] == _shifted(first["campaigns"])
    for journey in D12:
        assert later["journeys"][journey]["kpis"] == first["journeys"][journey]["kpis"]
    moved = [(m["journey_id"], m["step_id"], m["status"], m["at"]) for m in first["messages"]]
    again = [(m["journey_id"], m["step_id"], m["status"], m["at"]) for m in later["messages"]]
    assert len(again) == len(moved) > 0
    for (j1, s1, st1, at1), (j2, s2, st2, at2) in zip(moved, again, strict=True):
        assert (j1, s1, st1) == (j2, s2, st2)
        parse = dt.datetime.fromisoformat
        assert parse(at2.replace("Z", "+00:00")) - parse(at1.replace("Z", "+00:00")) == SHIFT
