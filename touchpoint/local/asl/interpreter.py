"""The interpreter: runs an execution's states on the virtual clock (Tasks, their retries and
callbacks, Waits, Choices), records its history and ends it."""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections.abc import Callable, Mapping
from typing import Any, Final, assert_never

from touchpoint.local.asl.choice import check_rule
from touchpoint.local.asl.dataflow import Scope, apply_result_path, check_size
from touchpoint.local.asl.errors import RUNTIME, TIMEOUT, InvalidToken, StatesRuntimeError, TaskTimedOut
from touchpoint.local.asl.execution import Execution, HistoryEvent, Listener, Status
from touchpoint.local.asl.payload import evaluate
from touchpoint.local.asl.states import (
    NO_RESULT,
    ChoiceState,
    FailState,
    Io,
    PassState,
    State,
    SucceedState,
    TaskState,
    WaitState,
)
from touchpoint.local.asl.steps import STOP, Attempt, Failure, Next, Step, Success, Waiter, matches
from touchpoint.local.asl.values import compact, is_int, parse_timestamp
from touchpoint.local.clock import VirtualClock
from touchpoint.local.copies import deep_copy
from touchpoint.local.integrations import Integrations, TaskContext, TaskError, Usage

Json = Any
#: AWS fails an execution whose history would exceed this many events (also stops runaway loops).
MAX_HISTORY_EVENTS: Final = 25_000


