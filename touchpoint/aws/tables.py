"""The three tables' key schemas, in one place: the CDK stack declares the same keys, and the
simulator and tests create them in moto with ``create_tables``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TTL_ATTRIBUTE = "ttl"


@dataclass(frozen=True)
class TableSpec:
    partition_key: str
    sort_key: str | None
    ttl: bool


PROFILES = TableSpec("user_id", None, ttl=False)
STATE = TableSpec("pk", "sk", ttl=True)
KPIS = TableSpec("pk", "sk", ttl=True)


def create_table(client: Any, name: str, spec: TableSpec) -> None:
    keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    attributes = [{"AttributeName": spec.partition_key, "AttributeType": "S"}]
    if spec.sort_key:
        keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
        attributes.append({"AttributeName": spec.sort_key, "AttributeType": "S"})
    client.create_table(
        TableName=name, KeySchema=keys, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )
    if spec.ttl:
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )


def create_tables(client: Any, profiles: str, state: str, kpis: str) -> None:
    create_table(client, profiles, PROFILES)
    create_table(client, state, STATE)
    create_table(client, kpis, KPIS)
