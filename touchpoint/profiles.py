"""Profiles: how an event changes one, as data.

A ``Mutation`` is built from an event by pure code and has two faces that must agree: a DynamoDB
update expression (applied in one round trip, with the event id as a dedupe marker so a
redelivered event changes nothing) and ``apply``, the same change on a dict. trigger_eval asks
DynamoDB for the item *before* the update (``ALL_OLD``) and applies the mutation in memory to get
the item after it: both old and new in one round trip, which attribute-change triggers need.

Every attribute that can grow is bounded (docs/storage.md), and a profile that nevertheless
reaches ``FULL_BYTES`` is marked full: events that would grow it further are rejected with that
reason, while consent withdrawals, which add only a few bytes, always have room. An erased
profile leaves a tombstone (``erased_at`` alone), so a redelivered event older than the erasure
is refused instead of recreating the person."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from touchpoint import wire
from touchpoint.attributes import EMPTY, RESERVED_PREFIXES, is_reserved
from touchpoint.clock import iso
from touchpoint.conditions import lookup
from touchpoint.events import SES_SUPPRESSED, ConsentChange, Event, event_digest

SEEN_PREFIX = "ev#"  # top-level attribute per processed event: the dedupe marker
#: Markers outlive every redelivery: SQS keeps a message 14 days, EventBridge retries for a day.
SEEN_SECONDS = 15 * 86400
#: ... but at most this many per profile (about 8 KB): a very busy user's oldest markers go first.
SEEN_KEEP = 256
#: Markers are trimmed in batches of at least this many (one extra write per batch) and at most
#: SEEN_TRIM_MAX (an update expression stays far below DynamoDB's 4 KB).
SEEN_TRIM_BATCH = 32
SEEN_TRIM_MAX = 64
CHANNELS = ("email", "sms")
#: Set on a profile that reached FULL_BYTES; cleared when it shrinks below it again.
FULL = "profile_full"
FULL_BYTES = 300_000  # DynamoDB's item limit is 400 KB: the rest is headroom for consent changes
#: The erasure tombstone: events that occurred before it are refused (reason "erased").
ERASED_AT = "erased_at"
VIEWED_CATEGORIES_KEEP = 100
PRODUCTS_KEEP = 50
VALUE_CHARS = 200  # a category or product id from an event


def consent_key(channel: str) -> str:
    return f"consent_{channel}"


def suppressed_key(channel: str) -> str:
    return f"suppressed_{channel}"


#: The property of attributed feedback that names the contact point the message went to (a digest).
CONTACT_PROPERTY = "contact_digest"


def contact_digest(contact: str) -> str:
    """What a suppression remembers of the address or number it suppresses: a digest, so the
    record holds no contact data, compared case-insensitively for email."""
    return hashlib.sha256(contact.strip().lower().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Profile:
    """A read-only view of a profile item for conditions, the gate and templates."""

    item: Mapping[str, Any]

    @property
    def exists(self) -> bool:
        """False for no item and for an erasure's tombstone (``user_id`` and ``erased_at`` only)."""
        return any(k not in ("user_id", ERASED_AT) for k in self.item)

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
        stored = self.item.get("tags")
        if not isinstance(stored, set | frozenset | list | tuple):
            return frozenset()
        return frozenset(t for t in stored if isinstance(t, str))  # a string set, whatever wrote it

    def has_tag(self, tag: str) -> bool:
        return tag in self.tags

    def consent(self, channel: str) -> Mapping[str, Any] | None:
        record = self.item.get(consent_key(channel))
        return record if isinstance(record, Mapping) else None

    def has_consent(self, channel: str) -> bool:
        record = self.consent(channel)
        return bool(record and record.get("granted") is True)

    def suppression(self, channel: str) -> Mapping[str, Any] | None:
        """The suppression of the profile's current contact point on ``channel``: a suppression
        belongs to the address or number it was recorded for, so a new address starts clean and
        re-sending the same address keeps it."""
        record = self.item.get(suppressed_key(channel))
        if not isinstance(record, Mapping):
            return None
        recorded = record.get("contact")
        contact = self.contact(channel)
        if recorded is None or contact is None:
            return record
        return record if recorded == contact_digest(contact) else None

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
            if not k.startswith(SEEN_PREFIX)
            and not k.startswith(RESERVED_PREFIXES)
            and k not in (FULL, ERASED_AT)
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
    removes: set[str] = field(default_factory=set)
    marker: str | None = None  # event id: fail if already applied
    marker_at: int = 0  # epoch seconds, to trim the oldest markers
    must_exist: bool = False  # feedback and unsubscribes change live profiles only (never a tombstone)
    occurred_at: str | None = None  # the event's time: refused if the profile was erased after it
    grows: bool = False  # refused on a full profile (consent withdrawals and removals never are)
    consent_changes: list[dict[str, Any]] = field(default_factory=list)  # for the consent ledger

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
        conditions = []
        if self.marker is not None:
            n = name(marker_attribute(self.marker))
            set_parts.append(f"{n} = {value(Decimal(self.marker_at))}")
            conditions.append(f"attribute_not_exists({n})")
        if self.must_exist:  # a live profile: a tombstone has no created_at
            conditions.append(f"attribute_exists({name('created_at')})")
        if self.occurred_at is not None:
            erased = name(ERASED_AT)
            conditions.append(f"(attribute_not_exists({erased}) OR {erased} < {value(self.occurred_at)})")
        if self.grows:
            conditions.append(f"attribute_not_exists({name(FULL)})")
        condition = " AND ".join(conditions) or None
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
        return refusal(self, item) is None

    # -- in-memory face

    def apply(self, item: Mapping[str, Any], user_id: str) -> dict[str, Any]:
        new: dict[str, Any] = dict(item) if item else {"user_id": user_id}
        new.update(self.sets)
        for a, v in self.set_if_absent.items():
            new.setdefault(a, v)
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


