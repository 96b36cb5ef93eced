"""One conformance suite for the state table's two storages (``DynamoStorage`` on moto and
``MemoryStorage``): each storage operation and condition kind answers, stores and meters the same
on both, and so does the state repository over them.

Random sequences of repository calls (with the conflicts the engine relies on: ending twice, the wrong
execution, a held group slot, a full cap, a stale prefetched cap, taking a wait twice, erasure)
run against both; every answer and every metered request must match after every call, and at the
end so must each user's items and state and the whole table."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.local.conftest import MeteredDynamo
from touchpoint.aws.dynamo import from_item
from touchpoint.aws.state import DynamoStorage
from touchpoint.clock import iso
from touchpoint.engine.ports import (
    CapScope,
    EntryRecord,
    GroupSlot,
    MessageRecord,
    OverCap,
    ProofRecord,
    Reserved,
    SendIntent,
    SendView,
    WaitRecord,
)
from touchpoint.local.memory.state import MemoryStorage
from touchpoint.local.memory.store import Table
from touchpoint.local.meter import Meter
from touchpoint.state import storage as st
from touchpoint.state.items import wait_sort_key
from touchpoint.state.repository import StateRepository

REGION, TABLE = "us-east-1", "state"
Row = dict[str, Any]  # a stored item
START = dt.datetime(2026, 12, 1, 9, 0, 0, 250_000, tzinfo=dt.UTC)
USERS = ("u1", "u2", "u3")
JOURNEYS = ("welcome", "winback")
ARNS = tuple(f"arn:aws:states:{REGION}:123456789012:execution:welcome:{n}" for n in ("a", "b"))
GROUPS = ("promo", "service")
SCOPES = (
    CapScope("global:marketing", 2, 6 * 3600),
    CapScope("journey:welcome:email", 1, 3600),
    CapScope("journey:winback:sms", 3, 86400),
)
KEYS = ("send-1", "send-2", "send-3", "send-4")
WAITS = tuple(
    wait_sort_key(event, "welcome", f"wait_{event}", n) for event in ("opened", "purchased") for n in "ab"
)
MESSAGES = ("m1", "m2", "m3", "m4")
DIGESTS = ("d1", "d2", "d3")


@dataclasses.dataclass
class Side:
    """One implementation under test, its meter, and the send views it answered (for prefetches)."""

    state: StateRepository
    meter: Meter
    dump: Callable[[], list[Row]]  # the whole table, unmetered
    views: dict[str, SendView] = dataclasses.field(default_factory=dict)


Op = tuple[str, Callable[[Side], Any]]


@pytest.fixture
def sides(metered_dynamodb: MeteredDynamo) -> tuple[Side, Side]:
    """The state repository over (DynamoStorage on moto, MemoryStorage), each metered."""
    reader = metered_dynamodb.reader

    def scan() -> list[Row]:
        pages = reader.get_paginator("scan").paginate(TableName=TABLE)
        return sorted((from_item(i) for p in pages for i in p["Items"]), key=lambda i: (i["pk"], i["sk"]))

    table = Table(Meter(), "pk", "sk")
    return (
        Side(StateRepository(DynamoStorage(metered_dynamodb.client, TABLE)), metered_dynamodb.meter, scan),
        Side(StateRepository(MemoryStorage(table)), table.meter, lambda: table.scan(None, 1_000_000)[0]),
    )


# ---------------------------------------------------------------------- the storages


@pytest.fixture
def storages(sides: tuple[Side, Side]) -> tuple[st.Storage, st.Storage]:
    return sides[0].state.storage, sides[1].state.storage


def _both(sides: tuple[Side, Side], run: Callable[[st.Storage], Any]) -> Any:
    """``run`` on both storages: the same answer and the same metered requests; the answer."""
    dynamo, memory = sides
    expected, actual = (
        _outcome(lambda s: run(s.state.storage), dynamo),
        _outcome(lambda s: run(s.state.storage), memory),
    )
    assert _typed(actual) == _typed(expected)
    assert memory.meter.calls == dynamo.meter.calls
    assert memory.meter.units == dynamo.meter.units
    return expected[1] if expected[0] == "ok" else expected


STORED: Row = {"pk": "P", "sk": "S", "status": "running", "n": 1, "on": True, "tags": ["a"]}

#: a condition, whether it holds on STORED, and whether it holds where there is no item
CONDITIONS: list[tuple[st.Condition, bool, bool]] = [
    (st.exists("pk"), True, False),
    (st.missing("pk"), False, True),
    (st.missing("converted_at"), True, True),
    (st.exists("converted_at"), False, False),
    (st.equals("status", "running"), True, False),
    (st.equals("status", "ended"), False, False),
    (st.equals("n", 1), True, False),
    (st.equals("on", True), True, False),
    # not pinned: a boolean against a number (moto equates true with 1, DynamoDB does not)
    (st.differs("status", "ended"), True, True),
    (st.differs("status", "running"), False, True),
    (st.differs("converted_at", "x"), True, True),
    (st.one_of("status", "calling", "running"), True, False),
    (st.one_of("status", "calling", "unconfirmed"), False, False),
    (st.Is("status", ("calling", "ended"), negated=True), True, True),
    (st.all_of(st.equals("status", "running"), st.missing("converted_at")), True, False),
    (st.all_of(st.equals("status", "running"), st.equals("n", 2)), False, False),
    (st.any_of(st.missing("pk"), st.equals("status", "ended")), False, True),
    (st.any_of(st.missing("pk"), st.equals("n", 1), st.equals("status", "x")), True, True),
    (st.all_of(st.any_of(st.missing("pk"), st.equals("n", 1)), st.differs("status", "ended")), True, True),
]


@pytest.mark.parametrize(
    ("condition", "on_item", "on_none"), CONDITIONS, ids=[repr(c[0]) for c in CONDITIONS]
)
def test_each_condition_holds_alike_on_both_storages(
    sides: tuple[Side, Side], condition: st.Condition, on_item: bool, on_none: bool
) -> None:
    """Put, update and delete under each condition, on an item and where there is none."""
    assert _both(sides, lambda s: s.put({"pk": "Q", "sk": "S", "v": "new"}, condition)) is on_none
    assert _both(sides, lambda s: s.put(STORED)) is True
    assert _both(sides, lambda s: s.put({**STORED, "v": "put"}, condition)) is on_item
    updated = _both(sides, lambda s: s.update(("P", "S"), [st.Assign("v", "updated")], condition))
    assert (updated is not None) is on_item
    assert _both(sides, lambda s: s.get(("P", "S"))).get("v") == ("updated" if on_item else None)
    assert _both(sides, lambda s: s.delete(("P", "S"), condition)) is on_item
    assert _both(sides, lambda s: s.delete(("R", "S"), condition)) is on_none
    assert _both(sides, lambda s: s.query("Q")) == ([{"pk": "Q", "sk": "S", "v": "new"}] if on_none else [])


def test_an_update_returns_the_item_as_changed(sides: tuple[Side, Side]) -> None:
    _both(sides, lambda s: s.put({"pk": "P", "sk": "S", "status": "running", "reason": "first"}))
    changed = _both(
        sides,
        lambda s: s.update(
            ("P", "S"),
            [
                st.Assign("status", "ended"),
                st.Assign("reason", "second", if_missing=True),
                st.Assign("by", "x", True),
            ],
            st.equals("status", "running"),
        ),
    )
    assert changed == {"pk": "P", "sk": "S", "status": "ended", "reason": "first", "by": "x"}
    assert (
        _both(
            sides, lambda s: s.update(("P", "S"), [st.Assign("status", "x")], st.equals("status", "running"))
        )
        is None
    )
    created = _both(sides, lambda s: s.update(("P", "T"), [st.Assign("n", 3)], st.missing("pk")))
    assert created == {"pk": "P", "sk": "T", "n": 3}
    assert type(created["n"]).__name__ == "Decimal"  # numbers come back as DynamoDB gives them


def test_a_transaction_writes_all_its_puts_or_none(sides: tuple[Side, Side]) -> None:
    _both(sides, lambda s: s.put({"pk": "P", "sk": "A", "version": 1}))
    refused = [
        st.Put({"pk": "P", "sk": "B"}),
        st.Put({"pk": "P", "sk": "A", "version": 2}, st.equals("version", 0)),
    ]
    assert _both(sides, lambda s: s.transact(refused)) == st.Cancelled((1,))
    assert _both(sides, lambda s: s.query("P")) == [{"pk": "P", "sk": "A", "version": 1}]
    taken = [
        st.Put({"pk": "P", "sk": "B"}, st.missing("pk")),
        st.Put({"pk": "P", "sk": "A", "version": 2}, st.equals("version", 1)),
    ]
    assert _both(sides, lambda s: s.transact(taken)) is None
    assert _both(sides, lambda s: s.query("P")) == [
        {"pk": "P", "sk": "A", "version": 2},
        {"pk": "P", "sk": "B"},
    ]
    both_refuse = [
        st.Put({"pk": "P", "sk": "A", "version": 3}, st.equals("version", 1)),
        st.Put({"pk": "P", "sk": "D"}),
        st.Put({"pk": "P", "sk": "B", "n": 1}, st.missing("pk")),
    ]  # every condition that did not hold is named, not only the first
    assert _both(sides, lambda s: s.transact(both_refuse)) == st.Cancelled((0, 2))
    assert _both(sides, lambda s: s.query("P", "D")) == []
    assert _both(sides, lambda s: s.transact([]))[:2] == ("raised", "ValueError")
    twice = [st.Put({"pk": "P", "sk": "C"}), st.Put({"pk": "P", "sk": "C"})]
    assert _both(sides, lambda s: s.transact(twice))[:2] == ("raised", "ValueError")


def test_batches_and_queries_read_and_write_alike(sides: tuple[Side, Side]) -> None:
    """Writes of one item are a put, of more batch writes of 25; batch gets ask 100 keys at a time;
    a query gives the partition (or the sort keys with a prefix) in order."""
    items: list[Row] = [{"pk": "P", "sk": f"{kind}#{n:03}", "n": n} for kind in ("A", "B") for n in range(40)]
    _both(sides, lambda s: s.write_all(items[::-1]))
    _both(sides, lambda s: s.write_all([{"pk": "Q", "sk": "one"}]))
    found = _both(
        sides, lambda s: s.batch_get([("P", f"A#{n:03}") for n in range(0, 150, 2)] + [("Q", "one")])
    )
    assert sorted(found) == sorted([("P", f"A#{n:03}") for n in range(0, 40, 2)] + [("Q", "one")])
    assert [i["sk"] for i in _both(sides, lambda s: s.query("P", "B#"))] == [f"B#{n:03}" for n in range(40)]
    assert len(_both(sides, lambda s: s.query("P"))) == 80
    _both(sides, lambda s: s.delete_all([("P", i["sk"]) for i in items[:30]] + [("P", "none")]))
    assert len(_both(sides, lambda s: s.query("P"))) == 50
    calls = sides[0].meter.calls
    assert (calls[("dynamodb", "PutItem")], calls[("dynamodb", "BatchWriteItem")]) == (1, 4 + 2)
    assert calls[("dynamodb", "BatchGetItem")] == 1


# ---------------------------------------------------------------------- the repository over them


def _message(
    message_id: str,
    user: str,
    journey: str = "welcome",
    channel: str = "email",
    arn: str = ARNS[0],
    contact: Any = None,
) -> MessageRecord:
    sent: dict[str, Any] = {"user_id": user, "journey_id": journey, "step_id": "s1", "template": "hello"}
    return MessageRecord(message_id=message_id, channel=channel, execution_arn=arn, contact=contact, **sent)


def _call(name: str, *args: Any) -> Op:
    return f"{name}{args!r}", lambda side: getattr(side.state, name)(*args)


def _view(user: str, journey: str, scopes: tuple[CapScope, ...], digest: str | None = None) -> Op:
    def run(side: Side) -> SendView:
        side.views[user] = side.state.send_view(user, journey, scopes, digest)
        return side.views[user]

    return f"send_view{(user, journey, scopes, digest)!r}", run


def _reserve(
    user: str, journey: str, scopes: tuple[CapScope, ...], key: str, now: dt.datetime, how: str
) -> Op:
    """Reserve reading the caps itself, from a fresh send view, or from the user's last (maybe
    stale, maybe for other scopes) send view: the repository then retries, reading afresh."""

    def run(side: Side) -> tuple[SendView | None, Reserved | OverCap]:
        if how == "read":
            return None, side.state.reserve(user, scopes, key, now)
        if how == "fresh":
            view = side.state.send_view(user, journey, scopes)
            return view, side.state.reserve(user, scopes, key, now, view.caps)
        caps = side.views[user].caps if user in side.views else {}
        return None, side.state.reserve(user, scopes, key, now, caps)

    return f"reserve{(user, scopes, key, now, how)!r}", run


def _operation(rng: random.Random, now: dt.datetime, started: dict[tuple[str, str], str]) -> Op:
    """A random call; calls on an entry mostly name the execution last put (``started``)."""
    user, journey = rng.choice(USERS), rng.choice(JOURNEYS)
    arn = started.get((user, journey), ARNS[0]) if rng.random() < 0.7 else rng.choice(ARNS)
    scopes = tuple(rng.sample(SCOPES, rng.randint(1, len(SCOPES))))
    pick = rng.choice
    match rng.choices(list(MAKERS), weights=list(MAKERS.values()))[0]:
        case "user_state" | "user_items" | "erase_user" as name:
            return _call(name, user)
        case "enter":
            record = EntryRecord(
                journey,
                arn,
                now,
                f"event-{rng.randrange(100)}",
                pick(["running", "running", "running", "exiting", "ended"]),
                rng.random() < 0.2,
                pick([None, "", *GROUPS]),
                pick([0, 1, 5]),
                pick([None, now]),  # neither is written by enter
                pick([None, "goal"]),
                tuple(rng.sample(["h1", "h2", "h3"], rng.randrange(0, 3))),
                pick([None, now - dt.timedelta(minutes=5)]),
            )
            replacing = started.get((user, journey)) if rng.random() < 0.6 else pick([None, *ARNS])
            started[user, journey] = arn = rng.choice(ARNS)
            # with a group slot (one transaction) half the time, which may be held by another; drawn
            # apart, so the other calls' sequence stays the one each seed was chosen for
            apart = random.Random(f"{now}{user}{journey}{arn}{replacing}")
            slot = GroupSlot(GROUPS[0], journey, 1, arn) if apart.random() < 0.5 else None
            slot_replacing = apart.choice([None, *ARNS, f"{ARNS[0]}-gone"])
            record = dataclasses.replace(record, execution_arn=arn)
            return _call("enter", user, record, replacing, slot, slot_replacing)
        case "end_entry":
            return _call(
                "end_entry", user, journey, arn, pick(["completed", "exited"]), pick([None, "", "goal"])
            )
        case "mark_exiting":
            return _call("mark_exiting", user, journey, arn, pick(["goal", "stopped"]))
        case "record_conversion":
            return _call("record_conversion", user, journey, arn, now)
        case "claim_group":
            slot = GroupSlot(pick(GROUPS), journey, pick([1, 2]), arn)
            return _call("claim_group", user, slot, pick([None, "", *ARNS, f"{ARNS[0]}-gone"]))
        case "release_group":
            return _call("release_group", user, pick(GROUPS), arn)
        case "put_wait":
            key = pick(WAITS)
            _, event, journey_id, step, _ = key.split("#")
            where: dict[str, Any] = pick([{}, {"order": rng.randrange(3)}, {"sku": "b", "qty": {"gte": 2}}])
            expires = now + dt.timedelta(hours=rng.randrange(1, 72))
            return _call(
                "put_wait", user, WaitRecord(key, event, journey_id, step, arn, f"tok-{now}", where, expires)
            )
        case "take_wait":
            return _call("take_wait", user, pick(WAITS))
        case "flags":
            return _call("flags", [pick([*JOURNEYS, "other"]) for _ in range(rng.randrange(4))])
        case "set_flag":
            return _call("set_flag", journey, pick(["paused", "stopped", "running"]), "ops", "why", now)
        case "put_hold":
            request = {"n": rng.randrange(9), "user_id": user}
            return _call("put_hold", journey, f"{pick(ARNS)}#{pick(['s1', 's2'])}", request)
        case "holds":
            return _call("holds", journey)
        case "delete_hold":
            return _call("delete_hold", journey, f"{pick(ARNS)}#{pick(['s1', 's2'])}", user)
        case "put_message":
            message = _message(pick(MESSAGES), user, journey, pick(["email", "sms"]), arn, pick([None, "c1"]))
            return _call("put_message", message, now + dt.timedelta(days=90))
        case "message":
            return _call("message", pick(MESSAGES))
        case "messages":
            return _call("messages", rng.sample([*MESSAGES, "m9"], rng.randrange(0, 4)))
        case "reject":
            raw = pick(['{"type": "x"}', "not json", "ünïcode 🎉" * rng.randrange(1, 5), "to a@b.example"])
            return _call("reject", raw, pick(["schema", "unknown_type"]), now, pick([None, user]))
        case "log_consent":
            changes = [
                {"channel": c, "granted": rng.random() < 0.5, "at": iso(now), "source": "form"}
                for c in rng.sample(["email", "sms"], rng.randrange(0, 3))
            ]
            return _call("log_consent", user, f"event-{rng.randrange(5)}", changes)
        case "put_wakeup_ref":
            return _call("put_wakeup_ref", user, f"defer-{rng.randrange(3)}", now + dt.timedelta(hours=1))
        case "begin_send" | "finish_send" | "forget_send" as name:
            intent = SendIntent(
                digest=pick(DIGESTS),
                key=f"{arn}:s1",
                user_id=user,
                journey_id=journey,
                step_id="s1",
                template="hello",
                channel=pick(["email", "sms"]),
                execution_arn=arn,
                at=now,
                status=pick(["calling", "accepted", "unconfirmed"]),
                message_id=pick([None, pick(MESSAGES)]),
                template_file=pick([None, "hello.email.j2"]),
                detail=pick([None, "lost"]),
                contact=pick([None, "c1"]),
            )
            if name == "forget_send":
                return _call(name, intent)
            return _call(name, intent, now + dt.timedelta(days=45))
        case "reconcile_send":
            return _call(
                "reconcile_send", pick([*DIGESTS, "d9"]), pick(MESSAGES), now + dt.timedelta(days=45)
            )
        case "rejected":
            return _call("rejected", (now - dt.timedelta(days=rng.randrange(2))).date())
        case "send_view":
            return _view(user, journey, scopes, pick([None, *DIGESTS]))
        case "reserve":
            return _reserve(user, journey, scopes, pick(KEYS), now, pick(["read", "fresh", "stale"]))
        case "release":
            return _call("release", user, scopes, pick(KEYS))
        case "index_date":
            keys = [pick(["12-01", "12-02", "2026-12-01"]) for _ in range(rng.randrange(3))]
            return _call("index_date", pick(["birthday", "renewal"]), keys, user, rng.random() < 0.7)
        case "record_proof":  # each proof its own message id: a taken key is its own test below
            return _call(
                "record_proof", _proof(journey, pick(["s1", "s2"]), now, f"pm-{rng.randrange(10**9)}")
            )
        case "proofs":
            return _call("proofs", pick([*JOURNEYS, "other"]))
        case "users_on":
            return _call("users_on", pick(["birthday", "renewal"]), pick(["12-01", "12-02", "2026-12-01"]))
    raise AssertionError("unreachable")


#: how often each call is made: writes that conflict often, and reads that expose them
MAKERS = {
    "user_state": 3,
    "user_items": 2,
    "erase_user": 1,
    "enter": 5,
    "end_entry": 4,
    "mark_exiting": 3,
    "record_conversion": 3,
    "claim_group": 4,
    "release_group": 3,
    "put_wait": 3,
    "take_wait": 3,
    "flags": 2,
    "set_flag": 2,
    "put_hold": 2,
    "holds": 2,
    "delete_hold": 2,
    "put_message": 3,
    "message": 2,
    "messages": 2,
    "reject": 2,
    "log_consent": 2,
    "put_wakeup_ref": 1,
    "begin_send": 3,
    "finish_send": 2,
    "forget_send": 1,
    "reconcile_send": 2,
    "rejected": 1,
    "send_view": 3,
    "reserve": 8,
    "release": 3,
    "index_date": 3,
    "users_on": 2,
    "record_proof": 1,
    "proofs": 1,
}


def _typed(value: Any) -> Any:
    """``value`` with its types spelled out: ``1``, ``Decimal(1)`` and ``True`` are equal in Python,
    not to a caller that stores or serialises them."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value).__name__, {
            f.name: _typed(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value).__name__, [_typed(v) for v in value]
    return type(value).__name__, repr(value)


