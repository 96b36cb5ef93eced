"""What a journey costs in AWS per user and per month, from its compiled state machine and the price
table alone (``touchpoint cost``): no simulation, so no behaviour. Each path through the machine
(normal transitions, and a wait_for's timeout, which is an outcome, not a failure; failure
paths are left out) is priced as if every user took it, and the range
from the cheapest to the dearest path is the answer. Messages (SES, SMS) are left out, as in the
orchestration figure of the simulator's report.

``measured`` prices what a journey's executions in a simulation did, with the same rules: their
transitions and Task attempts as the executor recorded them (the mix of paths users took, retries
included), so the simulator's per-journey figure and ``touchpoint cost`` differ only by behaviour
(docs/decisions.md D27)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from touchpoint import contract
from touchpoint.compiler.ir import Choice, StateMachine, Task, Wait
from touchpoint.compiler.lower import step_of
from touchpoint.local.pricing import INVOCATION_UNITS, PRICES, lambda_invocation

#: A wait_for's timeout is caught by this error alone, into the step after it; a guarded send's
#: false condition by ConditionFalse, into its if's else side. Both are outcomes, not failures.
TIMEOUT = "States.Timeout"
OUTCOMES = ((TIMEOUT,), (contract.CONDITION_FALSE_ERROR,))
#: The function a Task's FunctionName placeholder names.
FUNCTIONS = {
    f"${{{contract.TRIGGER_EVAL_FUNCTION}}}": "trigger_eval",
    f"${{{contract.SEND_EMAIL_FUNCTION}}}": "send_email",
    f"${{{contract.SEND_SMS_FUNCTION}}}": "send_sms",
}


@dataclass
class PathUsage:
    """What one user-journey on one path bills for: the entering trigger_eval run, then each state."""

    steps: list[str] = field(default_factory=list)  # the step ids the path passes, in order
    transitions: int = 0
    invocations: Counter[str] = field(default_factory=Counter)  # by function
    reads: float = 0.0  # DynamoDB read request units
    writes: float = 0.0  # write request units
    events: float = 0.0  # custom events put on the Touchpoint bus
    sends: Counter[str] = field(default_factory=Counter)  # messages by channel (not priced)

    def add(self, action: str, function: str | None = None) -> None:
        reads, writes, events = INVOCATION_UNITS[action]
        self.reads, self.writes, self.events = self.reads + reads, self.writes + writes, self.events + events
        if function is not None:
            self.invocations[function] += 1

    def cost(self) -> dict[str, float]:
        """USD per user-journey, by service."""
        p = PRICES
        parts = {
            "step_functions": self.transitions * p["state_transition"],
            "lambda": sum(n * lambda_invocation(f) for f, n in sorted(self.invocations.items())),
            "dynamodb": self.reads * p["dynamodb_read_unit"] + self.writes * p["dynamodb_write_unit"],
            "eventbridge": self.events * p["eventbridge_event"],
        }
        return {**parts, "total": sum(parts.values())}


def paths(machine: StateMachine) -> Iterator[PathUsage]:
    """Every path from StartAt to an end (the definitions are acyclic)."""
    states = machine.by_name()

    def walk(name: str, usage: PathUsage) -> Iterator[PathUsage]:
        state = states[name]
        usage.transitions += 1
        step = step_of(name)
        if step is not None and (not usage.steps or usage.steps[-1] != step):
            usage.steps.append(step)
        if isinstance(state, Task):
            _task(state, usage)
            outcomes = tuple(c.next for c in state.catch if c.errors in OUTCOMES)
            targets: tuple[str | None, ...] = tuple(dict.fromkeys((state.next, *outcomes)))
        elif isinstance(state, Choice | Wait):
            targets = tuple(dict.fromkeys(state.targets)) or (None,)
        else:
            targets = (None,)
        for target in targets:  # None: the run ends here
            if target is None:
                yield _copy(usage)
            else:
                yield from walk(target, _copy(usage))

    entering = PathUsage()
    entering.add("entry", "trigger_eval")
    yield from walk(machine.start_at, entering)


@dataclass(frozen=True)
class Run:
    """One execution as the executor recorded it: its billed transitions and, per Task attempt
    (retries included), the name of the state it ran."""

    transitions: int
    attempts: tuple[str, ...]


def measured(machine: StateMachine, runs: Iterable[Run]) -> PathUsage:
    """What a journey's executions billed for, summed over them: each one's entering trigger_eval
    run, its transitions and its Task attempts, priced as ``paths`` prices a path."""
    states = machine.by_name()
    total = PathUsage()
    for run in runs:
        total.add("entry", "trigger_eval")
        total.transitions += run.transitions
        for name in run.attempts:
            state = states[name]
            assert isinstance(state, Task), name
            _task(state, total)
    return total


def _task(state: Task, usage: PathUsage) -> None:
    parameters = state.parameters
    if state.resource == contract.EVENTS_PUT:
        entries = parameters.get("Entries")
        usage.events += len(entries) if isinstance(entries, list) else 0
        return
    function = FUNCTIONS[str(parameters.get("FunctionName"))]
    payload = parameters.get("Payload")
    if function == "trigger_eval":
        action = payload.get("action") if isinstance(payload, dict) else None
        usage.add(str(action), function)
    else:
        usage.add(function, function)
        channel = payload.get("channel") if isinstance(payload, dict) else None
        usage.sends[str(channel)] += 1


def _copy(usage: PathUsage) -> PathUsage:
    return PathUsage(
        list(usage.steps),
        usage.transitions,
        Counter(usage.invocations),
        usage.reads,
        usage.writes,
        usage.events,
        Counter(usage.sends),
    )


def describe(usage: PathUsage) -> str:
    """A path for a table: the steps it passes."""
    return " → ".join(usage.steps) or "(no steps)"
