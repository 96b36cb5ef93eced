"""The state table on DynamoDB: ``touchpoint.state.storage.Storage`` over an injected boto3
client. Conditions and updates become expressions; throttling becomes a TransientError (which the
callers' retries know), a condition that did not hold an answer, not an error."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, assert_never

from botocore.exceptions import ClientError, ParamValidationError

from touchpoint.aws.dynamo import THROTTLING, code, from_item, to_attr, to_item
from touchpoint.clock import pause
from touchpoint.engine.ports import Item
from touchpoint.errors import TransientError
from touchpoint.state.storage import Assign, Cancelled, Condition, Has, Is, Junction, Key, Put

BATCH_GET_KEYS = 100
BATCH_WRITE_ITEMS = 25
#: Rounds of a batch request's unprocessed part, and the back-off between them (seconds: full
#: jitter up to 0.05 · 2^round, at most 1 s: 1.55 s in all at worst, within any handler's timeout).
UNPROCESSED_ROUNDS = 6
UNPROCESSED_BACKOFF = 0.05
UNPROCESSED_BACKOFF_CAP = 1.0


class DynamoStorage:
    def __init__(self, client: Any, table: str) -> None:
        self.client, self.table = client, table

    def get(self, key: Key) -> Item:
        return from_item(self._call("get_item", Key=_key(key), ConsistentRead=True).get("Item"))

    def query(self, pk: str, prefix: str | None = None) -> list[Item]:
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

    def batch_get(self, keys: Iterable[Key]) -> dict[Key, Item]:
        wanted = [_key(key) for key in sorted(set(keys))]
        found: dict[Key, Item] = {}
        for start in range(0, len(wanted), BATCH_GET_KEYS):
            request: dict[str, Any] = {
                self.table: {"Keys": wanted[start : start + BATCH_GET_KEYS], "ConsistentRead": True}
            }
            for response in self._drain("batch_get_item", request, "UnprocessedKeys"):
                for raw in response.get("Responses", {}).get(self.table, []):
                    item = from_item(raw)
                    found[(item["pk"], item["sk"])] = item
        return found

    def put(self, item: Item, condition: Condition | None = None) -> bool:
        return self._conditional("put_item", Item=to_item(item), **_expressions(condition)) is not None

    def update(self, key: Key, updates: Sequence[Assign], condition: Condition) -> Item | None:
        expression = _Expression()
        assignments = ", ".join(expression.assignment(u) for u in updates)
        request = {"UpdateExpression": f"SET {assignments}", **expression.request(condition)}
        response = self._conditional("update_item", Key=_key(key), ReturnValues="ALL_NEW", **request)
        return None if response is None else from_item(response["Attributes"])

    def delete(self, key: Key, condition: Condition | None = None) -> bool:
        return self._conditional("delete_item", Key=_key(key), **_expressions(condition)) is not None

    def write_all(self, items: Sequence[Item]) -> None:
        if len(items) == 1:
            self.put(items[0])
            return
        self._batch_write([{"PutRequest": {"Item": to_item(i)}} for i in items])

    def delete_all(self, keys: Sequence[Key]) -> None:
        self._batch_write([{"DeleteRequest": {"Key": _key(key)}} for key in keys])

    def transact(self, puts: Sequence[Put]) -> Cancelled | None:
        items = [
            {"Put": {"TableName": self.table, "Item": to_item(p.item), **_expressions(p.condition)}}
            for p in puts
        ]
        try:
            self._aws("transact_write_items", TransactItems=items)
        except ParamValidationError as error:  # botocore's: no items
            raise ValueError("a transaction needs one or more items, each at most once") from error
        except ClientError as error:
            if code(error) == "ValidationException":  # DynamoDB's, such as an item named twice (the cause)
                raise ValueError("a transaction needs one or more items, each at most once") from error
            if code(error) != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            return Cancelled(
                tuple(n for n, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed")
            )
        return None

    # ------------------------------------------------------------------ plumbing

    def _aws(self, operation: str, **request: Any) -> dict[str, Any]:
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

    def _batch_write(self, requests: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(requests), BATCH_WRITE_ITEMS):
            request: dict[str, Any] = {self.table: list(requests[start : start + BATCH_WRITE_ITEMS])}
            for _ in self._drain("batch_write_item", request, "UnprocessedItems"):
                pass

    def _drain(self, operation: str, request: dict[str, Any], leftover: str) -> Iterator[dict[str, Any]]:
        """Each response of a batch request sent again with what DynamoDB left unprocessed (under
        throttling it returns part of a batch instead of an error), backing off with full jitter
        between rounds as AWS advises; still unfinished after UNPROCESSED_ROUNDS, a TransientError,
        so the caller's own retry takes over instead of a hot loop."""
        for attempt in range(UNPROCESSED_ROUNDS):
            if attempt:
                pause(
                    random.uniform(0, min(UNPROCESSED_BACKOFF_CAP, UNPROCESSED_BACKOFF * 2 ** (attempt - 1)))
                )
            response = self._aws(operation, RequestItems=request)
            yield response
            request = response.get(leftover) or {}
            if not request:
                return
        left = sum(len(v.get("Keys", v) if isinstance(v, dict) else v) for v in request.values())
        raise TransientError(
            f"DynamoDB {operation}: {left} left unprocessed after {UNPROCESSED_ROUNDS} rounds"
        )


class _Expression:
    """The placeholders of one request's expressions (every attribute a ``#name``, every value a
    ``:value``, so no attribute collides with a reserved word)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}  # attribute → placeholder
        self.values: dict[str, Any] = {}

    def name(self, attribute: str) -> str:
        return self.names.setdefault(attribute, f"#n{len(self.names)}")

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = to_attr(value)
        return placeholder

    def condition(self, condition: Condition) -> str:
        match condition:
            case Has(attribute, has):
                return f"{'attribute_exists' if has else 'attribute_not_exists'}({self.name(attribute)})"
            case Is(attribute, (value,), negated):
                return f"{self.name(attribute)} {'<>' if negated else '='} {self.value(value)}"
            case Is(attribute, values, negated):
                listed = f"{self.name(attribute)} IN ({', '.join(self.value(v) for v in values)})"
                return f"NOT ({listed})" if negated else listed
            case Junction(op, parts):
                return f" {op} ".join(f"({self.condition(p)})" for p in parts)
            case _:
                assert_never(condition)

    def assignment(self, update: Assign) -> str:
        name, value = self.name(update.attribute), self.value(update.value)
        return f"{name} = if_not_exists({name}, {value})" if update.if_missing else f"{name} = {value}"

    def request(self, condition: Condition | None) -> dict[str, Any]:
        request: dict[str, Any] = {}
        if condition is not None:
            request["ConditionExpression"] = self.condition(condition)
        if self.names:
            request["ExpressionAttributeNames"] = {p: a for a, p in self.names.items()}
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def _expressions(condition: Condition | None) -> dict[str, Any]:
    return _Expression().request(condition)


def _key(key: Key) -> dict[str, Any]:
    return {"pk": {"S": key[0]}, "sk": {"S": key[1]}}
