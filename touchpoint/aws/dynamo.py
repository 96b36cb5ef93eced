"""DynamoDB item (de)serialisation and the error codes adapters branch on."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()

THROTTLING = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)


def to_attr(value: Any) -> dict[str, Any]:
    serialized: dict[str, Any] = dict(_SERIALIZER.serialize(_decimals(value)))
    return serialized


def to_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: to_attr(v) for k, v in item.items()}


def from_item(item: dict[str, Any] | None) -> dict[str, Any]:
    return {k: _DESERIALIZER.deserialize(v) for k, v in (item or {}).items()}


def code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _decimals(value: Any) -> Any:
    """boto3 refuses floats; DynamoDB numbers are Decimals."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    if isinstance(value, set | frozenset) and value and all(isinstance(v, float) for v in value):
        return {Decimal(str(v)) for v in value}
    return value
