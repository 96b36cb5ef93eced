"""No log line of a whole simulated month shows an email address or a phone number.

Every handler logs at INFO (the stack's level) into one buffer, together with everything the
standard logging tree receives; afterwards every contact point the profiles table holds, and the
scripted ones chosen to be hard to recognise (an apostrophe, non-ASCII local parts and domains,
grouped phone numbers), is looked for in the output."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import JOURNEYS
from tests.reliability.conftest import Figures
from touchpoint.local import cloud as cloud_module
from touchpoint.local.scenario import scenario_from
from touchpoint.local.simulator import Simulation, runner
from touchpoint.local.simulator.results import assemble_results

HARD = {
    "qa-apostrophe": ("o'brien.shaw@example.com", "+8613812345678"),
    "qa-accent": ("josé.müller@exämple.de", "+4915123456789"),
    "qa-cjk": ("小林@例子.中国", "+8613900001111"),
    "qa-plus": ("lin+offers@example.com", "+12065550123"),
}


def _scenario() -> dict[str, Any]:
    users = [
        {
            "id": user,
            "profile": {
                "email": email,
                "phone": phone,
                "timezone": "Asia/Shanghai",
                "attributes": {"nickname": "Lin"},
                "consent": {"email": True, "sms": True},
            },
            "events": [
                {"at": "9h", "type": "user.registered"},
                {"at": "30h", "type": "cart.updated", "properties": {"items": 1, "value": 99}},
                {"at": "2d", "type": "profile.updated", "profile": {"email": f"not an address {email}"}},
            ],
        }
        for user, (email, phone) in HARD.items()
    ]
    return {
        "start": "2026-12-01T00:00:00+08:00",
        "duration": "30d",
        "seed": 7,
        "journeys": str(JOURNEYS),
        "backend": "memory",
        "settings": {"date_sweep_minutes": 60},
        "users": users,
        "population": {"count": 150},
    }


def test_no_contact_point_in_any_log_line_of_a_month(
    monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    original = cloud_module.LocalCloud._handlers

    def loud(self: Any) -> Any:
        handlers = original(self)
        from functions.kpi_rollup import app as kpi
        from functions.trigger_eval import app as trigger
        from functions.unsubscribe import app as unsubscribe
        from touchpoint.aws import send_handler

        for module in (trigger, kpi, unsubscribe, send_handler):
            module.logger.setLevel("INFO")  # the stack's level; the simulator's default is WARNING
            for stream in module.logger.handlers:
                if isinstance(stream, logging.StreamHandler):
                    stream.setStream(buffer)
        return handlers

    monkeypatch.setattr(cloud_module.LocalCloud, "_handlers", loud)
    contacts: set[str] = set()

    def remember(world: Any) -> Any:
        result = assemble_results(world)
        table = world.cloud.memory.profiles if world.cloud.memory is not None else None
        assert table is not None
        for partition in table.partitions.values():
            for item in partition.values():
                contacts.update(str(item[k]) for k in ("email", "phone") if item.get(k))
        return result

    monkeypatch.setattr(runner, "assemble_results", remember)
    try:
        report = Simulation(scenario_from(_scenario()), Path(".")).run()
    finally:
        root.removeHandler(handler)
    output = buffer.getvalue()
    lines = output.count("\n")
    assert lines > 1000, "the handlers must have logged the month"  # the scan saw real traffic
    assert '"status":"sent"' in output.replace(" ", "")
    contacts |= {c for pair in HARD.values() for c in pair}
    assert len(contacts) > 100
    leaked = sorted(c for c in contacts if c in output or json.dumps(c)[1:-1] in output)  # or JSON-escaped
    assert leaked == []
    assert report.scenario.users == 150 + len(HARD)
    figures.record(
        "log lines of a simulated month scanned for contact points",
        lines=lines,
        contact_points=len(contacts),
        leaked=0,
    )
