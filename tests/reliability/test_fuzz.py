"""Hypothesis against the three places hostile data meets the engine's logic: the event parser, the
profile mutation and the condition evaluator. None may raise anything but its documented
validation error (the parser and the mutation: nothing at all; conditions: pydantic's
ValidationError while a condition is built, nothing while it is evaluated)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from touchpoint import wire
from touchpoint.conditions import evaluate, matches_where
from touchpoint.engine.trigger.actions import CONDITION, WHERE
from touchpoint.events import Event, Feedback, Rejected, parse_envelope
from touchpoint.journey.model import Condition
from touchpoint.profiles import Profile, mutations_for, refusal

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

edgy_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "2026-12-01T10:00:00+08:00",
            "2026-02-29",
            "1e400",
            "NaN",
            "9" * 40,
            "a@b.co\n",
            "\u202e\u200b",
            "${jndi:ldap://x}",
            "{{ 7*7 }}",
        ]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**45), max_value=10**45),
    st.floats(allow_nan=False, allow_infinity=False),
    edgy_text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(edgy_text, children, max_size=4),
    max_leaves=12,
)


def _detail(**fields: Any) -> dict[str, Any]:
    return {"event_id": "e-1", "user_id": "u-1", "occurred_at": "2026-12-01T10:00:00+08:00", **fields}


@FUZZ
@given(st.text(max_size=200))
def test_any_text_is_json_the_engine_accepts_or_a_reason(text: str) -> None:
    reason = ""
    try:
        wire.load(text)
    except wire.Unacceptable as error:
        reason = str(error) or "(empty)"
    assert reason != "(empty)"


@FUZZ
@given(
    detail_type=st.one_of(
        edgy_text, st.sampled_from(["order.placed", "Email Bounced", "Text Message Delivery Status Updated"])
    ),
    source=st.sampled_from(["shop.web", "aws.ses", "aws.sms-voice", "aws.states", "touchpoint.journey"]),
    detail=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "event_id": json_values,
                "user_id": json_values,
                "occurred_at": json_values,
                "properties": json_values,
                "profile": json_values,
                "consent": json_values,
                "eventType": json_values,
                "mail": json_values,
                "messageId": json_values,
                "isFinal": json_values,
                "eventTimestamp": json_values,
                "bounce": json_values,
                "executionArn": json_values,
                "stateMachineArn": json_values,
                "status": json_values,
            },
        ),
    ),
)
def test_the_parser_never_raises(detail_type: Any, source: str, detail: Any) -> None:
    envelope = {"source": source, "detail-type": detail_type, "detail": detail}
    try:
        raw = wire.load(json.dumps(envelope))
    except (wire.Unacceptable, ValueError):  # json.dumps of a surrogate key, before the wire
        return
    parsed = parse_envelope(raw)
    if isinstance(parsed, Rejected):
        assert parsed.reason
    if isinstance(parsed, Feedback):  # attribution builds an event: it must not raise either
        parsed.attributed("u-1", {"journey_id": "j", "step_id": "s"})


@FUZZ
@given(
    event_type=st.sampled_from(
        [
            "user.registered",
            "order.placed",
            "page.viewed",
            "cart.updated",
            "consent.updated",
            "profile.updated",
            "app.x",
        ]
    ),
    properties=st.dictionaries(
        st.sampled_from(["amount", "products", "category", "items", "value", "x"]), json_values
    ),
    attributes=st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), json_values, max_size=4
    ),
    stored=st.dictionaries(
        st.sampled_from(
            ["orders_count", "total_spent", "viewed_categories", "tags", "erased_at", "created_at"]
        ),
        json_values,
    ),
)
def test_a_profile_mutation_never_raises(
    event_type: str, properties: dict[str, Any], attributes: dict[str, Any], stored: dict[str, Any]
) -> None:
    from touchpoint.events import parse_app_event

    parsed = parse_app_event(
        event_type, "app", _detail(properties=properties, profile={"attributes": attributes})
    )
    if not isinstance(parsed, Event):
        assert isinstance(parsed, Rejected)
        assert parsed.reason
        return
    typed = {
        "orders_count": Decimal(2),
        "total_spent": Decimal("9.5"),
        "viewed_categories": {"x"},
        "tags": {"t"},
    }
    for mutation in mutations_for(parsed, NOW):
        mutation.expression()
        refusal(mutation, stored)  # whatever the stored item holds
        # applied in memory only after DynamoDB took the update, so onto what DynamoDB stores
        mutation.apply({}, "u-1")
        mutation.apply(typed, "u-1")


condition_dicts: st.SearchStrategy[dict[str, Any]] = st.deferred(
    lambda: st.one_of(
        st.fixed_dictionaries(
            {"attribute": st.sampled_from(["a", "b.c", "orders_count", "last_at"])},
            optional=dict.fromkeys(("eq", "ne", "gt", "gte", "lt", "lte", "contains", "exists"), scalars)
            | {
                "in": st.lists(scalars, max_size=3),
                "within": st.sampled_from(["1d", "30m"]),
                "older_than": st.just("7d"),
            },
        ),
        st.fixed_dictionaries({"tag": edgy_text}),
        st.fixed_dictionaries({"consent": st.sampled_from(["email", "sms", "push"])}),
        st.fixed_dictionaries({"all": st.lists(condition_dicts, min_size=1, max_size=2)}),
        st.fixed_dictionaries({"any": st.lists(condition_dicts, min_size=1, max_size=2)}),
        st.fixed_dictionaries({"not": condition_dicts}),
    )
)


@FUZZ
@given(
    raw=condition_dicts,
    item=st.dictionaries(
        st.sampled_from(["a", "b", "orders_count", "last_at", "tags", "consent_email"]), json_values
    ),
)
def test_the_condition_evaluator_never_raises(raw: dict[str, Any], item: dict[str, Any]) -> None:
    try:
        condition: Condition = CONDITION.validate_python(raw)
    except ValidationError:
        return
    evaluate(condition, Profile({"user_id": "u", **item}), NOW)


@FUZZ
@given(
    where=st.dictionaries(
        st.sampled_from(["a", "b.c", "step_id"]), st.one_of(scalars, st.fixed_dictionaries({"gt": scalars}))
    ),
    properties=st.dictionaries(st.sampled_from(["a", "b", "step_id"]), json_values),
)
def test_event_filters_never_raise(where: dict[str, Any], properties: dict[str, Any]) -> None:
    try:
        parsed = WHERE.validate_python(where)
    except ValidationError:
        return
    matches_where(parsed, properties, NOW)
