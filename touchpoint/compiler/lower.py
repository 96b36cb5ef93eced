"""Journey → ASL IR.

Steps are lowered back to front, each knowing its continuation, so every state points straight
at the next real state: no Pass states that only route. What each step kind becomes is its module
in ``touchpoint.compiler.kinds`` (DESIGN.md decisions 3–6, and docs/decisions.md for the choices
made there); this module holds what they share: the state table, the shared terminal states,
the retry policies and the Task shapes several kinds use."""

from __future__ import annotations

from touchpoint import contract
from touchpoint.compiler.ir import (
    Catch,
    Json,
    Retry,
    State,
    StateMachine,
    Succeed,
    Task,
)
from touchpoint.compiler.kinds import kind_of
from touchpoint.compiler.kinds.if_ import IfKind, guarded_send
from touchpoint.contract import EVENTS_PUT, LAMBDA_CALLBACK, LAMBDA_INVOKE
from touchpoint.journey.model import IfStep, Journey
from touchpoint.journey.steps import Node, resolve

COMPLETED = "Completed"
PROFILE_GONE = "ProfileGone"
SEP = "#"  # helper states are named <step id>#<role>; step ids never contain '#'

_LAMBDA_RETRY = Retry(
    errors=(
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        *contract.CRASH_ERRORS,
        contract.TRANSIENT_ERROR,
    ),
    interval_seconds=2,
    max_attempts=6,
    backoff_rate=2.0,
    max_delay_seconds=300,
)
_EVENTS_RETRY = Retry(
    errors=("EventBridge.FailedEntry", "EventBridge.InternalException", "EventBridge.ThrottlingException"),
    interval_seconds=1,
    max_attempts=6,
    backoff_rate=2.0,
    max_delay_seconds=60,
)


def placeholder(name: str) -> str:
    return "${" + name + "}"


def step_of(state_name: str) -> str | None:
    """The step id a state belongs to (None for the shared terminal states)."""
    if state_name in (COMPLETED, PROFILE_GONE):
        return None
    return state_name.split(SEP, 1)[0]


def guarded_sends(journey: Journey) -> dict[str, str]:
    """The state of each ``if`` compiled into a guarded send → that send's step id: the state
    stands for both steps, and for the ``if`` alone when its condition is false (it calls back
    ``condition_false`` or fails with ``Touchpoint.ConditionFalse``)."""
    out: dict[str, str] = {}

    def visit(nodes: tuple[Node, ...]) -> None:
        for index, node in enumerate(nodes):
            send = guarded_send(node, nodes[index + 1] if index + 1 < len(nodes) else None)
            if send is not None:
                out[node.id] = send.id
            for branch in node.branches:
                visit(branch.nodes)

    visit(resolve(journey.steps))
    return out


