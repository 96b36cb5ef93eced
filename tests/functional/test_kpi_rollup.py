"""kpi_rollup on moto: counters (exactly once, unique opens/clicks), EMF metrics, the scheduled
rollup (rates, goal, alerts on transitions) and the Lambda entry points."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.functional.conftest import ACCOUNT, REGION, lambda_context, sqs_event
from touchpoint import contract, metrics
from touchpoint.aws import wiring
from touchpoint.aws.tables import KPIS, create_table
from touchpoint.clock import iso
from touchpoint.engine.kpi import KpiRollup
from touchpoint.engine.kpi.rates import compute_rates
from touchpoint.routing import SMS_STATUS
from touchpoint.settings import Settings

START = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
TODAY = "2026-12-01"
USER, EMAIL, PHONE = "u-1001", "lin@example.com", "+8613800000001"


# --------------------------------------------------------------------------- the deployment


def _journey(journey_id: str, kpis_: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": journey_id,
        "name": f"{journey_id} · 欢迎",
        "owner": "growth@example.com",
        "timezone": "Asia/Shanghai",
        "trigger": {"event": "user.registered"},
        "version": "0123456789ab",
        "state_machine": f"touchpoint-{journey_id}",
        "channels": ["email", "sms"],
        "kpis": kpis_,
        **extra,
    }


REGISTRY = {
    "schema": "touchpoint/registry-v1",
    "journeys": {
        "welcome": _journey(
            "welcome",
            {
                "open_rate": {"target": 0.3, "floor": 0.2, "min_sample": 10},
                "unsubscribe_rate": {"ceiling": 0.05, "min_sample": 10},
                "click_rate": {"target": 0.05},
            },
            holdout={"percent": 10},
            goal={"event": "order.placed", "within": "3d", "target": 0.15, "baseline": 0.1},
        ),
        "winback": _journey("winback", {"entered": {"floor": 5}}),
    },
    "index": {"event": {"user.registered": ["welcome", "winback"]}},
}


WELCOME_SOURCE = """\
schema: touchpoint/v1
id: welcome
name: welcome · 欢迎
owner: growth@example.com
timezone: Asia/Shanghai
trigger: {event: user.registered}
steps:
  - send: {channel: email, template: welcome-mail}
    id: hello
  - wait_for: {event: email.clicked, where: {step_id: hello}, timeout: 3d}
    id: wait-click
    on_timeout:
      - send: {channel: sms, template: nudge}
        id: nudge
"""


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current


@dataclass
class Deployment:
    session: Any
    settings: Settings
    clock: Clock
    service: KpiRollup
    sns_queue: str
    alert_queue: str

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)

    def count(self, *events: dict[str, Any]) -> list[str]:
        return [self.service.count_body(json.dumps(e)).status for e in events]

    def counters(self) -> dict[tuple[str, str], int]:
        items = self.client("dynamodb").scan(TableName=self.settings.kpis_table)["Items"]
        return {
            (i["pk"]["S"], i["sk"]["S"]): int(i["n"]["N"]) for i in items if i["pk"]["S"].startswith("KPI#")
        }

    def partition(self, journey: str, period: str) -> dict[str, int]:
        """One period's counters of a journey: ``<counter>#<channel>#<step>`` → n."""
        prefix = f"{period}#"
        return {
            sk.removeprefix(prefix): n
            for (pk, sk), n in self.counters().items()
            if pk == f"KPI#{journey}" and sk.startswith(prefix)
        }

    def seed(self, journey: str, period: str, counts: dict[str, int]) -> None:
        """Counter items as the table stores them (the documented key design)."""
        ddb = self.client("dynamodb")
        for sk, n in counts.items():
            ddb.update_item(
                TableName=self.settings.kpis_table,
                Key={"pk": {"S": f"KPI#{journey}"}, "sk": {"S": f"{period}#{sk}"}},
                UpdateExpression="ADD n :n",
                ExpressionAttributeValues={":n": {"N": str(n)}},
            )

    def drain(self, queue: str) -> list[dict[str, Any]]:
        sqs, bodies = self.client("sqs"), []
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def notifications(self) -> list[dict[str, Any]]:
        return self.drain(self.sns_queue)

    def alert_events(self) -> list[dict[str, Any]]:
        return self.drain(self.alert_queue)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    (tmp_path / "statemachines").mkdir()
    (tmp_path / "statemachines" / "registry.json").write_text(json.dumps(REGISTRY), encoding="utf-8")
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "welcome.yaml").write_text(WELCOME_SOURCE, encoding="utf-8")
    return tmp_path


