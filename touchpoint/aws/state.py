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
    SEND#<digest>    SEND                                   a send's intent and outcome (TTL)
    USER#<user>      SENDREF#<digest>                       for erasure of the send intent (TTL)
    USER#<user>      CONSENT#<at>#<channel>#<event>         the consent ledger: every decision
    USER#<user>      HOLDREF# / REJREF# / WAKE#             for erasure of held sends, rejected
                                                            events and pending wake-ups
    DATE#<attr>#<key> <user>                                date index for date triggers
    REJECTED#<day>   <time>#<hash>                          rejected events with the reason (TTL)
    idempotency#<fn> <hash>                                 Powertools idempotency records (TTL)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from touchpoint.aws.dynamo import THROTTLING, code, from_item, to_attr, to_item
from touchpoint.clock import iso, pause
from touchpoint.conditions import parse_time
from touchpoint.engine.ports import (
    CapScope,
    EntryRecord,
    GroupSlot,
    Item,
    MessageRecord,
    OverCap,
    Reserved,
    SendIntent,
    SendView,
    UserState,
    WaitRecord,
)
from touchpoint.errors import TransientError
from touchpoint.events import event_digest
from touchpoint.logs import redact

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

    def _write_all(self, items: Sequence[Item]) -> None:
        """Unconditional puts: one PutItem, or BatchWriteItems of 25 retried until all are in."""
        if len(items) == 1:
            self._put(items[0])
            return
        self._batch_write([{"PutRequest": {"Item": to_item(i)}} for i in items])

    def _delete_all(self, keys: Sequence[tuple[str, str]]) -> None:
        """Unconditional deletes in BatchWriteItems of 25."""
        self._batch_write([{"DeleteRequest": {"Key": self._key(pk, sk)}} for pk, sk in keys])

    def _batch_write(self, requests: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(requests), 25):
            request: dict[str, Any] = {self.table: list(requests[start : start + 25])}
            while request:
                request = self._call_batch_write(request)

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

    def put_entry(self, user_id: str, record: EntryRecord, replacing: str | None) -> bool:
        """Conditioned on the entry read before the decision, so two events entering the same
        user at the same moment start one execution, not two."""
        if replacing is None:
            return self._put(entry_item(user_id, record), "attribute_not_exists(pk)")
        return self._put(entry_item(user_id, record), "execution_arn = :prev", values={":prev": replacing})

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

    def send_view(
        self, user_id: str, journey_id: str, scopes: Sequence[CapScope], digest: str | None = None
    ) -> SendView:
        """What the send gate needs from this table, in one BatchGetItem: the journey's flag,
        the user's entry, the cap items (reused by the first reservation attempt) and the send's
        intent, if an earlier attempt of the same send reached its provider."""
        keys = [(f"JOURNEY#{journey_id}", "FLAGS"), (f"USER#{user_id}", f"ENTRY#{journey_id}")]
        keys += [(f"USER#{user_id}", f"CAP#{s.name}") for s in scopes]
        if digest is not None:
            keys.append(intent_key(digest))
        items = self._batch_get(keys)
        flag = items.get(keys[0], {}).get("status")
        entry = items.get(keys[1])
        caps = {s.name: items.get((f"USER#{user_id}", f"CAP#{s.name}"), {}) for s in scopes}
        intent = items.get(intent_key(digest)) if digest is not None else None
        return SendView(flag, _entry(entry) if entry else None, caps, _intent(intent) if intent else None)

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
        """A send held while its journey is paused, and its user's reference (for erasure)."""
        self._write_all(hold_items(journey_id, key, request))

    def holds(self, journey_id: str) -> list[dict[str, Any]]:
        return [json.loads(i["request"]) for i in self._query(f"JOURNEY#{journey_id}", "HOLD#")]

    def delete_hold(self, journey_id: str, key: str, user_id: str) -> None:
        self._delete_all(
            [
                (f"JOURNEY#{journey_id}", f"HOLD#{key}"),
                (f"USER#{user_id}", f"HOLDREF#JOURNEY#{journey_id}#HOLD#{key}"),
            ]
        )

    # ------------------------------------------------------------------ message index

    def put_message(self, record: MessageRecord, ttl: dt.datetime) -> None:
        """The message index entry and the user's reference to it, in one batch write."""
        self._write_all(message_items(record, ttl))

    def _call_batch_write(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._aws("batch_write_item", RequestItems=request).get("UnprocessedItems") or {}

    def message(self, message_id: str) -> MessageRecord | None:
        item = self._get(f"MSG#{message_id}", "MSG")
        return _message(message_id, item) if item else None

    def messages(self, message_ids: Sequence[str]) -> dict[str, MessageRecord]:
        """Several message index entries in one BatchGetItem (kpi_rollup's attribution)."""
        items = self._batch_get((f"MSG#{m}", "MSG") for m in message_ids)
        return {
            pk.removeprefix("MSG#"): _message(pk.removeprefix("MSG#"), item)
            for (pk, _), item in items.items()
        }

    # ------------------------------------------------------------------ send intents

    def begin_send(self, intent: SendIntent, ttl: dt.datetime) -> SendIntent | None:
        """Record that ``intent`` is about to call its provider, with the user's reference to it,
        in one transaction; None when recorded now, the stored intent when one existed."""
        item, ref = intent_items(intent, ttl)
        try:
            self._aws(
                "transact_write_items",
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": to_item(item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self.table, "Item": to_item(ref)}},
                ],
            )
        except ClientError as error:
            if code(error) != "TransactionCanceledException":
                raise
            stored = self._get(*intent_key(intent.digest))
            if not stored:  # cancelled by a conflicting transaction, not by the condition
                raise TransientError("the send intent is being written concurrently") from error
            return _intent(stored)
        return None

    def finish_send(self, intent: SendIntent, ttl: dt.datetime) -> None:
        """The provider's answer: the intent's outcome, and the message index when it has an id."""
        self._write_all(finished_items(intent, ttl))

    def forget_send(self, intent: SendIntent) -> None:
        """The provider refused for certain: nothing was sent, so no intent remains."""
        self._delete_all([intent_key(intent.digest), (f"USER#{intent.user_id}", f"SENDREF#{intent.digest}")])

    def reconcile_send(
        self, digest: str, message_id: str, ttl: dt.datetime
    ) -> tuple[SendIntent, bool] | None:
        """A provider event revealed the message of an unconfirmed send: record it (once; the
        bool says whether this call did) and index the message. None: no such send."""
        pk, sk = intent_key(digest)
        response = self._conditional(
            "update_item",
            Key=self._key(pk, sk),
            UpdateExpression="SET #s = :reconciled, message_id = :m",
            ConditionExpression="#s IN (:calling, :unconfirmed)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":reconciled": {"S": "reconciled"},
                ":calling": {"S": "calling"},
                ":unconfirmed": {"S": "unconfirmed"},
                ":m": {"S": message_id},
            },
            ReturnValues="ALL_NEW",
        )
        if response is None:
            stored = self._get(pk, sk)
            return (_intent(stored), False) if stored else None
        intent = _intent(from_item(response["Attributes"]))
        self.put_message(intent.message(message_id), ttl)
        return intent, True

    # ------------------------------------------------------------------ rejected events

    def reject(self, raw: str, reason: str, at: dt.datetime, user_id: str | None = None) -> None:
        """Keep a rejected input for 14 days with its reason, its contact points redacted, and a
        reference from its user (when it names one) so erasure removes it too."""
        self._write_all(rejected_items(raw, reason, at, user_id))

    def put_wakeup_ref(self, user_id: str, name: str, at: dt.datetime) -> None:
        """The user's reference to a pending wake-up schedule (its payload names the user), so
        erasure can cancel it; it expires a day after the wake-up ran."""
        self._put({"pk": f"USER#{user_id}", "sk": f"WAKE#{name}", "ttl": _epoch(at) + 86400})

    def log_consent(self, user_id: str, event_id: str, changes: Sequence[Mapping[str, Any]]) -> None:
        """The consent ledger: every decision an item of its own (the profile holds only the
        current one), keyed by the event so a redelivery writes the same items again."""
        items = consent_items(user_id, event_id, changes)
        if items:
            self._write_all(items)

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
            pause(random.uniform(0, min(0.2, 0.005 * 2**backoff)))
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
        self._delete_all(keys)
        return len(keys)


