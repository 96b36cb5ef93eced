"""State transitions per run against the journey's floor, path by path, from the compiled machine.

The floor of a run is what no compilation can avoid: one transition per step it takes (each send
it makes, wait, branch decided, tag, set, emit and exit). Each normal path of the machine (every
branch and timeout, no failures) is one run; a guarded send (an ``if`` compiled into the send
its ``then`` side starts with) is two, sent (on to its Next) and not (on to its Next, or to the
``else`` side its ``Touchpoint.ConditionFalse`` Catch names). ``touchpoint compile`` prints per
journey the mean over its runs, each run once (issue 18 asks ≤ 1.3×), and the worst run."""

from __future__ import annotations

from dataclasses import dataclass

from touchpoint import contract
from touchpoint.compiler.ir import Choice, State, StateMachine, Task
from touchpoint.compiler.lower import guarded_sends, step_of
from touchpoint.journey.model import Journey
from touchpoint.journey.steps import resolve, walk

#: The step kinds that cost a transition on any compilation (all of them).
FLOOR_KINDS = frozenset({"send", "wait", "wait_for", "if", "split", "tag", "set", "emit", "exit"})
#: A Catch that is normal flow, not a failure: a ``wait_for`` timing out.
TIMEOUT = "States.Timeout"


@dataclass(frozen=True)
class Run:
    """One normal path: the states it enters and the floor steps it takes."""

    transitions: int
    floor: int

    @property
    def ratio(self) -> float:
        return self.transitions / self.floor if self.floor else 1.0


def runs(journey: Journey, machine: StateMachine) -> list[Run]:
    kinds = {n.id: n.kind for n in walk(resolve(journey.steps))}
    guarded = guarded_sends(journey)
    states = machine.by_name()
    out: list[Run] = []

    def successors(state: State) -> tuple[str | None, ...]:
        """The states a run goes on to; None: it ends here (a Task's End, even with a Catch)."""
        if isinstance(state, Task):
            return (state.next, *(c.next for c in state.catch if TIMEOUT in c.errors))
        return state.targets or (None,)

    def unchosen(state: State) -> tuple[str | None, ...]:
        """Where a guarded send goes when its condition is false."""
        assert isinstance(state, Task)
        caught = tuple(c.next for c in state.catch if contract.CONDITION_FALSE_ERROR in c.errors)
        return caught or (state.next,)

    def go(name: str, transitions: int, steps: frozenset[str]) -> None:
        state = states[name]
        step = step_of(name)
        taken = steps | ({step} if step is not None and kinds.get(step) in FLOOR_KINDS else set())
        outcomes = (
            [(taken | {guarded[name]}, successors(state)), (taken, unchosen(state))]
            if name in guarded
            else [(taken, successors(state))]
        )
        for seen, nexts in outcomes:
            for target in nexts if not isinstance(state, Choice) else dict.fromkeys(nexts):
                if target is None:
                    out.append(Run(transitions + 1, len(seen)))
                else:
                    go(target, transitions + 1, seen)

    go(machine.start_at, 0, frozenset())
    return out
