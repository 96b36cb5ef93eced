"""The in-memory backend gives the report the moto backend gives, to the byte.

Every scenario here runs twice, once with every AWS request through boto3 into moto and once on
the in-memory backend (``touchpoint/local/memory``), and the two ``--json`` results must be equal
in full: every message and its time, every execution path, the KPIs, the rejected events and the
AWS usage (requests per service and the cost estimate, so the metering is the same request for
request). The scenarios cover the reference journeys with scripted users and a synthetic
population (conversions, unsubscribes, bounces, schedules, date sweeps, deferrals, KPI alerts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from touchpoint.local.results import SimulationResults
from touchpoint.local.scenario import scenario_from
from touchpoint.local.simulator import Simulation

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).parent / "scenarios"


def _report(results: SimulationResults) -> str:
    return json.dumps(results.to_jsonable(), indent=1, sort_keys=True, ensure_ascii=False)


def _simulate(data: dict[str, Any], base: Path, backend: str) -> str:
    return _report(Simulation(scenario_from({**data, "backend": backend}), base).run())


def _assert_same(moto: str, memory: str) -> None:
    if moto != memory:  # show the first differing lines, not two walls of JSON
        diff = [
            f"line {n}: moto {a!r} / memory {b!r}"
            for n, (a, b) in enumerate(zip(moto.splitlines(), memory.splitlines(), strict=False))
            if a != b
        ]
        pytest.fail("the backends disagree:\n" + "\n".join(diff[:20]))


@pytest.mark.parametrize("name", ["reference", "double12"])
def test_scripted_scenarios_give_the_same_report_on_both_backends(
    name: str, request: pytest.FixtureRequest
) -> None:
    moto = request.getfixturevalue(name)  # the scenario tests' own run, on moto (conftest.py)
    path = SCENARIOS / {"reference": "reference.yaml", "double12": "double-12.yaml"}[name]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert "backend" not in data  # so the session's run was on moto
    _assert_same(_report(moto), _simulate(data, path.parent, "memory"))


def test_a_synthetic_population_gives_the_same_report_on_both_backends() -> None:
    data = yaml.safe_load((REPO / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    data["population"]["count"] = 25
    data["population"]["behaviour"] = {"unsubscribe": 0.05, "bounce": 0.05}  # so both happen
    data["duration"] = "10d"
    moto, memory = (_simulate(data, REPO / "scenarios", backend) for backend in ("moto", "memory"))
    results = json.loads(memory)
    # the comparison means something only if the run exercised the paths that differ by backend
    statuses = {m["status"] for m in results["messages"]}
    assert statuses == {"sent", "skipped"}
    assert results["aws"]["requests"]["dynamodb"] > 1000
    assert results["aws"]["ses_messages"] > 20
    assert any(e["exit_reason"] for e in results["executions"])
    assert results["aws"]["invocations"]["unsubscribe"] > 0
    assert any(m["reason"] == "suppressed" for m in results["messages"])  # after a bounce
    _assert_same(moto, memory)


def test_an_unknown_backend_is_refused_with_the_choices() -> None:
    data = yaml.safe_load((SCENARIOS / "reference.yaml").read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match="moto"):
        scenario_from({**data, "backend": "dynamodb-local"})
