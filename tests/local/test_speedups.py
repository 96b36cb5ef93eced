"""The simulator's moto fixes change how fast moto answers, never what it answers."""

from __future__ import annotations

import email
import json
import random
from contextlib import nullcontext
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses import models as ses_models

from touchpoint.aws.tables import STATE, create_table
from touchpoint.channels import email as mime
from touchpoint.local.moto_bridge import moto_speedups, ses_sent

PARTITIONS = [f"USER#{i}" for i in range(5)]


def _workload(seed: int, size: int = 300) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    ops: list[dict[str, Any]] = []
    for _ in range(size):
        kind = rng.choice(["put", "put", "query", "query", "transact", "delete", "update"])
        pk, sk = rng.choice(PARTITIONS), f"{rng.choice('ABC')}#{rng.randrange(20):02d}"
        match kind:
            case "put":
                ops.append({"put": {"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": str(rng.randrange(9))}}})
            case "delete":
                ops.append({"delete": {"pk": {"S": pk}, "sk": {"S": sk}}})
            case "update":
                ops.append({"update": {"pk": {"S": pk}, "sk": {"S": sk}}, "by": rng.randrange(1, 4)})
            case "query":
                condition = rng.choice(["all", "begins", "between"])
                ops.append(
                    {
                        "query": pk,
                        "condition": condition,
                        "prefix": rng.choice("ABC"),
                        "forward": rng.random() < 0.5,
                        "limit": rng.choice([None, 3, 10]),
                    }
                )
            case "transact":
                items = []
                for pk2, sk2 in {
                    (rng.choice(PARTITIONS), f"{rng.choice('ABC')}#{rng.randrange(20):02d}")
                    for _ in range(rng.randrange(1, 6))
                }:
                    if rng.random() < 0.5:
                        items.append(
                            {
                                "Put": {
                                    "TableName": "state",
                                    "Item": {"pk": {"S": pk2}, "sk": {"S": sk2}, "n": {"N": "1"}},
                                    "ConditionExpression": "attribute_not_exists(pk)",
                                }
                            }
                        )
                    else:
                        items.append(
                            {
                                "Update": {
                                    "TableName": "state",
                                    "Key": {"pk": {"S": pk2}, "sk": {"S": sk2}},
                                    "UpdateExpression": "ADD n :n",
                                    "ExpressionAttributeValues": {":n": {"N": "2"}},
                                }
                            }
                        )
                ops.append({"transact": items})
    return ops


