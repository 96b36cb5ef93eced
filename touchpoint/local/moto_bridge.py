"""Every use of moto's internals, in one place: what the simulator and the tests reach for past
moto's public API (its backends, private attributes and methods, and the patches below). moto may
change any of it in a minor release; ``tests/local/test_moto_bridge.py`` pins what each of these
does on the version in constraints.txt (``MOTO_VERSION``), so an upgrade fails there first.

Accessors
    ``backend`` (a service's model for an account and region), ``flatten_event`` and
    ``pattern_matches`` (``EventPattern._flatten_dict`` / ``_does_event_match``), ``rule_matches``
    (one pattern against one event, for tests),
    ``rule_delivery`` (a patch of ``Rule.send_to_targets``), ``event_bus``
    (``_normalize_event_bus_arn``), ``new_event_id`` (moto's seeded random), ``queue_waiting``
    (an SQS queue's ``_messages``), ``schedules``, ``ses_sent`` (``sent_messages``), ``sms_sent``,
    ``serialised_requests`` (a lock around moto's request stubber), and for the peer-interpreter
    tier (tests/local/test_conformance.py) ``sfn_interpreter`` (its patches of moto's Step
    Functions interpreter) and ``sfn_backend``.

Speedups: four fixes to moto's costs, applied only while the simulator runs.

moto 5.2 answers a base-table ``Query`` by sorting every item of the table and then keeping the
queried partition; it backs up a ``TransactWriteItems`` by deep-copying the whole table once per
item of the transaction; and its EventBridge target delivery re-parses the same eight JSONPath
expressions for every event. Each costs O(table) or more per call, so a 30-day simulation turned
quadratic. Its SES ``send_raw_email`` parses the whole message, bodies and a fresh regex per MIME
boundary, to read four headers. None of the fixes changes what moto answers:

* the query fix hands moto's own ``query`` only the queried partition's items (in the order its
  ``all_items`` would have), and moto still applies every key condition, filter, sort and limit;
* the transaction fix snapshots the items the transaction names (not whole tables) and restores
  exactly those when moto rolls the transaction back; moto still runs every check and write;
* the JSONPath fix memoises ``jsonpath_ng.ext.parse``, a pure function of the path string;
* the SES fix has ``send_raw_email`` parse the message with the same parser, headers only
  (``headersonly=True``): moto reads From, To, Cc and Bcc from it and stores the raw text as sent.

``tests/local/test_speedups.py`` runs random tables and queries through moto with and without them
and compares the answers."""

from __future__ import annotations

import copy
import email
import email.parser
import functools
import json
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Final, Literal
from unittest import mock

from jsonpath_ng import ext as jsonpath
from moto.core.botocore_stubber import BotocoreStubber
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.events.models import EventPattern, Rule, events_backends
from moto.events.utils import EventMessageType
from moto.moto_api._internal import mock_random
from moto.scheduler.models import scheduler_backends
from moto.ses import models as ses_models
from moto.ses.models import ses_backends
from moto.sesv2.models import sesv2_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

#: The moto release this module is written against (and tests/local/test_moto_bridge.py pins).
MOTO_VERSION: Final = "5.2.5"

#: ``copy`` as moto's DynamoDB backend sees it during a transaction: whole tables are not copied
#: (``_transact`` snapshots the touched items instead); everything else is copied as before.
_TABLE_AWARE_COPY = SimpleNamespace(
    **{name: getattr(copy, name) for name in ("copy", "Error")},
    deepcopy=lambda value, memo=None: value if isinstance(value, Table) else copy.deepcopy(value, memo),
)

#: ``email`` as moto's SES backend sees it: ``message_from_string`` parses the headers alone.
_HEADERS_ONLY_EMAIL = SimpleNamespace(
    message_from_string=lambda text, *args, **kwargs: email.parser.Parser(*args, **kwargs).parsestr(
        text, headersonly=True
    )
)


