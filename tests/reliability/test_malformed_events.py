"""Every malformed input is rejected once, with a reason that names the problem, and the rest of
its batch goes on: trigger_eval and kpi_rollup, through the Lambda handlers and the SQS batch shape."""

from __future__ import annotations

import datetime as dt
import json

from tests.functional.conftest import World, lambda_context, sqs_event
from tests.reliability.conftest import Figures
from tests.reliability.corpus import CORPUS, VALID
from touchpoint.aws.profiles import DynamoProfiles
from touchpoint.logs import redact

SAFETY_NET = "could not be processed"  # the reason when only the last line of defence caught it


def test_the_corpus_is_large_and_every_kind_is_distinct() -> None:
    assert len(CORPUS) >= 60
    assert len({bad.kind for bad in CORPUS}) == len(CORPUS)
    assert len({bad.body for bad in CORPUS}) == len(CORPUS)


def test_trigger_eval_rejects_each_kind_with_a_specific_reason(env: World) -> None:
    """One deployment for the whole corpus (a moto deployment per kind would cost minutes)."""
    from functions.trigger_eval import app

    for n, bad in enumerate(CORPUS):
        env.clock.advance(seconds=1)  # each kind its own rejected record
        outcome = app.service().handle_body(bad.body)
        assert outcome.status == "rejected", bad.kind
        assert bad.reason in str(outcome.reason), (bad.kind, outcome.reason)
        assert not str(outcome.reason).startswith(SAFETY_NET), bad.kind
        stored = env.state.rejected(env.clock.now().date())
        assert len(stored) == n + 1, bad.kind
        assert stored[-1]["reason"] == redact(str(outcome.reason)), bad.kind
    assert "u-bad@" not in json.dumps(env.state.rejected(env.clock.now().date()), default=str)


def test_a_batch_mixing_the_corpus_and_valid_events_processes_every_valid_one_and_retries_nothing(
    env: World, figures: Figures
) -> None:
    from functions.kpi_rollup import app as kpi
    from functions.trigger_eval import app as trigger

    bodies = [bad.body for bad in CORPUS]
    valid = [b for b, _ in VALID]
    failures = []
    for batches, start in enumerate(range(0, len(bodies), 7)):  # SQS delivers at most 10: 7 bad, 3 good
        batch = [*bodies[start : start + 7], *valid]
        for deliveries in range(2):  # at-least-once: every batch arrives twice
            response = trigger.handler(
                sqs_event(batch, "trigger", f"b{batches}-{deliveries}-"), lambda_context("t")
            )
            failures += response["batchItemFailures"]
            counted = kpi.handler(sqs_event(batch, "kpi", f"k{batches}-{deliveries}-"), lambda_context("k"))
            failures += counted["batchItemFailures"]
    assert failures == []  # nothing retried, so nothing can reach a dead-letter queue without a reason
    stored = env.state.rejected(env.clock.now().date())
    assert len(stored) == len(CORPUS)  # each kind once, its redelivery on the same record
    assert not [i for i in stored if str(i["reason"]).startswith(SAFETY_NET)]
    profile = DynamoProfiles(env.client("dynamodb"), "profiles").get("u-ok")
    assert all(check(profile) for _, check in VALID)  # and each valid event applied exactly once
    assert profile["page.viewed.count"] == 1
    figures.record(
        "a corpus of malformed events mixed into valid batches, each delivered twice",
        kinds=len(CORPUS),
        rejected_once_with_reason=len(stored),
        valid_processed=len(VALID),
        unhandled_exceptions=0,
        retried_or_dead_lettered=0,
    )


def test_rejected_events_expire_and_keep_no_contact_point(env: World) -> None:
    from functions.trigger_eval import app

    bad = next(b for b in CORPUS if b.kind == "email with a header")
    app.service().handle_body(bad.body)
    [item] = env.state.rejected(env.clock.now().date())
    assert "a@example.com" not in item["event"]  # redacted before it is stored
    assert "b@example.com" not in item["event"]
    assert int(item["ttl"]) == int((env.clock.now() + dt.timedelta(days=14)).timestamp())
    references = [i for i in env.state.user_items("u-bad") if i["sk"].startswith("REJREF#")]
    assert len(references) == 1  # erasure of u-bad removes the record with it