def _outcome(run: Callable[[Side], Any], side: Side) -> Any:
    try:
        return "ok", run(side)
    except Exception as error:
        return "raised", type(error).__name__, str(error)


def _apply(ops: list[Op], dynamo: Side, memory: Side) -> list[Any]:
    """Each call on both sides: the same answer (or error) and the same requests, call by call."""
    answers = []
    for n, (description, run) in enumerate(ops):
        expected, actual = _outcome(run, dynamo), _outcome(run, memory)
        assert _typed(actual) == _typed(expected), f"call {n}: {description}"
        assert memory.meter.calls == dynamo.meter.calls, f"requests after call {n}: {description}"
        assert memory.meter.units == dynamo.meter.units, f"units after call {n}: {description}"
        assert expected[0] == "ok", expected
        answers.append(expected[1])
    return answers


@pytest.mark.parametrize("seed", range(5))
def test_random_calls_answer_store_and_meter_the_same(sides: tuple[Side, Side], seed: int) -> None:
    dynamo, memory = sides
    rng, now, ops = random.Random(seed), START, []
    started: dict[tuple[str, str], str] = {}
    for _ in range(220):
        now += dt.timedelta(seconds=rng.choice([0, 0, 1, 59, 60, 600, 1800]))
        ops.append(_operation(rng, now, started))
    answers = _apply(ops, dynamo, memory)
    _apply(
        [op for user in USERS for op in (_call("user_items", user), _call("user_state", user))],
        dynamo,
        memory,
    )
    assert _typed(memory.dump()) == _typed(dynamo.dump())

    # the sequence reached the outcomes a wrong condition would change
    kinds = Counter(type(a[1] if isinstance(a, tuple) else a).__name__ for a in answers)
    assert {"OverCap", "Reserved", "EntryRecord", "UserState"} <= kinds.keys()
    assert {a for a in answers if isinstance(a, bool)} == {True, False}
    assert {"entered", "in_journey"} <= {a for a in answers if isinstance(a, str)}
    writes = kinds["Reserved"] + sum(description.startswith("release(") for description, _ in ops)
    assert dynamo.meter.calls[("dynamodb", "TransactWriteItems")] > writes, "no stale prefetch was retried"


