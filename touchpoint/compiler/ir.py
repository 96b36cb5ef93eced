"""Typed ASL: one frozen dataclass per state type the compiler emits, and nothing else.

Lowering builds these; ``render`` turns them into JSON. Keeping the IR closed means a state type
or field the simulator's executor does not know cannot reach a compiled definition."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Json = Any


@dataclass(frozen=True)
class Retry:
    errors: tuple[str, ...]
    interval_seconds: int
    max_attempts: int
    backoff_rate: float
    max_delay_seconds: int
    jitter: bool = True


@dataclass(frozen=True)
class Catch:
    errors: tuple[str, ...]
    next: str
    result_path: str


@dataclass(frozen=True)
class Task:
    name: str
    resource: str
    parameters: Mapping[str, Json]
    next: str | None  # None: End
    result_path: str | None  # None: discard the result (ResultPath null)
    result_selector: Mapping[str, Json] | None = None
    timeout_seconds: int | None = None
    retry: tuple[Retry, ...] = ()
    catch: tuple[Catch, ...] = ()
    comment: str | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        return self.flow_targets + tuple(c.next for c in self.catch)

    @property
    def flow_targets(self) -> tuple[str, ...]:
        return (self.next,) if self.next else ()


@dataclass(frozen=True)
class Wait:
    name: str
    next: str | None
    seconds: int | None = None
    timestamp_path: str | None = None
    comment: str | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.next,) if self.next else ()


ChoiceTest = Literal["BooleanEquals", "StringEquals", "NumericLessThan"]


@dataclass(frozen=True)
class ChoiceRule:
    variable: str
    test: ChoiceTest
    value: Json
    next: str


@dataclass(frozen=True)
class Choice:
    name: str
    rules: tuple[ChoiceRule, ...]
    default: str
    comment: str | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        return (*(r.next for r in self.rules), self.default)


@dataclass(frozen=True)
class Pass:
    """Only ever terminal (``exit``): it ends the run and records the reason in one state."""

    name: str
    result: Json
    result_path: str
    comment: str | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True)
class Succeed:
    name: str
    comment: str | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        return ()


State = Task | Wait | Choice | Pass | Succeed


@dataclass(frozen=True)
class StateMachine:
    comment: str
    start_at: str
    states: tuple[State, ...]

    def by_name(self) -> dict[str, State]:
        return {s.name: s for s in self.states}

    def reachable(self) -> Iterator[str]:
        states, seen, todo = self.by_name(), set(), [self.start_at]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            yield name
            todo.extend(states[name].targets)

    def longest_path(self, *, failures: bool = False) -> list[str]:
        """State names on the longest path from StartAt (the definitions are acyclic). By default
        over normal transitions only; ``failures=True`` also follows Catch edges."""
        states: dict[str, State] = self.by_name()
        memo: dict[str, list[str]] = {}

        def successors(state: State) -> tuple[str, ...]:
            return state.targets if failures or not isinstance(state, Task) else state.flow_targets

        def path(name: str) -> list[str]:
            if name not in memo:
                tails = [path(t) for t in successors(states[name])]
                memo[name] = [name, *max(tails, key=len, default=[])]
            return memo[name]

        return path(self.start_at)