Refusal = Literal["duplicate", "gone", "erased", "full"]
"""Why a profile refused a mutation."""


def refusal(mutation: Mutation, item: Mapping[str, Any]) -> Refusal | None:
    """Which of the mutation's conditions the stored item (``{}`` when absent) fails, in the
    order a caller explains them; None when DynamoDB would apply it. The DynamoDB adapter reads
    the item back from a failed condition and asks this, so both stores give the same answer."""
    if mutation.marker is not None and marker_attribute(mutation.marker) in item:
        return "duplicate"
    erased = item.get(ERASED_AT)
    if mutation.occurred_at is not None and isinstance(erased, str) and erased >= mutation.occurred_at:
        return "erased"
    if mutation.must_exist and "created_at" not in item:
        return "gone"
    if mutation.grows and FULL in item:
        return "full"
    return None


def marker_attribute(event_id: str) -> str:
    """A short, fixed-size attribute name per event id (item size is what DynamoDB bills)."""
    return SEEN_PREFIX + event_digest(event_id)


def number(value: Any) -> Decimal | None:
    """An event property as a number DynamoDB can store, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    if isinstance(value, str) and len(value) > 64:
        return None
    try:
        parsed = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return parsed if wire.storable_number(parsed) else None


#: The event properties a mutation reads as numbers: an event whose value cannot be one is
#: rejected (a 40-digit amount would otherwise fail the write on every retry).
NUMERIC_PROPERTIES: dict[str, tuple[str, ...]] = {
    "order.placed": ("amount",),
    "cart.updated": ("items", "value"),
}


def property_problems(event_type: str, properties: Mapping[str, Any]) -> list[str]:
    """Why the properties ``mutations_for`` reads cannot be applied, e.g. an unstorable amount."""
    problems = []
    for name in NUMERIC_PROPERTIES.get(event_type, ()):
        value = properties.get(name)
        if value is not None and number(value) is None:
            problems.append(
                f"properties.{name}: {wire.show(value)} is not a number DynamoDB can store "
                "(a number of at most 38 significant digits)"
            )
    return problems


def mutations_for(event: Event, now: dt.datetime) -> list[Mutation]:
    """What ``event`` does to its user's profile. The first mutation carries the dedupe marker;
    a second one is needed only when tags are both added and removed (DynamoDB refuses two
    clauses on one attribute)."""
    at = iso(event.at)
    m = Mutation(
        marker=event.id,
        marker_at=int(now.timestamp()),
        must_exist=event.is_message_event,
        occurred_at=at,
        grows=not always_applies(event),
    )
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
                kept = [str(x)[:VALUE_CHARS] for x in products[:PRODUCTS_KEEP] if isinstance(x, str | int)]
                if kept:
                    m.sets["last_order_products"] = kept
            m.sets["cart_items"] = Decimal(0)
        case "page.viewed":
            category = p.get("category")
            if isinstance(category, str) and 0 < len(category) <= VALUE_CHARS:
                m.adds["viewed_categories"] = {category}
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
            _suppress(m, "email", "complaint", p.get(CONTACT_PROPERTY), at)
        case "email.bounced" if p.get("bounce_type") == "permanent":
            _suppress(m, "email", "bounce", p.get(CONTACT_PROPERTY), at)
        case "email.failed" if p.get("reason") == SES_SUPPRESSED:
            _suppress(m, "email", SES_SUPPRESSED, p.get(CONTACT_PROPERTY), at)
        case "sms.failed" if p.get("permanent"):
            _suppress(m, "sms", str(p.get("reason", "invalid")), p.get(CONTACT_PROPERTY), at)

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
                m.sets[contact] = new_value  # a suppression stays with the address it was for
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
    m.removes -= {*m.sets, *m.set_if_absent, *m.adds, *m.deletes}  # a set value wins
    return [m, *later]


def always_applies(event: Event) -> bool:
    """Events a full profile still takes: a withdrawal of consent (an unsubscribe, a complaint, a
    consent block that only revokes) and a patch that only removes, so a full profile can always
    be opted out and cleaned up. They add a few bytes; FULL_BYTES leaves room for them."""
    if event.type in ("email.unsubscribed", "sms.unsubscribed", "email.complained"):
        return True
    consent = event.detail.consent or {}
    if any(change.granted for change in consent.values()):
        return False
    patch = event.detail.profile
    if patch is None:
        return bool(consent)
    adds = (patch.email, patch.phone, patch.timezone, patch.locale, patch.tags and patch.tags.add)
    return all(v is None for v in patch.attributes.values()) and not any(adds)


def suppression_mutation(channel: str, reason: str, contact: str, now: dt.datetime) -> Mutation:
    """Suppress the contact point a provider refused for good (a carrier opt-out), never creating
    a profile that was erased meanwhile."""
    m = Mutation(must_exist=True)
    _suppress(m, channel, reason, contact_digest(contact), iso(now))
    m.sets["updated_at"] = iso(now)
    return m


def step_mutations(kind: str, change: Mapping[str, Any], now: dt.datetime) -> list[Mutation]:
    """A journey's ``tag`` (``{add, remove}``) or ``set`` (``{name: value or None}``) step as a
    profile mutation: on live profiles only (never recreating an erased one, never on a
    tombstone), and never a reserved key (the validator refuses those at build time already).
    Tags both added and removed take two updates (DynamoDB refuses two clauses on one path)."""
    m = Mutation(must_exist=True)
    later: list[Mutation] = []
    m.sets["updated_at"] = iso(now)
    if kind == "tag":
        added = {str(t) for t in change.get("add") or ()}
        removed = {str(t) for t in change.get("remove") or ()} - added  # a tag both ways: added
        if added:
            m.adds["tags"] = added
        if removed and added:
            later.append(Mutation(deletes={"tags": removed}))
        elif removed:
            m.deletes["tags"] = removed
    else:
        for name, value in change.items():
            if is_reserved(name):
                continue
            if value is None:
                m.removes.add(name)
            else:
                m.sets[name] = _dynamo_value(value)
    return [m, *later]


def _suppress(m: Mutation, channel: str, reason: str, digest: Any, at: str) -> None:
    """``digest``: the contact point the provider reported on (from the message index); None
    for records from before suppressions were per address, which suppress any address."""
    record: dict[str, Any] = {"reason": reason, "at": at}
    if isinstance(digest, str) and digest:
        record["contact"] = digest
    m.sets[suppressed_key(channel)] = record


def _consent(m: Mutation, channel: str, change: ConsentChange, at: str) -> None:
    """The current decision on the profile; the ledger entry goes to the state table
    (``StatePort.log_consent``), which keeps every decision without growing the profile."""
    record = {"granted": change.granted, "at": at, "source": change.source}
    m.sets[consent_key(channel)] = record
    m.consent_changes.append({"channel": channel, **record})


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


def stale_markers(item: Mapping[str, Any], now: int) -> list[str]:
    """Dedupe markers older than ``SEEN_SECONDS`` or beyond the newest ``SEEN_KEEP``, once there
    are ``SEEN_TRIM_BATCH`` of them (so trimming costs one extra write per batch)."""
    markers = sorted((k for k in item if k.startswith(SEEN_PREFIX)), key=lambda k: (item[k], k))
    old = [k for k in markers if int(item[k]) < now - SEEN_SECONDS]
    stale = markers[: min(max(len(old), len(markers) - SEEN_KEEP), SEEN_TRIM_MAX)]
    return stale if len(stale) >= SEEN_TRIM_BATCH else []


def trimming(item: Mapping[str, Any], now: int) -> Mutation | None:
    """The follow-up write that keeps a profile bounded after an update: stale markers, the
    viewed categories beyond ``VIEWED_CATEGORIES_KEEP``, and the full flag set or cleared."""
    m = Mutation()
    m.removes.update(stale_markers(item, now))
    viewed = item.get("viewed_categories")
    if isinstance(viewed, set | frozenset) and len(viewed) > VIEWED_CATEGORIES_KEEP:
        m.deletes["viewed_categories"] = set(sorted(viewed)[VIEWED_CATEGORIES_KEEP:])
    rest = {k: v for k, v in item.items() if k not in m.removes}
    full = item_bytes(rest) >= FULL_BYTES
    if full and FULL not in item:
        m.sets[FULL] = True
    elif not full and FULL in item:
        m.removes.add(FULL)
    return m if (m.removes or m.deletes or m.sets) else None


def item_bytes(value: Any) -> int:
    """An item's size as DynamoDB counts it, closely enough for a budget (names and values in
    UTF-8, numbers by their digits, a few bytes per container)."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        return len(str(value)) // 2 + 2
    if isinstance(value, Mapping):
        return 3 + sum(item_bytes(k) + item_bytes(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return 3 + sum(item_bytes(v) + 1 for v in value)
    return len(bytes(value))


def changed(
    old: Mapping[str, Any], new: Mapping[str, Any], names: Iterable[str]
) -> dict[str, tuple[Any, Any]]:
    """Attributes among ``names`` whose value differs between old and new."""
    return {n: (old.get(n), new.get(n)) for n in names if old.get(n) != new.get(n)}


def changed_among(
    old: Mapping[str, Any], new: Mapping[str, Any], ranks: Mapping[str, int]
) -> dict[str, tuple[Any, Any]]:
    """``changed`` for the names of ``ranks`` (name → place), in that order. It looks at whichever
    is fewer, the names or the two profiles' attributes, so a profile change costs the same however
    many names are watched (an attribute in neither profile has not changed)."""
    if len(ranks) <= len(old) + len(new):
        return changed(old, new, ranks)
    present = [n for n in {*old, *new} if n in ranks]
    return changed(old, new, sorted(present, key=ranks.__getitem__))
