"""The state table (``pk``/``sk``, TTL attribute ``ttl``): everything that is neither a profile nor
a KPI. Key design (docs/storage.md):

    USER#<user>      ENTRY#<journey>                        entry record (re-entry, exits, goals)
    USER#<user>      GROUP#<group>                          the journey holding the user's group slot
    USER#<user>      WAIT#<event>#<journey>#<step>#<exec>   a wait_for task token (TTL)
    USER#<user>      CAP#<scope>                            recent sends for a frequency cap
    USER#<user>      MSGREF#<message id>                    for erasure of the message index (TTL)
    JOURNEY#<id>     FLAGS                                  paused / stopped
    JOURNEY#<id>     HOLD#<execution>#<step>                a send held while the journey is paused
    MSG#<message id> MSG                                    who a message was sent to (TTL)
    DATE#<attr>#<key> <user>                                date index for date triggers
    REJECTED#<day>   <time>#<hash>                          rejected events with the reason (TTL)
    idempotency#<fn> <hash>                                 Powertools idempotency records (TTL)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from touchpoint.aws.dynamo import THROTTLING, code, from_item, to_attr, to_item
from touchpoint.clock import iso
from touchpoint.conditions import parse_time
from touchpoint.engine.ports import (
    CapScope,
    EntryRecord,
    GroupSlot,
    Item,
    MessageRecord,
    OverCap,
    Reserved,
    SendView,
    UserState,
    WaitRecord,
)
from touchpoint.errors import TransientError

REJECTED_DAYS = 14
CAP_ATTEMPTS = 40


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


class DynamoState:
    def __init__(self, client: Any, table: str) -> None:
        self.client, self.table = client, table

    # ------------------------------------------------------------------ plumbing

    def _aws(self, operation: str, **request: Any) -> dict[str, Any]:
        """Throttling becomes a TransientError, which the callers' retries know."""
        try:
            return getattr(self.client, operation)(**request)  # type: ignore[no-any-return]
        except ClientError as error:
            if code(error) in THROTTLING:
                raise TransientError(code(error)) from error
            raise

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        return self._aws(operation, TableName=self.table, **request)

    def _conditional(self, operation: str, **request: Any) -> dict[str, Any] | None:
        """The response, or None when the request's condition did not hold (another writer won)."""
        try:
            return self._call(operation, **request)
        except ClientError as error:
            if code(error) == "ConditionalCheckFailedException":
                return None
            raise

    def _put(
        self,
        item: Item,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> bool:
        request: dict[str, Any] = {"Item": to_item(item)}
        if condition:
            request["ConditionExpression"] = condition
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = {k: to_attr(v) for k, v in values.items()}
        return self._conditional("put_item", **request) is not None

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def _get(self, pk: str, sk: str) -> Item:
        return from_item(self._call("get_item", Key=self._key(pk, sk), ConsistentRead=True).get("Item"))

    def _query(self, pk: str, prefix: str | None = None) -> list[Item]:
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else ""),
            "ExpressionAttributeValues": {":pk": {"S": pk}, **({":prefix": {"S": prefix}} if prefix else {})},
            "ConsistentRead": True,
        }
        items: list[Item] = []
        while True:
            response = self._call("query", **request)
            items += [from_item(i) for i in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ------------------------------------------------------------------ user state

    def user_state(self, user_id: str) -> UserState:
        state = UserState()
        for item in self._query(f"USER#{user_id}"):
            sk: str = item["sk"]
            if sk.startswith("ENTRY#"):
                record = _entry(item)
                state.entries[record.journey_id] = record
            elif sk.startswith("GROUP#"):
                slot = GroupSlot(
                    item["group"], item["journey_id"], int(item["priority"]), item["execution_arn"]
                )
                state.groups[slot.group] = slot
            elif sk.startswith("WAIT#"):
                state.waits.append(
                    WaitRecord(
                        sk,
                        item["event"],
                        item["journey_id"],
                        item["step_id"],
                        item["execution_arn"],
                        item["token"],
                        json.loads(item["where"]),
                        _time(item["expires_at"]),
                    )
                )
        return state

    def user_items(self, user_id: str) -> list[Item]:
        return self._query(f"USER#{user_id}")

    def put_entry(self, user_id: str, record: EntryRecord) -> None:
        item: Item = {
            "pk": f"USER#{user_id}",
            "sk": f"ENTRY#{record.journey_id}",
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
        self._put(item)

    def end_entry(
        self, user_id: str, journey_id: str, execution_arn: str, status: str, reason: str | None
    ) -> EntryRecord | None:
        """Mark the entry ended once; None when it already was (or belongs to another execution)."""
        response = self._conditional(
            "update_item",
            Key=self._key(f"USER#{user_id}", f"ENTRY#{journey_id}"),
            UpdateExpression="SET #s = :ended, final_status = :status"
            + (", exit_reason = if_not_exists(exit_reason, :reason)" if reason else ""),
            ConditionExpression="execution_arn = :arn AND #s <> :ended",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":ended": {"S": "ended"},
                ":status": {"S": status},
                ":arn": {"S": execution_arn},
                **({":reason": {"S": reason}} if reason else {}),
            },
            ReturnValues="ALL_NEW",
        )
        return None if response is None else _entry(from_item(response["Attributes"]))

    def mark_exiting(self, user_id: str, journey_id: str, execution_arn: str, reason: str) -> bool:
        updated = self._conditional(
            "update_item",
            Key=self._key(f"USER#{user_id}", f"ENTRY#{journey_id}"),
            UpdateExpression="SET #s = :exiting, exit_reason = :reason",
            ConditionExpression="execution_arn = :arn AND #s = :running",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":exiting": {"S": "exiting"},
                ":running": {"S": "running"},
                ":reason": {"S": reason},
                ":arn": {"S": execution_arn},
            },
        )
        return updated is not None

    def record_conversion(self, user_id: str, journey_id: str, execution_arn: str, at: dt.datetime) -> bool:
        updated = self._conditional(
            "update_item",
            Key=self._key(f"USER#{user_id}", f"ENTRY#{journey_id}"),
            UpdateExpression="SET converted_at = :at",
            ConditionExpression="execution_arn = :arn AND attribute_not_exists(converted_at)",
            ExpressionAttributeValues={":at": {"S": iso(at)}, ":arn": {"S": execution_arn}},
        )
        return updated is not None

    def claim_group(self, user_id: str, slot: GroupSlot, replacing: str | None) -> bool:
        """Take the group slot if it is free, ours already, or held by ``replacing`` (which we
        preempt or which has ended)."""
        item = group_item(user_id, slot)
        condition = "attribute_not_exists(pk) OR execution_arn = :mine"
        values: dict[str, Any] = {":mine": slot.execution_arn}
        if replacing:
            condition += " OR execution_arn = :old"
            values[":old"] = replacing
        return self._put(item, condition, values=values)

    def release_group(self, user_id: str, group: str, execution_arn: str) -> None:
        # a slot another execution has taken since is not ours to release
        self._conditional(
            "delete_item",
            Key=self._key(f"USER#{user_id}", f"GROUP#{group}"),
            ConditionExpression="execution_arn = :arn",
            ExpressionAttributeValues={":arn": {"S": execution_arn}},
        )

    # ------------------------------------------------------------------ wait_for tokens

    def put_wait(self, user_id: str, record: WaitRecord) -> None:
        self._put(
            {
                "pk": f"USER#{user_id}",
                "sk": record.sort_key,
                "event": record.event,
                "journey_id": record.journey_id,
                "step_id": record.step_id,
                "execution_arn": record.execution_arn,
                "token": record.token,
                "where": json.dumps(dict(record.where), sort_keys=True),
                "expires_at": iso(record.expires_at),
                "ttl": _epoch(record.expires_at) + 86400,
            }
        )

    def take_wait(self, user_id: str, sort_key: str) -> bool:
        """Delete the token; True for the one caller that did (so a wait resumes once)."""
        deleted = self._conditional(
            "delete_item",
            Key=self._key(f"USER#{user_id}", sort_key),
            ConditionExpression="attribute_exists(pk)",
        )
        return deleted is not None

    # ------------------------------------------------------------------ journey flags and holds

    def _batch_get(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        wanted = [self._key(pk, sk) for pk, sk in sorted(set(keys))]
        found: dict[tuple[str, str], Item] = {}
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                self.table: {"Keys": wanted[start : start + 100], "ConsistentRead": True}
            }
            while request:
                response = self._aws("batch_get_item", RequestItems=request)
                for raw in response.get("Responses", {}).get(self.table, []):
                    item = from_item(raw)
                    found[(item["pk"], item["sk"])] = item
                request = response.get("UnprocessedKeys") or {}
        return found

    def flags(self, journey_ids: Iterable[str]) -> dict[str, str]:
        items = self._batch_get((f"JOURNEY#{j}", "FLAGS") for j in journey_ids)
        return {pk.removeprefix("JOURNEY#"): item["status"] for (pk, _), item in items.items()}

    def send_view(self, user_id: str, journey_id: str, scopes: Sequence[CapScope]) -> SendView:
        """What the send gate needs from this table, in one BatchGetItem: the journey's flag,
        the user's entry and the cap items (reused by the first reservation attempt)."""
        keys = [(f"JOURNEY#{journey_id}", "FLAGS"), (f"USER#{user_id}", f"ENTRY#{journey_id}")]
        keys += [(f"USER#{user_id}", f"CAP#{s.name}") for s in scopes]
        items = self._batch_get(keys)
        flag = items.get(keys[0], {}).get("status")
        entry = items.get(keys[1])
        caps = {s.name: items.get((f"USER#{user_id}", f"CAP#{s.name}"), {}) for s in scopes}
        return SendView(flag, _entry(entry) if entry else None, caps)

    def set_flag(self, journey_id: str, status: str, by: str, reason: str, at: dt.datetime) -> None:
        self._put(
            {
                "pk": f"JOURNEY#{journey_id}",
                "sk": "FLAGS",
                "status": status,
                "by": by,
                "reason": reason,
                "at": iso(at),
            }
        )

    def put_hold(self, journey_id: str, key: str, request: Mapping[str, Any]) -> None:
        self._put({"pk": f"JOURNEY#{journey_id}", "sk": f"HOLD#{key}", "request": json.dumps(dict(request))})

    def holds(self, journey_id: str) -> list[dict[str, Any]]:
        return [json.loads(i["request"]) for i in self._query(f"JOURNEY#{journey_id}", "HOLD#")]

    def delete_hold(self, journey_id: str, key: str) -> None:
        self._call("delete_item", Key=self._key(f"JOURNEY#{journey_id}", f"HOLD#{key}"))

    # ------------------------------------------------------------------ message index

    def put_message(self, record: MessageRecord, ttl: dt.datetime) -> None:
        """The message index entry and the user's reference to it, in one batch write."""
        items = message_items(record, ttl)
        request: dict[str, Any] = {self.table: [{"PutRequest": {"Item": to_item(i)}} for i in items]}
        while request:
            request = self._call_batch_write(request)

    def _call_batch_write(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._aws("batch_write_item", RequestItems=request).get("UnprocessedItems") or {}

    def message(self, message_id: str) -> MessageRecord | None:
        item = self._get(f"MSG#{message_id}", "MSG")
        if not item:
            return None
        return MessageRecord(
            message_id,
            item["user_id"],
            item["journey_id"],
            item["step_id"],
            item["template"],
            item["channel"],
            item["execution_arn"],
        )

    # ------------------------------------------------------------------ rejected events

    def reject(self, raw: str, reason: str, at: dt.datetime) -> None:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:16]
        self._put(
            {
                "pk": f"REJECTED#{at.date().isoformat()}",
                "sk": f"{iso(at)}#{digest}",
                "reason": reason,
                "event": raw[:100_000],
                "ttl": _epoch(at) + REJECTED_DAYS * 86400,
            }
        )

    def rejected(self, day: dt.date) -> list[Item]:
        return self._query(f"REJECTED#{day.isoformat()}")

    # ------------------------------------------------------------------ frequency caps

    def reserve(
        self,
        user_id: str,
        scopes: Sequence[CapScope],
        key: str,
        now: dt.datetime,
        prefetched: Mapping[str, Item] | None = None,
    ) -> Reserved | OverCap:
        """Count one send against every scope, atomically, or say when the first one frees up.

        Each scope item holds the recent sends (key → epoch) and a version; the write is a
        transaction conditioned on the versions read, retried on conflict, so 20 concurrent
        sends for one user never exceed a cap. Re-reserving the same key is a no-op (retries)."""
        for attempt in range(CAP_ATTEMPTS):
            if attempt == 0 and prefetched is not None:
                items = {s.name: dict(prefetched.get(s.name, {})) for s in scopes}
            else:
                items = {s.name: self._get(f"USER#{user_id}", f"CAP#{s.name}") for s in scopes}
            writes: list[tuple[Item, Item]] = []
            blocked: list[OverCap] = []
            for scope in scopes:
                item = items[scope.name]
                sends = counted(item, scope, key, now)
                if isinstance(sends, OverCap):
                    blocked.append(sends)
                else:
                    writes.append((item, cap_item(user_id, scope, item, sends)))
            if blocked:
                return max(blocked, key=lambda b: b.free_at)
            if self._write_caps(writes, backoff=attempt):
                return Reserved()
        raise TransientError("frequency cap contention")

    def release(self, user_id: str, scopes: Sequence[CapScope], key: str) -> None:
        """Give a reservation back (the provider refused the message)."""
        for _ in range(CAP_ATTEMPTS):
            writes: list[tuple[Item, Item]] = []
            for scope in scopes:
                item = self._get(f"USER#{user_id}", f"CAP#{scope.name}")
                sends = {k: int(v) for k, v in (item.get("sends") or {}).items() if k != key}
                writes.append((item, cap_item(user_id, scope, item, sends)))
            if self._write_caps(writes, backoff=None):
                return

    def _write_caps(self, writes: Sequence[tuple[Item, Item]], backoff: int | None) -> bool:
        """One transaction of cap items (as read, to write), each conditioned on the one read being
        current; False when one moved. A reservation (``backoff``: its attempt) also takes
        throttling as a conflict and backs off before its next read."""
        try:
            self.client.transact_write_items(TransactItems=[_versioned(self.table, *w) for w in writes])
        except ClientError as error:
            if backoff is None:
                if code(error) != "TransactionCanceledException":
                    raise
                return False
            if code(error) not in (
                "TransactionCanceledException",
                "ConditionalCheckFailedException",
                *THROTTLING,
            ):
                raise
            time.sleep(random.uniform(0, min(0.2, 0.005 * 2**backoff)))
            return False
        return True

    # ------------------------------------------------------------------ date index

    def index_date(self, attribute: str, keys: Iterable[str], user_id: str, add: bool) -> None:
        for key in keys:
            if add:
                self._put({"pk": f"DATE#{attribute}#{key}", "sk": user_id})
            else:
                self._call("delete_item", Key=self._key(f"DATE#{attribute}#{key}", user_id))

    def users_on(self, attribute: str, key: str) -> list[str]:
        return [i["sk"] for i in self._query(f"DATE#{attribute}#{key}")]

    # ------------------------------------------------------------------ privacy

    def erase_user(self, user_id: str) -> int:
        """Delete everything keyed by the user, and the message index entries pointing at them."""
        keys = erasure_keys(self._query(f"USER#{user_id}"))
        for start in range(0, len(keys), 25):
            request = {
                self.table: [
                    {"DeleteRequest": {"Key": self._key(pk, sk)}} for pk, sk in keys[start : start + 25]
                ]
            }
            while request:
                request = self._call_batch_write(request)
        return len(keys)


