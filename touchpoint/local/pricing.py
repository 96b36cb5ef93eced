"""AWS prices used for the simulator's cost estimate: one table, us-east-1, on-demand list prices.

Checked against the public AWS pricing pages in November 2026; SMS prices vary by country and
carrier and are the largest uncertainty. Change them here (and only here). Free tiers are ignored
(every request is billed from the first), so small runs are priced as one slice of a large account;
AWS services' own events on the default bus are free and never counted (``touchpoint.local.meter``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from touchpoint.contract import FUNCTION_MEMORY_MB

#: What the reports say of free tiers: the figures assume none applies.
FREE_TIERS: Final = "free tiers ignored"

PRICES: Final[dict[str, float]] = {
    "state_transition": 0.025 / 1000,  # Step Functions Standard, per state transition
    "lambda_request": 0.20 / 1_000_000,  # Lambda, per request
    "lambda_gb_second_arm": 0.0000133334,  # Lambda arm64, per GB-second
    "dynamodb_write_unit": 0.625 / 1_000_000,  # DynamoDB on-demand, per write request unit
    "dynamodb_read_unit": 0.125 / 1_000_000,  # DynamoDB on-demand, per read request unit
    "eventbridge_event": 1.00 / 1_000_000,  # EventBridge custom events put, per 64 KB chunk
    "scheduler_invocation": 1.00 / 1_000_000,  # EventBridge Scheduler, per invocation
    "sqs_request": 0.40 / 1_000_000,  # SQS standard, per request
    "ses_email": 0.10 / 1000,  # SES, per email sent
    "sms_segment_cn": 0.0316,  # End User Messaging SMS to +86, per message part (carrier fees included)
    "sms_segment_other": 0.00581,  # to +1 (US), per message part, before carrier fees
}

#: Assumed average Lambda duration (measured durations are milliseconds in-process, which would
#: understate a real Lambda's cold and warm starts); memory is each function's in the stack.
LAMBDA_SECONDS: Final = 0.12


#: DynamoDB read and write request units and custom events per Lambda invocation, by what it does
#: (``entry``: the trigger_eval run of an app event that enters one journey; a send function; a
#: trigger_eval action of a state machine), for ``touchpoint cost``. Averages over the demo scenario
#: (100 synthetic users, memory backend, November 2026; `python bench/invocation_units.py 100` prints
#: them): a send's gates, caps and deferrals vary per user. ``next_time`` is not in the demo; it
#: reads the profile once, as ``evaluate`` does.
INVOCATION_UNITS: Final[dict[str, tuple[float, float, float]]] = {
    "entry": (2.0, 4.24, 1.02),
    "send_email": (5.26, 11.2, 0.91),
    "send_sms": (5.34, 12.32, 0.97),
    "evaluate": (1.0, 0.0, 0.0),
    "next_time": (1.0, 0.0, 0.0),
    "register_wait": (0.0, 1.0, 0.0),
    "step": (1.0, 0.74, 0.32),
}


def lambda_invocation(function: str) -> float:
    """USD per invocation of a stack function (``trigger_eval`` or ``trigger-eval``): its request
    and LAMBDA_SECONDS at the memory the stack gives it (GB-seconds bill memory in GiB)."""
    gb = FUNCTION_MEMORY_MB[function.replace("-", "_")] / 1024
    return PRICES["lambda_request"] + LAMBDA_SECONDS * gb * PRICES["lambda_gb_second_arm"]


def estimate(
    transitions: int,
    invocations: Mapping[str, int],
    dynamodb_reads: float,
    dynamodb_writes: int,
    events: int,
    schedules: int,
    sqs: int,
    emails: int,
    sms_cn: int,
    sms_other: int,
) -> dict[str, float]:
    """Estimated AWS cost in USD of what the simulation did, per service; ``total`` sums them.
    ``invocations`` counts Lambda invocations by function. Messages (SES, SMS) are apart from the
    engine's own cost, which is what Touchpoint adds."""
    p = PRICES
    parts = {
        "step_functions": transitions * p["state_transition"],
        "lambda": sum(n * lambda_invocation(name) for name, n in sorted(invocations.items())),
        "dynamodb": dynamodb_reads * p["dynamodb_read_unit"] + dynamodb_writes * p["dynamodb_write_unit"],
        "eventbridge": events * p["eventbridge_event"] + schedules * p["scheduler_invocation"],
        "sqs": sqs * p["sqs_request"],
        "ses": emails * p["ses_email"],
        "sms": sms_cn * p["sms_segment_cn"] + sms_other * p["sms_segment_other"],
    }
    out = {name: round(value, 6) for name, value in parts.items()}
    out["total"] = round(sum(parts.values()), 6)
    return out
