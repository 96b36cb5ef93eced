"""Peer-interpreter tier: every compiled example journey runs through moto's Step Functions
interpreter (LocalStack's ASL engine) and through ``touchpoint.local.asl`` with the same input and
the same scripted Lambda behaviour, and both must enter the same states in the same order and end
with the same status, output, error and cause, having made the same Lambda invocations, profile
writes and EventBridge events.

The harness changes moto in four places (``moto_bridge.sfn_interpreter``), none of which decides a
path:

* ``LambdaSimpleBackend.invoke`` routes invocations to the scripted handlers (a handler exception
  becomes a Lambda function error, as the Lambda runtime reports it);
* Wait states (``WaitFunction._wait_interval``) and retry back-off (``retrier_decl.time``) do not
  sleep;
* moto counts ``TimeoutSeconds`` in real seconds (7 days for a send), so for a task whose scripted
  handler never calls back, ``CallbackEndpoint.wait`` returns "no outcome" at once: exactly what
  moto does when the timeout elapses (the task fails with ``States.Timeout``);
* moto's ``SendTaskFailure`` API handler drops the ``cause`` argument, so scripted failure
  callbacks call moto's Step Functions backend directly (see ``MotoCallbacks.fail``).

One more patch only saves time: moto parses a definition again for every execution (about 0.2 s
with ANTLR), so the parse is cached per definition. That is safe for the states used here: moto
keeps everything an execution changes in its ``Environment``, and the parsed components are
immutable declarations (only Map and Parallel keep worker state on the component).

Values that are random per run in moto and in AWS (DynamoDB request ids inside an error cause,
timestamps) are normalised before comparing, and listed where it happens."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3
import pytest
from moto import mock_aws

from tests.conftest import GOLDEN, STATEMACHINES
from touchpoint import contract
from touchpoint.local.asl import Executor
from touchpoint.local.clock import VirtualClock
from touchpoint.local.integrations import AwsIntegrations, lambda_error_object
from touchpoint.local.moto_bridge import sfn_backend, sfn_interpreter

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account: both interpreters build the same ARNs
TABLE = "touchpoint-profiles"
BUS = "touchpoint"
USER = "u-1"
START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:touchpoint-{name}"


SUBSTITUTIONS = {
    contract.SEND_EMAIL_FUNCTION: function_arn("send_email"),
    contract.SEND_SMS_FUNCTION: function_arn("send_sms"),
    contract.TRIGGER_EVAL_FUNCTION: function_arn("trigger_eval"),
    contract.EVENT_BUS: BUS,
}


def load(path: Path) -> dict[str, Any]:
    text = path.read_text()
    for name, value in SUBSTITUTIONS.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text, f"{path.name}: a placeholder was not substituted"
    definition: dict[str, Any] = json.loads(text)
    return definition


#: Every compiled example journey, plus the golden kitchen sink: the only definition with a split,
#: a send fallback (a Choice on StringEquals) and a ``wait until`` (Wait on TimestampPath).
JOURNEYS: dict[str, Path] = {
    path.name.removesuffix(".asl.json"): path for path in sorted(STATEMACHINES.glob("*.asl.json"))
} | {"kitchen-sink": GOLDEN / "valid" / "expected" / "kitchen-sink.asl.json"}


# ---------------------------------------------------------------------------------------------
# Scripted Lambda behaviour


class TransientError(Exception):
    """The runtime's retryable error, by name (contract.TRANSIENT_ERROR): Retry matches it."""


class TemplateError(Exception):
    """A failure no retry fixes: caught into ``<step>#failed`` (or, for ``if``, fails the run)."""


assert TransientError.__name__ == contract.TRANSIENT_ERROR


@dataclass(frozen=True)
class Returns:
    """A plain invocation returns this payload (``if`` → ``{result}``, ``wait until`` → ``{until}``)."""

    payload: dict[str, Any]


@dataclass(frozen=True)
class CallsBack:
    """A callback task's handler completes its token with this output, at once or ``after`` seconds
    (a deferred send, an event that resumes a ``wait_for``)."""

    output: dict[str, Any]
    after: int = 0