def group_item(user_id: str, slot: GroupSlot) -> Item:
    return {
        "pk": f"USER#{user_id}",
        "sk": f"GROUP#{slot.group}",
        "group": slot.group,
        "journey_id": slot.journey_id,
        "priority": slot.priority,
        "execution_arn": slot.execution_arn,
    }


def message_items(record: MessageRecord, ttl: dt.datetime) -> list[Item]:
    """The message index entry and the user's reference to it (so erasure finds the entry)."""
    expires = _epoch(ttl)
    return [
        {
            "pk": f"MSG#{record.message_id}",
            "sk": "MSG",
            "user_id": record.user_id,
            "journey_id": record.journey_id,
            "step_id": record.step_id,
            "template": record.template,
            "channel": record.channel,
            "execution_arn": record.execution_arn,
            "ttl": expires,
        },
        {"pk": f"USER#{record.user_id}", "sk": f"MSGREF#{record.message_id}", "ttl": expires},
    ]


def erasure_keys(items: Sequence[Item]) -> list[tuple[str, str]]:
    """The keys of a user's items and of the message index entries they reference."""
    keys = [(i["pk"], i["sk"]) for i in items]
    keys += [
        (f"MSG#{i['sk'].removeprefix('MSGREF#')}", "MSG") for i in items if i["sk"].startswith("MSGREF#")
    ]
    return keys


