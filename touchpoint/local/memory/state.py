"""The state table in memory, for population runs too big for moto: the ``Storage`` of
``touchpoint.state.storage`` over a ``Table``, with conditions and updates evaluated on the
stored item as DynamoDB would, and every request metered as the DynamoDB storage sends it
(whether or not its condition holds), so the same repository gives the same answers, items and
requests on both (tests/local/test_state_storage.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, assert_never

from touchpoint.engine.ports import Item
from touchpoint.local.memory.store import Table, stored
from touchpoint.state.storage import Assign, Cancelled, Condition, Has, Is, Junction, Key, Put

#: moto ends a Query page before the item that would take it past 1 MB (its ``RESULT_SIZE_LIMIT``)
PAGE_BYTES = 1_000_000
BATCH_GET_KEYS = 100
BATCH_WRITE_ITEMS = 25


class MemoryStorage:
    """A ``Storage`` over ``Table(meter, "pk", "sk")``."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, key: Key) -> Item:
        self.table.request("GetItem")
        return self.table.get(*key) or {}

    def query(self, pk: str, prefix: str | None = None) -> list[Item]:
        """The partition (``begins_with(sk, prefix)``), metering one Query per page moto would send."""
        items = self.table.query(pk)
        found = items if prefix is None else [i for i in items if i["sk"].startswith(prefix)]
        for _ in range(_pages(items, prefix)):
            self.table.request("Query")
        return found

    def batch_get(self, keys: Iterable[Key]) -> dict[Key, Item]:
        wanted = sorted(set(keys))
        found: dict[Key, Item] = {}
        for start in range(0, len(wanted), BATCH_GET_KEYS):
            chunk = wanted[start : start + BATCH_GET_KEYS]
            self.table.request("BatchGetItem", items=len(chunk))
            for key in chunk:
                item = self.table.get(*key)
                if item is not None:
                    found[key] = item
        return found

    def put(self, item: Item, condition: Condition | None = None) -> bool:
        self.table.request("PutItem")
        if condition is not None and not holds(self.table.peek(item["pk"], item["sk"]), condition):
            return False
        self.table.put(item)
        return True

    def update(self, key: Key, updates: Sequence[Assign], condition: Condition) -> Item | None:
        self.table.request("UpdateItem")
        if not holds(self.table.peek(*key), condition):
            return None
        item = self.table.get(*key) or {"pk": key[0], "sk": key[1]}
        for update in updates:
            if not (update.if_missing and update.attribute in item):
                item[update.attribute] = update.value
        self.table.put(item)
        return self.table.get(*key)

    def delete(self, key: Key, condition: Condition | None = None) -> bool:
        self.table.request("DeleteItem")
        if condition is not None and not holds(self.table.peek(*key), condition):
            return False
        self.table.delete(*key)
        return True

    def write_all(self, items: Sequence[Item]) -> None:
        if len(items) == 1:
            self.put(items[0])
            return
        for start in range(0, len(items), BATCH_WRITE_ITEMS):
            chunk = items[start : start + BATCH_WRITE_ITEMS]
            self.table.request("BatchWriteItem", items=len(chunk))
            for item in chunk:
                self.table.put(item)

    def delete_all(self, keys: Sequence[Key]) -> None:
        for start in range(0, len(keys), BATCH_WRITE_ITEMS):
            chunk = keys[start : start + BATCH_WRITE_ITEMS]
            self.table.request("BatchWriteItem", items=len(chunk))
            for key in chunk:
                self.table.delete(*key)

    def transact(self, puts: Sequence[Put]) -> Cancelled | None:
        """All or nothing, every condition judged (as DynamoDB reports each item's reason). No
        conflicting transactions: nothing else writes at the same time."""
        self.table.request("TransactWriteItems", items=len(puts))
        if not puts or len({(p.item["pk"], p.item["sk"]) for p in puts}) != len(puts):
            # botocore refuses the first (no items), DynamoDB the second (an item named twice)
            raise ValueError("a transaction needs one or more items, each at most once")
        failed = tuple(
            n
            for n, put in enumerate(puts)
            if put.condition is not None
            and not holds(self.table.peek(put.item["pk"], put.item["sk"]), put.condition)
        )
        if failed:
            return Cancelled(failed)
        for put in puts:
            self.table.put(put.item)
        return None


def holds(item: Item | None, condition: Condition) -> bool:
    """``condition`` on the stored item (None: there is none), as DynamoDB evaluates it."""
    match condition:
        case Has(attribute, has):
            return (item is not None and attribute in item) == has
        case Is(attribute, values, negated):
            if item is None or attribute not in item:
                return negated
            return any(_same(item[attribute], v) for v in values) != negated
        case Junction(op, parts):
            return (all if op == "AND" else any)(holds(item, p) for p in parts)
        case _:
            assert_never(condition)


def _same(stored_value: Any, value: Any) -> bool:
    """Equal as the stored value: numbers as Decimals, sets as sets."""
    return bool(stored_value == stored({"v": value})["v"])


def _pages(items: Sequence[Item], prefix: str | None) -> int:
    """How many pages moto answers a Query of this partition (``items`` in sort-key order) in: a
    page ends before the item, matching or not, that would take its matching items past 1 MB."""
    pages, size = 1, 0
    for item in items:
        item_size = _size(item)
        if size + item_size > PAGE_BYTES:
            pages, size = pages + 1, 0
        if prefix is None or item["sk"].startswith(prefix):
            size += item_size
    return pages


def _size(value: Any) -> int:
    """A stored value's size as moto counts it (``DynamoType.size``; an item is a map). By exact
    type, as boto3's deserializer makes them: this runs over every item a Query reads."""
    kind = type(value)
    if kind is str:
        return len(value.encode())
    if kind is dict:
        total = 0
        for k, v in value.items():
            total += len(k.encode()) + (len(v.encode()) if type(v) is str else _size(v))
        return total
    if kind is bool or value is None:
        return 1
    if kind is Decimal or kind is int:
        return len(str(value))
    if kind is list or kind is set:
        return sum(_size(v) for v in value)
    return len(bytes(value))  # Binary, never stored in this table
