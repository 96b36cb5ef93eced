"""A date sweep over 2,000 profiles with 500 birthdays due at once (issue 18, item 6): the sweep
code as deployed, on the in-memory tables, with the queue's pages delivered (one of them twice)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from tests.conftest import REPO
from touchpoint import registry
from touchpoint.engine.trigger import TriggerEval
from touchpoint.engine.trigger.dates import date_keys
from touchpoint.events import JourneyEvent
from touchpoint.local.memory.profiles import MemoryProfiles
from touchpoint.local.memory.state import MemoryStorage
from touchpoint.local.memory.store import Table
from touchpoint.local.meter import Meter
from touchpoint.settings import Settings
from touchpoint.state.repository import StateRepository

START = dt.datetime(2026, 12, 2, 0, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.current = START

    def now(self) -> dt.datetime:
        return self.current


class Executions:
    """Records each start (``ExecutionsPort``); the journeys themselves are not run."""

    def __init__(self) -> None:
        self.started: Counter[tuple[str, str]] = Counter()

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str:
        self.started[(state_machine_arn, str(payload["user_id"]))] += 1
        return f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"

    def stop(self, execution_arn: str, cause: str) -> None:
        raise AssertionError("a sweep stops nothing")

    def is_running(self, execution_arn: str) -> bool:
        return False

    def running(self, state_machine_arn: str) -> list[str]:
        return []

    def succeed(self, token: str, output: Mapping[str, Any]) -> bool:
        return False

    def fail(self, token: str, error: str, cause: str) -> bool:
        return False


class Queue:
    def __init__(self) -> None:
        self.messages: list[Mapping[str, Any]] = []

    def send(self, message: Mapping[str, Any]) -> None:
        self.messages.append(message)


class Bus:
    def put(self, events: Sequence[JourneyEvent]) -> None:
        pass


def test_two_thousand_profiles_five_hundred_birthdays_in_one_sweep_each_entered_once() -> None:
    meter, clock, executions, queue = Meter(), Clock(), Executions(), Queue()
    profiles = MemoryProfiles(Table(meter, "user_id"))
    state = StateRepository(MemoryStorage(Table(meter, "pk", "sk")))
    service = TriggerEval(
        Settings(),
        registry.load(REPO / "statemachines" / "registry.json"),
        profiles,
        state,
        executions,
        Bus(),
        queue,
        clock,
    )
    zones = ["Asia/Shanghai"] * 500 + ["America/New_York"] * 300 + ["Europe/Berlin"] * 1200
    for n, zone in enumerate(zones):
        birthday = "1990-12-02" if n < 800 else f"1990-{1 + n % 11:02d}-{1 + n % 28:02d}"  # never 12-02
        user_id = f"p{n:04d}"
        consent = {"granted": True, "at": "2026-01-01T00:00:00Z", "source": "import"}
        profiles.put({"user_id": user_id, "timezone": zone, "birthday": birthday, "consent_email": consent})
        state.index_date("birthday", date_keys(birthday), user_id, add=True)

    pages_at: dict[str, int] = {}
    while clock.current <= START + dt.timedelta(hours=2):  # 08:00-10:00 in Shanghai, every 15 minutes
        service.run_dates()
        pages = 1
        while queue.messages:
            body = json.dumps(queue.messages.pop(0))
            service.handle_body(body)
            if pages == 1:
                service.handle_body(body)  # the queue delivers the first further page twice
            pages += 1
        pages_at[clock.current.strftime("%H:%M")] = pages
        clock.current += dt.timedelta(minutes=15)

    # 800 users hold the day's key (the index has no zone), so each sweep reads them in two pages
    assert set(pages_at.values()) == {2}
    machine = Settings().state_machine_arn("birthday")
    birthday = {user for (arn, user) in executions.started if arn == machine}
    assert birthday == {f"p{n:04d}" for n in range(500)}  # Shanghai's, at 09:00; New York's later
    assert max(executions.started.values()) == 1
