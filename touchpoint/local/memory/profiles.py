"""The profiles table in memory, for population runs too big for moto: ``DynamoProfiles``' answers,
stored items and metered requests, without the wire.

An update is the mutation's own ``apply`` (the in-memory face DynamoProfiles already trusts for the
item after) gated by ``Mutation.admits`` (its ConditionExpression as a predicate): nothing here
re-derives what an event does to a profile."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from botocore.exceptions import ClientError

from touchpoint.aws.dynamo import to_item
from touchpoint.aws.profiles import tombstone
from touchpoint.engine.ports import Applied, Item
from touchpoint.local.memory.store import Table
from touchpoint.profiles import Mutation, refusal, trimming


class MemoryProfiles:
    """``DynamoProfiles`` over a ``Table(meter, "user_id")``."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, user_id: str) -> Item:
        self.table.request("GetItem")
        return self.table.get(user_id) or {}

    def apply(self, user_id: str, mutations: Sequence[Mutation]) -> Applied:
        """One UpdateItem per mutation (the first answers ``ALL_OLD``), one more to trim markers."""
        first, *rest = mutations
        self.table.request("UpdateItem")
        old = self.table.get(user_id) or {}
        why = refusal(first, old)
        if why is not None:
            return Applied(why, old, old)
        new = first.apply(old, user_id)
        for mutation in rest:
            self.table.request("UpdateItem")
            if not mutation.admits(new):  # never for mutations_for's; DynamoDB keeps the first update
                self.table.put(new)
                raise _condition_failed("UpdateItem")
            new = mutation.apply(new, user_id)
        trim = trimming(new, max(m.marker_at for m in mutations))
        if trim is not None:
            self.table.request("UpdateItem")
            new = trim.apply(new, user_id)
        self.table.put(new)
        return Applied("applied", old, new)

    def scan(self, start: Item | None, limit: int) -> tuple[list[Item], Item | None]:
        self.table.request("Scan")
        items, last = self.table.scan(start, limit)
        self.table.meter.scanned(to_item(i) for i in items)  # eventually consistent, as DynamoProfiles'
        return items, last

    def put(self, item: Item) -> None:
        self.table.request("PutItem")
        self.table.put(item)

    def erase(self, user_id: str, at: dt.datetime) -> None:
        self.table.request("PutItem")
        self.table.put(tombstone(user_id, at))


def _condition_failed(operation: str) -> ClientError:
    """What botocore raises for a refused condition (``DynamoProfiles`` passes it on)."""
    return ClientError(
        {"Error": {"Code": "ConditionalCheckFailedException", "Message": "The conditional request failed"}},
        operation,
    )
