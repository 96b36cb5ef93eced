"""The in-memory table stores what DynamoDB would give back, and hands out copies."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from touchpoint.aws.dynamo import from_item, to_item
from touchpoint.local.copies import deep_copy
from touchpoint.local.memory.store import Table, stored
from touchpoint.local.meter import Meter


def _value(rng: random.Random, depth: int = 0) -> Any:
    choices = [
        lambda: "x" * rng.randrange(3),
        lambda: rng.choice([True, False]),
        lambda: None,
        lambda: rng.randrange(-(10**40), 10**40) if rng.random() < 0.2 else rng.randrange(-1000, 1000),
        lambda: Decimal(str(rng.uniform(-1e6, 1e6))) if rng.random() < 0.7 else Decimal("1.50"),
        lambda: rng.uniform(-5, 5),
        lambda: {"a", "b"} if rng.random() < 0.5 else {Decimal(1), Decimal("2.5")},
        lambda: {f"k{i}": _value(rng, depth + 1) for i in range(rng.randrange(3))},
        lambda: [_value(rng, depth + 1) for _ in range(rng.randrange(3))],
    ]
    return rng.choice(choices if depth < 2 else choices[:7])()


def test_stored_items_are_what_boto3s_round_trip_gives() -> None:
    """The fast paths of ``stored`` against the real TypeSerializer and TypeDeserializer: the same
    values, the same types and the same Decimal spelling, and an error wherever boto3 raises."""
    rng = random.Random(7)
    compared = refused = 0
    for _ in range(5000):
        item = {f"a{i}": _value(rng) for i in range(4)}
        try:
            expected = from_item(to_item(item))
        except Exception as error:  # e.g. an int of 40 digits: boto3 refuses it, so must we
            with pytest.raises(type(error)):
                stored(item)
            refused += 1
            continue
        assert repr(stored(item)) == repr(expected)
        compared += 1
    assert compared > 4000
    assert refused > 100


def test_a_read_is_a_copy_the_caller_may_change() -> None:
    table = Table(Meter(), "pk", "sk")
    table.put({"pk": "u", "sk": "s", "sends": {"k": 1}, "tags": {"a"}, "path": ["x"]})
    item = table.get("u", "s")
    assert item is not None
    item["sends"]["k"] = 2
    item["tags"].add("b")
    item["path"].append("y")
    assert table.get("u", "s") == {
        "pk": "u",
        "sk": "s",
        "sends": {"k": Decimal(1)},
        "tags": {"a"},
        "path": ["x"],
    }
    assert deep_copy(item) == item
    assert deep_copy(item) is not item


def test_query_and_scan_keep_moto_s_order_and_pages() -> None:
    table = Table(Meter(), "pk", "sk")
    for sk in ("b", "a", "c"):
        table.put({"pk": "p", "sk": sk})
    table.put({"pk": "o", "sk": "z"})
    assert [i["sk"] for i in table.query("p")] == ["a", "b", "c"]
    assert [i["sk"] for i in table.query("p", "b", "c")] == ["b", "c"]
    first, last = table.scan(None, 2)
    assert [(i["pk"], i["sk"]) for i in first] == [("o", "z"), ("p", "a")]
    assert last == {"pk": "p", "sk": "a"}
    rest, end = table.scan(last, 2)
    assert [i["sk"] for i in rest] == ["b", "c"]
    assert end is None
    table.delete("p", "b")
    assert [i["sk"] for i in table.query("p")] == ["a", "c"]