def counted(item: Item, scope: CapScope, key: str, now: dt.datetime) -> dict[str, int] | OverCap:
    """A cap item's sends still in the scope's window with ``key`` counted (kept at its first
    time), or, when the scope is full, when its oldest counted send leaves the window."""
    sends = {k: int(v) for k, v in (item.get("sends") or {}).items() if int(v) > _epoch(now) - scope.seconds}
    if key not in sends and len(sends) >= scope.max:
        oldest = sorted(sends.values())[len(sends) - scope.max]
        return OverCap(dt.datetime.fromtimestamp(oldest + scope.seconds, dt.UTC), scope.name)
    sends[key] = sends.get(key, _epoch(now))
    return sends


def cap_item(user_id: str, scope: CapScope, item: Item, sends: dict[str, int]) -> Item:
    """The next version of a cap item, living as long as its newest send counts."""
    return {
        "pk": f"USER#{user_id}",
        "sk": f"CAP#{scope.name}",
        "version": int(item.get("version", 0)) + 1,
        "sends": {k: Decimal(v) for k, v in sends.items()},
        "ttl": max(sends.values(), default=0) + scope.seconds,
    }


def _entry(item: Item) -> EntryRecord:
    converted = item.get("converted_at")
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
    )


def _time(value: str) -> dt.datetime:
    parsed = parse_time(value)
    assert parsed is not None, value
    return parsed


def _versioned(table: str, read: Item, new: Item) -> dict[str, Any]:
    """A cap item's put, conditioned on the item read being current (or on there being none)."""
    put: dict[str, Any] = {"TableName": table, "Item": to_item(new)}
    if read:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = {":v": {"N": str(int(read.get("version", 0)))}}
    else:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": put}