@dataclass(frozen=True)
class CallsBackFailure:
    error: str
    cause: str


@dataclass(frozen=True)
class Raises:
    error: type[Exception]
    message: str


@dataclass(frozen=True)
class Silent:
    """Never calls back: the task times out (a lost callback, a ``wait_for`` nobody resumes)."""


Behaviour = Returns | CallsBack | CallsBackFailure | Raises | Silent

TRUE = Returns({"result": True})
FALSE = Returns({"result": False})
SENT = CallsBack({"status": "sent", "message_id": "m-1"})
DEFERRED = CallsBack({"status": "sent", "message_id": "m-2", "deferred": True}, after=9 * 3600)
SKIPPED = CallsBack({"status": "skipped", "reason": "no_consent"})
CONDITION_FALSE = CallsBack({"status": "skipped", "reason": contract.CONDITION_FALSE})  # a guarded send
GUARD_FALSE = CallsBackFailure(contract.CONDITION_FALSE_ERROR, "the condition is false")  # ... with an else
CLICKED = CallsBack({"event": {"type": "email.clicked", "event_id": "e-9"}}, after=3600)
REJECTED = CallsBackFailure("Ses.MessageRejected", "Email address is not verified.")
TRANSIENT = Raises(TransientError, "SES throttled the request")
BROKEN = Raises(TemplateError, "template variable 'first_name' is undefined")
SILENT = Silent()
NEXT_TIME = Returns({"until": "2026-12-03T02:00:00Z"})


@dataclass(frozen=True)
class Script:
    """One run: the Lambda behaviours in invocation order, each labelled with what it must be
    asked (a send/wait_for step id, or trigger_eval's action), and where the run must end."""

    name: str
    calls: tuple[tuple[str, Behaviour], ...]
    ends: str  # the last state entered
    status: str = "SUCCEEDED"
    profile: bool = True  # False: the user was erased while in the journey
    buckets: dict[str, int] = field(default_factory=dict)


def script(name: str, ends: str, *calls: tuple[str, Behaviour], **options: Any) -> Script:
    return Script(name, calls, ends, **options)


KS_SPLIT = contract.split_key("split-3")