def entry_item(user_id: str, record: EntryRecord) -> Item:
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
    if record.history:
        item["entered_by"] = list(record.history)
    if record.trigger_at is not None:
        item["trigger_at"] = iso(record.trigger_at)
    return item


def hold_items(journey_id: str, key: str, request: Mapping[str, Any]) -> list[Item]:
    items: list[Item] = [
        {"pk": f"JOURNEY#{journey_id}", "sk": f"HOLD#{key}", "request": json.dumps(dict(request))}
    ]
    user = request.get("user_id")
    if isinstance(user, str):
        items.append({"pk": f"USER#{user}", "sk": f"HOLDREF#JOURNEY#{journey_id}#HOLD#{key}"})
    return items


def rejected_items(raw: str, reason: str, at: dt.datetime, user_id: str | None) -> list[Item]:
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    pk, sk = f"REJECTED#{at.astimezone(dt.UTC).date().isoformat()}", f"{iso(at)}#{digest}"
    expires = _epoch(at) + REJECTED_DAYS * 86400
    text = redact(raw[:100_000].encode("utf-8", "replace").decode("utf-8"))
    items: list[Item] = [{"pk": pk, "sk": sk, "reason": redact(reason[:2000]), "event": text, "ttl": expires}]
    if user_id:
        items.append({"pk": f"USER#{user_id}", "sk": f"REJREF#{pk}#{sk}", "ttl": expires})
    return items


