"""The state table's key layout and item encoding, in one place (docs/storage.md); the table is
``pk``/``sk`` with the TTL attribute ``ttl``:

    USER#<user>      ENTRY#<journey>                        entry record (re-entry, exits, goals)
    USER#<user>      GROUP#<group>                          the journey holding the user's group slot
    USER#<user>      WAIT#<event>#<journey>#<step>#<exec>   a wait_for task token (TTL)
    USER#<user>      CAP#<scope>                            recent sends for a frequency cap
    USER#<user>      MSGREF#<message id>                    for erasure of the message index (TTL)
    JOURNEY#<id>     FLAGS                                  paused / stopped
    JOURNEY#<id>     HOLD#<execution>#<step>                a send held while the journey is paused
    JOURNEY#<id>     PROOF#<at>#<message id>                a proof send's audit record (kept)
    MSG#<message id> MSG                                    who a message was sent to (TTL)
    SEND#<digest>    SEND                                   a send's intent and outcome (TTL)
    USER#<user>      SENDREF#<digest>                       for erasure of the send intent (TTL)
    USER#<user>      CONSENT#<at>#<channel>#<event>         the consent ledger: every decision
    USER#<user>      HOLDREF# / REJREF# / WAKE#             for erasure of held sends, rejected
                                                            events and pending wake-ups
    DATE#<attr>#<key> <user>                                date index for date triggers
    SWEEP            DATES                                  how far each date journey's sweeps got
    REJECTED#<day>   <time>#<hash>                          rejected events with the reason (TTL)
    idempotency#<fn> <hash>                                 Powertools idempotency records (TTL)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from touchpoint.clock import iso
from touchpoint.conditions import parse_time
from touchpoint.engine.ports import (
    CapScope,
    EntryRecord,
    GroupSlot,
    Item,
    MessageRecord,
    ProofRecord,
    SendIntent,
    SweepCursor,
    WaitRecord,
)
from touchpoint.events import event_digest
from touchpoint.state.storage import Key

REJECTED_DAYS = 14
#: what a message record and the send intent it came from both say, in their fields' order
SENT = ("user_id", "journey_id", "step_id", "template", "channel", "execution_arn")
DAY = 86400

# ---------------------------------------------------------------------- keys


def user(user_id: str) -> str:
    return f"USER#{user_id}"


def entry_key(user_id: str, journey_id: str) -> Key:
    return user(user_id), f"ENTRY#{journey_id}"


def group_key(user_id: str, group: str) -> Key:
    return user(user_id), f"GROUP#{group}"


def wait_sort_key(event: str, journey_id: str, step_id: str, execution_arn: str) -> str:
    return f"WAIT#{event}#{journey_id}#{step_id}#{execution_arn}"


def cap_key(user_id: str, scope: str) -> Key:
    return user(user_id), f"CAP#{scope}"


def journey(journey_id: str) -> str:
    return f"JOURNEY#{journey_id}"


def flags_key(journey_id: str) -> Key:
    return journey(journey_id), "FLAGS"


def journey_of(flags_pk: str) -> str:
    return flags_pk.removeprefix("JOURNEY#")


def hold_keys(journey_id: str, key: str, user_id: str) -> list[Key]:
    """A held send and its user's reference to it."""
    hold = journey(journey_id), f"HOLD#{key}"
    return [hold, (user(user_id), f"HOLDREF#{hold[0]}#{hold[1]}")]


PROOF_PREFIX = "PROOF#"


def proof_key(record: ProofRecord) -> Key:
    """In time order within the journey's partition; the message id keeps two proofs apart."""
    return journey(record.journey_id), f"{PROOF_PREFIX}{iso(record.at)}#{record.message_id}"


def message_key(message_id: str) -> Key:
    return f"MSG#{message_id}", "MSG"


def message_of(message_pk: str) -> str:
    return message_pk.removeprefix("MSG#")


def intent_key(digest: str) -> Key:
    return f"SEND#{digest}", "SEND"


def intent_keys(intent: SendIntent) -> list[Key]:
    """A send intent and its user's reference to it."""
    return [intent_key(intent.digest), (user(intent.user_id), f"SENDREF#{intent.digest}")]


def date_partition(attribute: str, key: str) -> str:
    return f"DATE#{attribute}#{key}"


SWEEP_KEY: Key = ("SWEEP", "DATES")


def sweep_item(cursors: Mapping[str, SweepCursor]) -> Item:
    """Every date journey's cursor in one item: a sweep reads and writes it once."""
    return {
        "pk": SWEEP_KEY[0],
        "sk": SWEEP_KEY[1],
        "journeys": {
            journey_id: {
                "until": iso(c.until),
                **({"window_end": iso(c.window_end)} if c.window_end else {}),
                **({"after": c.after} if c.after else {}),
            }
            for journey_id, c in sorted(cursors.items())
        },
    }


