"""The contract between compiled state machines and the runtime.

The compiler writes these names into ASL; trigger_eval, the send functions, the CDK stack and the
simulator read them from here. Change one side, change it here, and both move together."""

from __future__ import annotations

import hashlib
import re
from typing import Final

# ---- the Step Functions integrations compiled Tasks call (the stack grants exactly these)
LAMBDA_INVOKE: Final = "arn:aws:states:::lambda:invoke"
LAMBDA_CALLBACK: Final = "arn:aws:states:::lambda:invoke.waitForTaskToken"
EVENTS_PUT: Final = "arn:aws:states:::events:putEvents"
RESOURCES: Final = (LAMBDA_INVOKE, LAMBDA_CALLBACK, EVENTS_PUT)

# ---- placeholders in compiled ASL, filled by CDK definition_substitutions
#: A placeholder as the compiler lists it in the manifest and the stack checks it. CDK hands
#: ``definition_substitutions`` to CloudFormation unchanged, whose Step Functions handler replaces
#: the literal ``${key}`` of every key of the map (any string, underscores included): a narrower
#: pattern would let a key be filled without the manifest (hence IAM) knowing of it.
PLACEHOLDER: Final = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
SEND_EMAIL_FUNCTION: Final = "SendEmailFunctionArn"
SEND_SMS_FUNCTION: Final = "SendSmsFunctionArn"
TRIGGER_EVAL_FUNCTION: Final = "TriggerEvalFunctionArn"
EVENT_BUS: Final = "EventBusName"

SEND_FUNCTION_BY_CHANNEL: Final = {"email": SEND_EMAIL_FUNCTION, "sms": SEND_SMS_FUNCTION}

# ---- the stack's Lambda functions' memory, MB: the stack sizes them with it, the cost estimates bill it
FUNCTION_MEMORY_MB: Final = {
    "trigger_eval": 512,
    "send_email": 512,
    "send_sms": 512,
    "kpi_rollup": 512,
    "unsubscribe": 256,
}

# ---- what the state machines ask trigger_eval to do (Payload.action)
ACTION_EVALUATE: Final = "evaluate"  # if: {"result": bool}
ACTION_REGISTER_WAIT: Final = "register_wait"  # wait_for: stores the task token; resumed by the event
ACTION_NEXT_TIME: Final = "next_time"  # wait until: {"until": "2026-12-01T02:00:00Z"}
ACTION_STEP: Final = "step"  # tag / set / emit: applied unless paused (then held), called back
#: The callback error of a tag or set step whose profile is gone (erased): the ProfileGone state.
PROFILE_GONE_ERROR: Final = "ProfileGone"

# ---- execution input written by trigger_eval (StartExecution)
INPUT_USER: Final = "user_id"
INPUT_HOLDOUT: Final = "holdout"
INPUT_BUCKETS: Final = "buckets"  # split step key → bucket in [0, BUCKETS)
INPUT_ENTRY: Final = "entry"  # {"event_id", "type", "at"}

#: Deterministic buckets (canary, holdout, splits) are in [0, BUCKETS): 0.01 % resolution.
BUCKETS: Final = 10_000

#: Where a Task writes its result; the next Choice reads it. One scratch slot keeps state small.
LAST: Final = "$.last"

#: Longest a send may be deferred (send window, caps, paused journey) before it is skipped;
#: the send Task's TimeoutSeconds is this plus a margin, so a lost callback still ends.
MAX_DEFER_SECONDS: Final = 7 * 86400
SEND_TIMEOUT_SECONDS: Final = MAX_DEFER_SECONDS + 3600

#: How long a message stays attributable to its user (the message index, send intents): SES and
#: End User Messaging report opens, clicks and late bounces within this.
MESSAGE_INDEX_DAYS: Final = 45

#: Source of events that state machines and functions put on the bus.
JOURNEY_SOURCE: Final = "touchpoint.journey"
STEP_FAILED: Final = "journey.step_failed"
#: A campaign's lifecycle events: trigger_eval emits them, kpi_rollup counts them (docs/campaigns.md).
CAMPAIGN_JOINED = "journey.campaign_joined"
CAMPAIGN_CONVERTED = "journey.campaign_converted"
CAMPAIGN_REVENUE = "journey.campaign_revenue"

#: Event type prefixes Touchpoint itself emits; a journey may not emit these.
RESERVED_EVENT_PREFIXES: Final = ("email.", "sms.", "journey.", "touchpoint.")

#: Errors a Lambda task retries with backoff (our TransientError is raised on throttling and 5xx).
TRANSIENT_ERROR: Final = "TransientError"
#: What Step Functions reports when the function itself died (timed out, ran out of memory): the
#: send may have reached its provider, so it is retried into the send function, which finds the
#: send's intent and never calls the provider twice (docs/reliability.md).
CRASH_ERRORS: Final = ("Sandbox.Timedout", "Runtime.ExitError", "Lambda.Unknown")
#: A send's callback statuses that mean the message went (or may have gone) out: no fallback.
SENT_STATUSES: Final = ("sent", "sent_unconfirmed")
#: A guarded send (an ``if`` whose ``then`` side starts with this send, compiled into the send Task):
#: the Payload key of the ``if``'s condition, and the reason the send calls back with, without a
#: message event, when the condition is false (docs/decisions.md D22).
SEND_WHEN: Final = "when"
CONDITION_FALSE: Final = "condition_false"
#: A guarded send whose ``if`` has somewhere else to go when false (an ``else``, or steps after the
#: send on its ``then`` side) says so in this Payload key (``"fail"``): a false condition then
#: fails the task with ``CONDITION_FALSE_ERROR``, which the compiled Catch routes to that place, so
#: the ``if`` needs no Task and Choice of its own (docs/decisions.md D27).
SEND_WHEN_FALSE: Final = "when_false"
CONDITION_FALSE_ERROR: Final = "Touchpoint.ConditionFalse"


def split_key(step_id: str) -> str:
    """Key of a split's bucket in the execution input: JSONPath-safe and injective
    (``if-2.then.split-1`` → ``s_if_h2_dthen_dsplit_h1``)."""
    return "s_" + step_id.replace("_", "__").replace("-", "_h").replace(".", "_d")


# ---- names: a journey's state machine and its executions
#: Every journey's state machine is named ``touchpoint-<journey id>``; the execution-status rule
#: (touchpoint/routing.py) and trigger_eval find the journey of an ended execution by it.
STATE_MACHINE_PREFIX: Final = "touchpoint-"


def state_machine_name(journey_id: str) -> str:
    return f"{STATE_MACHINE_PREFIX}{journey_id}"


def journey_of(state_machine_arn: str) -> str | None:
    """The journey a state machine ARN belongs to (None: not a journey's state machine)."""
    name = state_machine_arn.rsplit(":", 1)[-1]
    return name.removeprefix(STATE_MACHINE_PREFIX) if name.startswith(STATE_MACHINE_PREFIX) else None


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives the execution ``name`` of a (standard) state machine."""
    return state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


def execution_name(journey_id: str, version: str, user_id: str, event_id: str) -> str:
    """Deterministic: a redelivered event maps to the same execution, which StartExecution will
    not start twice. At most 80 characters of [A-Za-z0-9-_]."""
    digest = hashlib.sha256(f"{journey_id}\x1f{version}\x1f{user_id}\x1f{event_id}".encode()).hexdigest()
    return f"{journey_id[:40]}-{digest[:32]}"
