"""What each step kind compiles to, on the real example journeys and small focused ones."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import JOURNEYS, REPO
from touchpoint import contract
from touchpoint.compiler import floor
from touchpoint.compiler.build import compile_journey, outputs, version_of
from touchpoint.compiler.lower import COMPLETED, step_of
from touchpoint.journey.loader import load_project
from touchpoint.journey.model import Journey
from touchpoint.journey.steps import resolve, walk


def journey(steps: list[dict[str, Any]], **extra: Any) -> Journey:
    data = {
        "schema": "touchpoint/v1",
        "id": "t",
        "name": "T",
        "owner": "qa@example.com",
        "timezone": "Asia/Shanghai",
        "trigger": {"event": "user.registered"},
        "steps": steps,
        **extra,
    }
    return Journey.model_validate(data)


def states(j: Journey) -> dict[str, Any]:
    return json.loads(compile_journey(j).asl)["States"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def examples() -> dict[str, Journey]:
    project = load_project([JOURNEYS], cwd=REPO)
    assert not project.errors(), "\n".join(map(str, project.errors()))
    return {j.id: j for _, j in project.valid()}


def test_nurture_longest_path_is_within_1_3x_of_its_sends_waits_and_branches(
    examples: dict[str, Journey],
) -> None:
    nurture = examples["new-user-7day"]
    compiled = compile_journey(nurture)
    path = compiled.machine.longest_path()
    kinds = {n.id: n.kind for n in walk(resolve(nurture.steps))}
    steps_on_path = {step_of(name) for name in path} - {None}
    counted = [s for s in steps_on_path if kinds[s] in ("send", "wait", "if", "wait_for", "split")]
    ratio = len(path) / len(counted)
    print(
        f"new-user-7day: {len(path)} states on the longest path for {len(counted)} sends+waits+branches "
        f"= {ratio:.2f}x"
    )
    assert ratio <= 1.3
    # both ifs are guarded sends (D27): their sends ride on the if's state, so 7 states, 7 steps
    assert len(path) == 7
    assert len(counted) == 7
    # the longest with failures: the else sides (a caught condition_false, then the else's send),
    # every send failing after its retries into its failure recorder
    assert len(compiled.machine.longest_path(failures=True)) == 13


def test_a_send_is_one_callback_task_that_retries_and_records_failures() -> None:
    s = states(
        journey(
            [{"send": {"channel": "email", "template": "hello"}, "id": "hello"}],
            limits={"email": {"max": 2, "per": "24h"}},
            send_window={"from": "08:00", "to": "21:00"},
        )
    )
    task = s["hello"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"]["FunctionName"] == "${SendEmailFunctionArn}"
    payload = task["Parameters"]["Payload"]
    assert payload["token.$"] == "$$.Task.Token"
    assert payload["limit"] == {"max": 2, "per_seconds": 86400}
    assert payload["send_window"] == {"from": "08:00", "to": "21:00"}
    assert task["TimeoutSeconds"] == contract.SEND_TIMEOUT_SECONDS
    assert "TransientError" in task["Retry"][0]["ErrorEquals"]
    assert task["Retry"][0]["JitterStrategy"] == "FULL"
    assert task["Catch"] == [{"ErrorEquals": ["States.ALL"], "Next": "hello#failed", "ResultPath": "$.last"}]
    failed = s["hello#failed"]
    assert failed["Resource"] == "arn:aws:states:::events:putEvents"
    assert failed["Parameters"]["Entries"][0]["DetailType"] == contract.STEP_FAILED
    assert failed["End"] is True
    assert task["End"] is True


def test_fallback_runs_when_the_message_was_not_sent() -> None:
    s = states(
        journey(
            [
                {
                    "send": {"channel": "sms", "template": "a"},
                    "id": "sms",
                    "fallback": [{"send": {"channel": "email", "template": "a"}, "id": "mail"}],
                },
                {"wait": "1h"},
            ]
        )
    )
    assert s["sms"]["Next"] == "sms#check"
    check = s["sms#check"]
    assert check["Choices"] == [  # an unconfirmed send may have reached the user: no fallback either
        {"Variable": "$.last.status", "StringEquals": "sent", "Next": "wait-2"},
        {"Variable": "$.last.status", "StringEquals": "sent_unconfirmed", "Next": "wait-2"},
    ]
    assert check["Default"] == "mail"
    assert s["sms#failed"]["Next"] == "mail"
    assert s["mail"]["Next"] == "wait-2"


def test_wait_for_times_out_into_on_timeout_and_scopes_message_events_to_the_journey() -> None:
    s = states(
        journey(
            [
                {"send": {"channel": "email", "template": "a"}, "id": "coupon"},
                {
                    "wait_for": {"event": "email.clicked", "where": {"step_id": "coupon"}, "timeout": "3d"},
                    "id": "click",
                    "on_event": [{"tag": {"add": ["hot"]}}],
                    "on_timeout": [{"exit": "cold"}],
                },
            ]
        )
    )
    task = s["click"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert task["TimeoutSeconds"] == 3 * 86400
    assert task["Parameters"]["Payload"]["where"] == {"step_id": "coupon", "journey_id": "t"}
    assert task["Catch"][0] == {
        "ErrorEquals": ["States.Timeout"],
        "Next": "click.on_timeout.exit-1",
        "ResultPath": "$.last",
    }
    assert task["Next"] == "click.on_event.tag-1"
    assert s["click.on_timeout.exit-1"] == {
        "Comment": "exit: cold",
        "End": True,
        "Result": {"reason": "cold"},
        "ResultPath": "$.exit",
        "Type": "Pass",
    }


def test_if_asks_the_shared_evaluator_then_chooses() -> None:
    s = states(
        journey(
            [
                {
                    "if": {"all": [{"attribute": "orders_count", "gte": 1}, {"consent": "sms"}]},
                    "id": "buyer",
                    "then": [{"tag": {"add": ["buyer"]}}],
                }
            ]
        )
    )
    task = s["buyer"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"]["Payload"] == {
        "action": "evaluate",
        "user_id.$": "$.user_id",
        "condition": {"all": [{"attribute": "orders_count", "gte": 1}, {"consent": "sms"}]},
    }
    choice = s["buyer#branch"]
    assert choice["Choices"][0]["Variable"] == "$.last.result"
    assert choice["Default"] == COMPLETED  # nothing after the if: the else side ends the run
    assert s[COMPLETED] == {"Comment": "The journey's steps are done.", "Type": "Succeed"}


def test_an_if_that_is_only_one_send_is_that_send_guarded_by_its_condition() -> None:
    s = states(
        journey(
            [
                {
                    "if": {"consent": "sms"},
                    "id": "sms-ok",
                    "then": [{"send": {"channel": "sms", "template": "t"}, "id": "nudge"}],
                }
            ]
        )
    )
    assert sorted(s) == ["nudge#failed", "sms-ok"]  # no evaluator Task, no Choice, no Completed
    task = s["sms-ok"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"]["FunctionName"] == "${SendSmsFunctionArn}"
    payload = task["Parameters"]["Payload"]
    assert payload["step_id"] == "nudge"  # the message is the send step's, as before
    assert payload[contract.SEND_WHEN] == {"consent": "sms"}
    assert task["End"] is True
    assert task["Catch"][0]["Next"] == "nudge#failed"


SMS = {"send": {"channel": "sms", "template": "t"}, "id": "nudge"}


@pytest.mark.parametrize(
    ("branches", "after", "guarded", "when_false", "unchosen"),
    [
        # the send is the if's only step: false goes on where true does (D22)
        ({"then": [SMS]}, [], True, None, None),
        # the then side goes on after its send: false skips the rest of it (D27)
        ({"then": [SMS, {"tag": {"add": ["x"]}}]}, [], True, "fail", COMPLETED),
        # an else: false runs it
        ({"then": [SMS], "else": [{"exit": "no"}]}, [], True, "fail", "c.else.exit-1"),
        # then empty, the send right after the if: the if guards it, false runs the else
        ({"else": [{"exit": "no"}]}, [SMS], True, "fail", "c.else.exit-1"),
        # not a send first on the then side (and nothing after it), or a send with a fallback
        ({"else": [SMS]}, [], False, None, None),
        ({"then": [{"tag": {"add": ["x"]}}, SMS]}, [], False, None, None),
        (
            {"then": [{"send": {"channel": "sms", "template": "t"}, "fallback": [{"exit": "x"}]}]},
            [],
            False,
            None,
            None,
        ),
        ({"else": [{"exit": "no"}]}, [{"wait": "1d"}, SMS], False, None, None),
    ],
)
def test_an_if_whose_then_side_starts_with_a_plain_send_is_that_send_guarded(
    branches: dict[str, Any],
    after: list[dict[str, Any]],
    guarded: bool,
    when_false: str | None,
    unchosen: str | None,
) -> None:
    s = states(journey([{"if": {"consent": "sms"}, "id": "c", **branches}, *after]))
    assert ("c#branch" not in s) is guarded
    payload = s["c"]["Parameters"]["Payload"]
    assert (contract.SEND_WHEN in payload) is guarded
    assert payload.get(contract.SEND_WHEN_FALSE) == when_false
    catch = s["c"].get("Catch", [])
    caught = [c["Next"] for c in catch if c["ErrorEquals"] == [contract.CONDITION_FALSE_ERROR]]
    assert caught == ([unchosen] if unchosen else [])
    if guarded:
        assert payload["step_id"] == "nudge"  # the message is the send step's
        assert catch[-1] == {"ErrorEquals": ["States.ALL"], "Next": "nudge#failed", "ResultPath": "$.last"}
        assert "nudge" not in s  # no Task of its own: the else side never falls through to it


def test_an_else_that_falls_through_reaches_the_send_unguarded() -> None:
    """``if C else [tag]; send``: true sends (guarded); false tags, then sends whatever C is."""
    s = states(journey([{"if": {"consent": "sms"}, "id": "c", "else": [{"tag": {"add": ["x"]}}]}, SMS]))
    assert sorted(s) == ["ProfileGone", "c", "c.else.tag-1", "nudge", "nudge#failed"]
    guarded, plain, tag = s["c"], s["nudge"], s["c.else.tag-1"]
    assert guarded["Catch"][0] == {
        "ErrorEquals": [contract.CONDITION_FALSE_ERROR],
        "Next": "c.else.tag-1",
        "ResultPath": "$.last",
    }
    assert tag["Next"] == "nudge"
    assert contract.SEND_WHEN not in plain["Parameters"]["Payload"]
    assert [c["ErrorEquals"] for c in plain["Catch"]] == [["States.ALL"]]
    # one step, two states: the same message (step id) and the same failure recorder
    assert guarded["Parameters"]["Payload"]["step_id"] == plain["Parameters"]["Payload"]["step_id"] == "nudge"
    assert guarded.get("End") is plain.get("End") is True


def test_every_example_journey_is_within_1_3x_of_its_floor(examples: dict[str, Journey]) -> None:
    """Floor: one transition per step a run takes; each normal path counted once."""
    by_journey = {}
    for jid, j in examples.items():
        runs = floor.runs(j, compile_journey(j).machine)
        by_journey[jid] = [(r.transitions, r.floor) for r in runs]
        assert sum(r.ratio for r in runs) / len(runs) <= 1.3, (jid, by_journey[jid])
    # the guarded send: the same three states whether the condition holds (4 steps) or not (3)
    assert by_journey["birthday"] == [(3, 4), (3, 3)]
    assert by_journey["membership-expiry"] == [(3, 4), (3, 3)]
    assert by_journey["d12-launch"] == [(3, 4), (3, 3)]
    assert by_journey["post-purchase-cross-sell"] == [(4, 5), (4, 4)]
    # an if with an else: the guarded send's ConditionFalse Catch is the branch (D27); each was
    # one transition over its floor on every path with its Task and Choice
    assert by_journey["dormant-winback"] == [(4, 5), (4, 4)]
    assert by_journey["cart-abandonment"] == [(6, 7), (4, 5), (3, 3)]
    assert by_journey["new-user-7day"] == [(7, 9), (8, 9), (8, 9), (9, 9)]
    assert max(r for runs in by_journey.values() for t, f in runs for r in [t / f]) == 1.0


def test_split_routes_on_the_per_user_bucket() -> None:
    s = states(
        journey(
            [
                {
                    "split": [
                        {"name": "A", "percent": 20, "steps": [{"tag": {"add": ["a"]}}]},
                        {"name": "B", "percent": 30, "steps": [{"tag": {"add": ["b"]}}]},
                        {"name": "C", "percent": 50},
                    ],
                    "id": "ab",
                }
            ]
        )
    )
    choice = s["ab"]
    key = contract.split_key("ab")
    assert [(r["Variable"], r["NumericLessThan"]) for r in choice["Choices"]] == [
        (f"$.buckets.{key}", 2000),
        (f"$.buckets.{key}", 5000),
    ]
    assert choice["Default"] == COMPLETED


def test_tag_set_and_emit_are_one_callback_task_each_that_a_pause_holds() -> None:
    """trigger_eval applies them unless the journey is paused (then held until resumed), and a
    tag or set whose profile is gone (erased) fails into ProfileGone, never recreating it."""
    s = states(
        journey(
            [
                {"tag": {"add": ["b", "a"], "remove": ["c"]}, "id": "swap"},
                {"set": {"intent_level": "high", "score": 3, "vip": None}, "id": "attrs"},
                {"emit": {"type": "lead.qualified", "properties": {"source": "x"}}, "id": "crm"},
            ]
        )
    )
    swap, attrs, crm = s["swap"], s["attrs"], s["crm"]
    assert (swap["Next"], attrs["Next"]) == ("attrs", "crm")
    for task, kind in ((swap, "tag"), (attrs, "set"), (crm, "emit")):
        assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
        assert task["Parameters"]["FunctionName"] == "${TriggerEvalFunctionArn}"
        payload = task["Parameters"]["Payload"]
        assert (payload["action"], payload["kind"], payload["step_id"]) == ("step", kind, task_name(s, task))
        assert payload["token.$"] == "$$.Task.Token"
        assert payload["execution_name.$"] == "$$.Execution.Name"  # the emitted event's id derives from it
        assert task["Catch"] == [
            {"ErrorEquals": ["ProfileGone"], "Next": "ProfileGone", "ResultPath": "$.last"}
        ]
        assert task["TimeoutSeconds"] == contract.SEND_TIMEOUT_SECONDS  # a pause holds it up to 7 days
    assert swap["Parameters"]["Payload"]["change"] == {"add": ["a", "b"], "remove": ["c"]}
    assert attrs["Parameters"]["Payload"]["change"] == {"intent_level": "high", "score": 3, "vip": None}
    assert crm["Parameters"]["Payload"]["change"] == {"type": "lead.qualified", "properties": {"source": "x"}}


def task_name(s: dict[str, Any], task: dict[str, Any]) -> str:
    return next(name for name, state in s.items() if state is task)


def test_wait_until_asks_for_the_next_local_time_then_waits_for_it() -> None:
    s = states(journey([{"wait": {"until": {"time": "10:00", "weekday": "mon"}}, "id": "monday"}]))
    assert s["monday"]["Parameters"]["Payload"] == {
        "action": "next_time",
        "user_id.$": "$.user_id",
        "time": "10:00",
        "weekday": "mon",
        "timezone": "Asia/Shanghai",
    }
    assert s["monday#wait"] == {"Type": "Wait", "TimestampPath": "$.last.until", "End": True}


def test_no_arns_only_placeholders_and_no_routing_pass_states(examples: dict[str, Journey]) -> None:
    for j in examples.values():
        compiled = compile_journey(j)
        text = compiled.asl
        assert "arn:aws:lambda" not in text
        assert "arn:aws:dynamodb" not in text
        assert "arn:aws:events" not in text
        definition = json.loads(text)
        for state in definition["States"].values():
            if state["Type"] == "Pass":
                assert state.get("End") is True
        assert set(compiled.manifest["placeholders"]) <= {
            contract.SEND_EMAIL_FUNCTION,
            contract.SEND_SMS_FUNCTION,
            contract.TRIGGER_EVAL_FUNCTION,
            contract.EVENT_BUS,
        }
        for placeholder in compiled.manifest["placeholders"]:
            assert "${" + placeholder + "}" in text


def test_compiling_is_deterministic_and_versions_follow_content(examples: dict[str, Journey]) -> None:
    first = outputs(compile_journey(j) for j in examples.values())
    second = outputs(compile_journey(j) for j in reversed(list(examples.values())))
    assert first == second
    changed = examples["birthday"].model_copy(update={"name": "Renamed"})
    assert version_of(changed) != version_of(examples["birthday"])


def test_registry_indexes_every_trigger_exit_and_goal(examples: dict[str, Journey]) -> None:
    registry = json.loads(outputs(compile_journey(j) for j in examples.values())["registry.json"])
    index = registry["index"]
    assert index["event"]["user.registered"] == ["new-user-7day"]
    assert index["event"]["cart.updated"] == ["cart-abandonment"]
    assert "dormant-winback" in index["schedule"]
    assert sorted(index["date"]) == ["birthday", "membership-expiry"]
    assert "new-user-7day" in index["exit"]["order.placed"]
    assert "b2b-whitepaper" in index["goal"]["lead.qualified"]
    entry = registry["journeys"]["cart-abandonment"]
    assert entry["entry"] == {"reentry": {"after": "7d"}, "priority": 50, "group": "recovery"}
    assert entry["holdout"] == {"percent": 10.0}
    assert entry["state_machine"] == "touchpoint-cart-abandonment"