def sweep_cursors(item: Item) -> dict[str, SweepCursor]:
    return {
        journey_id: SweepCursor(
            _time(c["until"]), _time(c["window_end"]) if c.get("window_end") else None, c.get("after")
        )
        for journey_id, c in (item.get("journeys") or {}).items()
    }


def rejected_partition(day: dt.date) -> str:
    return f"REJECTED#{day.isoformat()}"


# ---------------------------------------------------------------------- items


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def entry_item(user_id: str, record: EntryRecord) -> Item:
    pk, sk = entry_key(user_id, record.journey_id)
    item: Item = {
        "pk": pk,
        "sk": sk,
        "journey_id": record.journey_id,
        "execution_arn": record.execution_arn,
        "entered_at": iso(record.entered_at),
        "event_id": record.event_id,
        "status": record.status,
        "holdout": record.holdout,
        "priority": record.priority,
    }
    if record.group:
        item["group"] = record.group
    if record.history:
        item["entered_by"] = list(record.history)
    if record.trigger_at is not None:
        item["trigger_at"] = iso(record.trigger_at)
    return item


def entry(item: Item) -> EntryRecord:
    converted, trigger_at = item.get("converted_at"), item.get("trigger_at")
    return EntryRecord(
        item["journey_id"],
        item["execution_arn"],
        _time(item["entered_at"]),
        item["event_id"],
        item["status"],
        bool(item.get("holdout", False)),
        item.get("group"),
        int(item.get("priority", 0)),
        _time(converted) if converted else None,
        item.get("exit_reason"),
        tuple(item.get("entered_by") or ()),
        _time(trigger_at) if trigger_at else None,
    )


def group_item(user_id: str, slot: GroupSlot) -> Item:
    pk, sk = group_key(user_id, slot.group)
    return {
        "pk": pk,
        "sk": sk,
        "group": slot.group,
        "journey_id": slot.journey_id,
        "priority": slot.priority,
        "execution_arn": slot.execution_arn,
    }


def group(item: Item) -> GroupSlot:
    return GroupSlot(item["group"], item["journey_id"], int(item["priority"]), item["execution_arn"])


def wait_item(user_id: str, record: WaitRecord) -> Item:
    return {
        "pk": user(user_id),
        "sk": record.sort_key,
        "event": record.event,
        "journey_id": record.journey_id,
        "step_id": record.step_id,
        "execution_arn": record.execution_arn,
        "token": record.token,
        "where": json.dumps(dict(record.where), sort_keys=True),
        "expires_at": iso(record.expires_at),
        "ttl": epoch(record.expires_at) + DAY,
    }


def wait(item: Item) -> WaitRecord:
    return WaitRecord(
        item["sk"],
        item["event"],
        item["journey_id"],
        item["step_id"],
        item["execution_arn"],
        item["token"],
        json.loads(item["where"]),
        _time(item["expires_at"]),
    )


def flag_item(journey_id: str, status: str, by: str, reason: str, at: dt.datetime) -> Item:
    pk, sk = flags_key(journey_id)
    return {"pk": pk, "sk": sk, "status": status, "by": by, "reason": reason, "at": iso(at)}


#: a proof record's attributes beside its key, in ProofRecord's order
PROOF_FIELDS = ("journey_id", "step_id", "template", "channel", "by", "destination", "message_id")


def proof_item(record: ProofRecord) -> Item:
    """No TTL: the audit log is kept. It holds no contact data (the destination is masked)."""
    pk, sk = proof_key(record)
    return {"pk": pk, "sk": sk, **{f: getattr(record, f) for f in PROOF_FIELDS}, "at": iso(record.at)}


def proof(item: Item) -> ProofRecord:
    return ProofRecord(**{f: item[f] for f in PROOF_FIELDS}, at=_time(item["at"]))


def hold_items(journey_id: str, key: str, request: Mapping[str, Any]) -> list[Item]:
    """The held send, and its user's reference to it when the request names a user."""
    user_id = request.get("user_id")
    (pk, sk), (ref_pk, ref_sk) = hold_keys(journey_id, key, str(user_id))
    items: list[Item] = [{"pk": pk, "sk": sk, "request": json.dumps(dict(request))}]
    if isinstance(user_id, str):
        items.append({"pk": ref_pk, "sk": ref_sk})
    return items


def rejected_items(
    raw: str, reason: str, at: dt.datetime, user_id: str | None, redact: Callable[[str], str]
) -> list[Item]:
    """The rejected input and its user's reference; ``redact`` masks contact points
    (touchpoint.logs.redact, passed in so that the key layout loads no logging stack)."""
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    pk, sk = rejected_partition(at.astimezone(dt.UTC).date()), f"{iso(at)}#{digest}"
    expires = epoch(at) + REJECTED_DAYS * DAY
    text = redact(raw[:100_000].encode("utf-8", "replace").decode("utf-8"))
    items: list[Item] = [{"pk": pk, "sk": sk, "reason": redact(reason[:2000]), "event": text, "ttl": expires}]
    if user_id:
        items.append({"pk": user(user_id), "sk": f"REJREF#{pk}#{sk}", "ttl": expires})
    return items


