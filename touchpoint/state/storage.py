"""What the state repository needs from a table: a few key-value operations and a small typed
model of the conditions and updates they carry, which each storage interprets (the DynamoDB one
as expressions, the in-memory one as predicates), so a condition is written once, here.

The shape of Powertools' idempotency ``BasePersistenceLayer``: the logic once
(``touchpoint.state.repository``), the storage a few methods."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from touchpoint.engine.ports import Item

Key = tuple[str, str]


@dataclass(frozen=True)
class Has:
    """The item has the attribute (``has=False``: it has not, or there is no item)."""

    attribute: str
    has: bool = True


@dataclass(frozen=True)
class Is:
    """The attribute equals one of ``values`` (``negated``: none of them, or it is missing, as
    DynamoDB's ``<>``)."""

    attribute: str
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True)
class Junction:
    op: Literal["AND", "OR"]
    parts: tuple[Condition, ...]


Condition = Has | Is | Junction


def exists(attribute: str) -> Has:
    return Has(attribute)


def missing(attribute: str) -> Has:
    return Has(attribute, has=False)


def equals(attribute: str, value: Any) -> Is:
    return Is(attribute, (value,))


def differs(attribute: str, value: Any) -> Is:
    return Is(attribute, (value,), negated=True)


def one_of(attribute: str, *values: Any) -> Is:
    return Is(attribute, values)


def all_of(*parts: Condition) -> Junction:
    return Junction("AND", parts)


def any_of(*parts: Condition) -> Junction:
    return Junction("OR", parts)


@dataclass(frozen=True)
class Assign:
    """Set the attribute (``if_missing``: unless it already has a value)."""

    attribute: str
    value: Any
    if_missing: bool = False


@dataclass(frozen=True)
class Put:
    """A put inside a transaction, with the condition it must meet (None: unconditional)."""

    item: Item
    condition: Condition | None = None


@dataclass(frozen=True)
class Cancelled:
    """A transaction that wrote nothing, and why: the positions of the puts whose condition did not
    hold (DynamoDB's ``CancellationReasons``), so a caller can say which one refused; none when a
    concurrent transaction on the same items cancelled it instead."""

    failed: tuple[int, ...]


class Storage(Protocol):
    """A table keyed ``pk``/``sk``. Reads are strongly consistent; a conditional write whose
    condition does not hold changes nothing and says so (False or None), it does not raise.
    Throttling raises ``touchpoint.errors.TransientError``."""

    def get(self, key: Key) -> Item:
        """The item, or ``{}``."""
        ...

    def query(self, pk: str, prefix: str | None = None) -> list[Item]:
        """The partition's items (with ``sk`` starting with ``prefix``) in sort-key order."""
        ...

    def batch_get(self, keys: Iterable[Key]) -> dict[Key, Item]:
        """The items found, by key (in requests of at most 100 keys)."""
        ...

    def put(self, item: Item, condition: Condition | None = None) -> bool: ...

    def update(self, key: Key, updates: Sequence[Assign], condition: Condition) -> Item | None:
        """The item as changed, or None when the condition did not hold."""
        ...

    def delete(self, key: Key, condition: Condition | None = None) -> bool: ...

    def write_all(self, items: Sequence[Item]) -> None:
        """Unconditional puts: one put, or batch writes of 25 until all are in."""
        ...

    def delete_all(self, keys: Sequence[Key]) -> None:
        """Unconditional deletes in batch writes of 25."""
        ...

    def transact(self, puts: Sequence[Put]) -> Cancelled | None:
        """All the puts or none: None when written, else which conditions did not hold (every one
        that did not, not only the first). Refuses an empty transaction or one naming an item
        twice (ValueError)."""
        ...
