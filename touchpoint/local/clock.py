"""A deterministic discrete-event scheduler: the simulator's only source of time.

Everything that takes time locally (Wait states, retry back-off, callback timeouts, scripted user
events, deferred sends, EventBridge schedules) is an event on one ``VirtualClock``. Events run in
(time, insertion sequence) order, so two events due at the same instant run in the order they were
scheduled and a simulation replays identically. Nothing ever sleeps: running the clock jumps from
one event's time to the next. It has the runtime's ``touchpoint.clock.Clock`` shape (``now()``), so
the domain code takes it as its clock."""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

Callback = Callable[[], object]


@dataclass(eq=False)
class Handle:
    """A scheduled event. Keep it to ``cancel`` the event; it is inert once run or cancelled."""

    when: dt.datetime
    seq: int
    label: str
    callback: Callback = field(repr=False)
    cancelled: bool = False
    done: bool = False

    @property
    def pending(self) -> bool:
        return not (self.cancelled or self.done)


class VirtualClock:
    """``now()`` only moves when the clock runs an event (or is run up to a time).

    Callbacks may schedule and cancel events, including at the current instant (those run in the
    same ``run_until`` call, after the events already due then). Running the clock from inside a
    callback is an error: it would reorder time."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"the clock needs an aware start time, got {start!r}")
        self._now = start.astimezone(dt.UTC)
        self._queue: list[tuple[dt.datetime, int, Handle]] = []
        self._seq = 0
        self._running = False
        self.events_run = 0

    def now(self) -> dt.datetime:
        return self._now

    # -- scheduling

    def call_at(self, when: dt.datetime, callback: Callback, *, label: str) -> Handle:
        """Run ``callback`` at ``when``; a time in the past is a bug in the caller, not "now"."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"{label}: naive time {when!r}")
        when = when.astimezone(dt.UTC)
        if when < self._now:
            raise ValueError(f"{label}: {when.isoformat()} is before now ({self._now.isoformat()})")
        self._seq += 1
        handle = Handle(when, self._seq, label, callback)
        heapq.heappush(self._queue, (when, handle.seq, handle))
        return handle

    def call_later(self, seconds: float, callback: Callback, *, label: str) -> Handle:
        if seconds < 0:
            raise ValueError(f"{label}: negative delay {seconds}")
        return self.call_at(self._now + dt.timedelta(seconds=seconds), callback, label=label)

    def cancel(self, handle: Handle) -> bool:
        """Cancel a pending event; False if it already ran or was cancelled."""
        if not handle.pending:
            return False
        handle.cancelled = True
        return True

    # -- inspection

    def _drop_cancelled(self) -> None:
        while self._queue and self._queue[0][2].cancelled:
            heapq.heappop(self._queue)

    def next_time(self) -> dt.datetime | None:
        """When the next pending event is due (None when nothing is scheduled)."""
        self._drop_cancelled()
        return self._queue[0][0] if self._queue else None

    def pending(self) -> list[Handle]:
        """Pending events in the order they will run."""
        return [h for _, _, h in sorted(self._queue) if h.pending]

    # -- running

    def step(self) -> bool:
        """Run the next pending event (advancing ``now`` to its time); False if there is none."""
        self._guard()
        self._drop_cancelled()
        if not self._queue:
            return False
        when, _, handle = heapq.heappop(self._queue)
        self._run(when, handle)
        return True

    def run_until(self, when: dt.datetime) -> int:
        """Run every event due at or before ``when``, then leave the clock at ``when``."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"naive time {when!r}")
        when = when.astimezone(dt.UTC)
        if when < self._now:
            raise ValueError(f"cannot run back to {when.isoformat()} from {self._now.isoformat()}")
        self._guard()
        ran = 0
        while (due := self.next_time()) is not None and due <= when:
            self.step()
            ran += 1
        self._now = when
        return ran

    def run_for(self, seconds: float) -> int:
        return self.run_until(self._now + dt.timedelta(seconds=seconds))

    def run_all(self, *, limit: int = 1_000_000) -> int:
        """Run until nothing is scheduled. ``limit`` turns a runaway loop of events into an error."""
        ran = 0
        while self.step():
            ran += 1
            if ran >= limit:
                raise RuntimeError(f"run_all: more than {limit} events; is something rescheduling itself?")
        return ran

    def _guard(self) -> None:
        if self._running:
            raise RuntimeError("the clock cannot be run from inside one of its callbacks")

    def _run(self, when: dt.datetime, handle: Handle) -> None:
        self._now = when
        handle.done = True
        self._running = True
        try:
            handle.callback()
        finally:
            self._running = False
            self.events_run += 1
