"""The one condition evaluator, operator by operator."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter

from touchpoint.conditions import describe, evaluate, lookup, matches_where, parse_time, required_consents
from touchpoint.journey.model import Condition, Where

NOW = dt.datetime(2026, 12, 10, 12, 0, tzinfo=dt.UTC)
CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)
WHERE: TypeAdapter[Where] = TypeAdapter(Where)


class Profile:
    def __init__(
        self,
        attributes: dict[str, Any],
        tags: set[str] = frozenset(),  # type: ignore[assignment]
        consent: set[str] = frozenset(),
    ) -> None:  # type: ignore[assignment]
        self.attributes, self.tags, self.consent = attributes, tags, consent

    def value(self, name: str) -> Any:
        return lookup(self.attributes, name)

    def has_tag(self, tag: str) -> bool:
        return tag in self.tags

    def has_consent(self, channel: str) -> bool:
        return channel in self.consent


def holds(condition: dict[str, Any], profile: Profile) -> bool:
    return evaluate(CONDITION.validate_python(condition), profile, NOW)


P = Profile(
    {
        "orders_count": Decimal(3),
        "total_spent": 99.5,
        "region": "north",
        "vip": True,
        "viewed_categories": ["coffee", "tea"],
        "last_seen_at": "2026-12-08T12:00:00Z",
        "registered_at": "2026-10-01T00:00:00+08:00",
        "address": {"city": "Shanghai"},
        "birthday": "1990-12-10",
    },
    tags={"high_intent"},
    consent={"email"},
)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"attribute": "orders_count", "eq": 3}, True),
        ({"attribute": "orders_count", "gte": 3, "lt": 4}, True),
        ({"attribute": "orders_count", "gt": 3}, False),
        ({"attribute": "total_spent", "lte": 99.5}, True),
        ({"attribute": "region", "ne": "south"}, True),
        ({"attribute": "missing", "ne": "south"}, True),
        ({"attribute": "missing", "eq": "south"}, False),
        ({"attribute": "missing", "gt": 0}, False),
        ({"attribute": "region", "in": ["north", "east"]}, True),
        ({"attribute": "viewed_categories", "in": ["tea"]}, True),
        ({"attribute": "viewed_categories", "contains": "coffee"}, True),
        ({"attribute": "region", "contains": "ort"}, True),
        ({"attribute": "vip", "eq": True}, True),
        ({"attribute": "vip", "eq": 1}, False),
        ({"attribute": "orders_count", "eq": "3"}, False),
        ({"attribute": "missing", "exists": False}, True),
        ({"attribute": "region", "exists": True}, True),
        ({"attribute": "last_seen_at", "within": "3d"}, True),
        ({"attribute": "last_seen_at", "within": "1d"}, False),
        ({"attribute": "last_seen_at", "older_than": "1d"}, True),
        ({"attribute": "missing", "older_than": "1d"}, False),
        ({"attribute": "missing", "within": "1d"}, False),
        ({"attribute": "registered_at", "lt": "2026-10-01T00:00:00Z"}, True),
        ({"attribute": "address.city", "eq": "Shanghai"}, True),
        ({"tag": "high_intent"}, True),
        ({"consent": "sms"}, False),
        ({"all": [{"consent": "email"}, {"tag": "high_intent"}]}, True),
        ({"any": [{"consent": "sms"}, {"tag": "nope"}]}, False),
        ({"not": {"consent": "sms"}}, True),
    ],
)
def test_operators(condition: dict[str, Any], expected: bool) -> None:
    assert holds(condition, P) is expected


def test_within_also_looks_ahead_for_future_dates() -> None:
    soon = Profile({"member_until": "2026-12-15"})
    assert holds({"attribute": "member_until", "within": "7d"}, soon)
    assert not holds({"attribute": "member_until", "within": "2d"}, soon)


def test_where_uses_equality_for_values_and_operators_for_mappings() -> None:
    where = WHERE.validate_python({"step_id": "coupon", "items": {"gt": 0}})
    assert matches_where(where, {"step_id": "coupon", "items": 2}, NOW)
    assert not matches_where(where, {"step_id": "other", "items": 2}, NOW)
    assert not matches_where(where, {"step_id": "coupon"}, NOW)
    assert matches_where({}, {}, NOW)


def test_parse_time_accepts_dates_and_zulu() -> None:
    assert parse_time("2026-12-01") == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert parse_time("2026-12-01T00:00:00Z") == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert parse_time("soon") is None
    assert parse_time(5) is None


def test_required_consents_is_a_safe_lower_bound() -> None:
    def consents(c: dict[str, Any]) -> set[str]:
        return set(required_consents(CONDITION.validate_python(c)))

    assert consents({"all": [{"consent": "email"}, {"tag": "x"}]}) == {"email"}
    assert consents({"any": [{"consent": "email"}, {"all": [{"consent": "email"}, {"consent": "sms"}]}]}) == {
        "email"
    }
    assert consents({"any": [{"consent": "email"}, {"tag": "x"}]}) == set()
    assert consents({"not": {"consent": "email"}}) == set()


def test_describe_reads_like_a_sentence() -> None:
    c = CONDITION.validate_python(
        {
            "all": [
                {"attribute": "orders_count", "gte": 1},
                {"any": [{"consent": "sms"}, {"tag": "vip"}]},
                {"not": {"attribute": "last_seen_at", "within": "30d"}},
            ]
        }
    )
    assert describe(c) == "orders_count ≥ 1 and (consent sms or tag vip) and not last_seen_at within 30d"
