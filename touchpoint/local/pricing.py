"""AWS prices used for the simulator's cost estimate: one table, us-east-1, on-demand list prices.

Checked against the public AWS pricing pages in November 2026; SMS prices vary by country and
carrier and are the largest uncertainty. Change them here (and only here)."""

from __future__ import annotations

from typing import Final

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

#: Assumed average Lambda duration and memory (measured durations are milliseconds in-process,
#: which would understate a real Lambda's cold and warm starts).
LAMBDA_SECONDS: Final = 0.12
LAMBDA_GB: Final = 0.25


def estimate(
    transitions: int,
    lambda_invocations: int,
    dynamodb_reads: int,
    dynamodb_writes: int,
    events: int,
    schedules: int,
    sqs: int,
    emails: int,
    sms_cn: int,
    sms_other: int,
) -> dict[str, float]:
    """Estimated AWS cost in USD of what the simulation did, per service; ``total`` sums them.
    Messages (SES, SMS) are apart from the engine's own cost, which is what Touchpoint adds."""
    p = PRICES
    parts = {
        "step_functions": transitions * p["state_transition"],
        "lambda": lambda_invocations
        * (p["lambda_request"] + LAMBDA_SECONDS * LAMBDA_GB * p["lambda_gb_second_arm"]),
        "dynamodb": dynamodb_reads * p["dynamodb_read_unit"] + dynamodb_writes * p["dynamodb_write_unit"],
        "eventbridge": events * p["eventbridge_event"] + schedules * p["scheduler_invocation"],
        "sqs": sqs * p["sqs_request"],
        "ses": emails * p["ses_email"],
        "sms": sms_cn * p["sms_segment_cn"] + sms_other * p["sms_segment_other"],
    }
    out = {name: round(value, 6) for name, value in parts.items()}
    out["total"] = round(sum(parts.values()), 6)
    return out
