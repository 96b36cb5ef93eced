"""Synthetic users for simulation: profiles, what they do on their own, and how they react to
messages. Everything is drawn from ``random.Random`` streams seeded per user and purpose, so
the same seed gives the same people doing the same things, whatever else changes."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from touchpoint.clock import iso
from touchpoint.journey.model import Ops
from touchpoint.local.scenario import Behaviour, Population
from touchpoint.registry import RegistryEntry

ZONES = (
    ("Asia/Shanghai", 0.86),
    ("Asia/Singapore", 0.04),
    ("Europe/Berlin", 0.04),
    ("America/New_York", 0.04),
    ("Asia/Tokyo", 0.02),
)
ZH_NAMES = ("小林", "阿明", "晓雯", "子涵", "浩然", "思琪", "俊杰", "雨桐", "志强", "佳怡", "文博", "欣怡")
EN_NAMES = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Riley", "Avery", "Quinn")
CATEGORIES = ("coffee_beans", "accessories", "espresso_machines", "grinders", "tea")
REGIONS = ("east", "north", "south", "west")


@dataclass
class PlannedEvent:
    at: dt.datetime
    type: str
    properties: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] | None = None
    consent: dict[str, Any] | None = None
    event_id: str | None = None  # a scripted id (copies of one event share it); else derived


@dataclass
class Person:
    user_id: str
    existing: dict[str, Any] | None  # the profile item to backfill for users who exist at the start
    events: list[PlannedEvent]
    email_consent: bool
    sms_consent: bool


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


def _consent(granted: bool, at: str, source: str) -> dict[str, Any]:
    return {"granted": granted, "at": at, "source": source}


def synthetic_id(index: int) -> str:
    return f"u{index:05d}"


def synthetic_index(user_id: str) -> int | None:
    """The index ``generate`` made ``user_id`` from, or None for an id it never makes."""
    digits = user_id[1:]
    if not user_id.startswith("u") or not digits.isascii() or not digits.isdigit():
        return None
    index = int(digits)
    return index if synthetic_id(index) == user_id else None


def _person(seed: int, index: int) -> tuple[random.Random, str]:
    """A person's own random stream, and its first draw: their time zone."""
    rng = random.Random(f"{seed}:person:{index}")
    return rng, _pick(rng, ZONES)


def synthetic_zone(seed: int, user_id: str) -> str | None:
    """The time zone ``generate`` gives a synthetic user (None for an id it never makes)."""
    index = synthetic_index(user_id)
    return None if index is None else _person(seed, index)[1]


def generate(
    population: Population,
    seed: int,
    start: dt.datetime,
    end: dt.datetime,
    sale_days: frozenset[dt.date] = frozenset(),
) -> Iterator[Person]:
    """``sale_days``: campaign event dates (a Double-12 sale): customers order more on them."""
    days = (end - start).days
    for index in range(population.count):
        rng, zone = _person(seed, index)
        user_id = synthetic_id(index)
        chinese = zone in ("Asia/Shanghai", "Asia/Singapore") and rng.random() < 0.95
        locale = "zh-CN" if chinese else "en"
        nickname = rng.choice(ZH_NAMES if chinese else EN_NAMES)
        phone = f"+86138{rng.randrange(10**8):08d}" if chinese else f"+1415555{rng.randrange(10**4):04d}"
        email_consent = rng.random() < population.email_consent
        sms_consent = rng.random() < population.sms_consent
        attributes: dict[str, Any] = {
            "nickname": nickname,
            "region": rng.choice(REGIONS),
            "age": rng.randrange(18, 66),
            "birthday": dt.date(
                rng.randrange(1965, 2006), rng.randrange(1, 13), rng.randrange(1, 29)
            ).isoformat(),
            "favourite_category": rng.choice(CATEGORIES),
        }
        if rng.random() < population.members:
            expiry = start.date() + dt.timedelta(days=rng.randrange(-10, 60))
            attributes["member_until"] = expiry.isoformat()
            attributes["member_level"] = rng.choice(("silver", "gold", "platinum"))
        b2b = rng.random() < population.b2b
        if b2b:
            attributes.update(
                company=rng.choice(("Acme Ltd", "Orient Trading", "Nova Labs")),
                job_title=rng.choice(("Buyer", "Office manager", "CTO")),
            )
        tags = ["employee"] if rng.random() < 0.01 else []
        events: list[PlannedEvent] = []
        new = rng.random() < population.new_share
        existing: dict[str, Any] | None = None
        if new:
            at = start + dt.timedelta(seconds=rng.randrange(days * 86400))
            profile = {
                "email": f"{user_id}@example.com",
                "phone": phone,
                "timezone": zone,
                "locale": locale,
                "attributes": attributes,
                **({"tags": {"add": tags}} if tags else {}),
            }
            consent = {
                "email": {"granted": email_consent, "source": "signup-form"},
                "sms": {"granted": sms_consent, "source": "signup-form"},
            }
            events.append(
                PlannedEvent(at, "user.registered", {"channel": rng.choice(("web", "app"))}, profile, consent)
            )
            active_from, customer, dormant = at, False, False
        else:
            customer = rng.random() < population.customers
            dormant = customer and rng.random() < population.dormant
            seen = start - dt.timedelta(
                days=rng.randrange(31, 120) if dormant else rng.randrange(0, 7), seconds=rng.randrange(86400)
            )
            registered = start - dt.timedelta(days=rng.randrange(120, 900))
            existing = {
                "user_id": user_id,
                "email": f"{user_id}@example.com",
                "phone": phone,
                "timezone": zone,
                "locale": locale,
                **attributes,
                "registered_at": iso(registered),
                "created_at": iso(registered),
                "updated_at": iso(seen),
                "last_seen_at": iso(seen),
                "lifecycle_stage": "active" if customer else "prospect",
                "consent_email": _consent(email_consent, iso(registered), "import"),
                "consent_sms": _consent(sms_consent, iso(registered), "import"),
            }
            if tags:
                existing["tags"] = set(tags)
            if customer:
                orders = rng.randrange(1, 6)
                last = seen - dt.timedelta(days=rng.randrange(0, 20))
                existing.update(
                    orders_count=Decimal(orders),
                    total_spent=Decimal(orders * rng.randrange(60, 400)),
                    first_order_at=iso(registered + dt.timedelta(days=3)),
                    last_order_at=iso(last),
                )
            active_from = start
        # what they do on their own
        daily = _daily_rates(customer, dormant, new)
        for day in range(days):
            midnight = start + dt.timedelta(days=day)
            for kind, rate in daily.items():
                if rng.random() < rate:
                    at = midnight + dt.timedelta(seconds=rng.randrange(8 * 3600, 23 * 3600))
                    if at > active_from:
                        events += _spontaneous(rng, kind, at)
            if midnight.date() in sale_days and customer and rng.random() < 0.12:
                at = midnight + dt.timedelta(hours=rng.randrange(2, 14))
                events.append(_order(rng, at, rng.choice(CATEGORIES)))
        if b2b:
            at = max(active_from, start) + dt.timedelta(seconds=rng.randrange(max(1, (days - 5) * 86400)))
            events.append(
                PlannedEvent(at, "form.submitted", {"form_type": "whitepaper", "asset": "coffee-at-work"})
            )
        events.sort(key=lambda e: e.at)
        yield Person(user_id, existing, events, email_consent, sms_consent)