def _proof(journey: str, step: str, at: dt.datetime, message_id: str) -> ProofRecord:
    return ProofRecord(
        journey_id=journey,
        step_id=step,
        template="hello",
        channel="email",
        by="arn:aws:sts::123456789012:user/ops",
        at=at,
        destination="<redacted:0a1b2c3d>",
        message_id=message_id,
    )


def test_the_proof_audit_log_appends_and_never_overwrites(sides: tuple[Side, Side]) -> None:
    dynamo, memory = sides
    first, second = _proof("welcome", "s1", START, "pm-1"), _proof("welcome", "s2", START, "pm-2")
    for side in sides:
        side.state.record_proof(first)
        side.state.record_proof(second)
    again = dataclasses.replace(first, step_id="s9")  # the same key: refused, the first stays
    refused = [_outcome(lambda s: s.state.record_proof(again), side) for side in sides]
    assert refused[0] == refused[1] == ("raised", "ValueError", refused[0][2])
    assert "already exists" in refused[0][2]
    [answer] = _apply([_call("proofs", "welcome")], dynamo, memory)
    assert answer == [first, second]
    assert _typed(memory.dump()) == _typed(dynamo.dump())


def test_ending_an_entry_twice_ends_it_once(sides: tuple[Side, Side]) -> None:
    dynamo, memory = sides
    entry = EntryRecord("welcome", ARNS[0], START, "e1", "running", False, "promo", 2)
    later = START + dt.timedelta(hours=1)
    ops = [
        _call("enter", "u1", entry, None),
        _call("end_entry", "u1", "welcome", ARNS[1], "completed", "goal"),  # another execution's
        _call("mark_exiting", "u1", "welcome", ARNS[0], "goal"),
        _call("record_conversion", "u1", "welcome", ARNS[0], later),
        _call("record_conversion", "u1", "welcome", ARNS[0], later),
        _call("end_entry", "u1", "welcome", ARNS[0], "exited", "stopped"),
        _call("end_entry", "u1", "welcome", ARNS[0], "exited", "stopped"),
        _call("end_entry", "u2", "welcome", ARNS[0], "exited", None),  # no entry at all
        _call("user_items", "u1"),
    ]
    answers = _apply(ops, dynamo, memory)
    assert answers[1:5] == [None, True, True, False]
    assert answers[5] == EntryRecord(
        "welcome", ARNS[0], START, "e1", "ended", False, "promo", 2, later, exit_reason="goal"
    )  # the first exit reason stays
    assert answers[6:8] == [None, None]
    assert answers[8][0]["final_status"] == "exited"


