"""The journey flags entries are decided with (touchpoint/engine/flags.py), over the in-memory
state storage: read once for every journey not read in the last FLAGS_TTL_SECONDS, in one batch,
and again once that is over (or when the clock went back)."""

from __future__ import annotations

import datetime as dt

from touchpoint.engine.flags import FLAGS_TTL_SECONDS, EntryFlags
from touchpoint.local.memory.state import MemoryStorage
from touchpoint.local.memory.store import Table
from touchpoint.local.meter import Meter
from touchpoint.state.repository import StateRepository

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class Ticking:
    def __init__(self) -> None:
        self.at = START

    def now(self) -> dt.datetime:
        return self.at


def test_flags_are_read_once_per_ttl_in_one_batch_for_the_stale_journeys() -> None:
    meter, clock = Meter(), Ticking()
    state = StateRepository(MemoryStorage(Table(meter, "pk", "sk")))
    state.set_flag("winback", "paused", "ops", "why", START)
    flags = EntryFlags(state, clock)

    def reads() -> int:
        return meter.calls[("dynamodb", "BatchGetItem")]

    assert flags.of(["welcome", "winback"]) == {"winback": "paused"}
    assert reads() == 1
    state.set_flag("welcome", "stopped", "ops", "why", START)
    clock.at += dt.timedelta(seconds=FLAGS_TTL_SECONDS - 0.001)
    assert flags.of(["welcome", "winback"]) == {"winback": "paused"}  # still the read of START
    assert reads() == 1
    assert flags.of(["welcome", "birthday"]) == {}  # only the journey never read is read
    assert reads() == 2
    clock.at = START + dt.timedelta(seconds=FLAGS_TTL_SECONDS)
    assert flags.of(["welcome", "winback", "birthday"]) == {"welcome": "stopped", "winback": "paused"}
    assert reads() == 3  # welcome and winback, together (birthday's read is still fresh)
    clock.at = START  # the clock went back: what was read "later" is not trusted
    state.set_flag("winback", "active", "ops", "resumed", START)
    assert flags.of(["winback"]) == {"winback": "active"}
    assert reads() == 4
