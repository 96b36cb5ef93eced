"""Items by key, for the in-memory adapters: what a DynamoDB table holds, without the wire.

Items are stored as DynamoDB would give them back (through boto3's own TypeSerializer and
TypeDeserializer: numbers become Decimal, number sets stay sets), and every read hands out a copy,
so an adapter can neither see a type DynamoDB would not return nor change a stored item in place.
Order follows moto's: partitions sorted by key, a page ends before the item past its limit."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from touchpoint.aws.dynamo import from_item, to_item
from touchpoint.local.copies import deep_copy
from touchpoint.local.meter import Meter

Item = dict[str, Any]
Key = tuple[str, str]


_AS_IS = frozenset({str, bool, type(None)})
_DIGITS, _EXPONENT = 38, 100  # well inside DynamoDB's number context (38 digits, exponents -130..125)


def stored(item: Item) -> Item:
    """The item as a read would return it after writing it."""
    return {k: _stored(v) for k, v in item.items()}


def _stored(value: Any) -> Any:
    """What boto3's TypeSerializer and TypeDeserializer make of ``value``, taken directly for the
    values whose round trip is plain (strings, booleans, nulls, ints and Decimals that fit,
    maps and lists of those); anything else (floats, sets, bytes, …) takes the real round trip."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is int and -(10**_DIGITS) < value < 10**_DIGITS:
        return Decimal(value)
    if kind is Decimal and value.is_finite():
        _, digits, exponent = value.as_tuple()
        if len(digits) <= _DIGITS and isinstance(exponent, int) and abs(exponent) <= _EXPONENT:
            return value
    if kind is dict and all(type(k) is str for k in value):
        return {k: _stored(v) for k, v in value.items()}
    if kind is list:
        return [_stored(v) for v in value]
    return from_item(to_item({"v": value}))["v"]


class Table:
    """A table keyed on ``hash_key`` (and ``range_key``), with its sort keys kept in order."""

    def __init__(self, meter: Meter, hash_key: str, range_key: str | None = None) -> None:
        self.meter, self.hash_key, self.range_key = meter, hash_key, range_key
        #: A scenario's DynamoDB faults (touchpoint/local/faults.py): raises before the request.
        self.fault: Callable[[str], None] | None = None
        self.partitions: dict[str, dict[str, Item]] = {}
        self._sorted: dict[str, list[str]] = {}
        self._all: list[Key] | None = []  # every key in scan order; None until a scan needs it again

    def request(self, operation: str, items: int = 1) -> None:
        if self.fault is not None:
            self.fault(operation)
        self.meter.count("dynamodb", operation, items)

    def key(self, item: Item) -> Key:
        return item[self.hash_key], (item[self.range_key] if self.range_key else "")

    def get(self, pk: str, sk: str = "") -> Item | None:
        item = self.partitions.get(pk, {}).get(sk)
        return None if item is None else deep_copy(item)

    def peek(self, pk: str, sk: str = "") -> Item | None:
        """The stored item itself, for a condition check: not to be changed or handed out."""
        return self.partitions.get(pk, {}).get(sk)

    def put(self, item: Item) -> None:
        pk, sk = self.key(item)
        partition = self.partitions.setdefault(pk, {})
        if sk not in partition:
            bisect.insort(self._sorted.setdefault(pk, []), sk)
            self._all = None
        partition[sk] = stored(item)

    def delete(self, pk: str, sk: str = "") -> Item | None:
        partition = self.partitions.get(pk)
        if partition is None or sk not in partition:
            return None
        old = partition.pop(sk)
        self._all = None
        keys = self._sorted[pk]
        del keys[bisect.bisect_left(keys, sk)]
        if not partition:
            del self.partitions[pk], self._sorted[pk]
        return old

    def query(self, pk: str, first: str | None = None, last: str | None = None) -> list[Item]:
        """A partition's items in sort-key order, those with ``first <= sk <= last`` when given."""
        keys = self._sorted.get(pk, [])
        lo = 0 if first is None else bisect.bisect_left(keys, first)
        hi = len(keys) if last is None else bisect.bisect_right(keys, last)
        partition = self.partitions.get(pk, {})
        return [deep_copy(partition[sk]) for sk in keys[lo:hi]]

    def prefixed(self, pk: str, prefix: str) -> list[Item]:
        """``begins_with(sk, prefix)``."""
        field = self.range_key or self.hash_key
        return [i for i in self.query(pk, prefix) if str(i[field]).startswith(prefix)]

    def scan(self, start: Item | None, limit: int) -> tuple[list[Item], Item | None]:
        """One page of a Scan in moto's order (by key); the last key only when more items follow."""
        if self._all is None:
            self._all = sorted((pk, sk) for pk in self.partitions for sk in self.partitions[pk])
        keys = self._all
        lo = 0 if not start else bisect.bisect_right(keys, self.key(start))
        page = keys[lo : lo + limit]
        items = [deep_copy(self.partitions[pk][sk]) for pk, sk in page]
        more = lo + limit < len(keys)
        last = {k: v for k, v in items[-1].items() if k in (self.hash_key, self.range_key)} if more else None
        return items, last


def number(value: Any) -> int:
    """A stored number (a Decimal) as an int."""
    return int(value) if isinstance(value, Decimal | int) else int(str(value))
