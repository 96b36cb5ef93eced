"""Trigger evaluation against many active journeys (issue 18 item 4): how an event's cost grows
with the number of journeys that cannot take it.

The journeys are synthetic (half on their own event type, half on their own attribute), all
active; the event that matches one is taken by journey 0 in every set. The tables are the
in-memory backend's (the same repository and metered requests as the simulator); the execution
and bus ports only record, since starting a state machine is not trigger evaluation."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bench.scorecard import Measured
from touchpoint import registry
from touchpoint.engine.trigger import TriggerEval
from touchpoint.events import Event, EventDetail, JourneyEvent
from touchpoint.journey.model import Journey
from touchpoint.local.memory.profiles import MemoryProfiles
from touchpoint.local.memory.state import MemoryStorage
from touchpoint.local.memory.store import Table
from touchpoint.local.meter import Meter
from touchpoint.settings import Settings
from touchpoint.state.repository import StateRepository

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


class _Clock:
    def now(self) -> dt.datetime:
        return NOW


class _Executions:
    """Records starts; nothing runs (``ExecutionsPort``)."""

    def __init__(self) -> None:
        self.started = 0

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str:
        self.started += 1
        return f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"

    def stop(self, execution_arn: str, cause: str) -> None:
        pass

    def is_running(self, execution_arn: str) -> bool:
        return False

    def running(self, state_machine_arn: str) -> list[str]:
        return []

    def succeed(self, token: str, output: Mapping[str, Any]) -> bool:
        return False

    def fail(self, token: str, error: str, cause: str) -> bool:
        return False


class _Sink:
    """The bus and the queue: what is put is counted, not delivered."""

    def __init__(self) -> None:
        self.count = 0

    def put(self, events: Sequence[JourneyEvent]) -> None:
        self.count += len(events)

    def send(self, message: Mapping[str, Any]) -> None:
        self.count += 1


def synthetic_journey(i: int) -> Journey:
    """Journey ``i``: even ones start on ``bench.e<i>``, odd ones when ``bench_a<i>`` changes."""
    trigger: dict[str, Any] = (
        {"event": f"bench.e{i}"} if i % 2 == 0 else {"attribute": {"name": f"bench_a{i}", "changed": True}}
    )
    return Journey.model_validate(
        {
            "schema": "touchpoint/v1",
            "id": f"bench-{i:04d}",
            "name": f"Bench journey {i}",
            "owner": "bench@example.com",
            "timezone": "UTC",
            "trigger": trigger,
            "audience": {"consent": "email"},
            "steps": [{"send": {"channel": "email", "template": "hello"}}],
        }
    )


def trigger_eval(journeys: int) -> tuple[TriggerEval, _Executions]:
    service, executions, _ = wired(registry.build((synthetic_journey(i), f"v{i}") for i in range(journeys)))
    return service, executions


def wired(document: dict[str, Any]) -> tuple[TriggerEval, _Executions, Meter]:
    """A warm trigger_eval on the in-memory tables (metered) whose execution and bus ports only record."""
    meter = Meter()
    sink, executions = _Sink(), _Executions()
    service = TriggerEval(
        Settings(),
        registry.Registry.model_validate(document),
        MemoryProfiles(Table(meter, "user_id")),
        StateRepository(MemoryStorage(Table(meter, "pk", "sk"))),
        executions,
        sink,
        sink,
        _Clock(),
    )
    return service, executions, meter


def _event(event_type: str, user_id: str, n: int) -> Event:
    detail = EventDetail.model_validate(
        {
            "event_id": f"{event_type}-{user_id}-{n}",
            "user_id": user_id,
            "occurred_at": NOW.isoformat(),
            "properties": {"n": n},
            "profile": {"email": f"{user_id}@example.com", "attributes": {"visits": n}},
            "consent": {"email": {"granted": True, "source": "bench"}},
        }
    )
    return Event(event_type, "bench", detail)


def time_events(service: TriggerEval, event_type: str, events: int, rounds: int = 3) -> float:
    """µs per ``on_event``: the lowest of ``rounds`` medians (the machine is shared, so the least
    disturbed round), each over ``events`` events of new users, built beforehand so not timed."""
    medians = []
    for r in range(rounds):
        batch = [_event(event_type, f"{event_type}-r{r}-u{n}", n) for n in range(events)]
        times = []
        for event in batch:
            started = time.perf_counter()
            service.on_event(event)
            times.append(time.perf_counter() - started)
        medians.append(statistics.median(times))
    return 1e6 * min(medians)


def bench_trigger(
    sizes: Sequence[int] = (1, 200, 1000), events: int = 1000, rounds: int = 3
) -> dict[str, Measured]:
    """Per-event median for a non-matching and a matching (entering) event, and the ratio to 1."""
    base: dict[str, float] = {}
    ratios: dict[int, float] = {}
    for size in sizes:
        service, executions = trigger_eval(size)
        figures = {
            "no match": time_events(service, "bench.nobody", events, rounds),
            "match (enters)": time_events(service, "bench.e0", events, rounds),
        }
        assert executions.started == events * rounds, "every matching event enters journey 0"
        for what, micros in figures.items():
            base.setdefault(what, micros)
            print(
                f"trigger/{what}/{size} journeys: median {micros:.0f} µs per event "
                f"({micros / base[what]:.2f}× the 1-journey figure)"
            )
            if what == "no match":
                ratios[size] = micros / base[what]
    if 200 not in ratios:
        return {}
    each = ", ".join(f"{size} journeys {ratio:.2f}×" for size, ratio in ratios.items())
    return {
        "trigger_eval_200_vs_1": Measured(
            round(ratios[200], 2),
            f"median µs per non-matching event, {events} events × {rounds} rounds: {each}",
        )
    }
