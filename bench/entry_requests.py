"""DynamoDB requests per app event (issue 18 item 3), counted, not timed: an event that enters a
journey with a group, one without, and one no journey concerns, each for many new users in one
warm trigger_eval. The tables are the in-memory backend's, whose metered requests
tests/local/test_state_storage.py holds to moto's request for request; the execution and bus ports
only record (bench/trigger.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.scorecard import Measured
from bench.trigger import NOW, wired
from touchpoint import registry
from touchpoint.events import Event, EventDetail
from touchpoint.journey.model import Journey
from touchpoint.local.meter import Meter


def _journey(journey_id: str, event_type: str, entry: dict[str, Any]) -> Journey:
    return Journey.model_validate(
        {
            "schema": "touchpoint/v1",
            "id": journey_id,
            "name": journey_id,
            "owner": "bench@example.com",
            "timezone": "UTC",
            "trigger": {"event": event_type},
            "entry": entry,
            "steps": [{"send": {"channel": "email", "template": "hello"}}],
        }
    )


def _event(event_type: str, user_id: str) -> Event:
    detail = EventDetail.model_validate(
        {"event_id": f"{event_type}-{user_id}", "user_id": user_id, "occurred_at": NOW.isoformat()}
    )
    return Event(event_type, "bench", detail)


def requests_per_event(events: int = 1000) -> dict[str, Counter[str]]:
    """The DynamoDB requests of ``events`` events of new users by kind of event, by operation."""
    journeys = [
        _journey("grouped", "bench.grouped", {"group": "bench", "priority": 10}),
        _journey("plain", "bench.plain", {}),
    ]
    service, executions, meter = wired(registry.build((j, "v1") for j in journeys))
    counted: dict[str, Counter[str]] = {}
    for kind in ("grouped", "plain", "nothing"):
        before = _dynamodb(meter)
        started = executions.started
        for n in range(events):
            service.on_event(_event(f"bench.{kind}", f"{kind}-u{n}"))
        after = _dynamodb(meter)
        after.subtract(before)
        counted[kind] = +after
        entered = executions.started - started
        assert entered == (0 if kind == "nothing" else events), f"{kind}: {entered} of {events} entered"
    return counted


def _dynamodb(meter: Meter) -> Counter[str]:
    return Counter({op: n for (service, op), n in meter.calls.items() if service == "dynamodb"})


def bench_entry_requests(events: int = 1000) -> dict[str, Measured]:
    counted = requests_per_event(events)
    for kind, calls in counted.items():
        each = ", ".join(f"{op} {n / events:g}" for op, n in sorted(calls.items()))
        print(f"entry requests/{kind}: {sum(calls.values()) / events:g} DynamoDB requests per event ({each})")
    grouped = counted["grouped"]
    flags = grouped.pop("BatchGetItem", 0)  # the journey's flags, read once (one warm process)
    per_entry = sum(grouped.values()) / events
    plain = sum(n for op, n in counted["plain"].items() if op != "BatchGetItem") / events
    nothing = sum(counted["nothing"].values()) / events
    return {
        "dynamodb_per_entry": Measured(
            per_entry,
            f"{events} new users' events entering a journey with a group: "
            + ", ".join(f"{op} {n / events:g}" for op, n in sorted(grouped.items()))
            + f" per event, and the journey's flags read {flags} time(s) in all (once per "
            f"journey, process and 5 s); without a group {plain:g} (a PutItem); an event no journey "
            f"concerns {nothing:g}",
        )
    }
