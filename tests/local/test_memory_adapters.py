"""The in-memory adapters answer, store and meter exactly as the DynamoDB adapters do on moto.

Random call sequences run on both, side by side: every answer (with its types: ``1``,
``Decimal(1)`` and ``True`` are equal in Python, not on the wire), the metered requests after
every call, and at the end every stored item must be the same."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import random
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.conftest import MeteredDynamo
from touchpoint import profiles as profile_rules
from touchpoint.aws.dynamo import from_item
from touchpoint.aws.kpis import TRANSACTION_ITEMS, DynamoKpis
from touchpoint.aws.once import PowertoolsOnce
from touchpoint.aws.profiles import DynamoProfiles
from touchpoint.engine.kpi.values import NONE, PERIOD_ALL, Cell, Marker
from touchpoint.errors import TransientError
from touchpoint.events import ConsentChange, Event, EventDetail, ProfilePatch, TagPatch
from touchpoint.local.memory.kpis import MemoryKpis
from touchpoint.local.memory.once import MemoryOnce
from touchpoint.local.memory.profiles import MemoryProfiles
from touchpoint.local.memory.store import Table
from touchpoint.local.meter import Meter
from touchpoint.profiles import SEEN_PREFIX, Mutation, mutations_for

START = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


class Crash(BaseException):
    """An invocation killed mid-call (a Lambda timeout): Powertools cannot clear its record."""


@pytest.fixture
def aws(metered_dynamodb: MeteredDynamo, monkeypatch: pytest.MonkeyPatch) -> MeteredDynamo:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "touchpoint-send-email")  # idempotency's partition
    return metered_dynamodb


def _typed(value: Any) -> Any:
    """``value`` with its types spelled out, Decimals by their digits (``2.50`` is not ``2.5``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            type(value).__name__,
            {f.name: _typed(getattr(value, f.name)) for f in dataclasses.fields(value)},
        ]
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [type(value).__name__, *(_typed(v) for v in value)]
    if isinstance(value, set | frozenset):
        return ["set", *sorted(repr(_typed(v)) for v in value)]
    return (type(value).__name__, repr(value))


