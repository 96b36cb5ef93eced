"""The journey flags (paused, stopped) entries are decided with, read at most once every
FLAGS_TTL_SECONDS per journey and process (docs/decisions.md D26).

Reading them on every entering event was one DynamoDB request of the three an entry may cost;
conditioning the entry's write on the flag item instead would put every entry of a journey in
a transaction on that one item, which concurrent entries then cancel one another on. So entries
see a flag at most FLAGS_TTL_SECONDS old, and pausing or stopping a journey answers only when
that long has passed (``touchpoint.engine.operations``): once acknowledged, no entry is taken.
Sends, tag, set and emit steps read the flag afresh every time, so they are held at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from touchpoint.clock import Clock
from touchpoint.engine.ports import FlagsPort

#: How old a flag an entry may be decided with: the longest a pause or stop waits to answer.
FLAGS_TTL_SECONDS = 5.0


class EntryFlags:
    """The flags of the journeys asked about, from a read at most FLAGS_TTL_SECONDS old by the
    clock (a clock gone backwards counts as old); one batch read for all the stale ones."""

    def __init__(self, state: FlagsPort, clock: Clock, ttl: float = FLAGS_TTL_SECONDS) -> None:
        self.state, self.clock = state, clock
        self.ttl = dt.timedelta(seconds=ttl)
        self._read: dict[str, tuple[dt.datetime, str | None]] = {}  # journey → (read at, flag)

    def of(self, journey_ids: Iterable[str]) -> dict[str, str]:
        """The flag of each journey that has one (no flag: active)."""
        now, wanted = self.clock.now(), list(journey_ids)
        stale = [j for j in wanted if not self._fresh(j, now)]
        if stale:
            found = self.state.flags(stale)
            for journey_id in stale:
                self._read[journey_id] = (now, found.get(journey_id))
        return {j: flag for j in wanted if (flag := self._read[j][1]) is not None}

    def _fresh(self, journey_id: str, now: dt.datetime) -> bool:
        read = self._read.get(journey_id)
        return read is not None and read[0] <= now < read[0] + self.ttl