def test_an_entry_and_its_group_slot_are_one_write_that_says_what_refused(sides: tuple[Side, Side]) -> None:
    """``enter``: one PutItem without a group, one TransactWriteItems (two items, 2 write units
    each) with one; a held slot refuses first, then an entry written since it was read; nothing
    is written when either refuses."""
    dynamo, memory = sides
    entry = EntryRecord("welcome", ARNS[0], START, "e1", "running", False, "promo", 2)
    mine, theirs = GroupSlot("promo", "welcome", 2, ARNS[0]), GroupSlot("promo", "winback", 5, ARNS[1])
    again = dataclasses.replace(entry, execution_arn=ARNS[1], event_id="e2")
    ops = [
        _call("enter", "u1", dataclasses.replace(entry, group=None), None),  # no group: one put
        _call("enter", "u1", entry, None),  # changed since read (u1 has an entry now)
        _call("claim_group", "u2", theirs, None),
        _call("enter", "u2", entry, None, mine, None),  # the slot is held: refused
        _call("enter", "u2", entry, ARNS[1], mine, None),  # held slot and a changed entry: the slot
        _call("user_state", "u2"),
        _call("enter", "u2", entry, None, mine, ARNS[1]),  # the holder is the one to replace
        _call("enter", "u2", again, None, GroupSlot("promo", "welcome", 2, ARNS[1]), ARNS[0]),
        _call("user_state", "u2"),
    ]
    before = Counter(dynamo.meter.calls)
    answers = _apply(ops, dynamo, memory)
    assert answers[:2] == ["entered", "in_journey"]
    assert answers[3:5] == ["group_busy", "group_busy"]
    assert answers[5].entries == {}  # nothing written
    assert answers[5].groups["promo"] == theirs
    assert answers[6:8] == ["entered", "in_journey"]  # a redelivery's second entry: refused
    assert answers[8].entries == {"welcome": entry}
    assert answers[8].groups["promo"] == mine
    calls = Counter(dynamo.meter.calls)
    calls.subtract(before)
    assert (calls[("dynamodb", "PutItem")], calls[("dynamodb", "TransactWriteItems")]) == (3, 4)
    assert dynamo.meter.units["dynamodb_write"] == 3 + 4 * 2 * 2  # the puts' 1 unit, a transaction's 2


