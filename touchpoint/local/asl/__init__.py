"""A Step Functions executor for the ASL the compiler emits, on a virtual clock.

Standard workflows, JSONPath only. The definition is parsed and checked once, at
``create_state_machine``: an unknown state type, state field, resource, intrinsic function or a
path this executor cannot evaluate is an ``InvalidDefinition`` naming it, never silently ignored,
so a compiler change that emits something new fails here first.

Time: Tasks take no virtual time (so TimeoutSeconds is refused on a Task that does not wait for a
callback: it could never fire); Wait states, retry intervals and callback timeouts are events
on the ``VirtualClock``. ``start_execution`` and ``send_task_success`` only schedule work at the
current instant, as in AWS where both calls return before the execution moves on; run the clock to
make progress. That also means a Lambda handler may call ``send_task_success`` for its own token
while it is being invoked (a send that goes out at once), or for another execution's token, without
re-entering the executor.

AWS behaviours kept because journeys depend on them:

* Retry: the first retrier whose ``ErrorEquals`` matches decides; interval
  ``IntervalSeconds × BackoffRate^n`` capped by ``MaxDelaySeconds``, ``JitterStrategy: FULL`` draws
  uniformly from [0, interval] with a seeded ``random.Random``. Each retry is a billed transition.
* ``States.ALL`` matches every error but the terminal ones, which always fail the execution
  (``States.Runtime``, ``States.IntrinsicFailure``, ``States.DataLimitExceeded``: a state's input
  after Parameters, a task's result or a state's output over 256 KiB of UTF-8);
  ``States.TaskFailed`` matches everything but ``States.Timeout``.
* The context object: ``$$.State.RetryCount`` in Task states only; ``$$.Task.Token`` in
  ``.waitForTaskToken`` and ``.sync`` Tasks.
* Every ``States.*`` intrinsic with AWS's argument rules; MathRandom and UUID draw from a generator
  seeded with the execution's ARN, so a simulation replays exactly.
* ``StartExecution`` is idempotent only while the execution with that name and input is running.
* ``SendTaskSuccess``/``Failure`` on a token never issued raises ``InvalidToken``; on one whose task
  is over (completed, timed out, execution ended) ``TaskTimedOut``.

Layout: ``errors``, ``values``, ``paths``, ``intrinsics`` (syntax) and ``functions`` (what each
computes), ``payload`` (templates), ``choice``, ``states`` and ``definitions`` (parsing a definition),
``execution`` (the record), ``dataflow`` (a state's context and paths), ``steps``, ``interpreter`` and
``executor`` (the API).

Not thread-safe: the simulator is single-threaded by design."""

from touchpoint.clock import iso
from touchpoint.local.asl.choice import COMPARISON_OPERATORS
from touchpoint.local.asl.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidName,
    InvalidOutput,
    InvalidToken,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StatesApiError,
    TaskTimedOut,
)
from touchpoint.local.asl.execution import (
    ExecutionDescription,
    HistoryEvent,
    Status,
    StatusChange,
    status_change_event,
)
from touchpoint.local.asl.executor import Executor
from touchpoint.local.asl.intrinsics import SUPPORTED_INTRINSICS
from touchpoint.local.asl.paths import parse_path
from touchpoint.local.asl.values import parse_timestamp

__all__ = [
    "COMPARISON_OPERATORS",
    "SUPPORTED_INTRINSICS",
    "ExecutionAlreadyExists",
    "ExecutionDescription",
    "ExecutionDoesNotExist",
    "Executor",
    "HistoryEvent",
    "InvalidDefinition",
    "InvalidExecutionInput",
    "InvalidName",
    "InvalidOutput",
    "InvalidToken",
    "StateMachineAlreadyExists",
    "StateMachineDoesNotExist",
    "StatesApiError",
    "Status",
    "StatusChange",
    "TaskTimedOut",
    "iso",
    "parse_path",
    "parse_timestamp",
    "status_change_event",
]
