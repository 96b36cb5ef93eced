"""Run-once on a key with Powertools Idempotency, persisted in the state table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)

from touchpoint.errors import TransientError

#: A record's key and expiry attributes in the state table (the others keep Powertools' names).
KEY_ATTR, SORT_KEY_ATTR, EXPIRY_ATTR = "pk", "sk", "ttl"


class PowertoolsOnce:
    def __init__(self, client: Any, table: str, expires_after_seconds: int, prefix: str) -> None:
        persistence = DynamoDBPersistenceLayer(
            table_name=table,
            key_attr=KEY_ATTR,
            sort_key_attr=SORT_KEY_ATTR,
            expiry_attr=EXPIRY_ATTR,
            boto3_client=client,
        )
        self._configure(persistence, expires_after_seconds, prefix)

    def _configure(self, persistence: BasePersistenceLayer, expires_after_seconds: int, prefix: str) -> None:
        """Everything but where records live, so another persistence layer runs the same ``run``."""
        self.persistence = persistence
        self.config = IdempotencyConfig(
            event_key_jmespath="key",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
        )
        self.prefix = prefix

    def register_lambda_context(self, context: Any) -> None:
        """So a crashed invocation's in-progress record expires with the invocation."""
        self.config.register_lambda_context(context)

    def run(self, key: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="data",
            persistence_store=self.persistence,
            config=self.config,
            key_prefix=self.prefix,
        )
        def once(data: dict[str, str]) -> dict[str, Any]:
            return fn()

        try:
            result: dict[str, Any] = once(data={"key": key})
        except IdempotencyAlreadyInProgressError as error:
            raise TransientError("the same send is in progress") from error
        except IdempotencyPersistenceLayerError as error:
            # the record could not be read or written (a throttled table): retry the whole send;
            # if the provider was already called, the send's intent answers the retry
            raise TransientError(f"idempotency store: {error}") from error
        return result