def _outcome(call: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    try:
        return ("ok", call(*args))
    except ClientError as error:
        return ("client error", error.response["Error"]["Code"])
    except TransientError as error:
        return ("transient", str(error))
    except (Exception, Crash) as error:
        return ("raised", type(error).__name__)


class Twins:
    """One adapter on moto, one in memory, each with its meter; every call goes to both."""

    def __init__(self, aws: MeteredDynamo, real: Any, memory: Any, memory_meter: Meter) -> None:
        self.aws, self.real, self.memory, self.memory_meter = aws, real, memory, memory_meter
        self.calls = 0
        self.in_memory = False  # which side is being called (for a callback that counts its calls)

    def __call__(self, method: str, *args: Any) -> Any:
        """``method(*args)`` on both; the (typed) outcomes and the meters must agree. The outcome."""
        self.in_memory = False
        real = _outcome(getattr(self.real, method), args)
        self.in_memory = True
        memory = _outcome(getattr(self.memory, method), args)
        self.calls += 1
        assert _typed(memory) == _typed(real), f"call {self.calls}: {method}{args}"
        assert self.memory_meter.calls == self.aws.meter.calls, f"call {self.calls}: {method}{args}"
        assert self.memory_meter.units == self.aws.meter.units, f"call {self.calls}: {method}{args}"
        return real

    def assert_same_items(self, table_name: str, table: Table) -> None:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {"TableName": table_name}
        while True:
            response = self.aws.reader.scan(**request)
            items += [from_item(i) for i in response["Items"]]
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        real = sorted(items, key=table.key)
        memory = [table.get(pk, sk) for pk in sorted(table.partitions) for sk in sorted(table.partitions[pk])]
        assert real, "the workload must leave items behind"
        assert _typed(memory) == _typed(real)


# --------------------------------------------------------------------------- profiles

USERS = [f"u{i}" for i in range(4)]
REPLACED = USERS[2:]  # puts and deletes hit these: the others keep their markers
EVENT_TYPES = [
    "user.registered",
    "order.placed",
    "order.placed",
    "page.viewed",
    "page.viewed",
    "cart.updated",
    "app.opened",
    "email.unsubscribed",
    "sms.unsubscribed",
    "email.complained",
    "email.bounced",
    "sms.failed",
    "email.opened",
    "email.clicked",
]


def _event(rng: random.Random, user_id: str, event_id: str, at: dt.datetime) -> Event:
    kind = rng.choice(EVENT_TYPES)
    properties: dict[str, Any] = {}
    match kind:
        case "order.placed":
            properties["amount"] = rng.choice([19.9, "12.50", 7, None, "lots"])
            if rng.random() < 0.5:
                properties["products"] = rng.sample(["p1", "p2", "p3"], rng.randrange(0, 3))
        case "page.viewed":
            properties["category"] = rng.choice(["shoes", "hats", "", 3])
        case "cart.updated":
            properties.update(items=rng.choice([2, "3", None]), value=rng.choice([3.25, 10]))
        case "email.bounced":
            properties["bounce_type"] = rng.choice(["permanent", "transient"])
        case "sms.failed":
            properties.update(permanent=rng.random() < 0.5, reason="invalid")
        case "email.unsubscribed" | "sms.unsubscribed":
            properties["source"] = rng.choice(["link", "reply"])
    patch = None
    if rng.random() < 0.5:
        attributes: dict[str, Any] = {}
        choices: dict[str, list[Any]] = {
            "plan": ["free", "pro", None],
            "score": [1, 2.5, 0.1, None],
            "prefs": [{"a": [1, "x", True], "b": {"c": 0.5}}, None],
            "vip": [True, False],
        }
        for name, values in choices.items():
            if rng.random() < 0.4:
                attributes[name] = rng.choice(values)
        tags = None
        if rng.random() < 0.5:
            tags = TagPatch(
                add=rng.sample(["vip", "beta", "churn"], rng.randrange(0, 3)),
                remove=rng.sample(["vip", "beta", "churn", "gone"], rng.randrange(0, 3)),
            )
        patch = ProfilePatch(
            attributes=attributes,
            tags=tags,
            email=rng.choice([None, f"{user_id}@example.com"]),
            phone=rng.choice([None, "+8613800000000"]),
            timezone=rng.choice([None, "Asia/Shanghai"]),
            locale=rng.choice([None, "zh-CN"]),
        )
    consent = None
    if rng.random() < 0.2:
        consent = {rng.choice(["email", "sms"]): ConsentChange(granted=rng.random() < 0.5, source="form")}
    detail = EventDetail(
        event_id=event_id,
        user_id=user_id,
        occurred_at=at,
        properties=properties,
        profile=patch,
        consent=consent,
    )
    return Event(kind, "app", detail)


def _markers(item: dict[str, Any]) -> int:
    return len([k for k in item if k.startswith(SEEN_PREFIX)])


def _profile_item(rng: random.Random, user_id: str) -> dict[str, Any]:
    item: dict[str, Any] = {"user_id": user_id, "created_at": "2026-11-01T00:00:00Z", "score": 1.5}
    if rng.random() < 0.5:
        item["tags"] = {"vip", "beta"}
    if rng.random() < 0.5:
        item["consent_email"] = {"granted": True, "at": "2026-11-01T00:00:00Z", "source": "scenario"}
    return item


@pytest.mark.parametrize("seed", [1, 2])
def test_memory_profiles_match_dynamo_profiles(
    aws: MeteredDynamo, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small bounds, so 90 calls reach them: markers trimmed, a profile full, then cleaned
    monkeypatch.setattr(profile_rules, "SEEN_KEEP", 6)
    monkeypatch.setattr(profile_rules, "SEEN_TRIM_BATCH", 3)
    monkeypatch.setattr(profile_rules, "FULL_BYTES", 1500)
    rng = random.Random(seed)
    table = Table(Meter(), "user_id")
    twins = Twins(aws, DynamoProfiles(aws.client, "profiles"), MemoryProfiles(table), table.meter)
    seen: list[str] = []
    statuses: set[str] = set()
    trimmed = pages = 0
    now = START
    for step in range(90):
        now += dt.timedelta(seconds=rng.randrange(1, 600))
        user = rng.choices(USERS, weights=[5, 2, 1, 1])[0]  # u0 gets enough events to be trimmed
        roll = rng.random()
        if roll < 0.76:
            replay = seen and rng.random() < 0.15
            event_id = rng.choice(seen) if replay else f"e{step}"
            seen.append(event_id)
            late = now - dt.timedelta(hours=rng.randrange(1, 48)) if rng.random() < 0.2 else now
            mutations = mutations_for(_event(rng, user, event_id, late), now)
            result = twins("apply", user, mutations)
            if result[0] == "ok":
                statuses.add(result[1].status)
                trimmed += _markers(result[1].new) < _markers(result[1].old)
        elif roll < 0.78 and seen:
            # A second mutation refused by its condition: DynamoDB keeps the first update.
            mutations = [Mutation(marker=f"x{step}", sets={"x": step}), Mutation(marker=rng.choice(seen))]
            twins("apply", user, mutations)
        elif roll < 0.82:
            twins("get", user)
        elif roll < 0.88:
            limit = rng.randrange(1, 4)
            page = twins("scan", None, limit)
            while page[1][1] is not None and rng.random() < 0.8:
                pages += 1
                page = twins("scan", page[1][1], limit)
        elif roll < 0.94:
            item = _profile_item(rng, rng.choice(REPLACED))
            twins("put", item)
        else:
            gone = rng.choice(REPLACED)
            twins("erase", gone, now)
    twins.assert_same_items("profiles", table)
    assert statuses == {"applied", "duplicate", "gone", "erased", "full"}
    assert trimmed, "the workload must trim markers"
    assert pages, "the workload must page through scans"
    assert aws.meter.calls[("dynamodb", "UpdateItem")] > 0


def test_a_profile_trims_its_oldest_markers_as_dynamo_profiles_does(aws: MeteredDynamo) -> None:
    table = Table(Meter(), "user_id")
    twins = Twins(aws, DynamoProfiles(aws.client, "profiles"), MemoryProfiles(table), table.meter)
    keep, batch = profile_rules.SEEN_KEEP, profile_rules.SEEN_TRIM_BATCH
    for i in range(keep + batch):
        at = START + dt.timedelta(minutes=i)
        event = Event("app.opened", "app", EventDetail(event_id=f"e{i}", user_id="u1", occurred_at=at))
        mutations = mutations_for(event, at)
        twins("apply", "u1", mutations)
    assert _markers(table.get("u1") or {}) == keep  # a batch of the oldest went in one extra write
    at = START + dt.timedelta(days=16)  # markers older than the redelivery horizon go too
    event = Event("app.opened", "app", EventDetail(event_id="late", user_id="u1", occurred_at=at))
    twins("apply", "u1", mutations_for(event, at))
    assert _markers(table.get("u1") or {}) == 1 + keep - profile_rules.SEEN_TRIM_MAX  # 64 a write
    twins.assert_same_items("profiles", table)


# --------------------------------------------------------------------------- kpis

JOURNEYS = ["j1", "j2"]
DAYS = [(START.date() + dt.timedelta(days=d)).isoformat() for d in range(4)]


def _cells(rng: random.Random, size: int) -> dict[Cell, int]:
    cells = {}
    for _ in range(size):
        journey, day = rng.choice(JOURNEYS), rng.choice(DAYS)
        counter = rng.choice(["entered", "sent", "delivered", "opened", "goal_converted"])
        channel, step = rng.choice([(NONE, NONE), ("email", "s1"), ("sms", "s2")])
        for period in (day, PERIOD_ALL):
            cells[Cell(journey, period, counter, channel, step)] = rng.randrange(1, 4)
    return cells


def _marker(rng: random.Random, counted: list[Marker], fresh: int, taken: set[Marker]) -> Marker:
    """A new marker, or one counted before (not one already in this batch: kpi_rollup drops those)."""
    again = [m for m in counted[-20:] if m not in taken]
    if again and rng.random() < 0.25:
        return rng.choice(again)
    if rng.random() < 0.3:
        return Marker("seen", f"m{fresh}", rng.choice(["opened", "clicked"]))
    return Marker("event", f"entry:j1:u{fresh}:e{fresh}")


@pytest.mark.parametrize("seed", [1, 2])
def test_memory_kpis_match_dynamo_kpis(aws: MeteredDynamo, seed: int) -> None:
    rng = random.Random(seed)
    table = Table(Meter(), "pk", "sk")
    twins = Twins(aws, DynamoKpis(aws.client, "kpis"), MemoryKpis(table), table.meter)
    counted: list[Marker] = []
    fresh = doubled = 0
    answers: list[Any] = []
    for _ in range(35):
        roll = rng.random()
        expires = START + dt.timedelta(days=rng.choice([15, 90]))
        if roll < 0.45:
            big = rng.random() < 0.15
            entries: list[tuple[Marker, dict[Cell, int], dt.datetime]] = []
            for _ in range(rng.randrange(40, 70) if big else rng.randrange(1, 8)):
                fresh += 1
                marker = _marker(rng, counted, fresh, {m for m, _, _ in entries})
                entries.append((marker, _cells(rng, rng.randrange(0, 3)), expires))
            if not big and rng.random() < 0.15:
                entries.append(entries[0])  # one item twice in a transaction: refused whole
                doubled += 1
            counted += [m for m, _, _ in entries]
            answers.append(twins("count_many", entries))
        elif roll < 0.55:
            fresh += 1
            marker, cells = _marker(rng, counted, fresh, set()), _cells(rng, 1)
            counted.append(marker)
            answers.append(twins("count", marker, cells, expires))
        elif roll < 0.7:
            journey, period = rng.choice(JOURNEYS), rng.choice([*DAYS, PERIOD_ALL, "2027-01-01"])
            answers.append(twins("read", journey, period))
        elif roll < 0.8:
            first = START.date() + dt.timedelta(days=rng.randrange(-1, 3))
            last = first + dt.timedelta(days=rng.randrange(0, 3))
            journey = rng.choice(JOURNEYS)
            answers.append(twins("read_days", journey, first, last))
        elif roll < 0.9:
            journey, kpi = rng.choice(JOURNEYS), rng.choice(["open_rate", "bounce_rate"])
            state, at = rng.choice(["ok", "below_floor"]), START + dt.timedelta(hours=rng.randrange(48))
            twins("save_alert_state", journey, kpi, state, at)
        else:
            journey = rng.choice(JOURNEYS)
            answers.append(twins("alert_states", journey))
    twins.assert_same_items("kpis", table)
    flat = [r for a in answers if a[0] == "ok" and isinstance(a[1], list) for r in a[1]]
    assert True in flat, "the workload must count"
    assert False in flat, "the workload must find duplicates"
    assert len([a for a in answers if a == ("raised", "Unstorable")]) == doubled


def test_a_big_batch_is_chunked_as_dynamo_kpis_chunks_it(aws: MeteredDynamo) -> None:
    table = Table(Meter(), "pk", "sk")
    twins = Twins(aws, DynamoKpis(aws.client, "kpis"), MemoryKpis(table), table.meter)
    rng = random.Random(5)
    expires = START + dt.timedelta(days=15)
    entries = [(Marker("event", f"e{i}"), _cells(rng, 2), expires) for i in range(150)]
    twins("count_many", entries[:40])
    before = aws.meter.calls[("dynamodb", "TransactWriteItems")]
    assert twins("count_many", entries) == ("ok", [False] * 40 + [True] * 110)
    cells = sum(len(c) for _, c, _ in entries[40:])
    assert aws.meter.calls[("dynamodb", "TransactWriteItems")] - before > (110 + cells) // TRANSACTION_ITEMS
    twins("count_many", [entries[0], entries[0]])
    twins.assert_same_items("kpis", table)


# --------------------------------------------------------------------------- once


class FrozenDatetime(dt.datetime):
    current = dt.datetime(2026, 12, 1, 10, 0)

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> FrozenDatetime:
        return cls.fromtimestamp(cls.current.timestamp(), tz)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> type[FrozenDatetime]:
    """Powertools' clock (``dt.datetime.now()`` in its modules) under the test's control, so both
    sides write the same expiries and records can be made to expire."""
    from aws_lambda_powertools.utilities.idempotency import base
    from aws_lambda_powertools.utilities.idempotency.persistence import base as persistence_base
    from aws_lambda_powertools.utilities.idempotency.persistence import datarecord, dynamodb

    from touchpoint.local.memory import once

    modules: list[ModuleType] = [base, persistence_base, datarecord, dynamodb, once]
    for module in modules:
        monkeypatch.setattr(module, "dt", SimpleNamespace(datetime=FrozenDatetime, timedelta=dt.timedelta))
    monkeypatch.setattr(FrozenDatetime, "current", FrozenDatetime.current)
    return FrozenDatetime


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _once_twins(aws: MeteredDynamo, context: bool) -> tuple[Twins, Table]:
    table = Table(Meter(), "pk", "sk")
    real = PowertoolsOnce(aws.client, "state", 3600, prefix="send-email")
    memory = MemoryOnce(table, 3600, prefix="send-email")
    if context:
        real.register_lambda_context(Context())
        memory.register_lambda_context(Context())
    return Twins(aws, real, memory, table.meter), table


@pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")  # seed 3: no context
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_memory_once_matches_powertools_once(
    aws: MeteredDynamo, frozen: type[FrozenDatetime], seed: int
) -> None:
    rng = random.Random(seed)
    twins, table = _once_twins(aws, context=seed != 3)
    runs: dict[tuple[bool, str], int] = {}  # (in memory?, key) → calls of fn
    outcomes: set[str] = set()

    def fn(key: str, step: int, behaviour: str) -> dict[str, Any]:
        side = (twins.in_memory, key)
        runs[side] = runs.get(side, 0) + 1
        if behaviour == "raise":
            raise ValueError("the provider refused")
        if behaviour == "crash":
            raise Crash
        return {} if behaviour == "empty" else {"step": step, "run": runs[side], "price": Decimal("0.5")}

    for step in range(60):
        frozen.current += dt.timedelta(seconds=rng.choice([1, 5, 5, 40, 4000]))
        key = f"k{rng.randrange(3)}"
        behaviour = rng.choice(["ok", "ok", "ok", "empty", "raise", "crash"])
        before = dict(runs)
        result = twins("run", key, functools.partial(fn, key, step, behaviour))
        ran = {side: runs.get((side, key), 0) - before.get((side, key), 0) for side in (False, True)}
        assert ran[False] == ran[True], "fn runs on both sides or on neither"
        outcomes.add(f"{result[0]}, ran={ran[True]}")
    twins.assert_same_items("state", table)
    assert {"ok, ran=1", "ok, ran=0", "raised, ran=1"} <= outcomes
    if seed != 3:
        assert "transient, ran=0" in outcomes, "an in-progress record must refuse a second run"


def test_memory_once_runs_a_key_once_and_again_after_a_failure(
    aws: MeteredDynamo, frozen: type[FrozenDatetime]
) -> None:
    twins, table = _once_twins(aws, context=True)
    calls: list[str] = []

    def send(value: str) -> Callable[[], dict[str, Any]]:
        def fn() -> dict[str, Any]:
            calls.append(value)
            return {"sent": value}

        return fn

    def fail() -> dict[str, Any]:
        calls.append("fail")
        raise ValueError("boom")

    assert twins("run", "a", send("one")) == ("ok", {"sent": "one"})
    assert twins("run", "a", send("two")) == ("ok", {"sent": "one"})
    assert twins("run", "b", fail) == ("raised", "ValueError")
    assert twins("run", "b", send("three")) == ("ok", {"sent": "three"})
    frozen.current += dt.timedelta(seconds=3601)
    assert twins("run", "a", send("four")) == ("ok", {"sent": "four"})
    assert calls == [v for v in ["one", "fail", "three", "four"] for _ in range(2)]
    assert table.meter.calls == {
        ("dynamodb", "PutItem"): 5,
        ("dynamodb", "UpdateItem"): 3,
        ("dynamodb", "DeleteItem"): 1,
    }
    twins.assert_same_items("state", table)
