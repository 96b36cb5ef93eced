"""What one render has used so far, checked against the limits at every step that spends some."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from touchpoint.sandbox import limits
from touchpoint.sandbox.limits import (
    ALLOCATION_LIMIT,
    CALLS_LIMIT,
    INTEGER_LIMIT,
    ITERATIONS_LIMIT,
    MAX_ALLOCATION,
    MAX_CALLS,
    MAX_INTEGER,
    MAX_ITERATIONS,
    MAX_OUTPUT,
    OUTPUT_LIMIT,
    SIZED,
    TIME_LIMIT,
    LimitExceeded,
    check_size,
)


class _Collections(threading.local):
    """CPU seconds this thread has spent in garbage collection. A collection walks the whole heap,
    not the template's objects, so a render is not charged for it; the allocation limits already
    bound what a template itself can make the collector do."""

    spent = 0.0
    started: float | None = None


_COLLECTIONS = _Collections()


def _time_collections(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _COLLECTIONS.started = time.thread_time()
    elif _COLLECTIONS.started is not None:
        _COLLECTIONS.spent += time.thread_time() - _COLLECTIONS.started
        _COLLECTIONS.started = None


gc.callbacks.append(_time_collections)


def render_seconds() -> float:
    """CPU seconds of this thread, less its garbage collections: what a render is charged."""
    return time.thread_time() - _COLLECTIONS.spent


class Budget:
    """What one render has used so far. A fresh one per message (``templates.render_message``),
    reached through a context variable, so nothing carries over between renders or threads."""

    __slots__ = ("allocated", "calls", "deadline", "depth", "iterations", "output")

    def __init__(self) -> None:
        self.deadline = render_seconds() + limits.MAX_SECONDS
        self.output = 0
        self.allocated = 0
        self.iterations = 0
        self.calls = 0
        self.depth = 0

    def check_time(self) -> None:
        if render_seconds() > self.deadline:
            raise LimitExceeded(TIME_LIMIT)

    def call(self) -> None:
        self.calls += 1
        if self.calls > MAX_CALLS:
            raise LimitExceeded(CALLS_LIMIT)
        self.check_time()

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise LimitExceeded(ITERATIONS_LIMIT)
        self.check_time()

    def allocate(self, size: int) -> None:
        check_size(size)
        self.allocated += size
        if self.allocated > MAX_ALLOCATION:
            raise LimitExceeded(ALLOCATION_LIMIT)

    def produced(self, value: object) -> None:
        """Account a value an operation made: refuse it if it is too big, else count it."""
        if isinstance(value, SIZED):
            self.allocate(len(value))
        elif type(value) is int and not -MAX_INTEGER <= value <= MAX_INTEGER:
            raise LimitExceeded(INTEGER_LIMIT)


_BUDGET: ContextVar[Budget | None] = ContextVar("touchpoint_template_budget", default=None)


def current() -> Budget:
    """The running render's budget; the compiled code's hooks call this, so they cannot run unbounded."""
    budget = _BUDGET.get()
    if budget is None:
        raise RuntimeError(
            "template code ran outside a render budget; render through templates.render_message"
        )
    return budget


def running() -> Budget | None:
    """The running render's budget, if any (a template rendered on its own starts one)."""
    return _BUDGET.get()


@contextmanager
def render_budget(*, join: bool = False) -> Iterator[Budget]:
    """Start a fresh budget for one render, or with ``join`` go on with the one already running."""
    active = _BUDGET.get()
    if join and active is not None:
        yield active
        return
    budget = Budget()
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def collect(chunks: Iterable[str], budget: Budget) -> str:
    """Join rendered output, stopping at the first chunk past MAX_OUTPUT (not after joining it all).
    The clock is read every 64 chunks: producing a chunk goes through the hooks, which read it."""
    parts: list[str] = []
    for chunk in chunks:
        budget.output += len(chunk)
        if budget.output > MAX_OUTPUT:
            raise LimitExceeded(OUTPUT_LIMIT)
        parts.append(chunk)
        if not len(parts) & 63:
            budget.check_time()
    return "".join(parts)