def test_a_full_cap_frees_up_at_the_same_moment(sides: tuple[Side, Side]) -> None:
    """Two sends an hour, and one a quarter for the journey: a send is refused until the scope
    that frees up last does (counted from the next whole second; after a lowered cap, until enough sends
    leave), re-reserving a counted key is not refused, and a released send no longer counts."""
    dynamo, memory = sides
    hourly, quarter = CapScope("global:marketing", 2, 3600), CapScope("journey:welcome:email", 1, 900)
    both, tighter = (hourly, quarter), CapScope("global:marketing", 1, 3600)
    at = {m: START + dt.timedelta(minutes=m) for m in (0, 5, 10, 30, 45)}
    ops = [
        _reserve("u1", "welcome", both, "send-1", at[0], "read"),
        _reserve("u1", "welcome", (hourly,), "send-2", at[5], "read"),
        _reserve("u1", "welcome", both[::-1], "send-3", at[10], "fresh"),  # both full
        _reserve("u1", "welcome", (tighter,), "send-3", at[10], "read"),  # the cap was lowered
        _reserve("u1", "welcome", both, "send-1", at[30], "read"),  # counted hourly, expired quarterly
        _call("release", "u1", both, "send-2"),
        _reserve("u1", "welcome", both, "send-3", at[30], "read"),  # the quarter holds send-1 again
        _reserve("u1", "welcome", both, "send-4", at[45] + dt.timedelta(seconds=1), "read"),  # send-1 left
    ]
    answers = [a[1] if isinstance(a, tuple) else a for a in _apply(ops, dynamo, memory)]
    whole = START.replace(microsecond=0) + dt.timedelta(seconds=1 if START.microsecond else 0)  # rounded up
    assert answers == [
        Reserved(),
        Reserved(),
        OverCap(whole + dt.timedelta(hours=1), "global:marketing"),
        OverCap(whole + dt.timedelta(minutes=65), "global:marketing"),
        Reserved(),
        None,
        OverCap(whole + dt.timedelta(minutes=45), "journey:welcome:email"),
        Reserved(),
    ]
    assert _typed(memory.dump()) == _typed(dynamo.dump())


