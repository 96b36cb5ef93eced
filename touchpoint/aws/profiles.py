"""The profiles table: one item per user (key ``user_id``), attributes at the top level."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from touchpoint.aws.dynamo import THROTTLING, code, from_item, to_attr, to_item
from touchpoint.clock import iso
from touchpoint.engine.ports import Applied, Item
from touchpoint.errors import TransientError
from touchpoint.profiles import ERASED_AT, Mutation, refusal, trimming


class DynamoProfiles:
    def __init__(self, client: Any, table: str) -> None:
        self.client, self.table = client, table

    def _key(self, user_id: str) -> dict[str, Any]:
        return {"user_id": {"S": user_id}}

    def get(self, user_id: str) -> Item:
        try:
            response = self.client.get_item(TableName=self.table, Key=self._key(user_id), ConsistentRead=True)
        except ClientError as error:
            raise _translate(error) from error
        return from_item(response.get("Item"))

    def apply(self, user_id: str, mutations: Sequence[Mutation]) -> Applied:
        """Apply in one UpdateItem (two when tags are both added and removed). ``ALL_OLD`` gives the
        item before; the mutation applied in memory gives the item after. A refused condition
        returns the stored item, which says why (``touchpoint.profiles.refusal``)."""
        first, *rest = mutations
        try:
            old = self._update(user_id, first, "ALL_OLD")
        except ClientError as error:
            if code(error) != "ConditionalCheckFailedException":
                raise _translate(error) from error
            current = from_item(error.response.get("Item"))  # type: ignore[arg-type]
            why = refusal(first, current) or "duplicate"
            return Applied(why, current, current)
        new = first.apply(old, user_id)
        for mutation in rest:
            try:
                self._update(user_id, mutation, "NONE")
            except ClientError as error:
                raise _translate(error) from error
            new = mutation.apply(new, user_id)
        trim = trimming(new, max(m.marker_at for m in mutations))
        if trim is not None:
            try:
                self._update(user_id, trim, "NONE")
            except ClientError as error:
                raise _translate(error) from error
            new = trim.apply(new, user_id)
        return Applied("applied", old, new)

    def _update(self, user_id: str, mutation: Mutation, returns: str) -> Item:
        expression, names, values, condition = mutation.expression()
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(user_id),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ReturnValues": returns,
        }
        if values:  # DynamoDB refuses an empty map (a trim only removes)
            request["ExpressionAttributeValues"] = {k: to_attr(v) for k, v in values.items()}
        if condition:
            request["ConditionExpression"] = condition
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return from_item(self.client.update_item(**request).get("Attributes"))

    def scan(self, start: Item | None, limit: int) -> tuple[list[Item], Item | None]:
        request: dict[str, Any] = {"TableName": self.table, "Limit": limit}
        if start:
            request["ExclusiveStartKey"] = to_item(start)
        try:
            response = self.client.scan(**request)
        except ClientError as error:
            raise _translate(error) from error
        last = response.get("LastEvaluatedKey")
        return [from_item(i) for i in response.get("Items", [])], (from_item(last) if last else None)

    def put(self, item: Item) -> None:
        self.client.put_item(TableName=self.table, Item=to_item(item))

    def erase(self, user_id: str, at: dt.datetime) -> None:
        try:
            self.client.put_item(TableName=self.table, Item=to_item(tombstone(user_id, at)))
        except ClientError as error:
            raise _translate(error) from error


def tombstone(user_id: str, at: dt.datetime) -> Item:
    """What erasure leaves: the id (to recognise a redelivered event) and when, nothing else."""
    return {"user_id": user_id, ERASED_AT: iso(at)}


def _translate(error: ClientError) -> Exception:
    return TransientError(code(error)) if code(error) in THROTTLING else error