def _run(ops: list[dict[str, Any]], patched: bool) -> list[Any]:
    answers: list[Any] = []
    with mock_aws(), moto_speedups() if patched else nullcontext():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "state", STATE)
        for op in ops:
            try:
                answers.append(_apply(client, op))
            except ClientError as error:
                answers.append(
                    (
                        "error",
                        error.response["Error"]["Code"],
                        [r.get("Code") for r in error.response.get("CancellationReasons", [])],
                    )
                )
        answers.append(
            sorted(client.scan(TableName="state")["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
        )
    return answers


def _apply(client: Any, op: dict[str, Any]) -> Any:
    if "put" in op:
        return client.put_item(TableName="state", Item=op["put"])["ResponseMetadata"]["HTTPStatusCode"]
    if "delete" in op:
        return client.delete_item(TableName="state", Key=op["delete"], ReturnValues="ALL_OLD").get(
            "Attributes"
        )
    if "update" in op:
        return client.update_item(
            TableName="state",
            Key=op["update"],
            UpdateExpression="ADD n :n",
            ExpressionAttributeValues={":n": {"N": str(op["by"])}},
            ReturnValues="ALL_NEW",
        )["Attributes"]
    if "transact" in op:
        return client.transact_write_items(TransactItems=op["transact"])["ResponseMetadata"]["HTTPStatusCode"]
    request: dict[str, Any] = {
        "TableName": "state",
        "ScanIndexForward": op["forward"],
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": op["query"]}},
    }
    if op["condition"] == "begins":
        request["KeyConditionExpression"] += " AND begins_with(sk, :p)"
        request["ExpressionAttributeValues"][":p"] = {"S": op["prefix"]}
    elif op["condition"] == "between":
        request["KeyConditionExpression"] += " AND sk BETWEEN :a AND :b"
        request["ExpressionAttributeValues"].update({":a": {"S": "A#05"}, ":b": {"S": "B#10"}})
    if op["limit"]:
        request["Limit"] = op["limit"]
    response = client.query(**request)
    return response["Items"], response.get("LastEvaluatedKey"), response["Count"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dynamodb_answers_are_the_same_with_and_without_the_fixes(seed: int) -> None:
    ops = _workload(seed)
    plain, fast = _run(ops, patched=False), _run(ops, patched=True)
    assert fast == plain
    assert any(isinstance(a, tuple) and a[0] == "error" for a in plain), "the workload must include rollbacks"


def test_eventbridge_delivers_the_same_events_with_and_without_the_fixes() -> None:
    def deliver(patched: bool) -> list[dict[str, Any]]:
        with mock_aws(), moto_speedups() if patched else nullcontext():
            events, sqs = (
                boto3.client("events", region_name="us-east-1"),
                boto3.client("sqs", region_name="us-east-1"),
            )
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(Name="r", EventPattern=json.dumps({"source": ["app"]}))
            events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
            for i in range(5):
                events.put_events(
                    Entries=[
                        {
                            "Source": "app",
                            "DetailType": f"t{i}",
                            "Detail": json.dumps({"i": i}),
                            "Time": "2026-12-01T00:00:00Z",
                            "Resources": ["x"],
                        }
                    ]
                )
            bodies = [
                json.loads(m["Body"])
                for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            ]
            return sorted(
                ({k: v for k, v in b.items() if k != "id"} for b in bodies), key=lambda b: b["detail-type"]
            )

    assert deliver(patched=True) == deliver(patched=False)


def _raw(headers: str, body: str = "Hello") -> str:
    return f"{headers}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n{body}\r\n"


SES_CASES: list[tuple[str | None, list[str], str | bytes]] = [
    # (FromEmailAddress, ToAddresses, raw message)
    (
        "news@example.com",
        ["u1@example.com"],
        mime.build_message(
            "Touchpoint 咖啡 <news@example.com>",
            "u1@example.com",
            "你好",
            "hi",
            "<p>hi</p>",
            "https://u/?t=x",
        ),
    ),
    (
        "news@example.com",
        ["u1@example.com"],
        _raw(
            "From: news@example.com\r\nTo: a@example.com\r\n"
            "Cc: B <b@example.com>, c@example.com\r\nBcc: d@example.com"
        ),
    ),
    (None, [], _raw("From: News <news@example.com>\r\nTo: a@example.com")),  # the source from the header
    (None, [], _raw("From: spoof@elsewhere.com\r\nTo: a@example.com")),  # not verified
    (None, [], _raw("To: a@example.com")),  # no source at all
    ("news@example.com", [], _raw("From: news@example.com\r\nTo: nobody")),  # no domain
    (
        "news@example.com",
        [],
        _raw("From: news@example.com\r\nTo: " + ", ".join(f"u{i}@example.com" for i in range(51))),
    ),
    (
        "news@example.com",
        ["u1@example.com"],
        _raw("From: news@example.com\r\nTo: u1@example.com", "--x\r\nnot: a header\r\n"),
    ),
]


def test_ses_sends_and_refuses_the_same_with_and_without_the_fixes() -> None:
    def send(patched: bool) -> list[Any]:
        answers: list[Any] = []
        with mock_aws(), moto_speedups() if patched else nullcontext():
            client = boto3.client("sesv2", region_name="us-east-1")
            client.create_email_identity(EmailIdentity="example.com")
            for source, to, raw in SES_CASES:
                request: dict[str, Any] = {
                    "Content": {"Raw": {"Data": raw.encode() if isinstance(raw, str) else raw}}
                }
                if source:
                    request["FromEmailAddress"] = source
                if to:
                    request["Destination"] = {"ToAddresses": to}
                try:
                    client.send_email(**request)
                    answers.append("sent")
                except ClientError as error:
                    answers.append((error.response["Error"]["Code"], error.response["Error"]["Message"]))
            sent = ses_sent(DEFAULT_ACCOUNT_ID, "us-east-1")
            answers.append([(m.source, m.destinations, m.raw_data) for m in sent])
        return answers

    fast, plain = send(patched=True), send(patched=False)
    assert fast == plain
    assert plain[:-1] == [
        "sent",
        "sent",
        "sent",
        ("MessageRejected", "Did not have authority to send from email spoof@elsewhere.com"),
        ("MessageRejected", "Source not specified"),
        ("InvalidParameterValue", "Missing domain"),
        ("MessageRejected", "Too many recipients."),
        "sent",
    ]
    assert plain[-1][1][1] == [
        "u1@example.com",
        "a@example.com",
        "B <b@example.com>",
        "c@example.com",
        "d@example.com",
    ]


def test_the_fixes_are_undone_on_exit() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    query, transact = Table.query, DynamoDBBackend.transact_write_items
    with moto_speedups():
        assert Table.query is not query
        assert getattr(ses_models, "email") is not email  # noqa: B009 - not exported
    assert Table.query is query
    assert DynamoDBBackend.transact_write_items is transact
    assert getattr(ses_models, "email") is email  # noqa: B009
