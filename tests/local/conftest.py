"""The scripted reference scenarios, simulated once per test session on the moto backend: the
scenario tests assert on them and the backend tests compare the in-memory backend against them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from touchpoint.local.scenario import load_scenario
from touchpoint.local.simulator import Simulation

SCENARIOS = Path(__file__).parent / "scenarios"


def simulate(name: str) -> dict[str, Any]:
    path = SCENARIOS / name
    return Simulation(load_scenario(path), path.parent).run()


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    return simulate("reference.yaml")


@pytest.fixture(scope="session")
def double12() -> dict[str, Any]:
    return simulate("double-12.yaml")