SCRIPTS: dict[str, list[Script]] = {
    "b2b-whitepaper": [
        script("engaged", "hand-to-sales",
               ("followup", SENT), ("followup-click", CLICKED), ("case-study", SENT),
               ("case-study-click", CLICKED)),
        script("ignores", "webinar",
               ("followup", SKIPPED), ("followup-click", SILENT), ("case-study", DEFERRED),
               ("case-study-click", SILENT), ("webinar", SENT)),
        script("failures", "webinar#failed",
               ("followup", BROKEN), ("followup-click", REJECTED), ("case-study", TRANSIENT),
               ("case-study", TRANSIENT), ("case-study", SENT), ("case-study-click", BROKEN),
               ("webinar", REJECTED)),
        script("case-study-rejected", "hand-to-sales",
               ("followup", SENT), ("followup-click", SILENT), ("case-study", REJECTED),
               ("case-study-click", CLICKED)),
        script("erased", "ProfileGone", ("followup", SENT), ("followup-click", CLICKED), profile=False),
    ],
    "birthday": [
        # the if around the only send is the send, guarded (D22): one state, named after the if
        script("nudged", "unused", ("greeting", SENT), ("nudge", SENT)),
        script("not-nudged", "unused", ("greeting", SKIPPED), ("nudge", CONDITION_FALSE)),
        script("retries-exhausted", "nudge#failed",
               ("greeting", REJECTED), *[("nudge", TRANSIENT)] * 7),
        script("condition-broken", "nudge#failed", ("greeting", SENT), ("nudge", BROKEN)),
    ],
    "cart-abandonment": [
        # the if (else: exit) is the coupon send, guarded; false fails it into the exit (D27)
        script("clicked", "hand-to-sales", ("coupon", SENT), ("coupon-click", CLICKED)),
        script("emptied", "still-in-cart.else.exit-1", ("coupon", GUARD_FALSE)),
        script("ignored", "recommend", ("coupon", DEFERRED), ("coupon-click", SILENT), ("recommend", SENT)),
        script("failures", "recommend#failed",
               ("coupon", TRANSIENT), ("coupon", BROKEN), ("coupon-click", REJECTED), ("recommend", SILENT)),
        script("erased", "ProfileGone", ("coupon", SENT), ("coupon-click", CLICKED), profile=False),
    ],
    "d12-launch": [
        script("reminded", "sms-ok", ("coupon", SENT), ("reminder", SENT)),
        script("no-sms", "sms-ok", ("coupon", SKIPPED), ("reminder", CONDITION_FALSE)),
        script("failures", "reminder#failed", ("coupon", REJECTED), ("reminder", BROKEN)),
    ],
    "d12-review": [
        script("sent", "survey", ("survey", DEFERRED)),
        script("broken", "survey#failed", ("survey", BROKEN)),
    ],
    "d12-sustain": [
        script("sent", "live", ("live", SENT)),
        script("lost-callback", "live#failed", ("live", SILENT)),
    ],
    "d12-warmup": [
        script("retried", "teaser", ("teaser", TRANSIENT), ("teaser", SENT)),
        script("rejected", "teaser#failed", ("teaser", REJECTED)),
    ],
    "dormant-winback": [
        script("still-away", "still-away.then.tag-2", ("comeback", SENT), ("events", SENT)),
        script("came-back", "still-away.else.exit-1", ("comeback", SKIPPED), ("events", GUARD_FALSE)),
        script("failures-erased", "ProfileGone", ("comeback", REJECTED), ("events", BROKEN), profile=False),
    ],
    "membership-expiry": [
        script("offered", "sms-ok", ("notice", SENT), ("offer", SENT)),
        script("no-sms", "sms-ok", ("notice", SENT), ("offer", CONDITION_FALSE)),
        script("failures", "offer#failed", ("notice", BROKEN), ("offer", REJECTED)),
    ],
    "new-user-7day": [
        # both ifs (then: send, else: send) are their then sends, guarded: false runs the else send
        script("engaged", "sms-ok",
               ("welcome", SENT), ("tips-advanced", SENT), ("offer", SENT), ("reminder-sms", SENT)),
        script("quiet", "reminder-email",
               ("welcome", SENT), ("tips-advanced", GUARD_FALSE), ("tips-basic", SKIPPED),
               ("offer", DEFERRED), ("reminder-sms", GUARD_FALSE), ("reminder-email", SENT)),
        script("failures-sms", "reminder-sms#failed",
               ("welcome", BROKEN), ("tips-advanced", REJECTED), ("offer", SILENT), ("reminder-sms", BROKEN)),
        script("failures-email", "reminder-email#failed",
               ("welcome", SENT), ("tips-advanced", GUARD_FALSE), ("tips-basic", BROKEN), ("offer", SENT),
               ("reminder-sms", GUARD_FALSE), ("reminder-email", REJECTED)),
    ],
    "post-purchase-cross-sell": [
        script("upgraded", "no-reorder", ("guide", SENT), ("upgrade", SENT)),
        script("reordered", "no-reorder", ("guide", SENT), ("upgrade", CONDITION_FALSE)),
        script("failures", "upgrade#failed", ("guide", REJECTED), ("upgrade", BROKEN)),
    ],
    "kitchen-sink": [
        script("email-clicked", "tag-4",
               ("evaluate", TRUE), ("coupon", SENT), ("coupon-click", CLICKED), buckets={KS_SPLIT: 1234}),
        script("email-timeout-fallback", "tag-4",
               ("evaluate", TRUE), ("coupon", REJECTED), ("coupon-click", SILENT), ("next_time", NEXT_TIME),
               ("sms-nudge", SKIPPED), ("sms-nudge.fallback.send-1", SENT), buckets={KS_SPLIT: 6999}),
        script("sms-arm", "tag-4",
               ("evaluate", TRUE), ("split-3.sms.send-1", DEFERRED), buckets={KS_SPLIT: 7000}),
        script("emptied", "still-in-cart.else.exit-1", ("evaluate", FALSE), buckets={KS_SPLIT: 0}),
        script("sms-arm-erased", "ProfileGone",
               ("evaluate", TRUE), ("split-3.sms.send-1", BROKEN), buckets={KS_SPLIT: 9999}, profile=False),
        script("nudge-failures", "tag-4",
               ("evaluate", TRUE), ("coupon", SENT), ("coupon-click", REJECTED), ("next_time", NEXT_TIME),
               ("sms-nudge", BROKEN), ("sms-nudge.fallback.send-1", REJECTED), buckets={KS_SPLIT: 0}),
    ],
}  # fmt: skip

