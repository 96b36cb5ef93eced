"""The registry's trigger indexes (issue 18 item 4): built once per load, by event type and by
watched attribute, and the profile diff that looks only at what a profile holds."""

from __future__ import annotations

from typing import Any

import pytest

from touchpoint import registry
from touchpoint.journey.model import Journey
from touchpoint.profiles import changed, changed_among


def journey(journey_id: str, trigger: dict[str, Any]) -> Journey:
    return Journey.model_validate(
        {
            "schema": "touchpoint/v1",
            "id": journey_id,
            "name": journey_id,
            "owner": "qa@example.com",
            "timezone": "UTC",
            "trigger": trigger,
            "audience": {"consent": "email"},
            "steps": [{"send": {"channel": "email", "template": "hello"}}],
        }
    )


JOURNEYS = [
    journey("e-cart-b", {"event": "cart.updated"}),
    journey("e-cart-a", {"event": "cart.updated", "where": {"items": {"gt": 0}}}),
    journey("e-order", {"event": "order.placed"}),
    journey("t-vip", {"attribute": {"name": "tags", "added": "vip"}}),
    journey("r-north", {"attribute": {"name": "region", "to": "north"}}),
    journey("r-any", {"attribute": {"name": "region", "changed": True}}),
    journey("s-daily", {"schedule": {"daily": "10:00"}}),
    journey("d-birthday", {"date": {"attribute": "birthday", "at": "09:00"}}),
]


@pytest.fixture
def loaded() -> registry.Registry:
    document = registry.build((j, f"v-{j.id}") for j in JOURNEYS)
    return registry.Registry.model_validate(document)


def ids(entries: list[registry.RegistryEntry]) -> list[str]:
    return [e.id for e in entries]


def test_journeys_are_indexed_by_event_type_and_by_watched_attribute(loaded: registry.Registry) -> None:
    assert {t: ids(js) for t, js in loaded.by_event.items()} == {
        "cart.updated": ["e-cart-a", "e-cart-b"],
        "order.placed": ["e-order"],
    }
    assert {a: ids(js) for a, js in loaded.by_attribute.items()} == {
        "region": ["r-any", "r-north"],
        "tags": ["t-vip"],
    }
    # in the order of the journeys (by id) that watch them: region's first journey is r-any
    assert loaded.watched == {"region": 0, "tags": 1}
    assert ids(loaded.triggered_by("cart.updated")) == ["e-cart-a", "e-cart-b"]
    assert ids(loaded.watching("region")) == ["r-any", "r-north"]


def test_the_indexes_are_built_at_load_and_not_again(loaded: registry.Registry) -> None:
    for name in ("by_event", "by_attribute", "watched"):
        assert name in loaded.__dict__, f"{name} is built when the registry is loaded"
    assert loaded.triggered_by("order.placed") is loaded.triggered_by("order.placed")
    assert loaded.watching("tags") is loaded.watching("tags")


def test_an_event_type_or_attribute_no_journey_takes_looks_up_no_journey(loaded: registry.Registry) -> None:
    assert loaded.triggered_by("app.opened") == []
    assert loaded.watching("nickname") == []
    old, new = {"nickname": "Lin", "visits": 1}, {"nickname": "Li", "visits": 2, "plan": "gold"}
    assert changed_among(old, new, loaded.watched) == {}


RANKS = {"region": 0, "tags": 1, "plan": 2}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # fewer profile attributes than watched names: the profiles' attributes are looked at
        ({"plan": "a"}, {"plan": "b", "region": "north"}),
        ({}, {"tags": {"vip"}}),
        # more: the watched names are
        ({"a": 1, "b": 2, "region": "south", "plan": "a"}, {"a": 1, "b": 3, "region": "north", "plan": "a"}),
        ({"a": 1, "tags": {"x"}, "c": 1}, {"a": 2, "c": 1, "d": 4}),
    ],
)
def test_changed_among_is_changed_over_the_watched_names_in_their_order(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    found = changed_among(old, new, RANKS)
    assert found == changed(old, new, RANKS)
    assert list(found) == [n for n in RANKS if n in found]


def test_changed_among_reports_in_rank_order_whichever_side_it_walks() -> None:
    ranks = {f"w{i}": i for i in range(50)}
    old = {"w40": 1, "w3": 1, "x": 1}
    new = {"w40": 2, "w3": 2, "w7": 1}
    assert list(changed_among(old, new, ranks)) == ["w3", "w7", "w40"]