def _daily_rates(customer: bool, dormant: bool, new: bool) -> dict[str, float]:
    if dormant:
        return {"user.logged_in": 0.01, "page.viewed": 0.01}
    base = {"user.logged_in": 0.08, "page.viewed": 0.06, "cart.updated": 0.018, "order.placed": 0.004}
    if customer:
        base["order.placed"] = 0.007
    if new:
        base["cart.updated"] = 0.03
    return base


def _order(rng: random.Random, at: dt.datetime, category: str) -> PlannedEvent:
    amount = {"espresso_machines": 2999, "grinders": 899}.get(category, rng.randrange(49, 399))
    return PlannedEvent(
        at,
        "order.placed",
        {"amount": amount, "category": category, "products": [f"{category}-{rng.randrange(1, 20):02d}"]},
    )


def _spontaneous(rng: random.Random, kind: str, at: dt.datetime) -> list[PlannedEvent]:
    match kind:
        case "page.viewed":
            return [PlannedEvent(at, kind, {"category": rng.choice(CATEGORIES), "page": "category"})]
        case "cart.updated":
            items = rng.randrange(1, 4)
            cart = PlannedEvent(at, kind, {"items": items, "value": items * rng.randrange(49, 299)})
            if rng.random() < 0.12:  # most carts are abandoned; some are paid within two days
                paid = at + dt.timedelta(minutes=rng.randrange(20, 2 * 24 * 60))
                return [cart, _order(rng, paid, rng.choice(CATEGORIES))]
            return [cart]
        case "order.placed":
            category = rng.choices(CATEGORIES, weights=(5, 3, 1, 1, 2))[0]
            return [_order(rng, at, category)]
        case _:
            return [PlannedEvent(at, kind)]


@dataclass(frozen=True)
class Reaction:
    kind: str  # delivered, delayed, pending, opened, clicked, bounced, failed, unsubscribe, convert
    at: dt.datetime
    event: PlannedEvent | None = None
    detail: str | None = None  # the provider's word: a bounce's Type/SubType, an SMS status


#: The final SMS failures, in the order one roll is split between them.
SMS_FAILURES = (
    ("sms_carrier_unreachable", "TEXT_CARRIER_UNREACHABLE"),
    ("sms_blocked", "TEXT_BLOCKED"),
    ("sms_invalid", "TEXT_INVALID"),
    ("sms_ttl_expired", "TEXT_TTL_EXPIRED"),
)


