"""What the simulator bills (touchpoint/local/meter.py, pricing.py): AWS services' events on the
default bus are free and no request of ours, a Scan page costs read units by the size it read, and
each function's Lambda time is billed at the memory the stack gives it."""

from __future__ import annotations

import pytest

from touchpoint.aws.dynamo import to_item
from touchpoint.contract import FUNCTION_MEMORY_MB
from touchpoint.local.meter import Meter, item_size
from touchpoint.local.pricing import LAMBDA_SECONDS, PRICES, estimate, lambda_invocation


def test_default_bus_events_are_neither_requests_nor_billed() -> None:
    meter = Meter()
    meter.record("events", "PutEvents", {"Entries": [{"Source": "aws.ses"}, {"Source": "aws.states"}]})
    meter.record("events", "PutEvents", {"Entries": [{"Source": "aws.ses", "EventBusName": "default"}]})
    assert meter.calls == {}
    assert meter.units == {}
    mixed = [{"Source": "app", "EventBusName": "touchpoint"}, {"Source": "aws.ses"}]
    meter.record("events", "PutEvents", {"Entries": mixed})
    assert meter.calls == {("events", "PutEvents"): 1}
    assert meter.units == {"events": 1}


def test_item_size_follows_dynamodbs_rules() -> None:
    # user_id+u1 = 9; n + 123 (2 bytes for 3 digits, +1) = 4; m + 3 + (1 + a + x) = 7;
    # l + 3 + (1 + 2) + (1 + 1) = 9; b + 2 raw bytes = 3
    item = to_item({"user_id": "u1", "n": 123, "m": {"a": "x"}, "l": [1, True], "b": b"ab"})
    assert item_size(item) == 32
    assert item_size(to_item({"n": 1200})) == 1 + 2  # trailing zeros trimmed: "12"
    assert item_size(to_item({"名": "值"})) == 6  # UTF-8 bytes


def test_a_scan_page_is_billed_by_the_size_it_read() -> None:
    meter = Meter()
    meter.count("dynamodb", "Scan")
    assert meter.units["dynamodb_read"] == 0  # the request alone bills nothing: its page does
    page = [to_item({"user_id": f"u{i:04d}", "bio": "x" * 990}) for i in range(10)]  # 10 × 1,001 bytes
    meter.scanned(page)  # 10,010 bytes: three 4 KB chunks, eventually consistent: 1.5 units
    meter.scanned([])  # an empty page still costs the minimum
    assert meter.units["dynamodb_read_half"] == 3 + 1
    meter.scanned(page, consistent=True)
    assert meter.units["dynamodb_read"] == 3


@pytest.mark.parametrize("function", ["trigger-eval", "send_email", "unsubscribe"])
def test_lambda_is_billed_at_the_stacks_memory(function: str) -> None:
    gb = FUNCTION_MEMORY_MB[function.replace("-", "_")] / 1024
    assert (
        lambda_invocation(function)
        == PRICES["lambda_request"] + LAMBDA_SECONDS * gb * PRICES["lambda_gb_second_arm"]
    )
    assert FUNCTION_MEMORY_MB["send_email"] == 512  # infra/wiring.py sizes the stack from this table


def test_estimate_bills_each_functions_invocations() -> None:
    zero = {"dynamodb_reads": 0, "dynamodb_writes": 0, "events": 0, "schedules": 0}
    zero |= {"sqs": 0, "emails": 0, "sms_cn": 0, "sms_other": 0}
    cost = estimate(transitions=0, invocations={"send-email": 1000, "unsubscribe": 1000}, **zero)
    # 2,000 requests at $0.20 per million, 0.12 s at 0.5 GB and at 0.25 GB at $0.0000133334 per GB-s
    expected = 2000 * 0.20 / 1e6 + 1000 * 0.12 * (0.5 + 0.25) * 0.0000133334
    assert cost["lambda"] == round(expected, 6)
    assert cost["total"] == cost["lambda"]
