"""What the domain needs from the outside world. AWS adapters (``touchpoint/aws``) implement these
with injected boto3 clients; the domain never imports boto3."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, Protocol

from touchpoint.events import JourneyEvent
from touchpoint.profiles import Mutation

if TYPE_CHECKING:  # engine/kpi imports this module: its value types for the type checker only
    from touchpoint.engine.kpi.values import Alert, Cell, Marker, MetricBlob

Item = dict[str, Any]


@dataclass(frozen=True)
class Applied:
    """Result of applying an event's mutations: the item before and after. Not applied:
    ``duplicate`` (the event's marker is there), ``gone`` (feedback for a profile that does not
    exist), ``erased`` (the profile was erased after the event occurred), ``full``
    (touchpoint.profiles.FULL_BYTES)."""

    status: Literal["applied", "duplicate", "gone", "erased", "full"]
    old: Item
    new: Item


@dataclass(frozen=True)
class EntryRecord:
    journey_id: str
    execution_arn: str
    entered_at: dt.datetime
    event_id: str
    status: Literal["running", "exiting", "ended"]
    holdout: bool
    group: str | None = None
    priority: int = 0
    converted_at: dt.datetime | None = None
    exit_reason: str | None = None
    #: Digests of the events that entered this journey for the user, newest last (bounded): a
    #: copy of any of them, however late, never enters again.
    history: tuple[str, ...] = ()
    #: When the triggering event happened: exits and goals count only what happened since.
    trigger_at: dt.datetime | None = None

    @property
    def since(self) -> dt.datetime:
        return self.trigger_at or self.entered_at


@dataclass(frozen=True)
class GroupSlot:
    group: str
    journey_id: str
    priority: int
    execution_arn: str


@dataclass(frozen=True)
class WaitRecord:
    sort_key: str
    event: str
    journey_id: str
    step_id: str
    execution_arn: str
    token: str
    where: Mapping[str, Any]
    expires_at: dt.datetime


#: What writing an entry came to: written, or refused by a held group slot or by another entry
#: written since the user's state was read (``EntriesPort.enter``).
Entered = Literal["entered", "group_busy", "in_journey"]


@dataclass(frozen=True)
class UserState:
    entries: dict[str, EntryRecord] = field(default_factory=dict)
    groups: dict[str, GroupSlot] = field(default_factory=dict)
    waits: list[WaitRecord] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Sent:
    """Who and what a send was: what a send intent and the message record it made both say."""

    user_id: str
    journey_id: str
    step_id: str
    template: str
    channel: str
    execution_arn: str
    contact: str | None = None  # digest of the address or number (touchpoint.profiles.contact_digest)


@dataclass(frozen=True, kw_only=True)
class MessageRecord(Sent):
    message_id: str


SendStatus = Literal["calling", "accepted", "unconfirmed", "reconciled"]


@dataclass(frozen=True, kw_only=True)
class SendIntent(Sent):
    """A send that got as far as its provider call (docs/reliability.md): written before the call,
    so a retry, a crashed invocation or a late provider event knows the message may exist.
    ``calling`` until the provider answers; ``accepted`` with its message id; ``unconfirmed``
    when the answer was lost; ``reconciled`` when the provider's events revealed the message."""

    digest: str  # touchpoint.channels.tags.send_digest(key): also the message's ``send`` tag
    key: str  # <execution>:<step>
    at: dt.datetime
    status: SendStatus = "calling"
    message_id: str | None = None
    template_file: str | None = None
    detail: str | None = None  # why it is unconfirmed

    def message(self, message_id: str) -> MessageRecord:
        """The message record this send made, once its provider message id is known."""
        return MessageRecord(message_id=message_id, **{f.name: getattr(self, f.name) for f in fields(Sent)})


@dataclass(frozen=True, kw_only=True)
class ProofRecord:
    """One proof send (``touchpoint send-test``, touchpoint.engine.proof): who sent which step of
    which journey, when, on which channel, to which destination (masked: touchpoint.logs.redact)
    and the provider's message id. The audit log keeps every one: a proof never replaces another."""

    journey_id: str
    step_id: str
    template: str
    channel: str
    by: str  # the caller's ARN (STS GetCallerIdentity)
    at: dt.datetime
    destination: str  # masked, never the address or number itself
    message_id: str


@dataclass(frozen=True)
class Reserved:
    pass


@dataclass(frozen=True)
class OverCap:
    free_at: dt.datetime
    scope: str


@dataclass(frozen=True)
class SendView:
    flag: str | None
    entry: EntryRecord | None
    caps: dict[str, Item]
    intent: SendIntent | None = None