def consent_items(user_id: str, event_id: str, changes: Sequence[Mapping[str, Any]]) -> list[Item]:
    digest = event_digest(event_id)
    return [
        {
            "pk": f"USER#{user_id}",
            "sk": f"CONSENT#{change['at']}#{change['channel']}#{digest}",
            "channel": change["channel"],
            "granted": change["granted"],
            "at": change["at"],
            "source": change["source"],
        }
        for change in changes
    ]


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
            **({"contact": record.contact} if record.contact else {}),
        },
        {"pk": f"USER#{record.user_id}", "sk": f"MSGREF#{record.message_id}", "ttl": expires},
    ]


def intent_key(digest: str) -> tuple[str, str]:
    return f"SEND#{digest}", "SEND"


def intent_items(intent: SendIntent, ttl: dt.datetime) -> tuple[Item, Item]:
    """The intent item and the user's reference to it (so erasure finds it)."""
    pk, sk = intent_key(intent.digest)
    item: Item = {
        "pk": pk,
        "sk": sk,
        "key": intent.key,
        "user_id": intent.user_id,
        "journey_id": intent.journey_id,
        "step_id": intent.step_id,
        "template": intent.template,
        "channel": intent.channel,
        "execution_arn": intent.execution_arn,
        "at": iso(intent.at),
        "status": intent.status,
        "ttl": _epoch(ttl),
    }
    for name in ("message_id", "template_file", "detail", "contact"):
        if getattr(intent, name) is not None:
            item[name] = getattr(intent, name)
    ref: Item = {"pk": f"USER#{intent.user_id}", "sk": f"SENDREF#{intent.digest}", "ttl": _epoch(ttl)}
    return item, ref


def finished_items(intent: SendIntent, ttl: dt.datetime) -> list[Item]:
    """What ``finish_send`` writes: the intent with its outcome, its reference, and the message
    index with its reference when the provider gave a message id."""
    items = list(intent_items(intent, ttl))
    if intent.message_id is not None:
        items += message_items(intent.message(intent.message_id), ttl)
    return items


def _message(message_id: str, item: Item) -> MessageRecord:
    return MessageRecord(
        message_id,
        item["user_id"],
        item["journey_id"],
        item["step_id"],
        item["template"],
        item["channel"],
        item["execution_arn"],
        item.get("contact"),
    )


def _intent(item: Item) -> SendIntent:
    return SendIntent(
        item["pk"].removeprefix("SEND#"),
        item["key"],
        item["user_id"],
        item["journey_id"],
        item["step_id"],
        item["template"],
        item["channel"],
        item["execution_arn"],
        _time(item["at"]),
        item["status"],
        item.get("message_id"),
        item.get("template_file"),
        item.get("detail"),
        item.get("contact"),
    )


def erasure_keys(items: Sequence[Item]) -> list[tuple[str, str]]:
    """The keys of a user's items and of the message index entries they reference."""
    keys = [(i["pk"], i["sk"]) for i in items]
    keys += [
        (f"MSG#{i['sk'].removeprefix('MSGREF#')}", "MSG") for i in items if i["sk"].startswith("MSGREF#")
    ]
    keys += [intent_key(i["sk"].removeprefix("SENDREF#")) for i in items if i["sk"].startswith("SENDREF#")]
    keys += [_ref_key(i["sk"].removeprefix("REJREF#")) for i in items if i["sk"].startswith("REJREF#")]
    keys += [_ref_key(i["sk"].removeprefix("HOLDREF#")) for i in items if i["sk"].startswith("HOLDREF#")]
    return keys


def _ref_key(ref: str) -> tuple[str, str]:
    """``<pk>#<sk>`` of a referenced item whose pk has exactly one ``#`` (REJECTED#…, JOURNEY#…)."""
    kind, rest = ref.split("#", 1)
    name, sk = rest.split("#", 1)
    return f"{kind}#{name}", sk


def counted(item: Item, scope: CapScope, key: str, now: dt.datetime) -> dict[str, int] | OverCap:
    """A cap item's sends still in the scope's window with ``key`` counted (kept at its first
    time), or, when the scope is full, when its oldest counted send leaves the window. A send is
    kept at the next whole second, so a window never closes early (a send at 09.27 still counts
    at 09.00 a day later, which a truncated time would let through)."""
    moment = now.timestamp()
    sends = {k: int(v) for k, v in (item.get("sends") or {}).items() if int(v) > moment - scope.seconds}
    if key not in sends and len(sends) >= scope.max:
        oldest = sorted(sends.values())[len(sends) - scope.max]
        return OverCap(dt.datetime.fromtimestamp(oldest + scope.seconds, dt.UTC), scope.name)
    sends[key] = sends.get(key, math.ceil(moment))
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
