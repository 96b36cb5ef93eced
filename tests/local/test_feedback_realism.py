"""Provider feedback as AWS gives it, through a whole simulation: transient and undetermined
bounces, SES account-suppression drops, delivery delays, non-final SMS statuses, final SMS
failures and opted-out numbers reach the KPIs as they would in a deployment; and SMS through SNS
reports nothing, which the report says.

A small population (the Double-12 launch and sale day: an email, then SMS) over four days on the
in-memory backend, with the provider shares raised so that each outcome happens."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from touchpoint.journey.loader import load_project
from touchpoint.local import terminal
from touchpoint.local.results import EndUserMessagingSms, SimulationResults, SnsSms
from touchpoint.local.scenario import scenario_from
from touchpoint.local.simulator import SNS_NOTE, Simulation

REPO = Path(__file__).resolve().parents[2]
SCENARIO: dict[str, Any] = {
    "start": "2026-12-09T00:00:00+08:00",
    "duration": "4d",
    "seed": 5,
    "journeys": ["journeys/d12-launch.yaml", "journeys/d12-sustain.yaml"],
    "backend": "memory",
    "users": [
        {  # gets the launch reminder by SMS, replies STOP, so the sale-day SMS is refused
            "id": "qa-stop",
            "profile": {
                "email": "stop@example.com",
                "phone": "+8613800000009",
                "timezone": "Asia/Shanghai",
                "attributes": {"orders_count": 2},
                "consent": {"email": True, "sms": True},
            },
            "events": [
                {
                    "at": "2d11h",
                    "type": "sms.unsubscribed",
                    "properties": {"journey_id": "d12-launch", "step_id": "reminder"},
                }
            ],
        }
    ],
    "population": {
        "count": 250,
        "sms_consent": 0.6,
        "behaviour": {
            "transient_bounce": 0.04,
            "undetermined_bounce": 0.02,
            "account_suppressed": 0.04,
            "delivery_delay": 0.1,
            "sms_not_final": 0.3,
            "sms_blocked": 0.03,
            "sms_ttl_expired": 0.02,
            "carrier_opt_out": 0.08,
            "unsubscribe": 0,  # opt-outs only from the list (and qa-stop's STOP)
        },
    },
}


def simulate(settings: dict[str, Any] | None = None) -> SimulationResults:
    data = copy.deepcopy(SCENARIO)
    data["settings"] = settings or {}
    return Simulation(scenario_from(data), REPO).run()


@pytest.fixture(scope="module")
def end_user_messaging() -> SimulationResults:
    return simulate()


@pytest.fixture(scope="module")
def sns() -> SimulationResults:
    return simulate({"sms_adapter": "sns"})


def counts(results: SimulationResults) -> Counter[str]:
    total: Counter[str] = Counter()
    for report in results.journeys.values():
        total.update(report.kpis.counts)
    return total


def test_every_kind_of_provider_feedback_happened(end_user_messaging: SimulationResults) -> None:
    email, sms = end_user_messaging.providers.email, end_user_messaging.providers.sms
    assert isinstance(sms, EndUserMessagingSms)
    for label in (
        "Delivery",
        "Open",
        "Bounce Permanent/General",
        "Bounce Transient/MailboxFull",
        "Bounce Undetermined/Undetermined",
        "Bounce Permanent/OnAccountSuppressionList",
    ):
        assert email.events.get(label, 0) > 0, label
    assert (
        email.not_published["DeliveryDelay"] > 0
    )  # SES records them; the configuration set does not publish them
    for label in (
        "TEXT_DELIVERED",
        "TEXT_PENDING (not final)",
        "TEXT_CARRIER_UNREACHABLE (not final)",
        "TEXT_BLOCKED",
        "TEXT_TTL_EXPIRED",
    ):
        assert sms.events.get(label, 0) > 0, label
    assert sms.refused["DESTINATION_PHONE_NUMBER_OPTED_OUT"] > 0
    assert (sms.adapter, sms.delivery_feedback) == ("end-user-messaging", True)


def test_each_message_has_at_most_one_outcome(end_user_messaging: SimulationResults) -> None:
    for journey_id, report in end_user_messaging.journeys.items():
        c = report.kpis.counts
        for channel in ("email", "sms"):
            outcomes = sum(c.get(f"{channel}:{k}", 0) for k in ("delivered", "bounced", "dropped"))
            assert outcomes <= c.get(f"{channel}:sent", 0), (journey_id, channel)


def test_the_kpis_count_what_the_providers_reported(end_user_messaging: SimulationResults) -> None:
    """Suppression-list drops are dropped, never bounced; non-final SMS statuses count nothing."""
    c, email = counts(end_user_messaging), end_user_messaging.providers.email.events
    bounces = {label: n for label, n in email.items() if label.startswith("Bounce ")}
    suppressed = bounces.pop("Bounce Permanent/OnAccountSuppressionList")
    assert c["email:dropped"] == suppressed
    assert c["email:bounced"] == sum(bounces.values())
    assert c["email:delivered"] == email["Delivery"]
    provider = end_user_messaging.providers.sms
    assert isinstance(provider, EndUserMessagingSms)
    finals = {label: n for label, n in provider.events.items() if "(not final)" not in label}
    assert c["sms:delivered"] == finals.pop("TEXT_DELIVERED")
    assert c["sms:bounced"] == sum(finals.values())


def test_opted_out_numbers_are_skipped_and_suppressed(end_user_messaging: SimulationResults) -> None:
    reasons = Counter(m.reason for m in end_user_messaging.messages if m.channel == "sms")
    provider = end_user_messaging.providers.sms
    assert isinstance(provider, EndUserMessagingSms)
    refused = provider.refused["DESTINATION_PHONE_NUMBER_OPTED_OUT"]
    assert reasons["carrier_opt_out"] == refused  # each number refused once, then suppressed
    listed = {m.user_id for m in end_user_messaging.messages if m.reason == "carrier_opt_out"}
    assert len(listed - {"qa-stop"}) > 1  # numbers on the list before the scenario
    stop = [(m.journey_id, m.status, m.reason) for m in end_user_messaging.messages if m.user_id == "qa-stop"]
    assert stop == [
        ("d12-launch", "sent", None),
        ("d12-launch", "sent", None),
        ("d12-sustain", "skipped", "carrier_opt_out"),  # after the STOP reply
    ]


def test_sms_through_sns_reports_no_delivery_and_the_report_says_so(
    sns: SimulationResults, end_user_messaging: SimulationResults
) -> None:
    c = counts(sns)
    assert c["sms:sent"] > 0
    assert (c["sms:delivered"], c["sms:bounced"]) == (0, 0)
    assert c["email:delivered"] > 0  # SES still reports
    assert sns.providers.sms == SnsSms(adapter="sns", delivery_feedback=False, note=SNS_NOTE)
    stop = [(m.journey_id, m.status) for m in sns.messages if m.user_id == "qa-stop"]
    assert stop[-1] == ("d12-sustain", "sent")  # SNS's own opt-out list is not modelled
    journeys = {j.id: j for _, j in load_project([REPO / "journeys"], cwd=REPO).valid()}
    lines = terminal.summary(sns, journeys).splitlines()
    assert f"Note: {SNS_NOTE}" in lines
    others = terminal.summary(end_user_messaging, journeys).splitlines()
    assert not [line for line in others if line.startswith("Note:")]


SCRIPTED: dict[str, Any] = {
    "start": "2026-12-09T00:00:00+08:00",
    "duration": "3d",
    "journeys": ["journeys/d12-launch.yaml"],
    "backend": "memory",
    "users": [
        {
            "id": user,
            "profile": {
                "email": f"{user}@example.com",
                "phone": phone,
                "timezone": "Asia/Shanghai",
                "consent": {"email": True, "sms": True},
            },
            "events": [
                {
                    "at": "11h",
                    "type": "email.bounced",
                    "properties": {"journey_id": "d12-launch", "step_id": "coupon", **bounce},
                },
                {
                    "at": "2d11h",
                    "type": "sms.failed",
                    "properties": {"journey_id": "d12-launch", "step_id": "reminder", **failed},
                },
            ],
        }
        for user, phone, bounce, failed in (
            (
                "qa-soft",
                "+8613800000011",
                {"bounce_type": "transient", "bounce_subtype": "MailboxFull"},
                {"status": "TEXT_BLOCKED"},
            ),
            ("qa-hard", "+8613800000012", {}, {}),  # Permanent/General; TEXT_INVALID
            ("qa-odd", "+8613800000013", {"bounce_type": "soft"}, {"status": "TEXT_DELIVERED"}),
        )
    ],
}


def test_scripted_feedback_names_what_the_provider_reports() -> None:
    results = Simulation(scenario_from(SCRIPTED), REPO).run().to_jsonable()
    email, sms = results["providers"]["email"]["events"], results["providers"]["sms"]["events"]
    assert (email["Bounce Transient/MailboxFull"], email["Bounce Permanent/General"]) == (1, 1)
    assert (sms["TEXT_BLOCKED"], sms["TEXT_INVALID"]) == (1, 1)
    assert [
        (r["event"]["user_id"], r["event"]["type"], r["reason"].split(" ")[0])
        for r in results["rejected_events"]
    ] == [
        ("qa-odd", "email.bounced", "bounce_type"),
        ("qa-odd", "sms.failed", "status"),
    ]
    through_sns = (
        Simulation(scenario_from({**SCRIPTED, "settings": {"sms_adapter": "sns"}}), REPO).run().to_jsonable()
    )
    rejected = [
        (r["event"]["user_id"], r["event"]["type"], r["reason"]) for r in through_sns["rejected_events"]
    ]
    sns_reason = "SMS through SNS reports no delivery: SNS publishes no events to feed back"
    assert [r for r in rejected if r[1] == "sms.failed"] == [
        ("qa-soft", "sms.failed", sns_reason),
        ("qa-hard", "sms.failed", sns_reason),
        (
            "qa-odd",
            "sms.failed",
            "status must be a final failure End User Messaging reports: "
            "TEXT_BLOCKED, TEXT_CARRIER_UNREACHABLE, TEXT_INVALID, TEXT_TTL_EXPIRED, TEXT_UNREACHABLE",
        ),
    ]
