"""Run a fault scenario on the simulator's in-memory backend and read what the providers took.

The figures the reliability tier asserts come from here, and ``make reliability-report`` runs the
same scenarios larger (``SCALE``) to write the table in docs/reliability.md."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import JOURNEYS
from touchpoint.channels import tags
from touchpoint.local.scenario import scenario_from
from touchpoint.local.simulator import Simulation

#: ``make reliability-report`` sets it: the tier's populations times this.
SCALE = int(os.environ.get("TOUCHPOINT_RELIABILITY_SCALE", "1"))
#: The launch crowd (R18: tens of thousands at one moment): 10,000 × SCALE in the report, 2,000 in
#: `make test`, where 10,000 cost 160 s of the 15-minute budget. Entering once is decided per user, so
#: the smaller crowd exercises the same races; the report keeps the size R18 names.
CROWD = 10_000 * SCALE if SCALE > 1 else 2_000
START = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@dataclass
class Ran:
    report: dict[str, Any]
    simulation: Simulation

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.report["messages"])

    def provider_messages_per_send(self) -> Counter[str]:
        """How many messages SES and End User Messaging accepted for each send (by its tag)."""
        cloud = self.simulation.cloud
        sends: Counter[str] = Counter()
        for email in cloud.ses_messages.messages.values():
            sends[tags.decode(email.tags.get(tags.SEND, "")) or "?"] += 1
        for text in cloud.sms_voice.messages.values():
            sends[text.context.get(tags.SEND, "?")] += 1
        return sends

    def counts(self, journey_id: str) -> dict[str, int]:
        return dict(self.report["journeys"][journey_id]["kpis"]["counts"])


def scenario(
    *,
    users: int = 1000,
    days: int = 4,
    faults: list[dict[str, Any]] | None = None,
    journeys: list[str] | None = None,
    scripted: list[dict[str, Any]] | None = None,
    seed: int = 5,
    behaviour: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "start": START.isoformat(),
        "duration": f"{days}d",
        "seed": seed,
        "journeys": [str(JOURNEYS / f"{j}.yaml") for j in journeys] if journeys else str(JOURNEYS),
        "backend": "memory",
        "settings": {"date_sweep_minutes": 60},
        "users": scripted or [],
        "faults": faults or [],
    }
    if users:
        data["population"] = {
            "count": users * SCALE,
            "new_share": 0.5,
            **({"behaviour": behaviour} if behaviour else {}),
        }
    return data


def run(data: dict[str, Any]) -> Ran:
    simulation = Simulation(scenario_from(data), Path("."))
    return Ran(simulation.run().to_jsonable(), simulation)