@contextmanager
def moto_speedups() -> Iterator[None]:
    original_query: Callable[..., Any] = Table.query
    original_parse: Callable[..., Any] = getattr(jsonpath, "parse")  # noqa: B009 - patched below

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("index_name") or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key)
        if partition is None:
            items: list[Any] = []
        elif self.range_key_attr:
            items = sorted(partition.values(), key=lambda item: item.range_key)
        else:
            items = [partition]
        self.all_items = lambda: items  # type: ignore[method-assign]
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    original_transact: Callable[..., Any] = DynamoDBBackend.transact_write_items

    def transact(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        try:
            snapshots = [_snapshot(self, entry) for entry in transact_items]
        except Exception:  # a malformed request: moto's own path reports it
            return original_transact(self, transact_items)
        setattr(dynamodb_models, "copy", _TABLE_AWARE_COPY)  # noqa: B010
        try:
            return original_transact(self, transact_items)
        except Exception:
            for snapshot in reversed(snapshots):
                if snapshot is not None:
                    _restore(*snapshot)
            raise
        finally:
            setattr(dynamodb_models, "copy", copy)  # noqa: B010

    Table.query = query  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]
    setattr(jsonpath, "parse", lru_cache(maxsize=256)(original_parse))  # noqa: B010
    setattr(ses_models, "email", _HEADERS_ONLY_EMAIL)  # noqa: B010
    try:
        yield
    finally:
        Table.query = original_query  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = original_transact  # type: ignore[method-assign]
        setattr(jsonpath, "parse", original_parse)  # noqa: B010
        setattr(ses_models, "email", email)  # noqa: B010


Snapshot = tuple[Table, DynamoType, DynamoType | None, Any]


def _snapshot(backend: DynamoDBBackend, entry: dict[str, Any]) -> Snapshot | None:
    _, op = next(iter(entry.items()))
    table = backend.tables.get(op.get("TableName"))
    if table is None:
        return None
    key = op["Key"] if "Key" in op else op["Item"]
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    current = table.get_item(hash_value, range_value)
    return table, hash_value, range_value, copy.deepcopy(current)


def _restore(table: Table, hash_value: DynamoType, range_value: DynamoType | None, item: Any) -> None:
    if item is None:
        table.delete_item(hash_value, range_value)
    elif range_value is not None:
        table.items[hash_value][range_value] = item
    else:
        table.items[hash_value] = item


# --------------------------------------------------------------------------- accessors

Service = Literal["events", "scheduler", "ses", "sesv2", "sns", "sqs"]
_BACKENDS: Final[Mapping[Service, Any]] = {
    "events": events_backends,
    "scheduler": scheduler_backends,
    "ses": ses_backends,
    "sesv2": sesv2_backends,
    "sns": sns_backends,
    "sqs": sqs_backends,
}


def backend(service: Service, account: str, region: str) -> Any:
    """moto's model of ``service``: what moto's HTTP layer calls, without the wire."""
    return _BACKENDS[service][account][region]


def flatten_event(event: Mapping[str, Any]) -> Any:
    """An event in the form moto's EventPattern matches (``EventPattern._flatten_dict``)."""
    return EventPattern._flatten_dict(json.loads(json.dumps(event)))


def pattern_matches(pattern: EventPattern, flattened: Any) -> bool:
    """``EventPattern.matches_event`` on an event ``flatten_event`` flattened once for all rules."""
    return bool(pattern._does_event_match(flattened, pattern.get_pattern()))


def rule_matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether EventBridge (as moto models it: ``EventPattern.matches_event``) takes ``event``."""
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(json.loads(json.dumps(event))))


#: Delivers an event to a rule's targets itself (True), or leaves it to moto (False).
Deliver = Callable[[Rule, EventMessageType, bool], bool]


@contextmanager
def rule_delivery(deliver: Deliver) -> Iterator[None]:
    """moto's ``Rule.send_to_targets`` asks ``deliver`` first, while the context lasts."""
    original = Rule.send_to_targets

    def send_to_targets(rule: Rule, event: EventMessageType, transform_input: bool = True) -> None:
        if not deliver(rule, event, transform_input):
            original(rule, event, transform_input)

    setattr(Rule, "send_to_targets", send_to_targets)  # noqa: B010
    try:
        yield
    finally:
        setattr(Rule, "send_to_targets", original)  # noqa: B010


