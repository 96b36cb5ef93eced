"""Which events reach which function: the EventBridge rules, defined once.

The CDK stack creates exactly these rules; the simulator's local router matches events against the
same patterns (with moto's EventPattern), so an event that would not reach trigger_eval in AWS does
not reach it locally either."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from touchpoint import contract

Bus = Literal["app", "default"]
Target = Literal["trigger", "kpi"]

#: detail-type prefix of journey lifecycle events (entered, message_sent, …, converted).
JOURNEY_EVENT_PREFIX = "journey."

#: The SES events Touchpoint uses: the configuration set publishes these and the rule routes them.
SES_DETAIL_TYPES = (
    "Email Delivered",
    "Email Opened",
    "Email Clicked",
    "Email Bounced",
    "Email Complaint Received",
    "Email Rendering Failed",
    "Email Rejected",
)
#: SES events that exist but say nothing final about a message (docs/events.md): not published.
SES_UNUSED_DETAIL_TYPES = ("Email Sent", "Email Delivery Delayed", "Email Subscribed")
#: SES tags every event it publishes through a configuration set with the set's name.
SES_CONFIGURATION_SET_TAG = "ses:configuration-set"
#: Lambda event source mapping of each target's queue: (batch size, batching window in seconds).
#: kpi_rollup counts a whole batch in a few transactions, so it takes big batches.
BATCHING: dict[Target, tuple[int, int]] = {"trigger": (10, 1), "kpi": (100, 10)}

SFN_STATUS_CHANGE = "Step Functions Execution Status Change"
SMS_STATUS = "Text Message Delivery Status Updated"  # End User Messaging SMS → default bus


@dataclass(frozen=True)
class Rule:
    name: str
    bus: Bus  # "app": the Touchpoint bus; "default": the account's default bus (AWS service events)
    pattern: dict[str, Any]
    targets: tuple[Target, ...]
    description: str


RULES: tuple[Rule, ...] = (
    Rule(
        "app-events",
        "app",
        {"detail-type": [{"anything-but": {"prefix": JOURNEY_EVENT_PREFIX}}]},
        ("trigger",),
        "App events and events journeys emit (lead.qualified …) → trigger_eval.",
    ),
    Rule(
        "journey-events",
        "app",
        {"source": [contract.JOURNEY_SOURCE], "detail-type": [{"prefix": JOURNEY_EVENT_PREFIX}]},
        ("kpi",),
        "Journey lifecycle events (entered, message sent/skipped/failed, exited, converted) → kpi_rollup.",
    ),
    Rule(
        "ses-events",
        "default",
        {"source": ["aws.ses"], "detail-type": list(SES_DETAIL_TYPES)},
        ("trigger", "kpi"),
        "SES message feedback (SES publishes to the default bus only) → both.",
    ),
    Rule(
        "sms-events",
        "default",
        {"source": ["aws.sms-voice"], "detail-type": [SMS_STATUS]},
        ("trigger", "kpi"),
        "End User Messaging SMS delivery status (published to the default bus) → both.",
    ),
    Rule(
        "execution-status",
        "default",
        {
            "source": ["aws.states"],
            "detail-type": [SFN_STATUS_CHANGE],
            "detail": {
                "status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"],
                "stateMachineArn": [{"wildcard": f"*:stateMachine:{contract.STATE_MACHINE_PREFIX}*"}],
            },
        },
        ("trigger",),
        "Journey executions that ended → trigger_eval (frees group slots, records exits).",
    ),
)


def rules_for(target: Target) -> list[Rule]:
    return [rule for rule in RULES if target in rule.targets]


#: An origination identity the events name as is: an E.164 number, or a sender ID (End User
#: Messaging's SenderId shape, 1-11 of [A-Za-z0-9_-]); not a phone-…/pool-… id or an ARN.
_SENDER = re.compile(r"\+[1-9][0-9]{6,14}|(?!phone-|pool-|senderid-)[A-Za-z0-9_-]{1,11}")


def deployed(ses_configuration_set: str, sms_origination: str | None = None) -> tuple[Rule, ...]:
    """``RULES`` as a deployment creates them: the SES rule matches only events of this stack's
    configuration set, and the SMS rule, when the origination identity is a number or a sender
    ID (End User Messaging's events name it in ``originationPhoneNumber``), only this stack's
    messages, so other applications' mail and texts in the account are never counted. An
    origination identity given as an id or ARN (``phone-…``, ``pool-…``) cannot be matched by
    pattern: those events are filtered by the message index instead (docs/events.md)."""
    out = []
    for rule in RULES:
        pattern = dict(rule.pattern)
        if rule.name == "ses-events":
            pattern["detail"] = {"mail": {"tags": {SES_CONFIGURATION_SET_TAG: [ses_configuration_set]}}}
        if rule.name == "sms-events" and sms_origination and _SENDER.fullmatch(sms_origination):
            pattern["detail"] = {"originationPhoneNumber": [sms_origination]}
        out.append(replace(rule, pattern=pattern))
    return tuple(out)
