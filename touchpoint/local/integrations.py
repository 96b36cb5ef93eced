"""The Task resources compiled journeys use, run in-process for the simulator.

The executor (``touchpoint.local.asl``) knows ASL; this module knows what each ``Resource`` does and
how AWS reports its failures, so that Retry and Catch see the same error names as in AWS:

* ``lambda:invoke`` calls a Python handler registered under the function's ARN with
  ``(payload, context)`` and returns the optimized integration's result (``Payload``,
  ``StatusCode``, …). A handler exception is a task failure named after the exception class, with
  the Lambda error object (``errorMessage``, ``errorType``) as the cause, as Lambda reports it.
* ``lambda:invoke.waitForTaskToken`` is the same invocation; the executor then waits for the token.
* ``events:putEvents`` calls an injected boto3 client (moto in tests and in the simulator);
  ``ClientError`` code X becomes ``EventBridge.X`` and a non-zero ``FailedEntryCount`` becomes
  ``EventBridge.FailedEntry``.

Clients are injected and never created here, so importing this module touches no AWS
configuration."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from touchpoint import contract

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient

Json = Any
#: A Lambda handler: ``handler(event, context)``. Loosely typed so that Powertools-typed handlers fit.
Handler = Callable[[Any, Any], Any]


@dataclass
class Usage:
    """What a simulation would be billed for: every state entered or retried is a state transition."""

    state_transitions: int = 0
    executions_started: int = 0
    task_retries: int = 0  # Task attempts retried by a Retry (each also a transition)
    lambda_invocations: Counter[str] = field(default_factory=Counter)  # by function name
    #: by service: lambda, events (Task integrations) and states (API calls made through
    #: ``LocalStepFunctionsClient``)
    requests: Counter[str] = field(default_factory=Counter)


class InvocationCrashed(BaseException):
    """The function died (timed out) while running: no ``except Exception`` in the handler sees
    it, as no code runs after a real crash. Step Functions reports ``Sandbox.Timedout``."""

    error = "Sandbox.Timedout"


class TaskError(Exception):
    """A Task's resource failed with an ASL error name (what Retry/Catch ``ErrorEquals`` match)."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class UnsupportedIntegrationError(ValueError):
    """A definition uses a resource or parameter this simulator cannot run (raised at creation)."""


@dataclass(frozen=True)
class TaskContext:
    """What a resource may know about the Task calling it."""

    resource: str
    state_name: str
    execution_arn: str
    execution_name: str
    state_machine_arn: str
    token: str | None  # set for Tasks with a task token (.waitForTaskToken, .sync)
    now: dt.datetime
    usage: Usage


class Integrations(Protocol):
    def check(self, resource: str, parameters: frozenset[str] | None) -> None:
        """Raise ``UnsupportedIntegrationError`` if ``resource`` cannot run with these parameter names
        (None: the Task has no ``Parameters``, its input is the request)."""
        ...

    def invoke(self, resource: str, parameters: Json, context: TaskContext) -> Json:
        """Run the request; return the result or raise ``TaskError``. Takes no virtual time."""
        ...


# ---- Lambda


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of the AWS Lambda context object that handlers (and Powertools) read."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    timeout_seconds: int = 60
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        """Already past, on the wall clock Powertools Idempotency reads: an in-progress record
        expires with its invocation, and in AWS Step Functions retries a crashed invocation only
        after its time ran out, while here no virtual time passes between the crash and the retry.
        A simulation runs one invocation at a time, so no concurrent attempt needs the lock."""
        return -1


def lambda_error_object(exc: BaseException) -> dict[str, str]:
    """The error object the Lambda runtime returns for an unhandled handler exception."""
    return {"errorMessage": str(exc), "errorType": type(exc).__name__}


def lambda_error_cause(exc: BaseException) -> str:
    """The ``Cause`` Step Functions records for a failed invocation: the error object as JSON."""
    return json.dumps(lambda_error_object(exc), separators=(",", ":"))


def _function_name(function: str) -> str:
    """``name``, ``arn:aws:lambda:r:a:function:name[:qualifier]`` or ``a:function:name`` → name."""
    parts = function.split(":")
    if "function" in parts:
        return parts[parts.index("function") + 1]
    return function


# ---- service parameters the optimized integrations accept (the API's own request fields)

_LAMBDA_PARAMETERS: Final = frozenset({"FunctionName", "Payload"})
_PUT_EVENTS_PARAMETERS: Final = frozenset({"Entries"})
_REQUIRED: Final[Mapping[str, frozenset[str]]] = {
    contract.LAMBDA_INVOKE: frozenset({"FunctionName"}),
    contract.LAMBDA_CALLBACK: frozenset({"FunctionName"}),
    contract.EVENTS_PUT: frozenset({"Entries"}),
}


def _client_error(service: str, prefix: str, exc: ClientError) -> TaskError:
    """How Step Functions names an AWS SDK error of an optimized integration."""
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    code = error.get("Code", "Unknown")
    details = "; ".join(
        [
            f"Service: {service}",
            f"Status Code: {meta.get('HTTPStatusCode', 400)}",
            f"Error Code: {code}",
            f"Request ID: {meta.get('RequestId', '')}",
            "Proxy: null",
        ]
    )
    return TaskError(f"{prefix}.{code}", f"{error.get('Message', '')} ({details})")


