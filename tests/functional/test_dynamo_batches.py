"""DynamoDB answers a throttled batch with part of it left over (``UnprocessedItems`` /
``UnprocessedKeys``), not with an error. The state storage sends the leftover again, backing off
with full jitter between rounds, and gives up with a TransientError after a bounded number of
rounds, so the caller's retry (the Task's, the SQS redelivery) takes over instead of a hot loop.

A transaction DynamoDB cancels says why per item; one a concurrent transaction cancelled names no
refused condition, and an entry written so is retried, not refused.

boto3's own Stubber plays DynamoDB (moto never leaves anything unprocessed, nor conflicts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from touchpoint.aws import state as state_module
from touchpoint.aws.dynamo import to_item
from touchpoint.aws.state import UNPROCESSED_BACKOFF, UNPROCESSED_ROUNDS, DynamoStorage
from touchpoint.engine.ports import EntryRecord, GroupSlot
from touchpoint.errors import TransientError
from touchpoint.state.repository import StateRepository
from touchpoint.state.storage import Cancelled, Put

TABLE = "state"


@pytest.fixture
def client() -> Iterator[tuple[Any, Stubber]]:
    dynamodb = boto3.client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(dynamodb) as stub:
        yield dynamodb, stub
        stub.assert_no_pending_responses()


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(state_module, "pause", waited.append)
    return waited


def _put(n: int) -> dict[str, Any]:
    return {"PutRequest": {"Item": to_item({"pk": f"USER#u-{n}", "sk": "X", "n": n})}}


def test_a_write_batch_s_leftover_is_sent_again_after_a_back_off(
    client: tuple[Any, Stubber], pauses: list[float]
) -> None:
    dynamodb, stub = client
    first, rest = [_put(n) for n in range(25)], [_put(n) for n in range(25, 30)]
    stub.add_response(
        "batch_write_item", {"UnprocessedItems": {TABLE: first[3:5]}}, {"RequestItems": {TABLE: first}}
    )
    stub.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {TABLE: first[3:5]}})
    stub.add_response("batch_write_item", {}, {"RequestItems": {TABLE: rest}})
    DynamoStorage(dynamodb, TABLE).write_all([{"pk": f"USER#u-{n}", "sk": "X", "n": n} for n in range(30)])
    assert len(pauses) == 1  # only between rounds
    assert 0 <= pauses[0] <= UNPROCESSED_BACKOFF


def test_a_read_batch_merges_what_each_round_returned(
    client: tuple[Any, Stubber], pauses: list[float]
) -> None:
    dynamodb, stub = client
    keys = [{"pk": {"S": f"USER#u-{n}"}, "sk": {"S": "X"}} for n in range(3)]
    items = [to_item({"pk": f"USER#u-{n}", "sk": "X", "n": n}) for n in range(3)]
    stub.add_response(
        "batch_get_item",
        {
            "Responses": {TABLE: items[:1]},
            "UnprocessedKeys": {TABLE: {"Keys": keys[1:], "ConsistentRead": True}},
        },
        {"RequestItems": {TABLE: {"Keys": keys, "ConsistentRead": True}}},
    )
    stub.add_response(
        "batch_get_item",
        {"Responses": {TABLE: items[1:]}},
        {"RequestItems": {TABLE: {"Keys": keys[1:], "ConsistentRead": True}}},
    )
    found = DynamoStorage(dynamodb, TABLE).batch_get([(f"USER#u-{n}", "X") for n in range(3)])
    assert {key: item["n"] for key, item in found.items()} == {(f"USER#u-{n}", "X"): n for n in range(3)}
    assert len(pauses) == 1


def test_a_batch_dynamodb_never_finishes_is_a_transient_error_after_bounded_rounds(
    client: tuple[Any, Stubber], pauses: list[float]
) -> None:
    dynamodb, stub = client
    batch = [{"DeleteRequest": {"Key": {"pk": {"S": f"USER#u-{n}"}, "sk": {"S": "X"}}}} for n in range(2)]
    for _ in range(UNPROCESSED_ROUNDS):
        stub.add_response("batch_write_item", {"UnprocessedItems": {TABLE: batch[1:]}})
    with pytest.raises(
        TransientError, match=f"batch_write_item: 1 left unprocessed after {UNPROCESSED_ROUNDS} rounds"
    ):
        DynamoStorage(dynamodb, TABLE).delete_all([(f"USER#u-{n}", "X") for n in range(2)])
    assert len(pauses) == UNPROCESSED_ROUNDS - 1
    assert all(0 <= p <= min(1.0, UNPROCESSED_BACKOFF * 2**n) for n, p in enumerate(pauses))


def test_a_transaction_a_concurrent_one_cancelled_names_no_condition_and_the_entry_is_retried(
    client: tuple[Any, Stubber],
) -> None:
    """DynamoDB cancels a transaction that overlaps another on an item (``TransactionConflict``):
    no condition refused, so the storage names none and the entry is a TransientError for the
    caller's retry, not a refusal; a refusal is named by its position."""
    dynamodb, stub = client
    conflict = [{"Code": "None"}, {"Code": "TransactionConflict", "Message": "in progress"}]
    refused = [{"Code": "ConditionalCheckFailed", "Message": "refused"}, {"Code": "None"}]
    for reasons in (conflict, refused, conflict):
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields={"CancellationReasons": reasons},
        )
    storage = DynamoStorage(dynamodb, TABLE)
    puts = [Put({"pk": "USER#u-1", "sk": "GROUP#g"}), Put({"pk": "USER#u-1", "sk": "ENTRY#j"})]
    assert storage.transact(puts) == Cancelled(())
    assert storage.transact(puts) == Cancelled((0,))
    record = EntryRecord("j", "arn:x", dt.datetime(2026, 12, 1, tzinfo=dt.UTC), "e1", "running", False, "g")
    with pytest.raises(TransientError, match="written concurrently"):
        StateRepository(storage).enter("u-1", record, None, GroupSlot("g", "j", 1, "arn:x"), None)
