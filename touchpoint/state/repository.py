"""The state table's operations, written once over a ``Storage`` (touchpoint/state/storage.py):
the DynamoDB storage (touchpoint/aws/state.py) in a deployment and the moto backend, the
in-memory one (touchpoint/local/memory/state.py) in population runs. Keys and item shapes are
``touchpoint.state.items``; every write another writer could race is conditioned here."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from touchpoint.clock import iso, pause
from touchpoint.engine.ports import (
    CapItems,
    CapScope,
    Entered,
    EntryRecord,
    GroupSlot,
    Item,
    MessageRecord,
    OverCap,
    ProofRecord,
    Reserved,
    Scopes,
    SendIntent,
    SendView,
    SweepCursor,
    UserState,
    WaitRecord,
)
from touchpoint.errors import TransientError
from touchpoint.logs import redact
from touchpoint.state import items as layout
from touchpoint.state.storage import (
    Assign,
    Condition,
    Put,
    Storage,
    all_of,
    any_of,
    differs,
    equals,
    exists,
    missing,
    one_of,
)

CAP_ATTEMPTS = 40


class StateRepository:
    """Every state port (touchpoint.engine.ports.StatePort) over one storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    # ------------------------------------------------------------------ entries and group slots

    def user_state(self, user_id: str) -> UserState:
        state = UserState()
        for item in self.storage.query(layout.user(user_id)):
            sk: str = item["sk"]
            if sk.startswith("ENTRY#"):
                record = layout.entry(item)
                state.entries[record.journey_id] = record
            elif sk.startswith("GROUP#"):
                slot = layout.group(item)
                state.groups[slot.group] = slot
            elif sk.startswith("WAIT#"):
                state.waits.append(layout.wait(item))
        return state

    def enter(
        self,
        user_id: str,
        record: EntryRecord,
        replacing: str | None,
        slot: GroupSlot | None = None,
        slot_replacing: str | None = None,
    ) -> Entered:
        """Write the entry, and the group slot when its journey has a group, in one request.

        The entry is conditioned on the one read before the decision (``replacing``: its
        execution; None: there was none), so two events entering at once start one execution; the
        slot on being free, ours already, or held by ``slot_replacing`` (which we preempt or which
        has ended). A held slot refuses first (group_busy), then a changed entry (in_journey);
        a transaction a concurrent one cancelled is a TransientError, for the caller's retry."""
        entry = Put(
            layout.entry_item(user_id, record),
            missing("pk") if replacing is None else equals("execution_arn", replacing),
        )
        if slot is None:
            return "entered" if self.storage.put(entry.item, entry.condition) else "in_journey"
        cancelled = self.storage.transact([self._slot(user_id, slot, slot_replacing), entry])
        if cancelled is None:
            return "entered"
        if 0 in cancelled.failed:
            return "group_busy"
        if 1 in cancelled.failed:
            return "in_journey"
        raise TransientError("the user's entry is being written concurrently")

    def end_entry(
        self, user_id: str, journey_id: str, execution_arn: str, status: str, reason: str | None
    ) -> EntryRecord | None:
        """Mark the entry ended once; None when it already was (or belongs to another execution)."""
        updates = [Assign("status", "ended"), Assign("final_status", status)]
        if reason:
            updates.append(Assign("exit_reason", reason, if_missing=True))
        ended = self._update_entry(user_id, journey_id, execution_arn, updates, differs("status", "ended"))
        return None if ended is None else layout.entry(ended)

    def mark_exiting(self, user_id: str, journey_id: str, execution_arn: str, reason: str) -> bool:
        updates = [Assign("status", "exiting"), Assign("exit_reason", reason)]
        running = equals("status", "running")
        return self._update_entry(user_id, journey_id, execution_arn, updates, running) is not None

    def record_conversion(self, user_id: str, journey_id: str, execution_arn: str, at: dt.datetime) -> bool:
        updates = [Assign("converted_at", iso(at))]
        first = missing("converted_at")
        return self._update_entry(user_id, journey_id, execution_arn, updates, first) is not None

    def _update_entry(
        self, user_id: str, journey_id: str, arn: str, updates: Sequence[Assign], condition: Condition
    ) -> Item | None:
        """An update of the execution's own entry, when ``condition`` holds too."""
        mine = all_of(equals("execution_arn", arn), condition)
        return self.storage.update(layout.entry_key(user_id, journey_id), updates, mine)

    def claim_group(self, user_id: str, slot: GroupSlot, replacing: str | None) -> bool:
        """Take the group slot alone (a redelivery finishing an entry it wrote with its slot)."""
        claim = self._slot(user_id, slot, replacing)
        return self.storage.put(claim.item, claim.condition)

    def _slot(self, user_id: str, slot: GroupSlot, replacing: str | None) -> Put:
        """The slot, if it is free, ours already, or held by ``replacing`` (which we preempt or
        which has ended)."""
        free: list[Condition] = [missing("pk"), equals("execution_arn", slot.execution_arn)]
        if replacing:
            free.append(equals("execution_arn", replacing))
        return Put(layout.group_item(user_id, slot), any_of(*free))

    def release_group(self, user_id: str, group: str, execution_arn: str) -> None:
        # a slot another execution has taken since is not ours to release
        self.storage.delete(layout.group_key(user_id, group), equals("execution_arn", execution_arn))

    # ------------------------------------------------------------------ wait_for tokens

    def put_wait(self, user_id: str, record: WaitRecord) -> None:
        self.storage.put(layout.wait_item(user_id, record))

    def take_wait(self, user_id: str, sort_key: str) -> bool:
        """Delete the token; True for the one caller that did (so a wait resumes once)."""
        return self.storage.delete((layout.user(user_id), sort_key), exists("pk"))

    # ------------------------------------------------------------------ journey flags and holds

    def flags(self, journey_ids: Iterable[str]) -> dict[str, str]:
        items = self.storage.batch_get(layout.flags_key(j) for j in journey_ids)
        return {layout.journey_of(pk): item["status"] for (pk, _), item in items.items()}

    def set_flag(self, journey_id: str, status: str, by: str, reason: str, at: dt.datetime) -> None:
        self.storage.put(layout.flag_item(journey_id, status, by, reason, at))

    def put_hold(self, journey_id: str, key: str, request: Mapping[str, Any]) -> None:
        """A send held while its journey is paused, and its user's reference (for erasure)."""
        self.storage.write_all(layout.hold_items(journey_id, key, request))

    def holds(self, journey_id: str) -> list[dict[str, Any]]:
        return [json.loads(i["request"]) for i in self.storage.query(layout.journey(journey_id), "HOLD#")]

    def delete_hold(self, journey_id: str, key: str, user_id: str) -> None:
        self.storage.delete_all(layout.hold_keys(journey_id, key, user_id))

    # ------------------------------------------------------------------ proof sends' audit log

    def record_proof(self, record: ProofRecord) -> None:
        """Append-only: conditioned on the key being free, so no proof ever replaces another."""
        if not self.storage.put(layout.proof_item(record), missing("pk")):
            raise ValueError(f"a proof record {layout.proof_key(record)[1]} already exists")

    def proofs(self, journey_id: str) -> list[ProofRecord]:
        return [layout.proof(i) for i in self.storage.query(layout.journey(journey_id), layout.PROOF_PREFIX)]

    # ------------------------------------------------------------------ message index

    def put_message(self, record: MessageRecord, ttl: dt.datetime) -> None:
        """The message index entry and the user's reference to it, in one batch write."""
        self.storage.write_all(layout.message_items(record, ttl))

    def message(self, message_id: str) -> MessageRecord | None:
        item = self.storage.get(layout.message_key(message_id))
        return layout.message(message_id, item) if item else None

    def messages(self, message_ids: Sequence[str]) -> dict[str, MessageRecord]:
        """Several message index entries in one batch get (kpi_rollup's attribution)."""
        items = self.storage.batch_get(layout.message_key(m) for m in message_ids)
        return {
            layout.message_of(pk): layout.message(layout.message_of(pk), item)
            for (pk, _), item in items.items()
        }

    # ------------------------------------------------------------------ send intents

    def send_view(
        self, user_id: str, journey_id: str, scopes: Sequence[CapScope], digest: str | None = None
    ) -> SendView:
        """What the send gate needs from this table, in one batch get: the journey's flag, the
        user's entry, the cap items (reused by the first reservation attempt) and the send's
        intent, if an earlier attempt of the same send reached its provider."""
        flag_key, entry_key = layout.flags_key(journey_id), layout.entry_key(user_id, journey_id)
        wanted = [flag_key, entry_key, *(layout.cap_key(user_id, s.name) for s in scopes)]
        if digest is not None:
            wanted.append(layout.intent_key(digest))
        items = self.storage.batch_get(wanted)
        entry = items.get(entry_key)
        caps = {s.name: items.get(layout.cap_key(user_id, s.name), {}) for s in scopes}
        intent = items.get(layout.intent_key(digest)) if digest is not None else None
        return SendView(
            items.get(flag_key, {}).get("status"),
            layout.entry(entry) if entry else None,
            caps,
            layout.intent(intent) if intent else None,
        )

    def begin_send(self, intent: SendIntent, ttl: dt.datetime) -> SendIntent | None:
        """Record that ``intent`` is about to call its provider, with the user's reference to it,
        in one transaction; None when recorded now, the stored intent when one existed."""
        item, ref = layout.intent_items(intent, ttl)
        if self.storage.transact([Put(item, missing("pk")), Put(ref)]) is None:
            return None
        stored = self.storage.get(layout.intent_key(intent.digest))
        if not stored:  # cancelled by a conflicting transaction, not by the condition
            raise TransientError("the send intent is being written concurrently")
        return layout.intent(stored)

    def finish_send(self, intent: SendIntent, ttl: dt.datetime) -> None:
        """The provider's answer: the intent's outcome, and the message index when it has an id."""
        self.storage.write_all(layout.finished_items(intent, ttl))

    def forget_send(self, intent: SendIntent) -> None:
        """The provider refused for certain: nothing was sent, so no intent remains."""
        self.storage.delete_all(layout.intent_keys(intent))

    def reconcile_send(
        self, digest: str, message_id: str, ttl: dt.datetime
    ) -> tuple[SendIntent, bool] | None:
        """A provider event revealed the message of an unconfirmed send: record it (once; the
        bool says whether this call did) and index the message. None: no such send."""
        key = layout.intent_key(digest)
        updated = self.storage.update(
            key,
            [Assign("status", "reconciled"), Assign("message_id", message_id)],
            one_of("status", "calling", "unconfirmed"),
        )
        if updated is None:
            stored = self.storage.get(key)
            return (layout.intent(stored), False) if stored else None
        intent = layout.intent(updated)
        self.put_message(intent.message(message_id), ttl)
        return intent, True

    # ------------------------------------------------------------------ records kept about a user

    def reject(self, raw: str, reason: str, at: dt.datetime, user_id: str | None = None) -> None:
        """Keep a rejected input for 14 days with its reason, its contact points redacted, and a
        reference from its user (when it names one) so erasure removes it too."""
        self.storage.write_all(layout.rejected_items(raw, reason, at, user_id, redact))

    def rejected(self, day: dt.date) -> list[Item]:
        return self.storage.query(layout.rejected_partition(day))

    def put_wakeup_ref(self, user_id: str, name: str, at: dt.datetime) -> None:
        """The user's reference to a pending wake-up schedule (its payload names the user), so
        erasure can cancel it."""
        self.storage.put(layout.wakeup_ref_item(user_id, name, at))

    def log_consent(self, user_id: str, event_id: str, changes: Sequence[Mapping[str, Any]]) -> None:
        """The consent ledger: every decision an item of its own (the profile holds only the
        current one), keyed by the event so a redelivery writes the same items again."""
        items = layout.consent_items(user_id, event_id, changes)
        if items:
            self.storage.write_all(items)

    def user_items(self, user_id: str) -> list[Item]:
        return self.storage.query(layout.user(user_id))

    def erase_user(self, user_id: str) -> int:
        """Delete everything keyed by the user, and the message index entries pointing at them."""
        erased = layout.erasure_keys(self.storage.query(layout.user(user_id)))
        self.storage.delete_all(erased)
        return len(erased)

    # ------------------------------------------------------------------ frequency caps

    def reserve(
        self, user_id: str, scopes: Scopes, key: str, now: dt.datetime, prefetched: CapItems | None = None
    ) -> Reserved | OverCap:
        """Count one send against every scope, atomically, or say when the first one frees up.

        Each scope item holds the recent sends (key → epoch) and a version; the write is a
        transaction conditioned on the versions read, retried after a back-off when another
        writer moved one, so 20 concurrent sends for one user never exceed a cap. Throttling raises
        a TransientError, as every other request here does. Re-reserving the same key is a no-op
        (retries)."""
        for attempt in range(CAP_ATTEMPTS):
            if attempt == 0 and prefetched is not None:
                items = {s.name: dict(prefetched.get(s.name, {})) for s in scopes}
            else:
                items = {s.name: self.storage.get(layout.cap_key(user_id, s.name)) for s in scopes}
            writes: list[tuple[Item, Item]] = []
            blocked: list[OverCap] = []
            for scope in scopes:
                item = items[scope.name]
                sends = counted(item, scope, key, now)
                if isinstance(sends, OverCap):
                    blocked.append(sends)
                else:
                    writes.append((item, layout.cap_item(user_id, scope, item, sends)))
            if blocked:
                return max(blocked, key=lambda b: b.free_at)
            if self._write_caps(writes):
                return Reserved()
            pause(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
        raise TransientError("frequency cap contention")

    def release(self, user_id: str, scopes: Scopes, key: str) -> None:
        """Give a reservation back (the provider refused the message)."""
        for _ in range(CAP_ATTEMPTS):
            writes: list[tuple[Item, Item]] = []
            for scope in scopes:
                item = self.storage.get(layout.cap_key(user_id, scope.name))
                sends = {k: int(v) for k, v in (item.get("sends") or {}).items() if k != key}
                writes.append((item, layout.cap_item(user_id, scope, item, sends)))
            if self._write_caps(writes):
                return

    def _write_caps(self, writes: Sequence[tuple[Item, Item]]) -> bool:
        """One transaction of cap items (as read, to write), each conditioned on the one read
        being current (or on there being none); False when one moved."""
        puts = [
            Put(new, equals("version", int(read.get("version", 0))) if read else missing("pk"))
            for read, new in writes
        ]
        return self.storage.transact(puts) is None

    # ------------------------------------------------------------------ date index

    def index_date(self, attribute: str, keys: Iterable[str], user_id: str, add: bool) -> None:
        for date_key in keys:
            pk = layout.date_partition(attribute, date_key)
            if add:
                self.storage.put({"pk": pk, "sk": user_id})
            else:
                self.storage.delete((pk, user_id))

    def users_on(self, attribute: str, key: str) -> list[str]:
        return [i["sk"] for i in self.storage.query(layout.date_partition(attribute, key))]

    def sweep_cursors(self) -> dict[str, SweepCursor]:
        return layout.sweep_cursors(self.storage.get(layout.SWEEP_KEY))

    def save_sweep_cursors(self, cursors: Mapping[str, SweepCursor]) -> None:
        """A plain write: two sweeps at once (the schedule and a queued page) may each write; a
        cursor only ever records work its writer finished, so the later one loses nothing and an
        older one only makes the next sweep redo entries, which are idempotent."""
        self.storage.put(layout.sweep_item(cursors))


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
