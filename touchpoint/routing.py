"""Which events reach which function: the EventBridge rules, defined once.

The CDK stack creates exactly these rules; the simulator's local router matches events against the
same patterns (with moto's EventPattern), so an event that would not reach trigger_eval in AWS does
not reach it locally either."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from touchpoint import contract

Bus = Literal["app", "default"]
Target = Literal["trigger", "kpi"]

#: detail-type prefix of journey lifecycle events (entered, message_sent, …, converted).
JOURNEY_EVENT_PREFIX = "journey."

SES_DETAIL_TYPES = (
    "Email Send",
    "Email Delivered",
    "Email Delivery Delayed",
    "Email Opened",
    "Email Clicked",
    "Email Bounced",
    "Email Complaint Received",
    "Email Rendering Failed",
    "Email Rejected",
    "Email Subscribed",
)
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
                "stateMachineArn": [{"wildcard": "*:stateMachine:touchpoint-*"}],
            },
        },
        ("trigger",),
        "Journey executions that ended → trigger_eval (frees group slots, records exits).",
    ),
)


def rules_for(target: Target) -> list[Rule]:
    return [rule for rule in RULES if target in rule.targets]