CASES = [(journey, s) for journey, scripts in SCRIPTS.items() for s in scripts]


class Callbacks(Protocol):
    """How a scripted handler reaches the interpreter running it (moto's API or the executor)."""

    def succeed(self, token: str, output: dict[str, Any], after: int) -> None: ...
    def fail(self, token: str, error: str, cause: str) -> None: ...
    def silence(self, token: str) -> None: ...


class World:
    """The scripted Lambda functions for one run; records what each was asked."""

    def __init__(self, run: Script, callbacks: Callbacks) -> None:
        self.queue = list(run.calls)
        self.callbacks = callbacks
        self.profile = run.profile
        self.invocations: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        with self.lock:
            self.invocations.append((function, {k: v for k, v in event.items() if k != "token"}))
            if event.get("action") == contract.ACTION_STEP:
                # trigger_eval's tag / set / emit: applied (called back) unless the profile is gone
                if event["kind"] != "emit" and not self.profile:
                    self.callbacks.fail(event["token"], contract.PROFILE_GONE_ERROR, "the profile was erased")
                else:
                    self.callbacks.succeed(event["token"], {"status": "done"}, 0)
                return None
            asked = event.get("step_id") or event["action"]
            assert self.queue, f"unscripted invocation of {function} for {asked!r}"
            label, behaviour = self.queue.pop(0)
        assert label == asked, f"the script expected {label!r}, the state machine asked {asked!r}"
        match behaviour:
            case Returns():
                return behaviour.payload
            case Raises():
                raise behaviour.error(behaviour.message)
            case CallsBack():
                self.callbacks.succeed(event["token"], behaviour.output, behaviour.after)
            case CallsBackFailure():
                self.callbacks.fail(event["token"], behaviour.error, behaviour.cause)
            case Silent():
                self.callbacks.silence(event["token"])
        return None


@dataclass
class Outcome:
    status: str
    path: list[str]
    output: Any
    error: str | None
    cause: str | None
    invocations: list[tuple[str, dict[str, Any]]]
    events: list[dict[str, Any]]
    profile: dict[str, Any] | None


# ---------------------------------------------------------------------------------------------
# The AWS side of both runs: moto with the table, the bus and a queue that records the bus's events


