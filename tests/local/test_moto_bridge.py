"""What each of moto's internals in ``touchpoint/local/moto_bridge.py`` does, pinned on the moto in
constraints.txt: a moto upgrade that changes one of them fails here, by name, before it changes a
simulation report. Each case drives moto through boto3 (its public face) and reads the internal."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.events.models import EventPattern

from touchpoint.local import moto_bridge

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
EVENT = {
    "version": "0",
    "id": "e-1",
    "detail-type": "order.placed",
    "source": "shop",
    "account": ACCOUNT,
    "time": "2026-12-01T00:00:00Z",
    "region": REGION,
    "resources": [],
    "detail": {"user": {"id": "u-1", "tier": "gold"}, "total": 12.5, "items": ["a", "b"]},
}


@pytest.fixture
def aws(aws_env: str) -> Iterator[None]:
    with mock_aws():
        yield


def test_the_bridge_is_written_for_the_pinned_moto() -> None:
    pins = dict(
        line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line
    )
    assert pins["moto"] == moto_bridge.MOTO_VERSION == version("moto")


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ({"source": ["shop"]}, True),
        ({"detail": {"user": {"tier": ["gold"]}}}, True),
        ({"detail": {"user": {"tier": [{"prefix": "sil"}]}}}, False),
        ({"detail": {"items": ["b"]}}, True),  # arrays match any element
        ({"detail": {"total": [{"numeric": [">", 12]}]}}, True),
        ({"detail": {"missing": [{"exists": False}]}}, True),
        ({"detail-type": ["order.shipped"]}, False),
    ],
)
def test_a_flattened_event_matches_as_moto_matches_the_event(pattern: dict[str, Any], matches: bool) -> None:
    compiled = EventPattern.load(json.dumps(pattern))
    flattened = moto_bridge.flatten_event(EVENT)
    assert moto_bridge.pattern_matches(compiled, flattened) is matches
    assert compiled.matches_event(EVENT) is matches  # moto's public answer agrees
    assert moto_bridge.rule_matches(pattern, EVENT) is matches


def test_flatten_event_replaces_each_object_by_a_dotted_key_per_leaf() -> None:
    flattened = moto_bridge.flatten_event(EVENT)
    assert {k: v for k, v in flattened.items() if "." in k} == {
        "detail.items": ["a", "b"],
        "detail.total": 12.5,
        "detail.user.id": "u-1",
        "detail.user.tier": "gold",
    }
    assert {k: v for k, v in flattened.items() if "." not in k} == {
        k: v for k, v in EVENT.items() if k != "detail"
    }


def _bus_with_queue() -> tuple[Any, Any, str]:
    events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="target")["QueueUrl"]
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:target"
    events.put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": arn}])
    return events, sqs, url


def _put(events: Any) -> None:
    entry = {"Source": "shop", "DetailType": "order.placed", "Detail": json.dumps({"n": 1})}
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0


@pytest.mark.parametrize("handled", [True, False])
def test_rule_delivery_asks_first_and_leaves_the_rest_to_moto(aws: None, handled: bool) -> None:
    events, sqs, url = _bus_with_queue()
    offered: list[tuple[str, str, bool]] = []

    def deliver(rule: Any, event: Any, transform_input: bool) -> bool:
        offered.append((rule.name, event["detail-type"], transform_input))
        return handled

    with moto_bridge.rule_delivery(deliver):
        _put(events)
    assert offered == [("orders", "order.placed", True)]
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert len(received) == (0 if handled else 1)
    _put(events)  # restored: moto delivers again
    assert offered == [("orders", "order.placed", True)]
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])) == 1


def test_event_bus_resolves_a_name_an_arn_or_none(aws: None) -> None:
    boto3.client("events", region_name=REGION).create_event_bus(Name="touchpoint")
    backend = moto_bridge.backend("events", ACCOUNT, REGION)
    assert moto_bridge.event_bus(backend, None).name == "default"
    assert moto_bridge.event_bus(backend, "touchpoint").name == "touchpoint"
    arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/touchpoint"
    assert moto_bridge.event_bus(backend, arn).name == "touchpoint"


def test_new_event_id_is_a_uuid_from_moto_random() -> None:
    ids = {moto_bridge.new_event_id() for _ in range(3)}
    assert len(ids) == 3
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_queue_waiting_counts_hidden_messages_until_deleted(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    assert moto_bridge.queue_waiting(ACCOUNT, REGION, "q") is False
    sqs.send_message(QueueUrl=url, MessageBody="x")
    assert moto_bridge.queue_waiting(ACCOUNT, REGION, "q") is True
    (message,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"]
    assert moto_bridge.queue_waiting(ACCOUNT, REGION, "q") is True  # in flight, still in the queue
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert moto_bridge.queue_waiting(ACCOUNT, REGION, "q") is False


def test_schedules_are_the_group_s_live_dictionary(aws: None) -> None:
    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.create_schedule_group(Name="wakeups")
    scheduler.create_schedule(
        Name="w-1",
        GroupName="wakeups",
        ScheduleExpression="at(2026-12-01T02:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f", "RoleArn": "r", "Input": "{}"},
    )
    found = moto_bridge.schedules(ACCOUNT, REGION, "wakeups")
    assert list(found) == ["w-1"]
    assert found["w-1"].schedule_expression == "at(2026-12-01T02:00:00)"
    assert json.loads(found["w-1"].target["Input"]) == {}
    found.pop("w-1")
    assert scheduler.list_schedules(GroupName="wakeups")["Schedules"] == []


def test_ses_sent_lists_what_ses_v2_accepted(aws: None) -> None:
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress="news@example.com")
    raw = b"From: news@example.com\r\nTo: u@example.com\r\nSubject: Hi\r\n\r\nHello\r\n"
    boto3.client("sesv2", region_name=REGION).send_email(
        FromEmailAddress="news@example.com",
        Destination={"ToAddresses": ["u@example.com"]},
        Content={"Raw": {"Data": raw}},
    )
    (sent,) = moto_bridge.ses_sent(ACCOUNT, REGION)
    assert sent.source == "news@example.com"
    assert "Subject: Hi" in sent.raw_data


def test_sms_sent_lists_number_and_text(aws: None) -> None:
    boto3.client("sns", region_name=REGION).publish(PhoneNumber="+8613800000001", Message="你好")
    assert moto_bridge.sms_sent(ACCOUNT, REGION) == [("+8613800000001", "你好")]


def test_serialised_requests_lets_one_request_in_at_a_time(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.__call__
    inside, most = [0], [0]
    gate = threading.Lock()

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        with gate:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            threading.Event().wait(0.002)
            return original(self, *args, **kwargs)
        finally:
            with gate:
                inside[0] -= 1

    setattr(BotocoreStubber, "__call__", counting)  # noqa: B010 - counted under the bridge's lock
    try:
        with moto_bridge.serialised_requests():
            threads = [
                threading.Thread(target=lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))
                for _ in range(8)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert BotocoreStubber.__call__ is counting  # restored
    finally:
        setattr(BotocoreStubber, "__call__", original)  # noqa: B010
    assert most[0] == 1
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "8"
