"""What a profile holds: the attributes Touchpoint maintains itself, and the team's declared ones
(``journeys/profile.yaml``). The validator checks templates and conditions against this; the
runtime renders templates with declared defaults from it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AttributeType = Literal["string", "number", "boolean", "timestamp", "date", "list"]

PROFILE_SCHEMA_ID = "touchpoint/profile-v1"
PROFILE_FILE = "profile.yaml"


@dataclass(frozen=True)
class Attribute:
    type: AttributeType
    description: str
    pii: bool = False
    default: Any = None


BUILTIN: dict[str, Attribute] = {
    "user_id": Attribute("string", "The app's user id."),
    "email": Attribute("string", "Email address (contact point).", pii=True),
    "phone": Attribute("string", "Phone number in E.164 (contact point).", pii=True),
    "timezone": Attribute("string", "IANA time zone; wins over the journey's."),
    "locale": Attribute("string", "Language for templates, e.g. zh-CN or en."),
    "lifecycle_stage": Attribute("string", "prospect | new | active | churned."),
    "intent_level": Attribute("string", "high | medium | low."),
    "created_at": Attribute("timestamp", "First time Touchpoint saw the user."),
    "updated_at": Attribute("timestamp", "Last profile change."),
    "last_seen_at": Attribute("timestamp", "Time of the user's latest event."),
    "registered_at": Attribute("timestamp", "Time of user.registered."),
    "orders_count": Attribute("number", "Orders placed (order.placed); 0 before the first.", default=0),
    "total_spent": Attribute("number", "Sum of order amounts; 0 before the first order.", default=0),
    "first_order_at": Attribute("timestamp", "Time of the first order."),
    "last_order_at": Attribute("timestamp", "Time of the latest order."),
    "last_order_amount": Attribute("number", "Amount of the latest order."),
    "last_order_products": Attribute("list", "Product ids of the latest order."),
    "viewed_categories": Attribute("list", "Categories seen in page.viewed events."),
    "cart_items": Attribute("number", "Items in the cart (cart.updated)."),
    "cart_value": Attribute("number", "Value of the cart (cart.updated)."),
    "cart_updated_at": Attribute("timestamp", "Last cart change."),
}
"""Maintained by trigger_eval's profile mutations (see docs/events.md)."""

#: Set on every profile when Touchpoint first sees the user, so a template may read them bare.
ALWAYS_PRESENT = frozenset({"user_id", "created_at", "updated_at"})

RESERVED = frozenset(
    {
        "user_id",
        "tags",
        "consent",
        "suppressed",
        "created_at",
        "updated_at",
        "email",
        "phone",
        "timezone",
        "locale",
        "consent_log",
        "erased_at",
        "profile_full",
    }
)
#: Stored keys by prefix: consent per channel (``consent_email``), suppressions (``suppressed_sms``).
RESERVED_PREFIXES = ("consent_", "suppressed_")


def is_reserved(name: str) -> bool:
    """Not writable as a plain attribute, by an app's profile patch or a journey's ``set`` step:
    identity, contact points (they have their own fields), consent and suppression (they change
    only through a consent block, the unsubscribe endpoint and provider feedback, each logged),
    the engine's own bookkeeping and the event counters it maintains."""
    return name in RESERVED or name.startswith(RESERVED_PREFIXES) or is_event_counter(name)


TEMPLATE_CONTEXT = {
    "unsubscribe_url": "Signed one-click unsubscribe link (email).",
    "journey_id": "The journey's id.",
    "step_id": "The send step's id.",
}
"""Variables a template may use besides profile attributes."""

_EVENT_COUNTER = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\.(count|last_at)$")


def is_event_counter(name: str) -> bool:
    """Every event type keeps ``<type>.count`` and ``<type>.last_at`` on the profile."""
    return bool(_EVENT_COUNTER.fullmatch(name))


class _Declared(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: AttributeType = Field(description="Value type.")
    description: str = Field("", description="What it means.")
    pii: bool = Field(
        False, description="Personal data: never logged, exported on request, erased on request."
    )
    default: Any = Field(None, description="Used in templates when the profile has no value.")


class ProfileFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_: Literal["touchpoint/profile-v1"] = Field(alias="schema")
    attributes: dict[str, _Declared] = Field(default_factory=dict)


@dataclass(frozen=True)
class ProfileSchema:
    declared: dict[str, Attribute]

    def counter_default(self, name: str) -> int | None:
        """Counters read as 0 before their first increment: a count never made is zero, not unknown."""
        if name in ("orders_count", "total_spent") or (is_event_counter(name) and name.endswith(".count")):
            return 0
        return None

    def get(self, name: str) -> Attribute | None:
        if name in self.declared:
            return self.declared[name]
        if name in BUILTIN:
            return BUILTIN[name]
        if is_event_counter(name):
            return Attribute("number" if name.endswith(".count") else "timestamp", "Event counter.")
        return None

    def knows(self, name: str) -> bool:
        return self.get(name) is not None

    def defaults(self) -> dict[str, Any]:
        return {name: a.default for name, a in self.declared.items() if a.default is not None}

    @property
    def names(self) -> list[str]:
        return sorted({*BUILTIN, *self.declared})


EMPTY = ProfileSchema({})


def profile_from_data(data: Any) -> ProfileSchema:
    """Raises pydantic ValidationError on a malformed file (the loader turns it into violations)."""
    parsed = ProfileFile.model_validate(data)
    return ProfileSchema(
        {n: Attribute(d.type, d.description, d.pii, d.default) for n, d in parsed.attributes.items()}
    )