class Aws:
    def __init__(self) -> None:
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.events.create_event_bus(Name=BUS)
        self.queue_url = self.sqs.create_queue(QueueName="bus-recorder")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.events.put_rule(
            Name="record-all", EventBusName=BUS, EventPattern=json.dumps({"source": [{"prefix": ""}]})
        )
        self.events.put_targets(Rule="record-all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
        self.world: World | None = None
        self.machines: dict[str, str] = {}
        self.silenced: set[str] = set()

    def reset_profile(self, present: bool) -> None:
        self.dynamodb.delete_item(TableName=TABLE, Key={"user_id": {"S": USER}})
        if present:
            self.dynamodb.put_item(
                TableName=TABLE,
                Item={
                    "user_id": {"S": USER},
                    "created_at": {"S": "2026-11-01T00:00:00.000Z"},
                    "tags": {"SS": ["cart_open", "vip"]},
                },
            )

    def profile(self) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(TableName=TABLE, Key={"user_id": {"S": USER}}).get("Item")
        return dict(item) if item is not None else None

    def drain_events(self) -> list[dict[str, Any]]:
        events = []
        while messages := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return events

    # -- moto's patched Lambda

    def invoke(
        self, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        assert self.world is not None
        try:
            result = self.world(function_name, json.loads(body))
        except Exception as exc:  # what the Lambda runtime does with an unhandled exception
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(lambda_error_object(exc)).encode()
        return json.dumps(result).encode()


class MotoCallbacks:
    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    def succeed(self, token: str, output: dict[str, Any], after: int) -> None:
        def send() -> None:
            self.aws.sfn.send_task_success(taskToken=token, output=json.dumps(output))

        if after:  # later, from another thread, as an event or a deferred send would
            threading.Timer(0.01, send).start()
        else:
            send()

    def fail(self, token: str, error: str, cause: str) -> None:
        # moto's SendTaskFailure API handler drops ``cause`` (it passes only ``error`` on to the
        # backend), and AWS records both; so call moto's Step Functions backend directly.
        sfn_backend(ACCOUNT, REGION).send_task_failure(token, error=error, cause=cause)

    def silence(self, token: str) -> None:
        self.aws.silenced.add(token)


class LocalCallbacks:
    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def succeed(self, token: str, output: dict[str, Any], after: int) -> None:
        def send() -> None:
            self.executor.send_task_success(token, json.dumps(output))

        if after:
            self.executor.clock.call_later(after, send, label="scripted callback")
        else:
            send()

    def fail(self, token: str, error: str, cause: str) -> None:
        self.executor.send_task_failure(token, error, cause)

    def silence(self, token: str) -> None:
        pass  # the virtual clock runs the task into its TimeoutSeconds


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with ExitStack() as stack:
        stack.enter_context(
            mock_aws(
                config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
            )
        )
        harness = Aws()
        stack.enter_context(sfn_interpreter(harness.invoke, harness.silenced))
        yield harness


def execution_input(run: Script) -> str:
    return json.dumps(
        {
            contract.INPUT_USER: USER,
            contract.INPUT_HOLDOUT: False,
            contract.INPUT_BUCKETS: run.buckets,
            contract.INPUT_ENTRY: {
                "event_id": "evt-1",
                "type": "cart.updated",
                "at": "2026-12-01T00:00:00.000Z",
            },
        }
    )


def state_machine_name(journey: str) -> str:
    manifest = STATEMACHINES / f"{journey}.manifest.json"
    if manifest.exists():
        return str(json.loads(manifest.read_text())["state_machine"])
    return f"touchpoint-{journey}"


def run_moto(aws: Aws, journey: str, run: Script) -> Outcome:
    name = state_machine_name(journey)
    if name not in aws.machines:
        aws.machines[name] = aws.sfn.create_state_machine(
            name=name,
            definition=json.dumps(load(JOURNEYS[journey])),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        )["stateMachineArn"]
    machine = aws.machines[name]
    aws.reset_profile(run.profile)
    aws.world = world = World(run, MotoCallbacks(aws))
    arn = aws.sfn.start_execution(stateMachineArn=machine, name=run.name, input=execution_input(run))[
        "executionArn"
    ]
    # Wait on moto's execution record rather than polling the API: API calls hold the GIL that the
    # execution's threads need. The status is set just before the output, so wait for both.
    execution = sfn_backend(ACCOUNT, REGION).describe_execution(arn)
    deadline = time.monotonic() + 30
    while execution.exec_status == "RUNNING" or (
        execution.exec_status == "SUCCEEDED" and execution.output is None
    ):
        assert time.monotonic() < deadline, f"moto did not finish {journey}/{run.name}"
        time.sleep(0.005)
    described = aws.sfn.describe_execution(executionArn=arn)
    history = aws.sfn.get_execution_history(executionArn=arn)["events"]
    return Outcome(
        status=described["status"],
        path=[e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")],
        output=json.loads(described["output"]) if "output" in described else None,
        error=described.get("error"),
        cause=described.get("cause"),
        invocations=world.invocations,
        events=aws.drain_events(),
        profile=aws.profile(),
    )


def run_local(aws: Aws, journey: str, run: Script) -> tuple[Outcome, Executor]:
    aws.reset_profile(run.profile)
    clock = VirtualClock(START)
    integrations = AwsIntegrations(events=aws.events)
    executor = Executor(clock, integrations, seed=7, region=REGION, account_id=ACCOUNT)
    world = World(run, LocalCallbacks(executor))
    for placeholder in (
        contract.SEND_EMAIL_FUNCTION,
        contract.SEND_SMS_FUNCTION,
        contract.TRIGGER_EVAL_FUNCTION,
    ):
        arn = SUBSTITUTIONS[placeholder]
        integrations.register_function(arn, lambda event, _, arn=arn: world(arn, event))
    machine = executor.create_state_machine(state_machine_name(journey), load(JOURNEYS[journey]))
    arn = executor.start_execution(machine, run.name, execution_input(run))
    clock.run_all()
    described = executor.describe_execution(arn)
    outcome = Outcome(
        status=described["status"],
        path=executor.path(arn),
        output=json.loads(described["output"]) if "output" in described else None,
        error=described.get("error"),
        cause=described.get("cause"),
        invocations=world.invocations,
        events=aws.drain_events(),
        profile=aws.profile(),
    )
    return outcome, executor


# ---------------------------------------------------------------------------------------------
# Normalisation: only values that differ between any two runs, in AWS as in moto

_REQUEST_ID = re.compile(r"Request ID: [^;)]*")


def _scrub(value: Any) -> Any:
    """DynamoDB request ids inside error causes are random per request."""
    if isinstance(value, str):
        return _REQUEST_ID.sub("Request ID: <id>", value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _event(event: dict[str, Any]) -> dict[str, Any]:
    """The bus event minus what EventBridge assigns (id, time) and the state's entered time, which
    is real time in moto and virtual time locally."""
    detail = dict(event["detail"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*", detail.pop("occurred_at"))
    return {
        "source": event["source"],
        "detail-type": event["detail-type"],
        "resources": event["resources"],
        "detail": detail,
    }


def _profile(item: dict[str, Any] | None) -> tuple[dict[str, Any], bool] | None:
    """The profile minus the value of ``updated_at`` (the state's entered time): real time in moto,
    virtual time locally. Whether it was set at all is compared."""
    if item is None:
        return None
    item = dict(item)
    return item, item.pop("updated_at", None) is not None


@pytest.mark.parametrize(("journey", "run"), CASES, ids=[f"{j}/{s.name}" for j, s in CASES])
def test_same_path_and_result_as_moto(aws: Aws, journey: str, run: Script) -> None:
    theirs = run_moto(aws, journey, run)
    ours, executor = run_local(aws, journey, run)

    assert ours.path == theirs.path
    assert ours.path[-1] == run.ends, (
        f"both interpreters ended in {ours.path[-1]}, the script says {run.ends}"
    )
    assert (ours.status, theirs.status) == (run.status, run.status)
    assert _scrub(ours.output) == _scrub(theirs.output)
    assert (ours.error, _scrub(ours.cause)) == (theirs.error, _scrub(theirs.cause))
    assert ours.invocations == theirs.invocations
    assert [_event(e) for e in ours.events] == [_event(e) for e in theirs.events]
    assert _profile(ours.profile) == _profile(theirs.profile)
    # and locally, virtual time moved by exactly what the journey waited for
    assert executor.clock.now() >= START


def test_every_state_of_every_journey_is_covered(aws: Aws) -> None:
    """The scripts take each journey through all its states, so the tier compares every branch."""
    for journey, scripts in SCRIPTS.items():
        assert len(scripts) >= 2, journey
        entered: set[str] = set()
        for run in scripts:
            outcome, _ = run_local(aws, journey, run)
            entered.update(outcome.path)
        assert entered == set(load(JOURNEYS[journey])["States"]), journey
    assert set(SCRIPTS) == set(JOURNEYS)