def test_a_stale_prefetch_is_retried_with_fresh_reads(sides: tuple[Side, Side]) -> None:
    dynamo, memory = sides
    ops = [
        _view("u1", "welcome", SCOPES),
        _reserve("u1", "welcome", SCOPES[::2], "send-1", START, "read"),
        _reserve("u1", "welcome", SCOPES[::2], "send-2", START, "stale"),
    ]
    _apply(ops, dynamo, memory)
    assert dynamo.meter.calls[("dynamodb", "TransactWriteItems")] == 3  # the stale attempt failed
    assert memory.meter.units == dynamo.meter.units
    assert _typed(memory.dump()) == _typed(dynamo.dump())


def test_queries_page_at_one_megabyte_as_moto_does(sides: tuple[Side, Side]) -> None:
    """A page ends before the item that would take it past 1 MB: rejects (stored truncated to
    100 KB) and holds (300 KB) fill more than one."""
    dynamo, memory = sides
    ops = [_call("reject", "x" * 200_000, "too_big", START + dt.timedelta(seconds=n)) for n in range(12)]
    ops += [_call("put_hold", "welcome", f"h{n}", {"x": "y" * 300_000}) for n in range(4)]
    ops += [
        _call("rejected", START.date()),
        _call("holds", "welcome"),
        _call("set_flag", "welcome", "paused", "ops", "z" * 300_000, START),  # in the partition, not held
        _call("holds", "welcome"),
    ]
    answers = _apply(ops, dynamo, memory)
    assert [len(answers[n]) for n in (-4, -3, -1)] == [12, 4, 4]
    assert dynamo.meter.calls[("dynamodb", "Query")] == 2 + 2 + 2