class AwsIntegrations:
    """Lambda handlers in-process; EventBridge through an injected boto3 client."""

    def __init__(
        self,
        *,
        events: EventBridgeClient | None = None,
        functions: Mapping[str, Handler] | None = None,
        seed: int = 0,
    ) -> None:
        self._events = events
        self._functions: dict[str, tuple[str, Handler]] = {}
        self._ids = random.Random(f"{seed}:lambda-request-ids")
        for arn, handler in (functions or {}).items():
            self.register_function(arn, handler)

    def register_function(self, arn: str, handler: Handler) -> None:
        """Route invocations of the function ``arn`` (or its bare name) to ``handler``."""
        self._functions[_function_name(arn)] = (arn, handler)

    # -- Integrations

    def check(self, resource: str, parameters: frozenset[str] | None) -> None:
        match resource:
            case contract.LAMBDA_INVOKE | contract.LAMBDA_CALLBACK:
                allowed = _LAMBDA_PARAMETERS
            case contract.EVENTS_PUT:
                allowed = _PUT_EVENTS_PARAMETERS
                if self._events is None:
                    raise UnsupportedIntegrationError(f"{resource} needs an EventBridge client")
            case _:
                raise UnsupportedIntegrationError(f"unknown resource {resource!r}")
        if parameters is None:
            return
        if unknown := sorted(parameters - allowed):
            raise UnsupportedIntegrationError(f"{resource}: unsupported parameter(s) {', '.join(unknown)}")
        if missing := sorted(_REQUIRED[resource] - parameters):
            raise UnsupportedIntegrationError(f"{resource}: missing parameter(s) {', '.join(missing)}")

    def invoke(self, resource: str, parameters: Json, context: TaskContext) -> Json:
        if not isinstance(parameters, dict):
            raise TaskError("States.Runtime", f"{resource}: the request must be a JSON object")
        try:
            self.check(resource, frozenset(parameters))
        except UnsupportedIntegrationError as exc:  # a Task without Parameters passed its input as is
            raise TaskError("States.Runtime", str(exc)) from None
        match resource:
            case contract.LAMBDA_INVOKE | contract.LAMBDA_CALLBACK:
                return self._lambda(parameters, context)
            case contract.EVENTS_PUT:
                return self._put_events(parameters, context)
            case _:  # pragma: no cover - check() rejected it
                raise UnsupportedIntegrationError(resource)

    # -- resources

    def _lambda(self, parameters: dict[str, Json], context: TaskContext) -> Json:
        function = parameters["FunctionName"]
        name = _function_name(str(function))
        context.usage.requests["lambda"] += 1
        request_id = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
        registered = self._functions.get(name)
        if registered is None:
            raise TaskError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {function} (Service: AWSLambda; Status Code: 404; "
                f"Error Code: ResourceNotFoundException; Request ID: {request_id}; Proxy: null)",
            )
        arn, handler = registered
        context.usage.lambda_invocations[name] += 1
        # Lambda receives JSON: the handler gets its own copy, never the executor's data.
        event = json.loads(json.dumps(parameters.get("Payload", {})))
        lambda_context = LambdaContext(
            function_name=name,
            invoked_function_arn=arn,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{name}",
        )
        try:
            result = handler(event, lambda_context)
        except InvocationCrashed as crash:  # the function died: Lambda reports the timeout
            error = {"errorMessage": "Task timed out", "errorType": crash.error}
            raise TaskError(crash.error, json.dumps(error, separators=(",", ":"))) from None
        except Exception as exc:  # the Lambda runtime reports any handler exception as a function error
            raise TaskError(type(exc).__name__, lambda_error_cause(exc)) from exc
        try:
            payload = json.loads(json.dumps(result))
        except (TypeError, ValueError) as exc:
            marshal = {
                "errorMessage": f"Unable to marshal response: {exc}",
                "errorType": "Runtime.MarshalError",
            }
            raise TaskError("Runtime.MarshalError", json.dumps(marshal, separators=(",", ":"))) from exc
        return {
            "ExecutedVersion": "$LATEST",
            "Payload": payload,
            "SdkHttpMetadata": {
                "HttpHeaders": {
                    "Content-Type": "application/json",
                    "X-Amz-Executed-Version": "$LATEST",
                    "x-amzn-RequestId": request_id,
                },
                "HttpStatusCode": 200,
            },
            "SdkResponseMetadata": {"RequestId": request_id},
            "StatusCode": 200,
        }

    def _put_events(self, parameters: dict[str, Json], context: TaskContext) -> Json:
        assert self._events is not None  # check() requires it
        context.usage.requests["events"] += 1
        entries = copy.deepcopy(parameters["Entries"])
        if not isinstance(entries, list):
            raise TaskError("States.Runtime", "events:putEvents: Entries must be an array")
        for entry in entries:
            # What the optimized integration adds: a JSON Detail object is sent as a string, and the
            # state machine and execution ARNs are appended to Resources.
            if isinstance(entry.get("Detail"), dict | list):
                entry["Detail"] = json.dumps(entry["Detail"])
            entry["Resources"] = [
                *entry.get("Resources", []),
                context.state_machine_arn,
                context.execution_arn,
            ]
            # The event's time is when it was put, which locally is the virtual now.
            entry.setdefault("Time", context.now)
        try:
            response: dict[str, Any] = dict(self._events.put_events(Entries=entries))
        except ClientError as exc:
            raise _client_error("AmazonEventBridge", "EventBridge", exc) from exc
        except BotoCoreError as exc:
            raise TaskError("EventBridge.AmazonEventBridgeException", str(exc)) from exc
        response.pop("ResponseMetadata", None)
        result = json.loads(json.dumps(response, default=str))
        if result.get("FailedEntryCount", 0):
            raise TaskError("EventBridge.FailedEntry", json.dumps(result, separators=(",", ":")))
        return result