class Interpreter:
    """Runs executions; ``Executor`` puts Step Functions' API on top."""

    def __init__(
        self, clock: VirtualClock, integrations: Integrations, *, seed: int, usage: Usage | None
    ) -> None:
        self.clock = clock
        self.integrations = integrations
        self.usage = usage if usage is not None else Usage()
        # Separate streams, so that issuing one more token never changes a retry's jitter.
        self._jitter = random.Random(f"{seed}:jitter")
        self._ids = random.Random(f"{seed}:ids")
        self._tokens: dict[str, Waiter] = {}
        self._listeners: list[Listener] = []

    def _drive(self, run: Execution, step: Step) -> None:
        """Run states until the execution blocks on the clock or ends (a loop, not recursion)."""
        run.pending = None
        while isinstance(step, Next) and run.status == "RUNNING":
            try:
                step = self._enter(run, step.state, step.data)
            except StatesRuntimeError as failure:
                self._finish(run, "FAILED", error=failure.error, cause=failure.cause)
                return

    def _enter(self, run: Execution, name: str, raw: Json) -> Step:
        state = run.machine.states[name]
        entered = self.clock.now()
        kind = type(state).__name__.removesuffix("State")
        self._transition(run)
        self._record(run, f"{kind}StateEntered", name, {"input": compact(raw)})
        match state:
            case TaskState():
                attempt = Attempt(run, state, raw, entered, [0] * len(state.retry))
                return self._attempt(attempt)
            case WaitState():
                return self._wait(run, state, raw, entered)
            case ChoiceState():
                scope = Scope(run, name, entered)
                data = scope.input(state.io, raw)
                context = scope.context()
                for rule, target in state.choices:
                    if check_rule(rule, data, context):
                        return self._exit(run, state, state.io, data, target, entered)
                if state.default is not None:
                    return self._exit(run, state, state.io, data, state.default, entered)
                return self._fail(run, "States.NoChoiceMatched", f"No Matches! (state {name!r})")
            case PassState():
                scope = Scope(run, name, entered)
                data = scope.input(state.io, raw)
                if state.parameters is not None:
                    data = evaluate(state.parameters, data, scope.context(), "Parameters", run.rng)
                    check_size(compact(data), "input", name)
                result = data if state.result is NO_RESULT else deep_copy(state.result)
                combined = apply_result_path(raw, result, state.result_path, name)
                return self._exit(run, state, state.io, combined, state.next, entered)
            case SucceedState():
                data = Scope(run, name, entered).input(state.io, raw)
                return self._exit(run, state, state.io, data, None, entered)
            case FailState():
                return self._fail(run, state.error, state.cause)
            case _:
                assert_never(state)

    def _exit(
        self,
        run: Execution,
        state: State,
        io: Io,
        data: Json,
        target: str | None,
        entered: dt.datetime,
        retry_count: int | None = None,
    ) -> Step:
        """Apply OutputPath, record the exit, and go on to ``target`` (None: the execution succeeds)."""
        output = Scope(run, state.name, entered, retry_count).output(io, data)
        kind = type(state).__name__.removesuffix("State")
        text = check_size(compact(output), "output", state.name)
        self._record(run, f"{kind}StateExited", state.name, {"output": text})
        if target is None:
            self._finish(run, "SUCCEEDED", output=output)
            return STOP
        return Next(target, output)

    def _fail(self, run: Execution, error: str | None, cause: str | None) -> Step:
        self._finish(run, "FAILED", error=error, cause=cause)
        return STOP

    # -- Wait

    def _wait(self, run: Execution, state: WaitState, raw: Json, entered: dt.datetime) -> Step:
        scope = Scope(run, state.name, entered)
        data = scope.input(state.io, raw)
        now = self.clock.now()
        if state.seconds is not None:
            wake = now + dt.timedelta(seconds=state.seconds)
        elif state.timestamp is not None:
            wake = max(now, state.timestamp)
        elif state.seconds_path is not None:
            seconds = scope.lookup(state.seconds_path, data, "SecondsPath")
            if not is_int(seconds) or seconds < 0:
                raise StatesRuntimeError(
                    RUNTIME,
                    f"The SecondsPath parameter does not reference a non-negative integer: {seconds!r}",
                )
            wake = now + dt.timedelta(seconds=seconds)
        else:
            assert state.timestamp_path is not None
            text = scope.lookup(state.timestamp_path, data, "TimestampPath")
            moment = parse_timestamp(text)
            if moment is None:
                raise StatesRuntimeError(
                    RUNTIME,
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
                    f"date-time format string: {state.timestamp_path.text} == {text}",
                )
            wake = max(now, moment)

        def done() -> None:
            self._drive(
                run, self._guarded(run, lambda: self._exit(run, state, state.io, data, state.next, entered))
            )

        run.pending = self.clock.call_at(wake, done, label=f"{run.name}: {state.name} ends")
        return STOP

    # -- Task

    def _attempt(self, attempt: Attempt) -> Step:
        run, state = attempt.run, attempt.state
        token = self._new_token() if state.has_token else None
        scope = Scope(run, state.name, attempt.entered, attempt.retry_count, token)
        data = scope.input(state.io, attempt.raw)
        request = (
            data
            if state.parameters is None
            else evaluate(state.parameters, data, scope.context(), "Parameters", run.rng)
        )
        text = check_size(compact(request), "input", state.name)
        self._record(run, "TaskScheduled", state.name, {"resource": state.resource, "parameters": text})
        waiter = None
        if token is not None and state.callback:
            waiter = self._tokens[token] = Waiter(attempt)
            run.token = token
        task = TaskContext(
            resource=state.resource,
            state_name=state.name,
            execution_arn=run.arn,
            execution_name=run.name,
            state_machine_arn=run.machine.arn,
            token=token,
            now=self.clock.now(),
            usage=self.usage,
        )
        try:
            result = self.integrations.invoke(state.resource, request, task)
        except TaskError as failure:
            self._close(token)
            if run.status != "RUNNING":
                return STOP
            # A callback that came before the invocation failed wins: it was the first outcome.
            first = waiter.outcome if waiter is not None and waiter.outcome is not None else None
            return self._resolve(attempt, first or Failure(failure.error, failure.cause))
        if run.status != "RUNNING":  # the resource stopped its own execution
            self._close(token)
            return STOP
        if waiter is None:
            return self._resolve(attempt, Success(result))
        if waiter.outcome is not None:  # the handler called back while it was being invoked
            self._close(token)
            return self._resolve(attempt, waiter.outcome)
        assert token is not None
        waiter.phase = "waiting"
        self._record(run, "TaskSubmitted", state.name, {"resource": state.resource})
        waiter.timeout = run.pending = self.clock.call_later(
            state.timeout_seconds,
            lambda: self._callback_timed_out(token),
            label=f"{run.name}: {state.name} times out",
        )
        return STOP

    def _complete(self, token: str, outcome: Success | Failure) -> None:
        waiter = self._tokens.get(token)
        if waiter is None:
            raise InvalidToken("Invalid Token: 'Invalid token'")
        if waiter.phase == "closed":
            raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'")
        previous, waiter.outcome = waiter.phase, outcome
        waiter.phase = "closed"
        if previous == "invoking":
            return  # _attempt resolves it once the invocation returns
        run = waiter.attempt.run
        run.token = None
        if waiter.timeout is not None:
            self.clock.cancel(waiter.timeout)
        run.pending = self.clock.call_later(
            0,
            lambda: self._drive(run, self._guarded(run, lambda: self._resolve(waiter.attempt, outcome))),
            label=f"{run.name}: {waiter.attempt.state.name} callback",
        )

    def _callback_timed_out(self, token: str) -> None:
        waiter = self._tokens[token]
        self._close(token)
        attempt = waiter.attempt
        self._drive(
            attempt.run, self._guarded(attempt.run, lambda: self._resolve(attempt, Failure(TIMEOUT, "")))
        )

    def _close(self, token: str | None) -> None:
        waiter = self._tokens.get(token) if token is not None else None
        if waiter is None:  # no token, or a .sync Task's (nothing waits on it)
            return
        waiter.phase = "closed"
        if waiter.timeout is not None:
            self.clock.cancel(waiter.timeout)
        if waiter.attempt.run.token == token:
            waiter.attempt.run.token = None

    def _resolve(self, attempt: Attempt, outcome: Success | Failure) -> Step:
        run, state = attempt.run, attempt.state
        match outcome:
            case Success():
                text = check_size(compact(outcome.output), "result", state.name)
                self._record(run, "TaskSucceeded", state.name, {"output": text})
                result = outcome.output
                if state.result_selector is not None:
                    context = Scope(run, state.name, attempt.entered, attempt.retry_count).context()
                    result = evaluate(state.result_selector, result, context, "ResultSelector", run.rng)
                combined = apply_result_path(attempt.raw, result, state.result_path, state.name)
                return self._exit(
                    run, state, state.io, combined, state.next, attempt.entered, attempt.retry_count
                )
            case Failure():
                return self._task_failed(attempt, outcome.error, outcome.cause)
            case _:
                assert_never(outcome)

    def _task_failed(self, attempt: Attempt, error: str | None, cause: str | None) -> Step:
        run, state = attempt.run, attempt.state
        kind = "TaskTimedOut" if error == TIMEOUT else "TaskFailed"
        self._record(run, kind, state.name, {"error": error, "cause": cause})
        if error == RUNTIME:
            return self._fail(run, error, cause)
        for index, retrier in enumerate(state.retry):
            if not matches(retrier.errors, error):
                continue
            if attempt.retries[index] >= retrier.max_attempts:
                break  # the first matching retrier decides; exhausted means go to Catch
            delay = retrier.delay(attempt.retries[index], self._jitter)
            attempt.retries[index] += 1
            attempt.retry_count += 1
            self.usage.task_retries += 1

            def retry() -> None:
                self._transition(run)  # AWS bills each retry as a state transition
                self._drive(run, self._guarded(run, lambda: self._attempt(attempt)))

            run.pending = self.clock.call_later(
                delay, retry, label=f"{run.name}: {state.name} retry {attempt.retry_count}"
            )
            return STOP
        for catcher in state.catch:
            if matches(catcher.errors, error):
                output = apply_result_path(
                    attempt.raw, {"Error": error, "Cause": cause}, catcher.result_path, state.name
                )
                text = check_size(compact(output), "output", state.name)
                self._record(run, "TaskStateExited", state.name, {"output": text, "caught": error})
                return Next(catcher.next, output)
        return self._fail(run, error, cause)

    # ---- data flow

    def _guarded(self, run: Execution, step: Callable[[], Step]) -> Step:
        """Run a continuation; a ``States.Runtime`` failure in it fails the execution."""
        if run.status != "RUNNING":
            return STOP
        try:
            return step()
        except StatesRuntimeError as failure:
            self._finish(run, "FAILED", error=failure.error, cause=failure.cause)
            return STOP

    # ---- bookkeeping

    def _transition(self, run: Execution) -> None:
        run.transitions += 1
        self.usage.state_transitions += 1

    def _record(
        self, run: Execution, kind: str, state: str | None = None, detail: Mapping[str, Json] | None = None
    ) -> None:
        if (
            len(run.history) >= MAX_HISTORY_EVENTS
            and run.status == "RUNNING"
            and not kind.startswith("Execution")
        ):
            raise StatesRuntimeError(
                RUNTIME, f"The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."
            )
        run.history.append(
            HistoryEvent(len(run.history) + 1, self.clock.now(), kind, state, dict(detail or {}))
        )

    def _new_token(self) -> str:
        return base64.urlsafe_b64encode(self._ids.randbytes(96)).decode().rstrip("=")

    def _timed_out(self, run: Execution) -> None:
        run.deadline = None
        if run.status == "RUNNING":
            self._finish(run, "TIMED_OUT", error=TIMEOUT, cause="The execution timed out (TimeoutSeconds).")

    def _finish(
        self,
        run: Execution,
        status: Status,
        *,
        output: Json = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        run.status = status
        run.stop_date = self.clock.now()
        run.output, run.error, run.cause = output, error, cause
        for handle in (run.pending, run.deadline):
            if handle is not None:
                self.clock.cancel(handle)
        run.pending = run.deadline = None
        self._close(run.token)
        kind = {
            "SUCCEEDED": "ExecutionSucceeded",
            "FAILED": "ExecutionFailed",
            "TIMED_OUT": "ExecutionTimedOut",
        }
        detail = {"output": compact(output)} if status == "SUCCEEDED" else {"error": error, "cause": cause}
        self._record(run, kind.get(status, "ExecutionAborted"), detail=detail)
        for listener in list(self._listeners):
            listener(run.status_change())
