"""What the state repository needs from a table: a few key-value operations and a small typed
model of the conditions and updates they carry, which each storage interprets (the DynamoDB one
as expressions, the in-memory one as predicates), so a condition is written once, here.

The shape of Powertools' idempotency ``BasePersistenceLayer``: the logic once
(``touchpoint.state.repository``), the storage a few methods."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Item = dict[str, Any]
Key = tuple[str, str]


@dataclass(frozen=True)
class Exists:
    attribute: str


@dataclass(frozen=True)
class Missing:
    attribute: str


@dataclass(frozen=True)
class Equals:
    attribute: str
    value: Any


@dataclass(frozen=True)
class NotEquals:
    """True also when the attribute is missing (as DynamoDB's ``<>``)."""

    attribute: str
    value: Any


@dataclass(frozen=True)
class In:
    attribute: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]


Condition = Exists | Missing | Equals | NotEquals | In | AllOf | AnyOf


@dataclass(frozen=True)
class Assign:
    attribute: str
    value: Any


@dataclass(frozen=True)
class AssignIfMissing:
    """Set the attribute unless it already has a value."""

    attribute: str
    value: Any


Update = Assign | AssignIfMissing


@dataclass(frozen=True)
class Put:
    """A put inside a transaction, with the condition it must meet (None: unconditional)."""

    item: Item
    condition: Condition | None = None


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

    def update(self, key: Key, updates: Sequence[Update], condition: Condition) -> Item | None:
        """The item as changed, or None when the condition did not hold."""
        ...

    def delete(self, key: Key, condition: Condition | None = None) -> bool: ...

    def write_all(self, items: Sequence[Item]) -> None:
        """Unconditional puts: one put, or batch writes of 25 until all are in."""
        ...

    def delete_all(self, keys: Sequence[Key]) -> None:
        """Unconditional deletes in batch writes of 25."""
        ...

    def transact(self, puts: Sequence[Put]) -> bool:
        """All the puts or none; False when a condition did not hold (or a concurrent transaction
        conflicted). Refuses an empty transaction or one naming an item twice (ValueError)."""
        ...
