"""Journey → ASL IR.

Steps are lowered back to front, each knowing its continuation, so every state points straight
at the next real state: no Pass states that only route. What each step kind becomes (DESIGN.md
decisions 3–6, and docs/decisions.md for the choices made here):

* ``send``     one ``lambda:invoke.waitForTaskToken`` Task on the channel's send function. The
               function gates and either sends and calls back at once, or defers (send window,
               caps, paused journey) and calls back when it has sent; the state machine never
               loops, so a deferral costs no state transitions. Transient errors retry with
               backoff; anything else is caught into ``<id>#failed``, which records a
               ``journey.step_failed`` event, then continues (to ``fallback`` when given).
* ``wait``     a Wait (Seconds); ``until`` asks trigger_eval for the next local time, then Waits.
* ``if``       a Task on trigger_eval's condition evaluator, then a Choice on its boolean.
* ``wait_for`` a callback Task on trigger_eval that stores the token; the matching event resumes
               it; ``States.Timeout`` is caught into ``on_timeout``.
* ``split``    a Choice on the per-user bucket trigger_eval put in the execution input.
* ``tag/set/emit`` a callback Task on trigger_eval (action ``step``), which applies it to the
               profile (never recreating an erased one) or puts the event (its id derived from
               the execution, so retries are recognisable downstream), and holds it while the
               journey is paused (docs/decisions.md D15).
* ``exit``     a terminal Pass that records the reason in the output."""

from __future__ import annotations

from typing import Any, assert_never

from touchpoint import contract
from touchpoint.compiler.ir import (
    Catch,
    Choice,
    ChoiceRule,
    Json,
    Pass,
    Retry,
    State,
    StateMachine,
    Succeed,
    Task,
    Wait,
)
from touchpoint.contract import EVENTS_PUT, LAMBDA_CALLBACK, LAMBDA_INVOKE
from touchpoint.journey.model import (
    EmitStep,
    ExitStep,
    IfStep,
    Journey,
    SendStep,
    SetStep,
    SplitStep,
    TagStep,
    WaitForStep,
    WaitStep,
)
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


