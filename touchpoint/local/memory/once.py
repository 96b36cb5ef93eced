"""Run-once in memory, for population runs too big for moto: Powertools' own idempotency handler
(``PowertoolsOnce.run``) over a persistence layer that keeps its records in a ``Table``.

The records, their conditions and the requests metered are ``DynamoDBPersistenceLayer``'s: a
conditional PutItem claims the key (an existing record comes back with the refusal, so no GetItem
follows), an UpdateItem stores the result, a DeleteItem clears the claim of a call that raised."""

from __future__ import annotations

import datetime as dt
import os

from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

from touchpoint.aws.once import EXPIRY_ATTR, KEY_ATTR, SORT_KEY_ATTR, PowertoolsOnce
from touchpoint.local.memory.store import Item, Table

# DynamoDBPersistenceLayer's default names for a record's other attributes.
IN_PROGRESS_EXPIRY_ATTR, STATUS_ATTR, DATA_ATTR, VALIDATION_ATTR = (
    "in_progress_expiration",
    "status",
    "data",
    "validation",
)


class MemoryPersistence(BasePersistenceLayer):
    """``DynamoDBPersistenceLayer`` (composite key: a static ``pk``, the idempotency key as ``sk``)
    with its condition expressions as Python."""

    def __init__(self, table: Table) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.table = table
        self.static_pk_value = f"idempotency#{os.getenv(constants.LAMBDA_FUNCTION_NAME_ENV, '')}"

    def _record(self, item: Item) -> DataRecord:
        """As ``DynamoDBPersistenceLayer._item_to_data_record`` reads an item (its key is the ``pk``)."""
        return DataRecord(
            idempotency_key=item[KEY_ATTR],
            status=item[STATUS_ATTR],
            expiry_timestamp=item[EXPIRY_ATTR],
            in_progress_expiry_timestamp=item.get(IN_PROGRESS_EXPIRY_ATTR),
            # None when absent, as DynamoDBPersistenceLayer passes them (its DataRecord says str)
            response_data=item.get(DATA_ATTR),  # type: ignore[arg-type]
            payload_hash=item.get(VALIDATION_ATTR),  # type: ignore[arg-type]
            sort_key=item[SORT_KEY_ATTR],
        )

    def _get_record(self, idempotency_key: str) -> DataRecord:
        self.table.request("GetItem")
        item = self.table.get(self.static_pk_value, idempotency_key)
        if item is None:
            raise IdempotencyItemNotFoundError
        return self._record(item)

    def _put_record(self, data_record: DataRecord) -> None:
        """Claim the key unless a record exists that has not expired and is not an in-progress
        record whose invocation has timed out."""
        item: Item = {
            KEY_ATTR: self.static_pk_value,
            SORT_KEY_ATTR: data_record.idempotency_key,
            EXPIRY_ATTR: data_record.expiry_timestamp,
            STATUS_ATTR: data_record.status,
        }
        if data_record.in_progress_expiry_timestamp is not None:
            item[IN_PROGRESS_EXPIRY_ATTR] = data_record.in_progress_expiry_timestamp
        if self.payload_validation_enabled and data_record.payload_hash:
            item[VALIDATION_ATTR] = data_record.payload_hash
        now = dt.datetime.now()
        self.table.request("PutItem")
        old = self.table.get(self.static_pk_value, data_record.idempotency_key)
        if (
            old is None
            or (EXPIRY_ATTR in old and old[EXPIRY_ATTR] < int(now.timestamp()))
            or (
                old.get(STATUS_ATTR) == STATUS_CONSTANTS["INPROGRESS"]
                and IN_PROGRESS_EXPIRY_ATTR in old
                and old[IN_PROGRESS_EXPIRY_ATTR] < int(now.timestamp() * 1000)
            )
        ):
            self.table.put(item)
            return
        old_record = self._record(old)
        self._validate_payload(data_payload=data_record, stored_data_record=old_record)
        self._save_to_cache(data_record=old_record)
        raise IdempotencyItemAlreadyExistsError(old_data_record=old_record)

    def _update_record(self, data_record: DataRecord) -> None:
        """An unconditional UpdateItem: creates the record if it is gone."""
        self.table.request("UpdateItem")
        key = {KEY_ATTR: self.static_pk_value, SORT_KEY_ATTR: data_record.idempotency_key}
        item = self.table.peek(self.static_pk_value, data_record.idempotency_key) or key
        changes: Item = {
            DATA_ATTR: data_record.response_data,
            EXPIRY_ATTR: data_record.expiry_timestamp,
            STATUS_ATTR: data_record.status,
        }
        if self.payload_validation_enabled:
            changes[VALIDATION_ATTR] = data_record.payload_hash
        self.table.put({**item, **changes})

    def _delete_record(self, data_record: DataRecord) -> None:
        self.table.request("DeleteItem")
        self.table.delete(self.static_pk_value, data_record.idempotency_key)


class MemoryOnce(PowertoolsOnce):
    """``PowertoolsOnce`` with its records in a state ``Table(meter, "pk", "sk")``."""

    def __init__(self, table: Table, expires_after_seconds: int, prefix: str) -> None:
        self._configure(MemoryPersistence(table), expires_after_seconds, prefix)