class Lowering:
    """The states of one journey as they are lowered, and the helpers the step kinds share."""

    def __init__(self, journey: Journey, version: str) -> None:
        self.journey = journey
        self.version = version
        self.states: dict[str, State] = {}

    # -- plumbing

    def add(self, state: State) -> str:
        """Add a state; the same state twice is one (a send lowered guarded and unguarded shares
        its failure recorder), two different states under one name are a compiler bug."""
        assert self.states.get(state.name, state) == state, state.name
        self.states[state.name] = state
        return state.name

    def referenced(self, name: str) -> bool:
        """Whether a state added so far goes to ``name``."""
        return any(name in s.targets for s in self.states.values())

    def target(self, cont: str | None) -> str:
        """A state name for a continuation that may be the end (Choice and Catch need a name)."""
        if cont is not None:
            return cont
        if COMPLETED not in self.states:
            self.add(Succeed(COMPLETED, comment="The journey's steps are done."))
        return COMPLETED

    def profile_gone(self) -> str:
        if PROFILE_GONE not in self.states:
            self.add(
                Succeed(PROFILE_GONE, comment="The profile was erased while the user was in the journey.")
            )
        return PROFILE_GONE

    def sequence(self, nodes: tuple[Node, ...], cont: str | None) -> str | None:
        """Lower ``nodes`` back to front onto ``cont``. An ``if`` with an empty ``then`` before a
        send is lowered with that send, as one guarded send (``IfKind.lower_onto``)."""
        index = len(nodes)
        while index:
            index -= 1
            node, before = nodes[index], nodes[index - 1] if index else None
            if before is not None and guarded_send(before, node) is node:
                assert isinstance(before.step, IfStep)
                cont = IfKind(before.step).lower_onto(self, before, node, cont)
                index -= 1
            else:
                cont = self.node(node, cont)
        return cont

    def branch(self, node: Node, label: str, cont: str | None) -> str | None:
        nodes = next(b.nodes for b in node.branches if b.label == label)
        return self.sequence(nodes, cont)

    def helper(self, node: Node, role: str) -> str:
        """The name of a helper state of a step, e.g. ``send-1#check``."""
        return f"{node.id}{SEP}{role}"

    def node(self, node: Node, cont: str | None) -> str:
        return kind_of(node.step).lower(self, node, cont)

    def failure_recorder(self, node: Node, cont: str | None, channel: str | None = None) -> str:
        detail: dict[str, Json] = {
            "event_id.$": f"States.Format('{{}}:{node.id}:failed', $$.Execution.Name)",
            "user_id.$": f"$.{contract.INPUT_USER}",
            "occurred_at.$": "$$.State.EnteredTime",
            "properties": {
                "journey_id": self.journey.id,
                "step_id": node.id,
                "execution.$": "$$.Execution.Id",
                "error.$": f"{contract.LAST}.Error",
                "cause.$": f"{contract.LAST}.Cause",
                **({"channel": channel} if channel else {}),
            },
        }
        return self.add(
            Task(
                self.helper(node, "failed"),
                EVENTS_PUT,
                {
                    "Entries": [
                        {
                            "EventBusName": placeholder(contract.EVENT_BUS),
                            "Source": contract.JOURNEY_SOURCE,
                            "DetailType": contract.STEP_FAILED,
                            "Detail": detail,
                        }
                    ]
                },
                next=cont,
                result_path=None,
                retry=(_EVENTS_RETRY,),
                comment="Record the failure (never a silent drop), then go on.",
            )
        )

    def function_task(
        self,
        name: str,
        function: str,
        payload: dict[str, Json],
        *,
        callback: bool,
        next_state: str | None,
        result_path: str | None = contract.LAST,
        result_selector: dict[str, Json] | None = None,
        timeout_seconds: int | None = None,
        catch: tuple[Catch, ...] = (),
        comment: str,
    ) -> Task:
        """A Task on one of the stack's functions: invoked (``callback=False``), or
        ``.waitForTaskToken``, which waits until the function calls back (sends, waits, actions)."""
        return Task(
            name,
            LAMBDA_CALLBACK if callback else LAMBDA_INVOKE,
            {"FunctionName": placeholder(function), "Payload": payload},
            next=next_state,
            result_path=result_path,
            result_selector=result_selector,
            timeout_seconds=timeout_seconds,
            retry=(_LAMBDA_RETRY,),
            catch=catch,
            comment=comment,
        )

    def ask_trigger_eval(
        self, node: Node, payload: dict[str, Json], next_state: str, selector: dict[str, Json], comment: str
    ) -> str:
        """A step's question to trigger_eval (the next local time, a condition), its answer in LAST."""
        return self.add(
            self.function_task(
                node.id,
                contract.TRIGGER_EVAL_FUNCTION,
                payload,
                callback=False,
                next_state=next_state,
                result_selector=selector,
                comment=comment,
            )
        )

    def journey_action(self, node: Node, kind: str, change: Json, cont: str | None, comment: str) -> Task:
        """A tag, set or emit step: one callback Task to trigger_eval, which applies it unless the
        journey is paused (then it is held, like a send, and goes on when resumed: nothing a
        paused journey does reaches a user or a CRM) and never writes to a profile that is gone
        or erased (docs/decisions.md D5, D15)."""
        payload: dict[str, Json] = {
            "action": contract.ACTION_STEP,
            "token.$": "$$.Task.Token",
            "execution.$": "$$.Execution.Id",
            "execution_name.$": "$$.Execution.Name",
            "user_id.$": f"$.{contract.INPUT_USER}",
            "journey_id": self.journey.id,
            "step_id": node.id,
            "kind": kind,
            "change": change,
        }
        return self.function_task(
            node.id,
            contract.TRIGGER_EVAL_FUNCTION,
            payload,
            callback=True,
            next_state=cont,
            result_path=None,
            timeout_seconds=contract.SEND_TIMEOUT_SECONDS,
            catch=(Catch((contract.PROFILE_GONE_ERROR,), self.profile_gone(), contract.LAST),),
            comment=comment,
        )


def lower(journey: Journey, version: str) -> StateMachine:
    lowering = Lowering(journey, version)
    start = lowering.sequence(resolve(journey.steps), None)
    assert start is not None  # a journey has at least one step
    comment = f"Touchpoint journey {journey.id} (version {version}): {journey.name}"
    states = tuple(sorted(lowering.states.values(), key=lambda s: s.name))
    return StateMachine(comment, start, states)