def event_bus(events: Any, name: str | None) -> Any:
    """The bus a PutEvents entry's ``EventBusName`` (a name, an ARN or None) means."""
    return events.describe_event_bus(events._normalize_event_bus_arn(name))


def new_event_id() -> str:
    """An event id from moto's random (seeded by moto's API, as its own PutEvents ids are)."""
    return str(mock_random.uuid4())


def queue_waiting(account: str, region: str, name: str) -> bool:
    """Whether an SQS queue holds a message, visible or not (``Queue._messages``)."""
    return bool(backend("sqs", account, region).queues[name]._messages)


def schedules(account: str, region: str, group: str) -> dict[str, Any]:
    """The schedules of an EventBridge Scheduler group, by name (deleting one removes it)."""
    found: dict[str, Any] = backend("scheduler", account, region).schedule_groups[group].schedules
    return found


def ses_sent(account: str, region: str) -> list[Any]:
    """Every email SES (v1 or v2) accepted, in order (``sent_messages``)."""
    return list(backend("ses", account, region).sent_messages)


def sms_sent(account: str, region: str) -> list[tuple[str, str]]:
    """Every SMS SNS published to a number: (number, message), in order."""
    return list(backend("sns", account, region).sms_messages.values())


@contextmanager
def serialised_requests() -> Iterator[None]:
    """moto handles one request at a time while this lasts (DynamoDB applies each request
    atomically; moto does not lock), so threads interleave only between requests."""
    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def atomic(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    setattr(BotocoreStubber, "__call__", atomic)  # noqa: B010
    try:
        yield
    finally:
        setattr(BotocoreStubber, "__call__", original)  # noqa: B010


# --------------------------------------------------------------------------- the peer interpreter


def sfn_backend(account: str, region: str) -> Any:
    """moto's Step Functions model with its interpreter (``execute_state_machine``)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415

    return stepfunctions_parser_backends[account][region]


@contextmanager
def sfn_interpreter(invoke: Callable[..., Any], silenced: Collection[str]) -> Iterator[None]:
    """moto's Step Functions interpreter (LocalStack's ASL engine) changed in four places, none of
    which decides a path: Lambda invocations go to ``invoke``; Wait states and retry back-off do not
    sleep; a task whose token is in ``silenced`` gets what moto gives when its TimeoutSeconds
    elapses without a callback; and a definition is parsed once (moto re-parses it per execution,
    ~0.2 s with ANTLR; the parsed components are immutable declarations). Imported here, not at the
    top: only that tier loads the interpreter."""
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (  # noqa: PLC0415
        wait_function,
    )
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser  # noqa: PLC0415

    original_wait = CallbackEndpoint.wait

    def wait(endpoint: CallbackEndpoint, timeout: float | None = None) -> Any:
        if endpoint.callback_id in silenced:
            return None  # what moto returns when TimeoutSeconds elapses without a callback
        return original_wait(endpoint, timeout)

    def no_wait(function: Any, env: Any, wait_seconds: int) -> None:
        return None

    no_sleep = mock.Mock(wraps=time)
    no_sleep.sleep = lambda seconds: None
    parse = functools.lru_cache(maxsize=None)(AmazonStateLanguageParser.parse)
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(LambdaSimpleBackend, "invoke", lambda _, *a: invoke(*a)))
        stack.enter_context(mock.patch.object(CallbackEndpoint, "wait", wait))
        stack.enter_context(mock.patch.object(wait_function.WaitFunction, "_wait_interval", no_wait))
        stack.enter_context(mock.patch.object(retrier_decl, "time", no_sleep))
        stack.enter_context(mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(parse)))
        yield
