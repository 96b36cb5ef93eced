"""The state table in memory, for population runs too big for moto: ``DynamoState``'s answers,
stored items and metered requests, without the wire.

``MemoryState`` is a ``DynamoState`` whose four plumbing reads and writes (``_get``, ``_query``,
``_batch_get`` and an unconditional ``_put``) go to a ``Table``, so every method that only uses
them (entries, waits, flags, holds, the send view, messages, rejects, ``user_state``) is
DynamoState's own code and writes DynamoState's own item shapes. The methods whose requests carry
condition or update expressions, deletes or batch writes are re-implemented here as predicates on
the stored item, in the order DynamoState evaluates them, metering the request DynamoState sends
whether or not its condition holds. Anything else that would reach the wire raises."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from touchpoint.aws.state import (
    DynamoState,
    _entry,
    _intent,
    entry_item,
    group_item,
    intent_items,
    intent_key,
)
from touchpoint.clock import iso
from touchpoint.engine.ports import EntryRecord, GroupSlot, Item, SendIntent
from touchpoint.local.memory.store import Table

#: moto ends a Query page before the item that would take it past 1 MB (its ``RESULT_SIZE_LIMIT``)
PAGE_BYTES = 1_000_000
BATCH_GET_KEYS = 100
BATCH_WRITE_ITEMS = 25


class MemoryState(DynamoState):
    """``DynamoState`` over a ``Table(meter, "pk", "sk")``; it has no client and no table name."""

    def __init__(self, table: Table) -> None:  # DynamoState's (client, table name) are never used
        self.store = table

    # ------------------------------------------------------------------ plumbing

    def _aws(self, operation: str, **request: Any) -> dict[str, Any]:
        """Every request DynamoState builds is answered by an override; a new one must be too."""
        raise NotImplementedError(f"MemoryState does not implement {operation}: override its caller")

    def _put(
        self,
        item: Item,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> bool:
        if condition:  # only claim_group's put is conditional, and it is overridden
            raise NotImplementedError(f"MemoryState does not evaluate {condition!r}: override its caller")
        self.store.request("PutItem")
        self.store.put(item)
        return True

    def _get(self, pk: str, sk: str) -> Item:
        self.store.request("GetItem")
        return self.store.get(pk, sk) or {}

    def _query(self, pk: str, prefix: str | None = None) -> list[Item]:
        """The partition (``begins_with(sk, prefix)``), metering one Query per page moto would send."""
        items = self.store.query(pk)
        found = items if prefix is None else [i for i in items if i["sk"].startswith(prefix)]
        for _ in range(_pages(items, prefix)):
            self.store.request("Query")
        return found

    def _batch_get(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        wanted = sorted(set(keys))
        found: dict[tuple[str, str], Item] = {}
        for start in range(0, len(wanted), BATCH_GET_KEYS):
            chunk = wanted[start : start + BATCH_GET_KEYS]
            self.store.request("BatchGetItem", items=len(chunk))
            for key in chunk:
                item = self.store.get(*key)
                if item is not None:
                    found[key] = item
        return found

    def _write_all(self, items: Sequence[Item]) -> None:
        if len(items) == 1:
            self._put(items[0])
            return
        for start in range(0, len(items), BATCH_WRITE_ITEMS):
            chunk = items[start : start + BATCH_WRITE_ITEMS]
            self.store.request("BatchWriteItem", items=len(chunk))
            for item in chunk:
                self.store.put(item)

    def _delete_all(self, keys: Sequence[tuple[str, str]]) -> None:
        for start in range(0, len(keys), BATCH_WRITE_ITEMS):
            chunk = keys[start : start + BATCH_WRITE_ITEMS]
            self.store.request("BatchWriteItem", items=len(chunk))
            for pk, sk in chunk:
                self.store.delete(pk, sk)

    def _delete(self, pk: str, sk: str) -> Item | None:
        self.store.request("DeleteItem")
        return self.store.delete(pk, sk)

    def _update(self, pk: str, sk: str, execution_arn: str) -> Item | None:
        """An UpdateItem conditioned on ``execution_arn = :arn``: the item to change, if it holds."""
        self.store.request("UpdateItem")
        stored = self.store.peek(pk, sk)
        if stored is None or stored.get("execution_arn") != execution_arn:
            return None
        return self.store.get(pk, sk)

    def _write_caps(self, writes: Sequence[tuple[Item, Item]], backoff: int | None) -> bool:
        """One TransactWriteItems of cap puts, each conditioned on the item it read being current
        (``version = :v``, or ``attribute_not_exists(pk)`` when it read none): all or nothing.
        No back-off: nothing else writes, so only a stale ``prefetched`` read can conflict."""
        self.store.request("TransactWriteItems", items=len(writes))
        if not writes or len({(new["pk"], new["sk"]) for _, new in writes}) != len(writes):
            # botocore refuses the first (no scopes), DynamoDB the second (a scope named twice)
            raise ValueError("a transaction needs one or more items, each at most once")
        for read, new in writes:
            stored = self.store.peek(new["pk"], new["sk"])
            if read:
                current = (
                    stored is not None
                    and "version" in stored
                    and stored["version"] == int(read.get("version", 0))
                )
            else:
                current = stored is None
            if not current:
                return False
        for _, new in writes:
            self.store.put(new)
        return True

    # ------------------------------------------------------------------ user state

    def end_entry(
        self, user_id: str, journey_id: str, execution_arn: str, status: str, reason: str | None
    ) -> EntryRecord | None:
        item = self._update(f"USER#{user_id}", f"ENTRY#{journey_id}", execution_arn)
        if item is None or item.get("status") == "ended":
            return None
        item["status"], item["final_status"] = "ended", status
        if reason and "exit_reason" not in item:
            item["exit_reason"] = reason
        self.store.put(item)
        return _entry(item)

    def mark_exiting(self, user_id: str, journey_id: str, execution_arn: str, reason: str) -> bool:
        item = self._update(f"USER#{user_id}", f"ENTRY#{journey_id}", execution_arn)
        if item is None or item.get("status") != "running":
            return False
        item["status"], item["exit_reason"] = "exiting", reason
        self.store.put(item)
        return True

    def record_conversion(self, user_id: str, journey_id: str, execution_arn: str, at: dt.datetime) -> bool:
        item = self._update(f"USER#{user_id}", f"ENTRY#{journey_id}", execution_arn)
        if item is None or "converted_at" in item:
            return False
        item["converted_at"] = iso(at)
        self.store.put(item)
        return True

    def claim_group(self, user_id: str, slot: GroupSlot, replacing: str | None) -> bool:
        self.store.request("PutItem")
        pk, sk = f"USER#{user_id}", f"GROUP#{slot.group}"
        stored = self.store.peek(pk, sk)
        if stored is not None:
            holder = stored.get("execution_arn")
            if holder != slot.execution_arn and not (replacing and holder == replacing):
                return False
        self.store.put(group_item(user_id, slot))
        return True

    def release_group(self, user_id: str, group: str, execution_arn: str) -> None:
        self.store.request("DeleteItem")
        pk, sk = f"USER#{user_id}", f"GROUP#{group}"
        stored = self.store.peek(pk, sk)
        if stored is not None and stored.get("execution_arn") == execution_arn:
            self.store.delete(pk, sk)

    def take_wait(self, user_id: str, sort_key: str) -> bool:
        return self._delete(f"USER#{user_id}", sort_key) is not None

    # ------------------------------------------------------------------ holds, messages, dates

    def begin_send(self, intent: SendIntent, ttl: dt.datetime) -> SendIntent | None:
        item, ref = intent_items(intent, ttl)
        self.store.request("TransactWriteItems", items=2)
        stored = self.store.get(item["pk"], item["sk"])
        if stored is not None:  # cancelled by the condition: DynamoState reads the intent back
            self.store.request("GetItem")
            return _intent(stored)
        self.store.put(item)
        self.store.put(ref)
        return None

    def reconcile_send(
        self, digest: str, message_id: str, ttl: dt.datetime
    ) -> tuple[SendIntent, bool] | None:
        pk, sk = intent_key(digest)
        self.store.request("UpdateItem")
        stored = self.store.get(pk, sk)
        if stored is None or stored.get("status") not in ("calling", "unconfirmed"):
            self.store.request("GetItem")
            return (_intent(stored), False) if stored is not None else None
        stored["status"], stored["message_id"] = "reconciled", message_id
        self.store.put(stored)
        intent = _intent(stored)
        self.put_message(intent.message(message_id), ttl)
        return intent, True

    def put_entry(self, user_id: str, record: EntryRecord, replacing: str | None) -> bool:
        self.store.request("PutItem")
        item = entry_item(user_id, record)
        stored = self.store.peek(item["pk"], item["sk"])
        holds = stored is None if replacing is None else (stored or {}).get("execution_arn") == replacing
        if not holds:
            return False
        self.store.put(item)
        return True

    def index_date(self, attribute: str, keys: Iterable[str], user_id: str, add: bool) -> None:
        for key in keys:
            if add:
                self._put({"pk": f"DATE#{attribute}#{key}", "sk": user_id})
            else:
                self._delete(f"DATE#{attribute}#{key}", user_id)


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