@dataclass(frozen=True)
class CapScope:
    name: str  # "global:marketing", "journey:<id>:email"
    max: int
    seconds: int


Scopes = Sequence[CapScope]
#: A user's cap items by scope name, as a send view read them (``SendView.caps``)
CapItems = Mapping[str, Item]


class ProfilesPort(Protocol):
    def get(self, user_id: str) -> Item: ...
    def apply(self, user_id: str, mutations: Sequence[Mutation]) -> Applied: ...
    def scan(self, start: Item | None, limit: int) -> tuple[list[Item], Item | None]: ...
    def erase(self, user_id: str, at: dt.datetime) -> None:
        """Replace the profile by its tombstone (``user_id`` and ``erased_at``)."""
        ...


class EntriesPort(Protocol):
    """A user's journey entries and group slots (and their waits, read with them)."""

    def user_state(self, user_id: str) -> UserState: ...
    def enter(
        self,
        user_id: str,
        record: EntryRecord,
        replacing: str | None,
        slot: GroupSlot | None = None,
        slot_replacing: str | None = None,
    ) -> Entered:
        """Write the entry (if the stored one is still ``replacing``: the execution read before
        the decision, None: there was none) and its group slot (if free, ours, or held by
        ``slot_replacing``) together, or neither, and say which refused."""
        ...

    def end_entry(
        self, user_id: str, journey_id: str, execution_arn: str, status: str, reason: str | None
    ) -> EntryRecord | None: ...
    def mark_exiting(self, user_id: str, journey_id: str, execution_arn: str, reason: str) -> bool: ...
    def record_conversion(
        self, user_id: str, journey_id: str, execution_arn: str, at: dt.datetime
    ) -> bool: ...
    def claim_group(self, user_id: str, slot: GroupSlot, replacing: str | None) -> bool: ...
    def release_group(self, user_id: str, group: str, execution_arn: str) -> None: ...


class WaitsPort(Protocol):
    """``wait_for`` task tokens."""

    def put_wait(self, user_id: str, record: WaitRecord) -> None: ...
    def take_wait(self, user_id: str, sort_key: str) -> bool: ...


class CapsPort(Protocol):
    """Frequency-cap reservations."""

    def reserve(
        self, user_id: str, scopes: Scopes, key: str, now: dt.datetime, prefetched: CapItems | None = None
    ) -> Reserved | OverCap: ...
    def release(self, user_id: str, scopes: Scopes, key: str) -> None: ...


class FlagsPort(Protocol):
    """Journeys paused or stopped, and the sends held while they are."""

    def flags(self, journey_ids: Iterable[str]) -> dict[str, str]: ...
    def set_flag(self, journey_id: str, status: str, by: str, reason: str, at: dt.datetime) -> None: ...
    def put_hold(self, journey_id: str, key: str, request: Mapping[str, Any]) -> None: ...
    def holds(self, journey_id: str) -> list[dict[str, Any]]: ...
    def delete_hold(self, journey_id: str, key: str, user_id: str) -> None: ...


class MessagesPort(Protocol):
    """The message index (who a provider message id went to), the send intents behind it, and the
    send gate's one read of the table (``send_view``)."""

    def put_message(self, record: MessageRecord, ttl: dt.datetime) -> None: ...
    def message(self, message_id: str) -> MessageRecord | None: ...
    def messages(self, message_ids: Sequence[str]) -> dict[str, MessageRecord]: ...
    def send_view(
        self, user_id: str, journey_id: str, scopes: Sequence[CapScope], digest: str | None = None
    ) -> SendView: ...
    def begin_send(self, intent: SendIntent, ttl: dt.datetime) -> SendIntent | None: ...
    def finish_send(self, intent: SendIntent, ttl: dt.datetime) -> None: ...
    def forget_send(self, intent: SendIntent) -> None: ...
    def reconcile_send(
        self, digest: str, message_id: str, ttl: dt.datetime
    ) -> tuple[SendIntent, bool] | None: ...


@dataclass(frozen=True)
class SweepCursor:
    """How far a date journey's sweeps got: every user due at or before ``until`` was entered,
    and of the window ending at ``window_end`` (when one is half done), the users up to ``after``
    in the order of their ids' digests (a digest, so the shared item keeps no user id). A sweep
    that failed or timed out leaves the cursor where it was, so the next one covers the missed
    time instead of skipping it."""

    until: dt.datetime
    window_end: dt.datetime | None = None
    after: str | None = None


