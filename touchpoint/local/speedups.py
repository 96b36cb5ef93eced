"""Four fixes to moto's costs, applied only while the simulator runs.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from jsonpath_ng import ext as jsonpath
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.ses import models as ses_models

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
