"""The entry-requests bench counts what it says (bench/entry_requests.py): exact request counts on
the in-memory backend for events that enter a journey with a group, one without, and none."""

from __future__ import annotations

from bench.entry_requests import bench_entry_requests, requests_per_event


def test_the_bench_counts_three_requests_per_entering_event_and_one_otherwise() -> None:
    counted = requests_per_event(50)
    assert counted["grouped"] == {"UpdateItem": 50, "BatchGetItem": 1, "Query": 50, "TransactWriteItems": 50}
    assert counted["plain"] == {"UpdateItem": 50, "BatchGetItem": 1, "Query": 50, "PutItem": 50}
    assert counted["nothing"] == {"UpdateItem": 50}
    assert bench_entry_requests(50)["dynamodb_per_entry"].value == 3