class DateIndexPort(Protocol):
    """Users by the day of a date attribute, and the date sweeps' cursors, for date triggers."""

    def index_date(self, attribute: str, keys: Iterable[str], user_id: str, add: bool) -> None: ...
    def users_on(self, attribute: str, key: str) -> list[str]: ...
    def sweep_cursors(self) -> dict[str, SweepCursor]: ...
    def save_sweep_cursors(self, cursors: Mapping[str, SweepCursor]) -> None: ...


class RecordsPort(Protocol):
    """What is kept about a user beside their journeys (rejected inputs, the consent ledger,
    wake-up references), and the erasure of all of it."""

    def reject(self, raw: str, reason: str, at: dt.datetime, user_id: str | None = None) -> None: ...
    def rejected(self, day: dt.date) -> list[Item]: ...
    def log_consent(self, user_id: str, event_id: str, changes: Sequence[Mapping[str, Any]]) -> None: ...
    def put_wakeup_ref(self, user_id: str, name: str, at: dt.datetime) -> None: ...
    def user_items(self, user_id: str) -> list[Item]: ...
    def erase_user(self, user_id: str) -> int: ...


class ProofsPort(Protocol):
    """The audit log of proof sends: append-only, one item per proof."""

    def record_proof(self, record: ProofRecord) -> None:
        """Add the record; never overwrites one (a key already taken raises ValueError)."""
        ...

    def proofs(self, journey_id: str) -> list[ProofRecord]:
        """The journey's proof records, oldest first."""
        ...


class OperationsStatePort(FlagsPort, RecordsPort, Protocol):
    """What pausing, resuming and stopping journeys needs (touchpoint.engine.operations)."""


class ErasureStatePort(EntriesPort, DateIndexPort, RecordsPort, Protocol):
    """What erasing a user needs (touchpoint.engine.privacy)."""


class StatePort(
    EntriesPort,
    WaitsPort,
    CapsPort,
    FlagsPort,
    MessagesPort,
    DateIndexPort,
    RecordsPort,
    ProofsPort,
    Protocol,
):
    """The whole state table (touchpoint.state.repository.StateRepository)."""


class ExecutionsPort(Protocol):
    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str: ...
    def stop(self, execution_arn: str, cause: str) -> None: ...
    def is_running(self, execution_arn: str) -> bool: ...
    def running(self, state_machine_arn: str) -> list[str]: ...
    def succeed(self, token: str, output: Mapping[str, Any]) -> bool: ...
    def fail(self, token: str, error: str, cause: str) -> bool: ...


class BusPort(Protocol):
    def put(self, events: Sequence[JourneyEvent]) -> None: ...


class WakeupsPort(Protocol):
    def schedule(self, at: dt.datetime, target_arn: str, payload: Mapping[str, Any], key: str) -> str: ...
    def cancel(self, name: str) -> None: ...


class QueuePort(Protocol):
    def send(self, message: Mapping[str, Any]) -> None: ...


class CallerPort(Protocol):
    def caller(self) -> str:
        """The ARN of the identity whose credentials make the calls (STS GetCallerIdentity)."""
        ...


# --------------------------------------------------------------------------- senders and KPIs


class EmailPort(Protocol):
    def send(self, recipient: str, raw: bytes, tags: Mapping[str, str]) -> str: ...


class SmsPort(Protocol):
    def send(self, phone: str, body: str, marketing: bool, context: Mapping[str, str]) -> str: ...


class OncePort(Protocol):
    """Run ``fn`` once per key and return its stored result on repeats (Powertools Idempotency)."""

    def run(self, key: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]: ...


class KpiStorePort(Protocol):
    def count(self, marker: Marker, cells: Mapping[Cell, int], expires_at: dt.datetime) -> bool:
        """Write the marker and add the cells atomically; False (nothing added) if the marker exists."""
        ...

    def count_many(self, entries: Sequence[tuple[Marker, Mapping[Cell, int], dt.datetime]]) -> list[bool]:
        """``count`` for a batch: each entry's marker and the summed cells in as few transactions
        as fit; per entry, True if counted now, False if its marker existed (nothing added)."""
        ...

    def read(self, journey_id: str, period: str) -> list[tuple[Cell, int]]: ...
    def read_days(self, journey_id: str, first: dt.date, last: dt.date) -> list[tuple[Cell, int]]: ...
    def alert_states(self, journey_id: str) -> dict[str, str]: ...
    def save_alert_state(self, journey_id: str, kpi: str, state: str, at: dt.datetime) -> None: ...


class MetricsPort(Protocol):
    def emit(self, blobs: Sequence[MetricBlob]) -> None: ...


class AlertsPort(Protocol):
    def publish(self, alert: Alert) -> None: ...