class _Lowering:
    def __init__(self, journey: Journey, version: str) -> None:
        self.journey = journey
        self.version = version
        self.states: dict[str, State] = {}

    # -- plumbing

    def add(self, state: State) -> str:
        assert state.name not in self.states, state.name
        self.states[state.name] = state
        return state.name

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
        for node in reversed(nodes):
            cont = self.node(node, cont)
        return cont

    def branch(self, node: Node, label: str, cont: str | None) -> str | None:
        nodes = next(b.nodes for b in node.branches if b.label == label)
        return self.sequence(nodes, cont)

    # -- step kinds

    def node(self, node: Node, cont: str | None) -> str:
        step = node.step
        match step:
            case SendStep():
                return self.send(node, step, cont)
            case WaitStep():
                return self.wait(node, step, cont)
            case IfStep():
                return self.if_(node, step, cont)
            case WaitForStep():
                return self.wait_for(node, step, cont)
            case SplitStep():
                return self.split(node, step, cont)
            case TagStep():
                return self.tag(node, step, cont)
            case SetStep():
                return self.set(node, step, cont)
            case EmitStep():
                return self.emit(node, step, cont)
            case ExitStep():
                return self.add(Pass(node.id, {"reason": step.exit}, "$.exit", comment=f"exit: {step.exit}"))
            case _:
                assert_never(step)

    def send(self, node: Node, step: SendStep, cont: str | None) -> str:
        journey, spec = self.journey, step.send
        after = self.branch(node, "fallback", cont) if step.fallback else cont
        failed = self.failure_recorder(node, after, spec.channel)
        next_state = cont
        if step.fallback:
            next_state = self.add(
                Choice(
                    f"{node.id}{SEP}check",
                    tuple(
                        ChoiceRule(f"{contract.LAST}.status", "StringEquals", status, self.target(cont))
                        for status in contract.SENT_STATUSES
                    ),
                    default=self.target(after),
                    comment="Not sent (skipped or failed): run the fallback steps. An unconfirmed "
                    "send may have reached the user: no fallback.",
                )
            )
        payload: dict[str, Json] = {
            "token.$": "$$.Task.Token",
            "execution.$": "$$.Execution.Id",
            "user_id.$": f"$.{contract.INPUT_USER}",
            "holdout.$": f"$.{contract.INPUT_HOLDOUT}",
            "journey_id": journey.id,
            "journey_version": self.version,
            "step_id": node.id,
            "channel": spec.channel,
            "template": spec.template,
            "category": spec.category or journey.category,
            "on_cap": spec.on_cap or (journey.limits.on_cap if journey.limits else "defer"),
            "timezone": journey.timezone,
        }
        cap = getattr(journey.limits, spec.channel, None) if journey.limits else None
        if cap is not None:
            payload["limit"] = {"max": cap.max, "per_seconds": cap.per}
        if journey.send_window is not None:
            window = journey.send_window
            payload["send_window"] = {"from": window.from_, "to": window.to}
            if window.days is not None:
                payload["send_window"]["days"] = list(window.days)
        return self.add(
            Task(
                node.id,
                LAMBDA_CALLBACK,
                {
                    "FunctionName": placeholder(contract.SEND_FUNCTION_BY_CHANNEL[spec.channel]),
                    "Payload": payload,
                },
                next=next_state,
                result_path=contract.LAST,
                timeout_seconds=contract.SEND_TIMEOUT_SECONDS,
                retry=(_LAMBDA_RETRY,),
                catch=(Catch(("States.ALL",), failed, contract.LAST),),
                comment=f"send {spec.channel} {spec.template}",
            )
        )

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
                f"{node.id}{SEP}failed",
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

    def wait(self, node: Node, step: WaitStep, cont: str | None) -> str:
        if isinstance(step.wait, int):
            return self.add(Wait(node.id, cont, seconds=step.wait))
        until = step.wait.until
        waiting = self.add(Wait(f"{node.id}{SEP}wait", cont, timestamp_path=f"{contract.LAST}.until"))
        payload: dict[str, Json] = {
            "action": contract.ACTION_NEXT_TIME,
            "user_id.$": f"$.{contract.INPUT_USER}",
            "time": until.time,
            "timezone": self.journey.timezone,
        }
        if until.weekday:
            payload["weekday"] = until.weekday
        return self.add(
            self.lambda_task(
                node.id,
                contract.TRIGGER_EVAL_FUNCTION,
                payload,
                waiting,
                {"until.$": "$.Payload.until"},
                f"next {until.weekday or 'day'} {until.time} local time",
            )
        )

    def if_(self, node: Node, step: IfStep, cont: str | None) -> str:
        then_entry = self.branch(node, "then", cont)
        else_entry = self.branch(node, "else", cont)
        choice = self.add(
            Choice(
                f"{node.id}{SEP}branch",
                (ChoiceRule(f"{contract.LAST}.result", "BooleanEquals", True, self.target(then_entry)),),
                default=self.target(else_entry),
            )
        )
        condition = _json(step.if_)
        payload = {
            "action": contract.ACTION_EVALUATE,
            "user_id.$": f"$.{contract.INPUT_USER}",
            "condition": condition,
        }
        return self.add(
            self.lambda_task(
                node.id,
                contract.TRIGGER_EVAL_FUNCTION,
                payload,
                choice,
                {"result.$": "$.Payload.result"},
                "evaluate the condition",
            )
        )

    def lambda_task(
        self,
        name: str,
        function: str,
        payload: dict[str, Json],
        next_state: str,
        selector: dict[str, Json],
        comment: str,
    ) -> Task:
        return Task(
            name,
            LAMBDA_INVOKE,
            {"FunctionName": placeholder(function), "Payload": payload},
            next=next_state,
            result_path=contract.LAST,
            result_selector=selector,
            retry=(_LAMBDA_RETRY,),
            comment=comment,
        )

    def wait_for(self, node: Node, step: WaitForStep, cont: str | None) -> str:
        spec = step.wait_for
        on_event = self.branch(node, "on_event", cont)
        on_timeout = self.branch(node, "on_timeout", cont)
        failed = self.failure_recorder(node, on_timeout)
        payload: dict[str, Json] = {
            "action": contract.ACTION_REGISTER_WAIT,
            "token.$": "$$.Task.Token",
            "execution.$": "$$.Execution.Id",
            "user_id.$": f"$.{contract.INPUT_USER}",
            "journey_id": self.journey.id,
            "step_id": node.id,
            "event": spec.event,
            "where": _message_where(
                self.journey.id, spec.event, {k: _json(v) for k, v in spec.where.items()}
            ),
            "timeout_seconds": spec.timeout,
        }
        return self.add(
            Task(
                node.id,
                LAMBDA_CALLBACK,
                {"FunctionName": placeholder(contract.TRIGGER_EVAL_FUNCTION), "Payload": payload},
                next=on_event,
                result_path=contract.LAST,
                timeout_seconds=spec.timeout,
                retry=(_LAMBDA_RETRY,),
                catch=(
                    Catch(("States.Timeout",), self.target(on_timeout), contract.LAST),
                    Catch(("States.ALL",), failed, contract.LAST),
                ),
                comment=f"wait for {spec.event}",
            )
        )

    def split(self, node: Node, step: SplitStep, cont: str | None) -> str:
        entries = [self.target(self.sequence(b.nodes, cont)) for b in node.branches]
        variable = f"$.{contract.INPUT_BUCKETS}.{contract.split_key(node.id)}"
        rules, cumulative = [], 0.0
        for path, entry in zip(step.split[:-1], entries[:-1], strict=True):
            cumulative += path.percent
            threshold = round(cumulative * contract.BUCKETS / 100)
            rules.append(ChoiceRule(variable, "NumericLessThan", threshold, entry))
        names = ", ".join(f"{p.name} {p.percent:g}%" for p in step.split)
        return self.add(Choice(node.id, tuple(rules), default=entries[-1], comment=f"split: {names}"))

    def tag(self, node: Node, step: TagStep, cont: str | None) -> str:
        change = {"add": sorted(set(step.tag.add)), "remove": sorted(set(step.tag.remove))}
        return self.add(self.journey_action(node, "tag", change, cont, "tags"))

    def set(self, node: Node, step: SetStep, cont: str | None) -> str:
        return self.add(
            self.journey_action(node, "set", dict(sorted(step.set.items())), cont, "set attributes")
        )

    def emit(self, node: Node, step: EmitStep, cont: str | None) -> str:
        event = {"type": step.emit.type, "properties": dict(step.emit.properties)}
        return self.add(self.journey_action(node, "emit", event, cont, f"emit {step.emit.type}"))

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
        return Task(
            node.id,
            LAMBDA_CALLBACK,
            {"FunctionName": placeholder(contract.TRIGGER_EVAL_FUNCTION), "Payload": payload},
            next=cont,
            result_path=None,
            timeout_seconds=contract.SEND_TIMEOUT_SECONDS,
            retry=(_LAMBDA_RETRY,),
            catch=(Catch((contract.PROFILE_GONE_ERROR,), self.profile_gone(), contract.LAST),),
            comment=comment,
        )


def lower(journey: Journey, version: str) -> StateMachine:
    lowering = _Lowering(journey, version)
    start = lowering.sequence(resolve(journey.steps), None)
    assert start is not None  # a journey has at least one step
    comment = f"Touchpoint journey {journey.id} (version {version}): {journey.name}"
    states = tuple(sorted(lowering.states.values(), key=lambda s: s.name))
    return StateMachine(comment, start, states)


def _json(model: Any) -> Json:
    if hasattr(model, "model_dump"):
        return model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return model


def _message_where(journey_id: str, event: str, where: dict[str, Json]) -> dict[str, Json]:
    """For message events, ``step_id`` means a step of this journey unless journey_id says otherwise."""
    if event.startswith(("email.", "sms.")) and "step_id" in where and "journey_id" not in where:
        return {**where, "journey_id": journey_id}
    return where
