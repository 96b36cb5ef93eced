"""Profiles: how an event changes one, as data.

A ``Mutation`` is built from an event by pure code and has two faces that must agree: a DynamoDB
update expression (applied in one round trip, with the event id as a dedupe marker so a
redelivered event changes nothing) and ``apply``, the same change on a dict. trigger_eval asks
DynamoDB for the item *before* the update (``ALL_OLD``) and applies the mutation in memory to get
the item after it: both old and new in one round trip, which attribute-change triggers need."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from touchpoint.attributes import EMPTY
from touchpoint.clock import iso
from touchpoint.conditions import lookup
from touchpoint.events import ConsentChange, Event

SEEN_PREFIX = "ev#"  # top-level attribute per processed event: the dedupe marker
SEEN_KEEP = 16  # markers kept per profile (about 0.5 KB); older ones are trimmed
CHANNELS = ("email", "sms")


def consent_key(channel: str) -> str:
    return f"consent_{channel}"


def suppressed_key(channel: str) -> str:
    return f"suppressed_{channel}"


@dataclass(frozen=True)
class Profile:
    """A read-only view of a profile item for conditions, the gate and templates."""

    item: Mapping[str, Any]

    @property
    def exists(self) -> bool:
        return bool(self.item)

    @property
    def user_id(self) -> str:
        return str(self.item.get("user_id", ""))

    def value(self, name: str) -> Any:
        if name == "tags":
            return sorted(self.tags)
        found = lookup(self.item, name)
        return EMPTY.counter_default(name) if found is None else found

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(self.item.get("tags") or ())

    def has_tag(self, tag: str) -> bool:
        return tag in self.tags

    def consent(self, channel: str) -> Mapping[str, Any] | None:
        record = self.item.get(consent_key(channel))
        return record if isinstance(record, Mapping) else None

    def has_consent(self, channel: str) -> bool:
        record = self.consent(channel)
        return bool(record and record.get("granted") is True)

    def suppression(self, channel: str) -> Mapping[str, Any] | None:
        record = self.item.get(suppressed_key(channel))
        return record if isinstance(record, Mapping) else None

    def contact(self, channel: str) -> str | None:
        value = self.item.get("email" if channel == "email" else "phone")
        return value if isinstance(value, str) and value else None

    def timezone(self, default: str) -> str:
        value = self.item.get("timezone")
        return value if isinstance(value, str) and value else default

    @property
    def locale(self) -> str | None:
        value = self.item.get("locale")
        return value if isinstance(value, str) else None

    def template_context(self) -> dict[str, Any]:
        """Attributes a template may use: everything but internal bookkeeping."""
        return {
            k: _plain(v)
            for k, v in self.item.items()
            if not k.startswith(SEEN_PREFIX) and not k.startswith(("consent_", "suppressed_"))
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass
class Mutation:
    """One UpdateItem's worth of change. Each attribute appears in at most one clause."""

    sets: dict[str, Any] = field(default_factory=dict)
    set_if_absent: dict[str, Any] = field(default_factory=dict)
    adds: dict[str, Decimal | set[str]] = field(default_factory=dict)
    deletes: dict[str, set[str]] = field(default_factory=dict)
    appends: dict[str, list[Any]] = field(default_factory=dict)  # list_append(if_not_exists(a, []), v)
    removes: set[str] = field(default_factory=set)
    marker: str | None = None  # event id: fail if already applied
    marker_at: int = 0  # epoch seconds, to trim the oldest markers
    must_exist: bool = False  # message feedback must not recreate an erased profile

    # -- DynamoDB face

    def expression(self) -> tuple[str, dict[str, str], dict[str, Any], str | None]:
        """(UpdateExpression, names, values, ConditionExpression) with plain Python values."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}

        def name(attribute: str) -> str:
            token = f"#n{len(names)}"
            names[token] = attribute
            return token

        def value(v: Any) -> str:
            token = f":v{len(values)}"
            values[token] = v
            return token

        set_parts = [f"{name(a)} = {value(v)}" for a, v in sorted(self.sets.items())]
        for a, v in sorted(self.set_if_absent.items()):
            n = name(a)
            set_parts.append(f"{n} = if_not_exists({n}, {value(v)})")
        for a, v in sorted(self.appends.items()):
            n = name(a)
            set_parts.append(f"{n} = list_append(if_not_exists({n}, {value([])}), {value(v)})")
        condition = None
        if self.marker is not None:
            n = name(marker_attribute(self.marker))
            set_parts.append(f"{n} = {value(Decimal(self.marker_at))}")
            condition = f"attribute_not_exists({n})"
        if self.must_exist:
            existing = f"attribute_exists({name('user_id')})"
            condition = f"{condition} AND {existing}" if condition else existing
        clauses = [f"SET {', '.join(set_parts)}"] if set_parts else []
        if self.adds:
            clauses.append("ADD " + ", ".join(f"{name(a)} {value(v)}" for a, v in sorted(self.adds.items())))
        if self.deletes:
            clauses.append(
                "DELETE " + ", ".join(f"{name(a)} {value(v)}" for a, v in sorted(self.deletes.items()))
            )
        if self.removes:
            clauses.append("REMOVE " + ", ".join(name(a) for a in sorted(self.removes)))
        return " ".join(clauses), names, values, condition

    def admits(self, item: Mapping[str, Any]) -> bool:
        """The ConditionExpression above, on the stored item (``{}`` when absent): for in-memory
        stores, which must refuse exactly what DynamoDB refuses."""
        if self.marker is not None and marker_attribute(self.marker) in item:
            return False
        return not self.must_exist or "user_id" in item

    # -- in-memory face

    def apply(self, item: Mapping[str, Any], user_id: str) -> dict[str, Any]:
        new: dict[str, Any] = dict(item) if item else {"user_id": user_id}
        new.update(self.sets)
        for a, v in self.set_if_absent.items():
            new.setdefault(a, v)
        for a, v in self.appends.items():
            new[a] = [*new.get(a, []), *v]
        if self.marker is not None:
            new[marker_attribute(self.marker)] = Decimal(self.marker_at)
        for a, v in self.adds.items():
            if isinstance(v, set):
                new[a] = set(new.get(a) or set()) | v
            else:
                new[a] = Decimal(new.get(a) or 0) + v
        for a, v in self.deletes.items():
            remaining = set(new.get(a) or set()) - v
            if remaining:
                new[a] = remaining
            else:
                new.pop(a, None)  # DynamoDB removes an emptied set
        for a in self.removes:
            new.pop(a, None)
        return new


def marker_attribute(event_id: str) -> str:
    """A short, fixed-size attribute name per event id (item size is what DynamoDB bills)."""
    return SEEN_PREFIX + hashlib.sha256(event_id.encode()).hexdigest()[:16]


def number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def mutations_for(event: Event, now: dt.datetime) -> list[Mutation]:
    """What ``event`` does to its user's profile. The first mutation carries the dedupe marker;
    a second one is needed only when tags are both added and removed (DynamoDB refuses two
    clauses on one attribute)."""
    m = Mutation(marker=event.id, marker_at=int(now.timestamp()), must_exist=event.is_message_event)
    at = iso(event.at)
    m.sets["updated_at"] = iso(now)
    m.set_if_absent["created_at"] = iso(now)
    m.adds[f"{event.type}.count"] = Decimal(1)
    m.sets[f"{event.type}.last_at"] = at
    if not event.is_message_event:
        m.sets["last_seen_at"] = at
    p = event.properties
    later: list[Mutation] = []

    match event.type:
        case "user.registered":
            m.set_if_absent["registered_at"] = at
            m.set_if_absent["lifecycle_stage"] = "new"
        case "order.placed":
            m.adds["orders_count"] = Decimal(1)
            amount = number(p.get("amount"))
            if amount is not None:
                m.adds["total_spent"] = amount
                m.sets["last_order_amount"] = amount
            m.set_if_absent["first_order_at"] = at
            m.sets["last_order_at"] = at
            m.sets["lifecycle_stage"] = "active"
            products = p.get("products")
            if isinstance(products, list) and products:
                m.sets["last_order_products"] = [str(x) for x in products]
            m.sets["cart_items"] = Decimal(0)
        case "page.viewed":
            if isinstance(p.get("category"), str) and p["category"]:
                m.adds["viewed_categories"] = {p["category"]}
        case "cart.updated":
            items, value = number(p.get("items")), number(p.get("value"))
            if items is not None:
                m.sets["cart_items"] = items
            if value is not None:
                m.sets["cart_value"] = value
            m.sets["cart_updated_at"] = at
        case "email.unsubscribed" | "sms.unsubscribed":
            channel = event.type.split(".")[0]
            _consent(m, channel, ConsentChange(granted=False, source=str(p.get("source", "unsubscribe"))), at)
        case "email.complained":
            _consent(m, "email", ConsentChange(granted=False, source="complaint"), at)
            m.sets[suppressed_key("email")] = {"reason": "complaint", "at": at}
        case "email.bounced" if p.get("bounce_type") == "permanent":
            m.sets[suppressed_key("email")] = {"reason": "bounce", "at": at}
        case "sms.failed" if p.get("permanent"):
            m.sets[suppressed_key("sms")] = {"reason": str(p.get("reason", "invalid")), "at": at}

    for channel, change in (event.detail.consent or {}).items():
        _consent(m, channel, change, at)
    patch = event.detail.profile
    if patch is not None:
        for name, attribute in patch.attributes.items():
            if attribute is None:
                m.removes.add(name)
            else:
                m.sets[name] = _dynamo_value(attribute)
        for contact in ("email", "phone"):
            new_value = getattr(patch, contact)
            if new_value is not None:
                m.sets[contact] = new_value
                m.removes.add(suppressed_key("email" if contact == "email" else "sms"))
        if patch.timezone is not None:
            m.sets["timezone"] = patch.timezone
        if patch.locale is not None:
            m.sets["locale"] = patch.locale
        if patch.tags is not None:
            if patch.tags.add:
                m.adds["tags"] = set(patch.tags.add)
            if patch.tags.remove:
                target = Mutation() if patch.tags.add else m
                target.deletes["tags"] = set(patch.tags.remove)
                if target is not m:
                    later.append(target)
    m.removes -= {*m.sets, *m.set_if_absent, *m.adds, *m.deletes, *m.appends}  # a set value wins
    return [m, *later]


def _consent(m: Mutation, channel: str, change: ConsentChange, at: str) -> None:
    record = {"granted": change.granted, "at": at, "source": change.source}
    m.sets[consent_key(channel)] = record
    m.appends.setdefault("consent_log", []).append({"channel": channel, **record})


def _dynamo_value(value: Any) -> Any:
    """JSON → what DynamoDB stores: numbers as Decimal (floats are not allowed)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, list):
        return [_dynamo_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _dynamo_value(v) for k, v in value.items()}
    return value


def stale_markers(item: Mapping[str, Any], keep: int = SEEN_KEEP) -> list[str]:
    """Dedupe markers beyond the newest ``keep``, once there are twice as many (so trimming costs
    one extra write per ``keep`` events). Redeliveries (SQS, EventBridge retries) come within
    minutes, when a user has sent far fewer than 16 other events."""
    markers = sorted((k for k in item if k.startswith(SEEN_PREFIX)), key=lambda k: (item[k], k))
    return markers[:-keep] if len(markers) > keep * 2 else []


def changed(
    old: Mapping[str, Any], new: Mapping[str, Any], names: Iterable[str]
) -> dict[str, tuple[Any, Any]]:
    """Attributes among ``names`` whose value differs between old and new."""
    return {n: (old.get(n), new.get(n)) for n in names if old.get(n) != new.get(n)}