@pytest.fixture
def deployment(aws: Any, bundle: Path) -> Deployment:
    create_table(aws.client("dynamodb"), "kpis", KPIS)
    events, sqs, sns = aws.client("events"), aws.client("sqs"), aws.client("sns")
    events.create_event_bus(Name="touchpoint")

    def queue(name: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    alert_url, alert_arn = queue("kpi-alert-events")
    events.put_rule(
        Name="kpi-alerts",
        EventBusName="touchpoint",
        EventPattern=json.dumps({"source": [contract.JOURNEY_SOURCE], "detail-type": ["journey.kpi_alert"]}),
    )
    events.put_targets(Rule="kpi-alerts", EventBusName="touchpoint", Targets=[{"Id": "q", "Arn": alert_arn}])
    topic = sns.create_topic(Name="touchpoint-kpi-alerts")["TopicArn"]
    sns_url, sns_arn = queue("kpi-alert-mail")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sns_arn)
    settings = Settings(
        kpis_table="kpis",
        event_bus_name="touchpoint",
        alert_topic_arn=topic,
        kpi_step_dimension=("welcome",),
        bundle_root=bundle,
    )
    clock = Clock(START)
    service = wiring.kpi_rollup(settings, wiring.Clients(aws), clock)
    return Deployment(aws, settings, clock, service, sns_url, alert_url)


# --------------------------------------------------------------------------- inputs


