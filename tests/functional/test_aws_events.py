"""Real AWS sample events (tests/fixtures/aws_events/, sources in its README) through the stack's
own path: the deployed EventBridge rules decide who gets them, then the SQS batch the Lambda event
source mapping delivers goes through trigger_eval's and kpi_rollup's handlers.

Each event names a message Touchpoint is taken to have sent (its message id is put in the message
index first), so attribution, profile effects and counters are checked on AWS's own shapes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import REPO
from tests.functional.conftest import World, lambda_context, sqs_event
from touchpoint import routing
from touchpoint.aws.kpis import DynamoKpis
from touchpoint.aws.profiles import DynamoProfiles
from touchpoint.engine.kpi.rates import totals
from touchpoint.engine.kpi.values import PERIOD_ALL
from touchpoint.engine.ports import MessageRecord
from touchpoint.local import moto_bridge
from touchpoint.profiles import Profile, contact_digest

FIXTURES = REPO / "tests" / "fixtures" / "aws_events"
JOURNEY, STEP, USER = "new-user-7day", "welcome", "u1"


@dataclass(frozen=True)
class Expected:
    targets: frozenset[str]  # which queues the deployed rules route it to
    trigger: str  # trigger_eval's outcome for it
    counter: str | None = None  # what kpi_rollup counts for it
    suppressed: str | None = None  # the suppression reason it leaves on the profile
    consent_revoked: bool = False


BOTH, NONE = frozenset({"trigger", "kpi"}), frozenset[str]()
EXPECTED: dict[str, Expected] = {
    "ses_email_delivered.awsdocs_wrapped": Expected(BOTH, "processed", "delivered"),
    "ses_email_delivered.recorded_ap-northeast-1_wrapped": Expected(BOTH, "processed", "delivered"),
    "ses_email_opened.awsdocs_wrapped": Expected(BOTH, "processed", "opened"),
    "ses_email_clicked.awsdocs_wrapped": Expected(BOTH, "processed", "clicked"),
    "ses_email_bounced_permanent_general.awsdocs_wrapped": Expected(BOTH, "processed", "bounced", "bounce"),
    "ses_email_bounced_suppressed_global.derived": Expected(BOTH, "processed", "bounced", "bounce"),
    "ses_email_bounced_transient_mailboxfull.derived": Expected(BOTH, "processed", "bounced"),
    "ses_email_bounced_undetermined.derived": Expected(BOTH, "processed", "bounced"),
    "ses_email_bounced_on_account_suppression_list.derived": Expected(
        BOTH, "processed", "dropped", "ses_suppressed"
    ),
    "ses_email_complaint_received_abuse.awsdocs_wrapped": Expected(
        BOTH, "processed", "complained", "complaint", consent_revoked=True
    ),
    "ses_email_complaint_received_abuse_simulator.recorded_wrapped": Expected(
        BOTH, "processed", "complained", "complaint", consent_revoked=True
    ),
    "ses_email_complaint_received_on_account_suppression_list.derived": Expected(
        BOTH, "processed", "dropped", "ses_suppressed"
    ),
    "ses_email_rejected.awsdocs_wrapped": Expected(BOTH, "processed", "dropped"),
    "ses_email_rendering_failed.awsdocs_wrapped": Expected(BOTH, "processed", "dropped"),
    # exist, but say nothing final: neither published by the configuration set nor routed
    "ses_email_sent.awsdocs_wrapped": Expected(NONE, "ignored"),
    "ses_email_delivery_delayed.awsdocs_wrapped": Expected(NONE, "ignored"),
    "ses_email_subscribed.awsdocs_wrapped": Expected(NONE, "ignored"),
    "sms_text_delivered_final_jp.recorded_wrapped": Expected(BOTH, "processed", "delivered"),
    "sms_text_delivered_final_ca.cds-snc_wrapped": Expected(BOTH, "processed", "delivered"),
    "sms_text_successful_final_us.awsdocs": Expected(BOTH, "processed", "delivered"),
    "sms_text_successful_final_senderid_es.awsdocs": Expected(BOTH, "processed", "delivered"),
    # its context is some other application's (no journey in it): attributed by the message id
    "sms_text_successful_final_with_context.awsdocs_wrapped": Expected(BOTH, "processed", "delivered"),
    "sms_text_ttl_expired_final_jp.recorded_wrapped": Expected(BOTH, "processed", "bounced"),
    "sms_text_carrier_unreachable_final.derived": Expected(BOTH, "processed", "bounced"),
    "sms_text_invalid_final.derived": Expected(BOTH, "processed", "bounced", "text_invalid"),
    "sms_text_carrier_unreachable_nonfinal.derived": Expected(BOTH, "ignored"),
    "sms_text_pending_nonfinal.derived": Expected(BOTH, "ignored"),
    "sms_registration_status_change_submitted.awsdocs": Expected(NONE, "ignored"),
    "voice_voice_initiated_nonfinal.awsdocs": Expected(NONE, "ignored"),
    # another application's state machine: not routed, and not a journey if it were
    "states_execution_status_change_running.awsdocs": Expected(NONE, "ignored"),
    "states_execution_status_change_succeeded.awsdocs": Expected(NONE, "ignored"),
    "states_execution_status_change_failed.awsdocs": Expected(NONE, "ignored"),
    "states_execution_status_change_timed_out.awsdocs": Expected(NONE, "ignored"),
    "states_execution_status_change_aborted.awsdocs": Expected(NONE, "ignored"),
}


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def test_every_fixture_is_expected_and_sourced() -> None:
    names = {p.name.removesuffix(".json") for p in FIXTURES.glob("*.json")}
    assert names == set(EXPECTED)
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert all(f"{name}.json" in readme or name.split(".")[0] in readme for name in names)
    published = [n for n in names if not n.endswith(".derived")]
    assert len(published) >= 20


def _configuration_set(event: dict[str, Any]) -> str:
    tags = (event["detail"].get("mail") or {}).get("tags") or {}
    return str((tags.get(routing.SES_CONFIGURATION_SET_TAG) or ["touchpoint"])[0])


def _targets(event: dict[str, Any], configuration_set: str, origination: str | None = None) -> set[str]:
    found: set[str] = set()
    for rule in routing.deployed(configuration_set, origination):
        if rule.bus == "default" and moto_bridge.rule_matches(rule.pattern, event):
            found.update(rule.targets)
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_deployed_rules_route_it_to_whom_it_concerns(name: str) -> None:
    event, expected = load(name), EXPECTED[name]
    assert _targets(event, _configuration_set(event)) == expected.targets
    if event["source"] == "aws.ses":  # another application's configuration set: never ours
        assert _targets(event, "touchpoint-other") == set()


def test_an_sms_rule_scoped_to_a_sender_id_matches_only_its_own_messages() -> None:
    japan, spain = (
        load("sms_text_delivered_final_jp.recorded_wrapped"),
        load("sms_text_successful_final_senderid_es.awsdocs"),
    )
    assert _targets(japan, "cs", "NOTIFY-POC") == BOTH
    assert _targets(spain, "cs", "NOTIFY-POC") == set()
    assert _targets(spain, "cs", "phone-abc123") == BOTH  # an id is not in the event: index filters


def _sent(world: World, message_id: str, channel: str, user: str = USER) -> None:
    world.register(user, phone="+8613800000001", sms_consent=True)
    record = MessageRecord(
        message_id=message_id,
        user_id=user,
        journey_id=JOURNEY,
        step_id=STEP,
        template="welcome",
        channel=channel,
        execution_arn=world.execution(user, JOURNEY),
        contact=contact_digest(f"{user}@example.com" if channel == "email" else "+8613800000001"),
    )
    world.state.put_message(record, world.clock.now() + dt.timedelta(days=45))


def _message_id(event: dict[str, Any]) -> str | None:
    detail = event["detail"]
    mid = (detail.get("mail") or {}).get("messageId") or detail.get("messageId")
    return str(mid) if mid else None


def _with_message_id(event: dict[str, Any], message_id: str) -> dict[str, Any]:
    """The event about another message: several samples share one example message id."""
    copy = json.loads(json.dumps(event))
    if "mail" in copy["detail"]:
        copy["detail"]["mail"]["messageId"] = message_id
    else:
        copy["detail"]["messageId"] = message_id
    return copy


def _deliver(env: World, events: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    from functions.kpi_rollup import app as kpi_app
    from functions.trigger_eval import app as trigger_app

    bodies = [json.dumps(e) for e in events]
    triggered = trigger_app.handler(sqs_event(bodies, "trigger", "t"), lambda_context("trigger-eval"))
    counted = kpi_app.handler(sqs_event(bodies, "kpi", "k"), lambda_context("kpi-rollup"))
    return triggered, counted


def _counts(env: World) -> dict[str, int]:
    rows = DynamoKpis(env.client("dynamodb"), env.settings.kpis_table).read(JOURNEY, PERIOD_ALL)
    return {k: v for k, v in totals(rows).items() if ":" not in k}


def test_trigger_eval_and_kpi_rollup_read_every_sample_as_aws_means_it(env: World) -> None:
    """One deployment, one user and one message per sample (each its own message id)."""
    from functions.trigger_eval import app as trigger_app

    for n, name in enumerate(sorted(EXPECTED)):
        event, expected = load(name), EXPECTED[name]
        user, channel = f"u{n}", "sms" if event["source"] == "aws.sms-voice" else "email"
        if _message_id(event) is not None:
            event = _with_message_id(event, f"sample-{n}")
            _sent(env, f"sample-{n}", channel, user)
        outcome = trigger_app.service().handle_body(json.dumps(event))
        assert outcome.status == expected.trigger, (name, outcome.reason)
        before = _counts(env)
        assert _deliver(env, [event]) == ({"batchItemFailures": []},) * 2, name
        added = {k: c - before.get(k, 0) for k, c in _counts(env).items() if c != before.get(k, 0)}
        assert added == ({expected.counter: 1} if expected.counter else {}), name
        if _message_id(event) is None:
            continue
        profile = Profile(DynamoProfiles(env.client("dynamodb"), "profiles").get(user))
        assert (profile.suppression(channel) or {}).get("reason") == expected.suppressed, name
        assert profile.has_consent("email") is not expected.consent_revoked, name
    assert env.state.rejected(env.clock.now().date()) == []  # AWS's own shapes are never "malformed"


def test_a_non_final_sms_failure_then_its_delivery_counts_one_delivery(env: World) -> None:
    pending = load("sms_text_carrier_unreachable_nonfinal.derived")
    delivered = load("sms_text_delivered_final_jp.recorded_wrapped")
    assert _message_id(pending) == _message_id(delivered)
    _sent(env, str(_message_id(delivered)), "sms")
    _deliver(env, [pending])
    _deliver(env, [delivered, pending])  # and a late copy of the in-flight status
    assert _counts(env) == {"delivered": 1}


def test_a_message_has_one_final_outcome_whichever_comes_first(env: World) -> None:
    failed = load("sms_text_carrier_unreachable_final.derived")
    delivered = load("sms_text_delivered_final_jp.recorded_wrapped")
    _sent(env, str(_message_id(delivered)), "sms")
    _deliver(env, [failed])
    _deliver(env, [delivered])
    assert _counts(env) == {"bounced": 1}


def test_an_async_bounce_after_delivery_suppresses_without_counting_twice(env: World) -> None:
    delivered = load("ses_email_delivered.awsdocs_wrapped")
    bounced = load("ses_email_bounced_permanent_general.awsdocs_wrapped")
    _sent(env, str(_message_id(delivered)), "email")
    _deliver(env, [delivered])
    _deliver(env, [bounced])
    assert _counts(env) == {"delivered": 1}
    profile = Profile(DynamoProfiles(env.client("dynamodb"), "profiles").get(USER))
    assert (profile.suppression("email") or {}).get("reason") == "bounce"


def test_feedback_suppresses_only_the_address_it_was_for(env: World) -> None:
    """A bounce of the old address does not suppress the new one; the same address re-sent by a
    profile sync keeps the suppression (issue: a resync must not lift it)."""
    bounced = load("ses_email_bounced_permanent_general.awsdocs_wrapped")
    _sent(env, str(_message_id(bounced)), "email")
    _deliver(env, [bounced])
    profiles = DynamoProfiles(env.client("dynamodb"), "profiles")
    env.event("profile.updated", USER, profile={"email": f"{USER}@example.com"})  # the same, again
    assert Profile(profiles.get(USER)).suppression("email") is not None
    env.event("profile.updated", USER, profile={"email": "new@example.com"})
    assert Profile(profiles.get(USER)).suppression("email") is None
    env.event("profile.updated", USER, profile={"email": f"{USER}@EXAMPLE.com"})  # back to the old one
    assert Profile(profiles.get(USER)).suppression("email") is not None