def test_large_batches_are_split_as_dynamodb_requires(sides: tuple[Side, Side]) -> None:
    """100 keys a BatchGetItem, 25 deletes a BatchWriteItem."""
    dynamo, memory = sides
    journeys = [f"j{n}" for n in range(130)]
    ops = [_call("set_flag", j, "paused", "ops", "why", START) for j in journeys[::7]]
    ops += [_call("flags", [*journeys, *journeys[:10]])]
    ops += [_call("put_message", _message(f"m{n}", "u1"), START) for n in range(15)]
    # a message id sent again to another user: erasing u1 deletes the index entry all the same
    ops += [_call("put_message", _message("m0", "u2"), START)]
    ops += [_call("erase_user", "u1"), _call("message", "m0"), _call("user_items", "u2")]
    answers = _apply(ops, dynamo, memory)
    assert len(answers[len(journeys[::7])]) == len(journeys[::7])
    assert answers[-3:-1] == [30, None]
    assert [i["sk"] for i in answers[-1]] == ["MSGREF#m0"]
    assert dynamo.meter.calls[("dynamodb", "BatchGetItem")] == 2
    assert dynamo.meter.calls[("dynamodb", "BatchWriteItem")] == 16 + 2
    assert _typed(memory.dump()) == _typed(dynamo.dump())


@pytest.mark.parametrize("scopes", [(), (SCOPES[0], SCOPES[0])], ids=["no scope", "a scope twice"])
def test_a_transaction_dynamodb_refuses_is_refused(
    sides: tuple[Side, Side], scopes: tuple[CapScope, ...]
) -> None:
    """The engine never asks for these, but a caller that did would fail on both (botocore's or
    DynamoDB's refusal, a ValueError on both storages), having sent the same requests."""
    dynamo, memory = sides
    for side in sides:
        with pytest.raises(ValueError, match="each at most once"):
            side.state.reserve("u1", scopes, "send-1", START)
    assert memory.meter.calls == dynamo.meter.calls
    assert memory.meter.units == dynamo.meter.units