def envelope(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": iso(START),
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def journey_event(kind: str, event_id: str, at: dt.datetime = START, **properties: Any) -> dict[str, Any]:
    detail = {"event_id": event_id, "user_id": USER, "occurred_at": iso(at), "properties": properties}
    return envelope(contract.JOURNEY_SOURCE, kind, detail)


def entry(
    event_id: str, at: dt.datetime = START, *, journey: str = "welcome", **decision: Any
) -> dict[str, Any]:
    properties = {"entered": False, "eligible": False, "reason": None, "holdout": False, **decision}
    return journey_event(
        "journey.entry", event_id, at, journey_id=journey, trigger="user.registered", **properties
    )


def message(
    event_id: str, status: str = "sent", channel: str = "email", step: str = "hello", journey: str = "welcome"
) -> dict[str, Any]:
    return journey_event(
        "journey.message",
        event_id,
        journey_id=journey,
        step_id=step,
        channel=channel,
        template="welcome-mail",
        status=status,
        reason=None if status == "sent" else "no_consent",
        message_id="ses-0001" if status == "sent" else None,
    )


_SES = {
    "Delivery": "Email Delivered",
    "Open": "Email Opened",
    "Click": "Email Clicked",
    "Bounce": "Email Bounced",
    "Complaint": "Email Complaint Received",
}


def ses(kind: str, message_id: str, at: dt.datetime = START, step: str = "hello") -> dict[str, Any]:
    tags = {"journey": ["welcome"], "step": [step], "template": ["welcome-mail"]}
    mail = {"messageId": message_id, "timestamp": iso(START), "destination": [EMAIL], "tags": tags}
    section: dict[str, Any] = {"timestamp": iso(at)}
    if kind == "Bounce":
        section |= {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": EMAIL}]}
    if kind == "Click":
        section["link"] = "https://example.com/beans"
    detail = {"eventType": kind, "mail": mail, kind[0].lower() + kind[1:]: section}
    return envelope("aws.ses", _SES[kind], detail)


def sms(kind: str, message_id: str, step: str = "nudge") -> dict[str, Any]:
    detail = {
        "eventType": kind,
        "messageId": message_id,
        "eventTimestamp": int(START.timestamp() * 1000),
        "isFinal": True,
        "destinationPhoneNumber": PHONE,
        "context": {"journey_id": "welcome", "step_id": step, "template": "nudge"},
    }
    return envelope("aws.sms-voice", SMS_STATUS, detail)


def both(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    return {TODAY: counts, "all": counts}


# --------------------------------------------------------------------------- counting


def test_each_input_kind_increments_its_counters_with_its_dimensions(deployment: Deployment) -> None:
    statuses = deployment.count(
        entry("e1", entered=True, eligible=True, holdout=True),
        entry("e2", reason="audience"),
        entry("e3", eligible=True, reason="in_journey"),
        entry("e4", eligible=True, reason="entry_failed"),
        message("m1"),
        message("m2", status="skipped", channel="sms", step="nudge"),
        journey_event(
            contract.STEP_FAILED, "x:hello:failed", journey_id="welcome", step_id="hello", error="SendFailed"
        ),
        journey_event(
            contract.STEP_FAILED, "x:wait-click:failed", journey_id="welcome", step_id="wait-click"
        ),
        journey_event(
            contract.STEP_FAILED, "x:nudge:failed", journey_id="welcome", step_id="nudge", channel="sms"
        ),
        journey_event("journey.exited", "exited:x", journey_id="welcome", reason="completed", holdout=False),
        journey_event(
            "journey.converted",
            "converted:x",
            journey_id="welcome",
            entered_at="2026-11-29T08:00:00.000Z",
            holdout=True,
        ),
        journey_event(
            "journey.unsubscribed", "unsub:x", journey_id="welcome", step_id="hello", channel="email"
        ),
        ses("Delivery", "ses-1"),
        ses("Open", "ses-1"),
        ses("Click", "ses-1"),
        ses("Bounce", "ses-2"),
        ses("Complaint", "ses-3"),
        sms("TEXT_DELIVERED", "sms-1"),
        sms("TEXT_CARRIER_UNREACHABLE", "sms-2"),
        message("m3", journey="winback", step="offer"),
    )
    assert statuses == ["counted"] * 7 + ["ignored"] + ["counted"] * 12
    welcome = {
        "triggered#-#-": 4,
        "eligible#-#-": 3,
        "entered#-#-": 1,
        "held_out#-#-": 1,
        "entry_failed#-#-": 1,
        "sent#email#hello": 1,
        "skipped#sms#nudge": 1,
        "failed#email#hello": 1,  # the channel of a failed step comes from the journey
        "failed#sms#nudge": 1,  # … or from the event
        "exited#-#-": 1,
        "converted#-#-": 1,
        "unsubscribed#email#hello": 1,
        "delivered#email#hello": 1,
        "opened#email#hello": 1,
        "clicked#email#hello": 1,
        "bounced#email#hello": 1,
        "complained#email#hello": 1,
        "delivered#sms#nudge": 1,
        "bounced#sms#nudge": 1,  # a carrier failure after acceptance is not a send failure
    }
    for period, counts in both(welcome).items():
        assert deployment.partition("welcome", period) == counts
    # the conversion also counts for the goal's cohort: the day the user entered
    assert deployment.partition("welcome", "2026-11-29") == {
        "goal_converted#-#-": 1,
        "goal_converted_held_out#-#-": 1,
    }
    # winback has no step dimension
    for period, counts in both({"sent#email#-": 1}).items():
        assert deployment.partition("winback", period) == counts


def test_the_same_event_twice_counts_once(deployment: Deployment) -> None:
    event = entry("entry:welcome:u-1001:reg-1", entered=True, eligible=True)
    assert deployment.count(event, event) == ["counted", "duplicate"]
    # a redelivery is a new EventBridge envelope around the same detail
    assert deployment.count({**event, "id": str(uuid.uuid4())}) == ["duplicate"]
    # and a later redelivery that says otherwise (already_entered) still has the same id
    assert deployment.count(entry("entry:welcome:u-1001:reg-1", eligible=True, reason="already_entered")) == [
        "duplicate"
    ]
    assert deployment.partition("welcome", TODAY) == {"triggered#-#-": 1, "eligible#-#-": 1, "entered#-#-": 1}
    assert deployment.counters()[("KPI#welcome", "all#entered#-#-")] == 1


def test_opens_and_clicks_are_unique_per_message(deployment: Deployment) -> None:
    later = [START + dt.timedelta(minutes=m) for m in (1, 30, 600)]
    opens = [ses("Open", "ses-1", at) for at in later]
    assert deployment.count(*opens) == ["counted", "duplicate", "duplicate"]
    assert deployment.count(ses("Open", "ses-2"), ses("Click", "ses-1"), ses("Click", "ses-1", later[2])) == [
        "counted",
        "counted",
        "duplicate",
    ]
    counts = deployment.partition("welcome", TODAY)
    assert counts == {"opened#email#hello": 2, "clicked#email#hello": 1}


def test_inputs_that_cannot_be_counted_say_why(deployment: Deployment) -> None:
    outcomes = [
        deployment.service.count_body("{not json"),
        deployment.service.count_body(json.dumps(journey_event("journey.message", "m1", status="sent"))),
        deployment.service.count_body(json.dumps(message("m2", status="bounced"))),
        deployment.service.count_body(json.dumps(envelope("aws.ses", "Email Opened", {"eventType": "Open"}))),
        deployment.service.count_body(
            json.dumps(journey_event("journey.kpi_alert", "a1", journey_id="welcome"))
        ),
        deployment.service.count_body(json.dumps(envelope("shop.web", "journey.entry", {"event_id": "x"}))),
        deployment.service.count_body(json.dumps(envelope("shop.web", "order.placed", {}))),
    ]
    assert [(o.status, o.reason) for o in outcomes] == [
        ("rejected", "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("rejected", "properties.journey_id is missing or is not a journey id"),
        ("rejected", "properties.status must be one of sent, skipped, sent_unconfirmed"),
        ("rejected", "SES event without eventType and mail.messageId"),
        ("ignored", "journey.kpi_alert is not counted"),
        ("ignored", "journey events are only counted from touchpoint.journey"),
        ("ignored", "events from shop.web are not counted"),
    ]
    assert deployment.counters() == {}


# --------------------------------------------------------------------------- rates and the rollup


def test_rates_are_the_metrics_definitions_on_plain_counts() -> None:
    rates = compute_rates({"eligible": 40, "entered": 30, "delivered": 200, "opened": 50, "clicked": 10})
    assert rates["reach_rate"] == {"value": 0.75, "denominator": 40}
    assert rates["open_rate"] == {"value": 0.25, "denominator": 200}
    assert rates["click_to_open_rate"] == {"value": 0.2, "denominator": 50}
    assert rates["delivery_rate"] == {"value": None, "denominator": 0}
    assert set(rates) == set(metrics.RATES)


def test_the_rollup_computes_every_rate_over_the_window_and_the_goal_on_matured_cohorts(
    deployment: Deployment,
) -> None:
    deployment.seed(
        "welcome",
        TODAY,
        {
            "triggered#-#-": 50,
            "eligible#-#-": 40,
            "entered#-#-": 30,
            "held_out#-#-": 3,
            "entry_failed#-#-": 2,
            "sent#email#hello": 90,
            "sent#sms#nudge": 30,
            "failed#email#hello": 5,
            "delivered#email#hello": 80,
            "delivered#sms#nudge": 20,
            "opened#email#hello": 30,
            "clicked#email#hello": 12,
            "bounced#email#hello": 4,
            "complained#email#hello": 1,
            "unsubscribed#email#hello": 2,
            "converted#-#-": 6,
        },
    )
    deployment.seed(
        "welcome", "2026-11-25", {"delivered#email#hello": 100, "opened#email#hello": 10, "sent#email#-": 100}
    )
    deployment.seed("welcome", "2026-11-24", {"delivered#email#hello": 1000})  # outside the 7-day window
    deployment.seed(
        "welcome", "all", {"delivered#email#hello": 1200, "opened#email#hello": 40, "entered#-#-": 30}
    )
    # goal cohorts: within 3d at 2026-12-01T02:00 → entries up to 2026-11-27 have had their full window
    deployment.seed(
        "welcome",
        "2026-11-22",
        {"entered#-#-": 100, "held_out#-#-": 10, "goal_converted#-#-": 20, "goal_converted_held_out#-#-": 1},
    )
    not_matured = {"triggered#-#-": 60, "eligible#-#-": 60, "entered#-#-": 50, "goal_converted#-#-": 1}
    deployment.seed("welcome", "2026-11-28", not_matured)

    report = deployment.service.rollup()["journeys"]["welcome"]

    assert report["period"] == "2026-11-25 .. 2026-12-01 UTC"
    sent, failed, delivered = 90 + 30 + 100, 5, 80 + 20 + 100
    entered, eligible = 30 + 50, 40 + 60
    expected = {
        "reach_rate": entered / eligible,
        "delivery_rate": delivered / sent,
        "email_delivery_rate": (80 + 100) / (90 + 100),  # per channel: each its own sends
        "sms_delivery_rate": 20 / 30,
        "open_rate": (30 + 10) / delivered,
        "click_rate": 12 / delivered,
        "click_to_open_rate": 12 / 40,
        "conversion_rate": 6 / entered,
        "unsubscribe_rate": 2 / delivered,
        "complaint_rate": 1 / delivered,
        "bounce_rate": 4 / sent,
        "send_failure_rate": failed / (sent + failed),
        "email_send_failure_rate": failed / (90 + 100 + failed),
        "sms_send_failure_rate": 0 / 30,
        "trigger_success_rate": entered / (entered + 2),
    }
    assert report["rates"] == pytest.approx(expected)
    assert report["rates"]["reach_rate"] == 0.8
    assert report["rates"]["open_rate"] == 0.2
    assert report["counts"]["held_out"] == 3
    assert report["lifetime"]["rates"]["open_rate"] == pytest.approx(40 / 1200)
    assert report["lifetime"]["rates"]["delivery_rate"] is None
    assert report["goal"] == {
        "event": "order.placed",
        "within_seconds": 3 * 86400,
        "cohort": "2026-11-21 .. 2026-11-27 UTC",
        "entered": 90,
        "converted": 19,
        "rate": pytest.approx(19 / 90),
        "target": 0.15,
        "met": True,
        "baseline": 0.1,
        "holdout": {"entered": 10, "converted": 1, "rate": 0.1},
        "lift": pytest.approx(19 / 90 - 0.1),
    }
    kpis_ = {k["kpi"]: k for k in report["kpis"]}
    assert kpis_["open_rate"]["status"] == "ok"
    assert kpis_["open_rate"]["value"] == pytest.approx(0.2)
    assert kpis_["click_rate"]["target_met"] is True  # 0.06 ≥ 0.05
    assert kpis_["unsubscribe_rate"]["status"] == "ok"  # 0.01 ≤ 0.05


def _notification(body: dict[str, Any]) -> tuple[str, str]:
    return body["Subject"], body["Message"]


def test_alerts_fire_once_per_breach_with_enough_sample_and_once_on_recovery(deployment: Deployment) -> None:
    service = deployment.service
    deployment.seed("welcome", TODAY, {"delivered#email#hello": 5})
    summary = service.rollup()
    assert summary["alerts"] == 0
    kpis_ = {k["kpi"]: k for k in summary["journeys"]["welcome"]["kpis"]}
    assert kpis_["open_rate"]["status"] == "insufficient_sample"  # 0 of 5 < min_sample 10
    assert deployment.notifications() == []
    assert deployment.alert_events() == []

    deployment.seed("welcome", TODAY, {"delivered#email#hello": 20, "opened#email#hello": 2})
    deployment.seed("welcome", "2026-11-30", {"unsubscribed#email#-": 2})
    summary = service.rollup()
    assert summary["journeys"]["welcome"]["breaches"] == ["open_rate", "unsubscribe_rate"]
    sent = sorted(map(_notification, deployment.notifications()))
    assert [subject for subject, _ in sent] == [
        "Touchpoint KPI alert: welcome open_rate below floor",
        "Touchpoint KPI alert: welcome unsubscribe_rate above ceiling",
    ]
    body = sent[0][1]
    assert 'open_rate of journey "welcome · 欢迎" (welcome) is below its floor.' in body
    for line in (
        "Value:      0.0800",
        "Floor:      0.2000",
        "Target:     0.3000",
        "Sample:     25 (delivered), alerts need at least 10",
        "Period:     2026-11-25 .. 2026-12-01 UTC",
        "Owner:      growth@example.com",
    ):
        assert line in body
    assert "Ceiling:    0.0500" in sent[1][1]
    assert "Value:      0.0800" in sent[1][1]
    events = sorted(deployment.alert_events(), key=lambda e: e["detail"]["properties"]["kpi"])
    assert [e["detail-type"] for e in events] == ["journey.kpi_alert"] * 2
    assert events[0]["source"] == contract.JOURNEY_SOURCE
    assert events[0]["detail"]["properties"] | {"value": 0} == {
        "journey_id": "welcome",
        "kpi": "open_rate",
        "status": "breached",
        "condition": "below_floor",
        "value": 0,
        "threshold": 0.2,
        "sample": 25,
        "min_sample": 10,
        "period": "2026-11-25 .. 2026-12-01 UTC",
        "target": 0.3,
        "owner": "growth@example.com",
    }

    deployment.clock.current += dt.timedelta(hours=1)  # the next hourly run: the breach goes on
    assert service.rollup()["alerts"] == 0
    assert deployment.notifications() == []
    assert deployment.alert_events() == []

    deployment.seed("welcome", TODAY, {"opened#email#hello": 8})  # 10 of 25 = 0.4
    deployment.clock.current += dt.timedelta(hours=1)
    summary = service.rollup()
    assert summary["journeys"]["welcome"]["alerts"] == [
        {"kpi": "open_rate", "status": "recovered", "condition": "below_floor"}
    ]
    [(subject, body)] = map(_notification, deployment.notifications())
    assert subject == "Touchpoint KPI recovered: welcome open_rate"
    assert "is back within its floor." in body
    assert "Value:      0.4000" in body
    [event] = deployment.alert_events()
    assert event["detail"]["properties"]["status"] == "recovered"

    deployment.clock.current += dt.timedelta(hours=1)
    assert service.rollup()["alerts"] == 0  # recovered stays quiet; unsubscribe_rate still breached
    assert deployment.notifications() == []


def test_count_kpis_are_judged_on_the_last_complete_day_once_the_journey_was_live(
    deployment: Deployment,
) -> None:
    deployment.seed("winback", "2026-11-30", {"triggered#-#-": 4, "entered#-#-": 2})
    deployment.seed("winback", "all", {"triggered#-#-": 4, "entered#-#-": 2})
    report = deployment.service.rollup()["journeys"]["winback"]
    assert report["kpis"][0]["status"] == "no_data"  # launched yesterday: not judged yet
    assert deployment.notifications() == []

    deployment.seed("winback", "2026-11-29", {"triggered#-#-": 40, "entered#-#-": 30})
    deployment.seed("winback", "all", {"triggered#-#-": 40, "entered#-#-": 30})
    report = deployment.service.rollup()["journeys"]["winback"]
    assert report["kpis"][0] == {
        "kpi": "entered",
        "kind": "count",
        "value": 2,
        "sample": 2,
        "status": "below_floor",
        "target": None,
        "floor": 5,
        "ceiling": None,
        "min_sample": 100,
        "target_met": None,
    }
    [(subject, body)] = map(_notification, deployment.notifications())
    assert subject == "Touchpoint KPI alert: winback entered below floor"
    assert "Sample:     2 (entered)\n" in body


# --------------------------------------------------------------------------- the Lambda entry points


ROLLUP = lambda_context("touchpoint-kpi-rollup")


def sqs_batch(bodies: list[str]) -> dict[str, Any]:
    return sqs_event(bodies, "touchpoint-kpi", "r")


@pytest.fixture
def app(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Any:
    settings = deployment.settings
    monkeypatch.setenv("TOUCHPOINT_KPIS_TABLE", settings.kpis_table)
    monkeypatch.setenv("TOUCHPOINT_EVENT_BUS_NAME", settings.event_bus_name)
    monkeypatch.setenv("TOUCHPOINT_ALERT_TOPIC_ARN", str(settings.alert_topic_arn))
    monkeypatch.setenv("TOUCHPOINT_KPI_STEP_DIMENSION", "welcome")
    monkeypatch.setenv("TOUCHPOINT_BUNDLE_ROOT", str(settings.bundle_root))
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "touchpoint-kpi-rollup")
    from functions.kpi_rollup import app as module

    module.service.cache_clear()
    yield module
    module.service.cache_clear()


def emf(out: str) -> list[dict[str, Any]]:
    blobs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [b for b in blobs if "_aws" in b]


def value(document: dict[str, Any], name: str) -> float:
    """A metric's value in an EMF document (Powertools writes values as a list)."""
    [number] = document[name]
    return float(number)


def live(events: list[dict[str, Any]]) -> list[str]:
    """Events as they would arrive now (the handler runs on the system clock)."""
    now = iso(dt.datetime.now(dt.UTC))
    for event in events:
        detail = event["detail"]
        if "occurred_at" in detail:
            detail["occurred_at"] = now
        for section in ("mail", "open", "delivery", "click"):
            if section in detail:
                detail[section]["timestamp"] = now
    return [json.dumps(e) for e in events]


def test_an_sqs_batch_counts_emits_one_emf_document_per_dimension_group_and_is_idempotent(
    app: Any, deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = sqs_batch(
        live(
            [
                entry("e1", entered=True, eligible=True),
                entry("e2", entered=True, eligible=True, holdout=True),
                entry("e3", reason="audience"),
                message("m1"),
                message("m2"),
                ses("Delivery", "ses-1"),
                ses("Open", "ses-1"),
                ses("Open", "ses-1", START + dt.timedelta(hours=1)),
                message("m3", journey="winback", step="offer"),
                message("m4", status="skipped", channel="sms", step="nudge"),
            ]
        )
    )
    assert app.handler(batch, ROLLUP) == {"batchItemFailures": []}
    out = capsys.readouterr().out
    documents = {
        tuple(sorted((k, d[k]) for k in ("Journey", "Channel", "Step") if k in d)): d for d in emf(out)
    }
    assert set(documents) == {
        (("Journey", "welcome"),),
        (("Channel", "email"), ("Journey", "welcome"), ("Step", "hello")),
        (("Channel", "sms"), ("Journey", "welcome"), ("Step", "nudge")),
        (("Channel", "email"), ("Journey", "winback")),
    }
    for document in documents.values():
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == metrics.NAMESPACE
        assert all(m["Unit"] == "Count" for m in directive["Metrics"])
    welcome = documents[(("Journey", "welcome"),)]
    assert welcome["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Journey"]]
    assert {m["Name"] for m in welcome["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {
        "Triggered",
        "Eligible",
        "Entered",
        "HeldOut",
    }
    assert [value(welcome, n) for n in ("Triggered", "Eligible", "Entered", "HeldOut")] == [3, 2, 2, 1]
    email = documents[(("Channel", "email"), ("Journey", "welcome"), ("Step", "hello"))]
    assert email["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["Journey"],
        ["Journey", "Channel"],
        ["Journey", "Step"],
    ]
    assert [value(email, n) for n in ("Sent", "Delivered", "Opened")] == [
        2,
        1,
        1,
    ]  # the 2nd open is not unique
    assert value(documents[(("Channel", "sms"), ("Journey", "welcome"), ("Step", "nudge"))], "Skipped") == 1
    winback = documents[(("Channel", "email"), ("Journey", "winback"))]
    assert winback["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Journey"], ["Journey", "Channel"]]
    assert value(winback, "Sent") == 1
    for private in (USER, EMAIL, PHONE, "ses-1", "ses-0001", "welcome-mail", "service"):
        assert private not in json.dumps(emf(out))
    for private in (USER, EMAIL, PHONE):
        assert private not in out

    counted = deployment.counters()
    assert app.handler(batch, ROLLUP) == {"batchItemFailures": []}  # SQS redelivers the whole batch
    assert deployment.counters() == counted
    assert emf(capsys.readouterr().out) == []  # duplicates emit nothing


def test_malformed_records_are_acknowledged_and_errors_are_retried_alone(
    app: Any, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = journey_event("journey.message", "m9", status="sent")  # no journey_id
    batch = sqs_batch(["{not json", *live([message("m1")]), json.dumps(bad), "[]"])
    assert app.handler(batch, ROLLUP) == {"batchItemFailures": []}
    assert (
        sum(
            n
            for (pk, sk), n in deployment.counters().items()
            if pk == "KPI#welcome" and sk.startswith("all#")
        )
        == 1
    )

    monkeypatch.setenv("TOUCHPOINT_KPIS_TABLE", "no-such-table")  # every write fails, not for the data
    app.service.cache_clear()
    batch = sqs_batch(["{not json", *live([message("m2")])])
    with pytest.raises(ClientError, match="ResourceNotFound"):  # a deployment fault: the invocation fails
        app.handler(batch, ROLLUP)


def test_a_throttled_batch_retries_only_its_countable_records(
    app: Any, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from touchpoint.aws.kpis import DynamoKpis
    from touchpoint.errors import TransientError

    def throttled(self: DynamoKpis, entries: Any) -> list[bool]:
        raise TransientError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(DynamoKpis, "count_many", throttled)
    batch = sqs_batch(["{not json", *live([message("m2"), message("m3")]), "[]"])
    assert app.handler(batch, ROLLUP) == {
        "batchItemFailures": [{"itemIdentifier": "r1"}, {"itemIdentifier": "r2"}]
    }


def test_the_scheduled_rollup_runs_on_the_counts_of_the_handler(app: Any, deployment: Deployment) -> None:
    events = [message(f"m{i}") for i in range(12)] + [ses("Delivery", f"ses-{i}") for i in range(12)]
    events += [ses("Open", "ses-1")]
    app.handler(sqs_batch(live(events)), ROLLUP)
    summary = app.handler({"action": "rollup"}, ROLLUP)
    welcome = summary["journeys"]["welcome"]
    assert welcome["rates"]["delivery_rate"] == 1.0
    assert welcome["rates"]["open_rate"] == pytest.approx(1 / 12)
    assert welcome["breaches"] == ["open_rate"]
    [(subject, _)] = map(_notification, deployment.notifications())
    assert subject == "Touchpoint KPI alert: welcome open_rate below floor"
    assert app.handler({"action": "rollup"}, ROLLUP)["alerts"] == 0
    with pytest.raises(ValueError, match="action"):
        app.handler({"action": "count"}, ROLLUP)


# --------------------------------------------------------------------------- campaign counters


def test_campaign_participants_and_conversions_count_once_per_user_and_revenue_once_per_order(
    deployment: Deployment,
) -> None:
    """docs/campaigns.md: the same user joining twice, converting on two orders, and a redelivered
    order change the counters exactly as a campaign report needs them."""

    def campaign(kind: str, event_id: str, user: str = USER, **extra: Any) -> dict[str, Any]:
        properties = {"journey_id": "welcome", "campaign_id": "d12", "user_id": user, **extra}
        detail = {"event_id": event_id, "user_id": user, "occurred_at": iso(START), "properties": properties}
        return envelope(contract.JOURNEY_SOURCE, kind, detail)

    joined = [campaign("journey.campaign_joined", f"campaign-joined:d12:{USER}:e{i}") for i in range(2)]
    orders = [campaign("journey.campaign_converted", f"campaign-converted:d12:o{i}") for i in range(2)]
    revenue = [
        campaign("journey.campaign_revenue", "campaign-revenue:d12:o0", value_cents=26800),
        campaign("journey.campaign_revenue", "campaign-revenue:d12:o1", value_cents=5900),
    ]
    other = campaign("journey.campaign_joined", "campaign-joined:d12:u-2:e0", user="u-2")
    assert deployment.count(*joined, *orders, *revenue, other) == [
        "counted", "duplicate", "counted", "duplicate", "counted", "counted", "counted",
    ]  # fmt: skip
    assert deployment.count(revenue[0]) == ["duplicate"]  # a redelivered order adds nothing
    assert deployment.partition("welcome", "all") == {
        "campaign_participants#-#-": 2,
        "campaign_converted#-#-": 1,
        "campaign_revenue#-#-": 26800 + 5900,
    }
    bad = campaign("journey.campaign_revenue", "campaign-revenue:d12:o2", value_cents=-5)
    assert deployment.count(bad) == ["rejected"]
    nameless = campaign("journey.campaign_joined", "campaign-joined:x", campaign_id="Not A Campaign")
    assert deployment.count(nameless) == ["rejected"]
    # the once-per-user markers outlive an erasure: they hold a digest, never the user id
    items = deployment.client("dynamodb").scan(TableName=deployment.settings.kpis_table)["Items"]
    markers = [i["pk"]["S"] + i["sk"]["S"] for i in items if "campaign" in i["pk"]["S"] + i["sk"]["S"]]
    assert markers
    assert not [m for m in markers if USER in m or "u-2" in m]
