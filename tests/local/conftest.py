"""The scripted reference scenarios, simulated once per test session on the moto backend (the
scenario tests assert on them, the backend tests compare the in-memory backend against them), and
the metered moto DynamoDB the in-memory adapters are held to."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from touchpoint.aws.tables import create_tables
from touchpoint.local.meter import Meter
from touchpoint.local.moto_bridge import moto_speedups
from touchpoint.local.results import SimulationResults
from touchpoint.local.scenario import load_scenario
from touchpoint.local.simulator import Simulation

SCENARIOS = Path(__file__).parent / "scenarios"


def simulate(name: str) -> SimulationResults:
    path = SCENARIOS / name
    return Simulation(load_scenario(path), path.parent).run()


@pytest.fixture(scope="session")
def reference() -> SimulationResults:
    return simulate("reference.yaml")


@pytest.fixture(scope="session")
def double12() -> SimulationResults:
    return simulate("double-12.yaml")


@dataclasses.dataclass
class MeteredDynamo:
    client: Any  # metered, for the DynamoDB adapters
    reader: Any  # not metered, to read the tables at the end
    meter: Meter


@pytest.fixture
def metered_dynamodb(aws_env: str) -> Iterator[MeteredDynamo]:
    """The project's tables on moto, every request metered as the simulator meters botocore's: by
    the request's own parameters (``before-call`` would see the serialised HTTP request instead)."""
    with mock_aws(), moto_speedups():  # faster transactions, the same answers (test_speedups.py)
        client = boto3.client("dynamodb", region_name=aws_env)
        create_tables(client, "profiles", "state", "kpis")
        meter = Meter()
        client.meta.events.register(
            "before-parameter-build.dynamodb.*",
            lambda model, params, **_: meter.record("dynamodb", model.name, params),
        )
        # a Scan page's read units come from what it read, as LocalCloud's hook meters them
        client.meta.events.register(
            "after-call.dynamodb.Scan", lambda parsed, **_: meter.scanned(parsed.get("Items", []))
        )
        yield MeteredDynamo(client, boto3.client("dynamodb", region_name=aws_env), meter)