def account_suppressed(behaviour: Behaviour, seed: int, user_id: str) -> bool:
    """Whether the user's address is on SES's account-level suppression list (from before
    Touchpoint, or another application of the account): one draw per user."""
    return random.Random(f"{seed}:ses-suppressed:{user_id}").random() < behaviour.account_suppressed


def carrier_opted_out(behaviour: Behaviour, seed: int, user_id: str) -> bool:
    """Whether the user's number is on End User Messaging's opt-out list: one draw per user."""
    return random.Random(f"{seed}:carrier-opt-out:{user_id}").random() < behaviour.carrier_opt_out


def react(
    behaviour: Behaviour,
    seed: int,
    user_id: str,
    message_key: str,
    channel: str,
    at: dt.datetime,
    journey: RegistryEntry | None,
) -> list[Reaction]:
    """What a synthetic user does with one message, and what the provider reports: drawn from
    streams seeded by the message (the user's reactions; the provider's fate of the message
    apart), so a change elsewhere in the scenario does not reshuffle it, and the provider's
    outcomes leave the user's draws as they were."""
    rng = random.Random(f"{seed}:react:{user_id}:{message_key}")
    provider = random.Random(f"{seed}:provider:{user_id}:{message_key}")
    out: list[Reaction] = []
    extra = dt.timedelta(0)  # how much later than usual the provider delivers
    if channel == "email":
        if account_suppressed(behaviour, seed, user_id):  # SES never sends it
            at_once = at + dt.timedelta(seconds=provider.randrange(1, 5))
            return [Reaction("bounced", at_once, detail="Permanent/OnAccountSuppressionList")]
        if rng.random() < behaviour.bounce:
            return [
                Reaction(
                    "bounced", at + dt.timedelta(seconds=rng.randrange(5, 120)), detail="Permanent/General"
                )
            ]
        roll = provider.random()
        given_up = at + dt.timedelta(minutes=provider.randrange(30, 12 * 60))  # SES retried until then
        if roll < behaviour.transient_bounce:
            return [Reaction("bounced", given_up, detail="Transient/MailboxFull")]
        roll -= behaviour.transient_bounce
        if roll < behaviour.undetermined_bounce:
            return [Reaction("bounced", given_up, detail="Undetermined/Undetermined")]
        roll -= behaviour.undetermined_bounce
        if roll < behaviour.rendering_failure:
            return [Reaction("rendering_failed", at + dt.timedelta(seconds=1))]
        if provider.random() < behaviour.delivery_delay:
            out.append(Reaction("delayed", at + dt.timedelta(seconds=provider.randrange(60, 600))))
            extra = dt.timedelta(minutes=provider.randrange(15, 6 * 60))
    if channel == "sms":
        roll = rng.random()
        for share, status in SMS_FAILURES:
            if roll < getattr(behaviour, share):
                return [Reaction("failed", at + dt.timedelta(seconds=rng.randrange(5, 120)), detail=status)]
            roll -= getattr(behaviour, share)
        if provider.random() < behaviour.sms_not_final:
            status = provider.choice(("TEXT_PENDING", "TEXT_CARRIER_UNREACHABLE"))
            out.append(Reaction("pending", at + dt.timedelta(seconds=1), detail=status))
            extra = dt.timedelta(seconds=provider.randrange(60, 2 * 3600))
    delivered = at + dt.timedelta(seconds=rng.randrange(2, 90)) + extra
    out.append(Reaction("delivered", delivered))
    moment = delivered
    if channel == "email":
        if rng.random() >= behaviour.open:
            return out
        moment = delivered + dt.timedelta(minutes=min(rng.expovariate(1 / 240), 3 * 24 * 60))
        out.append(Reaction("opened", moment))
        clicked = rng.random() < behaviour.click
    else:
        clicked = rng.random() < behaviour.sms_click
    if rng.random() < behaviour.unsubscribe:
        out.append(Reaction("unsubscribe", moment + dt.timedelta(minutes=rng.randrange(1, 30))))
        return out
    if not clicked:
        return out
    moment += dt.timedelta(minutes=rng.randrange(1, 20))
    out.append(Reaction("clicked", moment))
    if journey is not None and journey.goal is not None and rng.random() < behaviour.convert_after_click:
        goal = journey.goal
        properties = {name: _satisfying(value) for name, value in goal.where.items()}
        if goal.event == "order.placed":
            properties.setdefault("amount", rng.randrange(59, 599))
            properties.setdefault("category", rng.choice(CATEGORIES))
        converted = moment + dt.timedelta(minutes=rng.randrange(5, 6 * 60))
        out.append(Reaction("convert", converted, PlannedEvent(converted, goal.event, properties)))
    return out


def _satisfying(value: Any) -> Any:
    """A property value that passes a ``where`` entry (equality, or the first operator's operand)."""
    if isinstance(value, Ops):
        for op, operand in value.operators():
            if op in ("eq", "gte", "lte", "contains"):
                return operand
            if op == "in":
                return operand[0]
            if op == "gt":
                return operand + 1 if isinstance(operand, int | float) else operand
        return True
    return value