def consent_items(user_id: str, event_id: str, changes: Sequence[Mapping[str, Any]]) -> list[Item]:
    digest = event_digest(event_id)
    return [
        {
            "pk": user(user_id),
            "sk": f"CONSENT#{change['at']}#{change['channel']}#{digest}",
            "channel": change["channel"],
            "granted": change["granted"],
            "at": change["at"],
            "source": change["source"],
        }
        for change in changes
    ]


def wakeup_ref_item(user_id: str, name: str, at: dt.datetime) -> Item:
    """Expires a day after the wake-up ran."""
    return {"pk": user(user_id), "sk": f"WAKE#{name}", "ttl": epoch(at) + DAY}


def message_items(record: MessageRecord, ttl: dt.datetime) -> list[Item]:
    """The message index entry and the user's reference to it (so erasure finds the entry)."""
    expires = epoch(ttl)
    pk, sk = message_key(record.message_id)
    return [
        {
            "pk": pk,
            "sk": sk,
            **_sent(record),
            "ttl": expires,
            **({"contact": record.contact} if record.contact else {}),
        },
        {"pk": user(record.user_id), "sk": f"MSGREF#{record.message_id}", "ttl": expires},
    ]


def message(message_id: str, item: Item) -> MessageRecord:
    return MessageRecord(message_id=message_id, **_sent_in(item), contact=item.get("contact"))


def intent_items(intent: SendIntent, ttl: dt.datetime) -> tuple[Item, Item]:
    """The intent item and the user's reference to it (so erasure finds it)."""
    (pk, sk), (ref_pk, ref_sk) = intent_keys(intent)
    item: Item = {
        "pk": pk,
        "sk": sk,
        "key": intent.key,
        **_sent(intent),
        "at": iso(intent.at),
        "status": intent.status,
        "ttl": epoch(ttl),
    }
    for name in ("message_id", "template_file", "detail", "contact"):
        if getattr(intent, name) is not None:
            item[name] = getattr(intent, name)
    return item, {"pk": ref_pk, "sk": ref_sk, "ttl": epoch(ttl)}


def finished_items(intent: SendIntent, ttl: dt.datetime) -> list[Item]:
    """What ``finish_send`` writes: the intent with its outcome, its reference, and the message
    index with its reference when the provider gave a message id."""
    items = list(intent_items(intent, ttl))
    if intent.message_id is not None:
        items += message_items(intent.message(intent.message_id), ttl)
    return items


def intent(item: Item) -> SendIntent:
    return SendIntent(
        digest=item["pk"].removeprefix("SEND#"),
        key=item["key"],
        **_sent_in(item),
        at=_time(item["at"]),
        status=item["status"],
        message_id=item.get("message_id"),
        template_file=item.get("template_file"),
        detail=item.get("detail"),
        contact=item.get("contact"),
    )


def cap_item(user_id: str, scope: CapScope, item: Item, sends: dict[str, int]) -> Item:
    """The next version of a cap item, living as long as its newest send counts."""
    pk, sk = cap_key(user_id, scope.name)
    return {
        "pk": pk,
        "sk": sk,
        "version": int(item.get("version", 0)) + 1,
        "sends": {k: Decimal(v) for k, v in sends.items()},
        "ttl": max(sends.values(), default=0) + scope.seconds,
    }


def erasure_keys(items: Sequence[Item]) -> list[Key]:
    """The keys of a user's items and of the message index entries they reference."""
    keys = [(i["pk"], i["sk"]) for i in items]
    keys += [message_key(i["sk"].removeprefix("MSGREF#")) for i in items if i["sk"].startswith("MSGREF#")]
    keys += [intent_key(i["sk"].removeprefix("SENDREF#")) for i in items if i["sk"].startswith("SENDREF#")]
    keys += [_ref_key(i["sk"].removeprefix("REJREF#")) for i in items if i["sk"].startswith("REJREF#")]
    keys += [_ref_key(i["sk"].removeprefix("HOLDREF#")) for i in items if i["sk"].startswith("HOLDREF#")]
    return keys


def _ref_key(ref: str) -> Key:
    """``<pk>#<sk>`` of a referenced item whose pk has exactly one ``#`` (REJECTED#…, JOURNEY#…)."""
    kind, rest = ref.split("#", 1)
    name, sk = rest.split("#", 1)
    return f"{kind}#{name}", sk


def _sent(record: MessageRecord | SendIntent) -> Item:
    return {f: getattr(record, f) for f in SENT}


def _sent_in(item: Item) -> Item:
    return {f: item[f] for f in SENT}


def _time(value: str) -> dt.datetime:
    parsed = parse_time(value)
    assert parsed is not None, value
    return parsed
