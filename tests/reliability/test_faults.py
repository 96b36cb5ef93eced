"""The engine under injected faults, on the simulator (real handlers, compiled state machines, the
in-memory backend), 1,000 synthetic users or more each. Every figure is a count."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

import pytest

from tests.conftest import REPO
from tests.reliability.conftest import Figures
from tests.reliability.simulate import CROWD, SCALE, Ran, run, scenario
from touchpoint.local import terminal
from touchpoint.local.scenario import load_scenario
from touchpoint.local.simulator import Simulation


@pytest.fixture(scope="module")
def baseline() -> Ran:
    return run(scenario(days=5))


@pytest.fixture(scope="module")
def redelivered() -> Ran:
    return run(scenario(days=5, faults=[{"service": "events", "deliveries": 3, "late": "3d"}]))


def test_every_app_event_delivered_up_to_three_times_and_late_changes_nothing(
    baseline: Ran, redelivered: Ran, figures: Figures
) -> None:
    """The same entries (with the same times: goal windows unchanged), the same messages, the
    same goals, as when every event arrives once."""
    faults = redelivered.report["faults"]
    assert faults["injected"]["events_redelivered"] >= 1000 * SCALE  # copies, some days late
    assert redelivered.report["executions"] == baseline.report["executions"]
    assert redelivered.messages == baseline.messages
    for journey_id, journey in baseline.report["journeys"].items():
        assert redelivered.report["journeys"][journey_id]["goal"] == journey["goal"], journey_id
        assert redelivered.counts(journey_id) == baseline.counts(journey_id), journey_id
    assert max(redelivered.provider_messages_per_send().values()) == 1  # 0 duplicate messages
    figures.record(
        "every app event delivered 1-3 times, copies up to 3 days late",
        users=redelivered.report["scenario"]["users"],
        copies=faults["injected"]["events_redelivered"],
        duplicate_entries=0,
        duplicate_messages=0,
        goal_windows_changed=0,
    )


@pytest.fixture(scope="module")
def ambiguous() -> Ran:
    faults = [
        {"channel": channel, kind: 0.05}
        for channel in ("email", "sms")
        for kind in ("crash_after_accept", "lost_response")
    ]
    return run(scenario(days=5, faults=faults))


def test_a_crash_or_lost_answer_after_the_provider_accepted_never_sends_twice(
    ambiguous: Ran, figures: Figures
) -> None:
    faults = ambiguous.report["faults"]
    injected = sum(n for k, n in faults["injected"].items() if k.endswith(("after_accept", "lost_response")))
    assert injected >= 50
    per_send = ambiguous.provider_messages_per_send()
    assert max(per_send.values()) == 1  # 0 duplicate messages
    statuses = [m["status"] for m in ambiguous.messages]
    assert statuses.count("sent") + statuses.count("sent_unconfirmed") == sum(per_send.values())
    assert faults["unconfirmed"] == statuses.count("sent_unconfirmed") >= injected * 0.9
    # every ambiguous send was recorded as such and reconciled from the provider's events (SES
    # and End User Messaging report every message they took: a delivery, a bounce, a drop), but
    # for those the provider had not reported on yet when the window closed (SES still retrying)
    assert faults["reconciled"] + faults["unconfirmed_in_flight"] == faults["unconfirmed"]
    assert faults["unconfirmed_in_flight"] <= faults["unconfirmed"] * 0.01
    assert faults["act_on"] == {"failed_steps": 0, "unconfirmed_not_reconciled": 0, "dead_lettered": 0}
    figures.record(
        "crash or lost answer after the provider accepted, on 10% of sends",
        injected=injected,
        messages=sum(per_send.values()),
        duplicate_messages=0,
        unconfirmed=faults["unconfirmed"],
        reconciled=faults["reconciled"],
        in_flight_at_the_end=faults["unconfirmed_in_flight"],
    )


@pytest.fixture(scope="module")
def throttled() -> Ran:
    faults: list[dict[str, Any]] = [{"channel": c, "throttle": 0.3} for c in ("email", "sms")]
    faults += [{"channel": c, "outage": {"at": "1d10h", "for": "10m"}} for c in ("email", "sms")]
    return run(scenario(days=5, faults=faults))


def _send_steps(ran: Ran) -> dict[str, set[str]]:
    from touchpoint.journey.model import SendStep
    from touchpoint.journey.steps import resolve, walk

    return {
        journey_id: {n.id for n in walk(resolve(j.steps)) if isinstance(n.step, SendStep)}
        for journey_id, j in ran.simulation.journeys.items()
    }


def _categories(ran: Ran) -> dict[tuple[str, str], str]:
    from touchpoint.journey.model import SendStep
    from touchpoint.journey.steps import resolve, walk

    return {
        (journey_id, n.id): n.step.send.category or j.category
        for journey_id, j in ran.simulation.journeys.items()
        for n in walk(resolve(j.steps))
        if isinstance(n.step, SendStep)
    }


def test_throttling_and_an_outage_lose_no_message(throttled: Ran, figures: Figures) -> None:
    """Every send step an execution reached ended sent, skipped with a reason, or as a failure
    record a person can act on (and its fallback ran): none silently lost."""
    faults = throttled.report["faults"]
    assert faults["injected"]["email_throttled"] + faults["injected"]["sms_throttled"] >= 300
    assert faults["retried"]["step_attempts"] >= 300
    sends = _send_steps(throttled)
    outcomes: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for message in throttled.messages:
        outcomes[message["user_id"], message["journey_id"], message["step_id"]].append(message["status"])
    for trace in throttled.report["trace"]:
        if trace["kind"] == "step_failed":
            outcomes[trace["user_id"], trace["journey_id"], trace["detail"]["step_id"]].append("failed")
    silent = []
    for execution in throttled.report["executions"]:
        reached = [s for s in execution["path"] if s in sends[execution["journey_id"]]]
        in_progress = execution["status"] == "RUNNING" and reached and reached[-1] == execution["path"][-1]
        for step in reached[:-1] if in_progress else reached:
            if not outcomes.get((execution["user_id"], execution["journey_id"], step)):
                silent.append((execution["user_id"], execution["journey_id"], step))
    assert silent == []
    assert max(throttled.provider_messages_per_send().values()) == 1
    figures.record(
        "provider throttling on 30% of calls and a 10-minute outage of each channel",
        refusals=sum(n for k, n in faults["injected"].items() if k.startswith(("email", "sms"))),
        retried_attempts=faults["retried"]["step_attempts"],
        deferred=faults["deferred"],
        fell_back=faults["fell_back"],
        failure_records=faults["act_on"]["failed_steps"],
        silently_lost=0,
    )


@pytest.fixture(scope="module")
def dynamodb() -> Ran:
    return run(scenario(days=5, faults=[{"service": "dynamodb", "throttle": 0.25}]))


def test_dynamodb_throttling_corrupts_no_counter_and_exceeds_no_cap(dynamodb: Ran, figures: Figures) -> None:
    faults = dynamodb.report["faults"]
    assert faults["injected"]["dynamodb_throttled"] >= 5_000 * SCALE
    assert faults["injected"]["dynamodb_throttled_past_sdk_retries"] >= 20  # reached the engine
    assert faults["act_on"]["dead_lettered"] == 0
    for journey_id in dynamodb.report["journeys"]:
        counts = dynamodb.counts(journey_id)
        mine = [m for m in dynamodb.messages if m["journey_id"] == journey_id]
        assert counts.get("sent", 0) == sum(m["status"] == "sent" for m in mine), journey_id
        assert counts.get("skipped", 0) == sum(m["status"] == "skipped" for m in mine), journey_id
        entered = [e for e in dynamodb.report["executions"] if e["journey_id"] == journey_id]
        assert counts.get("entered", 0) == len(entered), journey_id
    cap = dt.timedelta(days=1)
    marketing: dict[str, list[dt.datetime]] = defaultdict(list)
    categories = _categories(dynamodb)
    for message in dynamodb.messages:
        if (
            message["status"] == "sent"
            and categories[message["journey_id"], message["step_id"]] == "marketing"
        ):
            marketing[message["user_id"]].append(
                dt.datetime.fromisoformat(message["at"].replace("Z", "+00:00"))
            )
    for user, times in marketing.items():  # the global cap: 2 marketing messages in any 24 hours
        times.sort()
        assert all(later - earlier >= cap for earlier, later in zip(times, times[2:], strict=False)), user
    assert max(dynamodb.provider_messages_per_send().values()) == 1
    figures.record(
        "DynamoDB throttling on 25% of request attempts",
        throttled_attempts=faults["injected"]["dynamodb_throttled"],
        past_sdk_retries=faults["injected"]["dynamodb_throttled_past_sdk_retries"],
        retried_records=faults["retried"]["sqs_records"],
        corrupted_counters=0,
        cap_exceeded=0,
    )


def test_dynamodb_throttling_on_the_moto_backend_reaches_the_same_requests() -> None:
    """The moto backend throttles on botocore's own hook, so the SDK's retries run as deployed;
    a few users are enough to see each throttle retried or handed to SQS, and nothing lost."""
    data = scenario(users=0, days=2, faults=[{"service": "dynamodb", "throttle": 0.5}], seed=9)
    data["backend"] = "moto"
    data["journeys"] = [str(REPO / "journeys" / "new-user-7day.yaml")]
    data["users"] = [
        {
            "id": f"qa-{n}",
            "profile": {
                "email": f"qa-{n}@example.com",
                "timezone": "Asia/Shanghai",
                "consent": {"email": True},
            },
            "events": [{"at": f"{n}h", "type": "user.registered"}],
        }
        for n in range(1, 6)
    ]
    ran = run(data)
    faults = ran.report["faults"]
    assert faults["injected"]["dynamodb_throttled_past_sdk_retries"] > 0  # the engine saw some
    assert faults["retried"]["sqs_records"] + faults["retried"]["step_attempts"] > 0
    assert faults["act_on"] == {"failed_steps": 0, "unconfirmed_not_reconciled": 0, "dead_lettered": 0}
    entered = {e["user_id"] for e in ran.report["executions"]}
    assert entered == {f"qa-{n}" for n in range(1, 6)}  # every registration entered, once
    assert len(ran.report["executions"]) == 5
    assert max(ran.provider_messages_per_send().values()) == 1


def _crowd(count: int) -> list[dict[str, Any]]:
    """``count`` users registering in the same minute (each registration delivered twice); one in
    ten withdraws at a random moment before the tips go out on the third day: by a consent update
    from the app, or by the unsubscribe link of the welcome email."""
    rng = random.Random(3)
    users = []
    for n in range(count):
        events: list[dict[str, Any]] = [{"at": "9h", "type": "user.registered", "deliveries": 2}]
        if n % 10 == 0:
            at = f"{rng.randrange(10 * 60, 56 * 60)}m"  # before or after the welcome, before the tips
            if n % 20 == 0:
                events.append(
                    {
                        "at": at,
                        "type": "consent.updated",
                        "consent": {"email": {"granted": False, "source": "app"}},
                    }
                )
            else:
                events.append(
                    {
                        "at": at,
                        "type": "email.unsubscribed",
                        "properties": {"journey_id": "new-user-7day", "step_id": "welcome"},
                    }
                )
        users.append(
            {
                "id": f"s{n:05d}",
                "profile": {
                    "email": f"s{n:05d}@example.com",
                    "timezone": "Asia/Shanghai",
                    "consent": {"email": True},
                    "attributes": {"nickname": "Lin"},
                },
                "events": events,
            }
        )
    return users


@pytest.fixture(scope="module")
def crowd() -> Ran:
    return run(
        scenario(
            users=0,
            days=3,
            journeys=["new-user-7day"],
            scripted=_crowd(CROWD),
            faults=[{"service": "dynamodb", "throttle": 0.1}],
        )
    )


def test_a_crowd_entering_in_the_same_minute_each_enter_once(crowd: Ran, figures: Figures) -> None:
    """R18: a launch moment. Every registration arrives twice, in the same minute."""
    users = CROWD
    executions = crowd.report["executions"]
    assert len(executions) == users
    assert len({e["user_id"] for e in executions}) == users  # each entered exactly once
    welcomes = [m for m in crowd.messages if m["step_id"] == "welcome"]  # sent, or held out (10%)
    assert len({m["user_id"] for m in welcomes}) == len(welcomes) == users
    assert max(crowd.provider_messages_per_send().values()) == 1
    assert crowd.counts("new-user-7day")["entered"] == users
    figures.record(
        "users entering one journey in the same minute (each registration delivered twice)",
        users=users,
        entered_once=users,
        duplicate_welcomes=0,
    )


def test_no_message_after_consent_was_withdrawn_checked_one_by_one(crowd: Ran, figures: Figures) -> None:
    withdrawn: dict[str, str] = {}  # user → when the withdrawal took effect
    for trace in crowd.report["trace"]:
        if trace["kind"] == "unsubscribed":
            withdrawn.setdefault(trace["user_id"], trace["at"])
    for user in crowd.simulation.scenario.users:
        for event in user.events:
            if event.type == "consent.updated":
                at = crowd.simulation.scenario.start + dt.timedelta(seconds=event.at)
                withdrawn.setdefault(
                    user.id, at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                )
    assert len(withdrawn) >= CROWD * 9 // 100  # 10% of the crowd (a few unsubscribed before their welcome)
    after = [
        m
        for m in crowd.messages
        if m["status"] == "sent" and m["user_id"] in withdrawn and m["at"] > withdrawn[m["user_id"]]
    ]
    assert after == []
    skipped = [m for m in crowd.messages if m["user_id"] in withdrawn and m["reason"] == "no_consent"]
    assert len(skipped) >= CROWD // 20  # the journeys went on and their sends were refused
    figures.record(
        "consent withdrawn or unsubscribed at random times by 10% of the users",
        users=len(crowd.simulation.scenario.users),
        withdrawn=len(withdrawn),
        sends_refused_after=len(skipped),
        sent_after_withdrawal=0,
    )


def test_the_committed_fault_scenario_rehearses_every_fault_and_leaves_nothing_to_act_on() -> None:
    """``scenarios/faults.yaml`` as a user runs it: the scripted duplicates change nothing, every
    configured fault fires, and the terminal says what was injected and what is left to do."""
    path = REPO / "scenarios" / "faults.yaml"
    simulation = Simulation(load_scenario(path), path.parent)
    results = simulation.run()
    report = results.to_jsonable()
    faults = report["faults"]
    assert set(faults["injected"]) >= {
        "events_redelivered",
        "email_lost_response",
        "email_crashed_after_accept",
        "sms_throttled",
        "dynamodb_throttled",
    }
    assert faults["unconfirmed"] == faults["reconciled"] > 0
    assert faults["act_on"] == {"failed_steps": 0, "unconfirmed_not_reconciled": 0, "dead_lettered": 0}
    # registered once, delivered three times (the last copy three days late): one entry, one welcome
    entries = [
        e for e in report["executions"] if (e["user_id"], e["journey_id"]) == ("qa-dup", "new-user-7day")
    ]
    assert len(entries) == 1
    welcomes = [m for m in report["messages"] if m["user_id"] == "qa-dup" and m["step_id"] == "welcome"]
    assert [m["status"] for m in welcomes] in (["sent"], ["sent_unconfirmed", "sent"])
    # the same order scripted twice with one id: one order, one cross-sell entry
    profile = simulation.cloud.profiles().get("qa-order")
    assert profile is not None
    assert profile["orders_count"] == 2
    assert [t["at"] for t in report["trace"] if t["user_id"] == "qa-order" and t["kind"] == "entry"][:1] == [
        "2026-12-01T16:00:00.000Z"
    ]
    cross_sell = [
        e
        for e in report["executions"]
        if (e["user_id"], e["journey_id"]) == ("qa-order", "post-purchase-cross-sell")
    ]
    assert len(cross_sell) == 1
    lines = terminal.summary(results, simulation.journeys).splitlines()
    start = lines.index(next(line for line in lines if line.startswith("Faults: ")))
    assert lines[start + 1].startswith("  injected: ")
    assert "email lost response" in lines[start + 1]
    assert (
        lines[start + 3]
        == f"  unconfirmed {faults['unconfirmed']}, reconciled {faults['reconciled']} · dead letters 0"
    )
    assert lines[start + 4].startswith("  ✔ nothing to act on")
