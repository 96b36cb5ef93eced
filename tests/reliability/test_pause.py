"""An operator pauses journeys mid-run, resumes one and stops another (R13), on 1,000 synthetic
users: nothing a paused journey does reaches anyone (no send, tag, set or emit step runs), the
held sends and steps go on after resume, none lost; after stop nothing more."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.reliability.conftest import Figures
from tests.reliability.simulate import START, Ran, run, scenario
from touchpoint.engine.trigger import TriggerEval
from touchpoint.engine.trigger.actions import StepAction

PAUSED = ("cart-abandonment", "b2b-whitepaper")
PAUSE, RESUME, STOP = (
    START + dt.timedelta(days=1, hours=10),
    START + dt.timedelta(days=2, hours=10),
    START + dt.timedelta(days=3),
)


@pytest.fixture(scope="module")
def steps() -> list[tuple[dt.datetime, str, str, str]]:
    return []


@pytest.fixture(scope="module")
def paused(steps: list[tuple[dt.datetime, str, str, str]]) -> Ran:
    """The real run, with every tag/set/emit step's outcome written down as it happens."""
    original = TriggerEval.journey_step

    def recorded(self: TriggerEval, step: StepAction, function_arn: str) -> str:
        status = original(self, step, function_arn)
        steps.append((self.clock.now(), step.journey_id, f"{step.execution}:{step.step_id}", status))
        return status

    patch = pytest.MonkeyPatch()
    patch.setattr(TriggerEval, "journey_step", recorded)
    operations: list[dict[str, Any]] = [{"at": "1d10h", "pause": j} for j in PAUSED]  # 10:00, local
    operations += [{"at": "2d10h", "resume": "cart-abandonment"}, {"at": "3d", "stop": "new-user-7day"}]
    clicker = {  # gets the coupon just before the pause and clicks it during: its tag step is held
        "id": "qa-pause",
        "profile": {"email": "pause@example.com", "timezone": "Asia/Shanghai", "consent": {"email": True}},
        "events": [
            {"at": "9h", "type": "cart.updated", "properties": {"items": 1, "value": 99}},
            {
                "at": "1d11h",
                "type": "email.clicked",
                "properties": {"journey_id": "cart-abandonment", "step_id": "coupon"},
            },
        ],
    }
    data = scenario(days=5, behaviour={"click": 0.6, "open": 0.6}, scripted=[clicker])
    data["operations"] = operations
    try:
        return run(data)
    finally:
        patch.undo()


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_paused_journey_sends_nothing_and_runs_no_step(
    paused: Ran, steps: list[tuple[dt.datetime, str, str, str]]
) -> None:
    for message in paused.messages:
        if message["journey_id"] in PAUSED and message["status"] in ("sent", "sent_unconfirmed"):
            resumed = (
                RESUME
                if message["journey_id"] == "cart-abandonment"
                else dt.datetime.max.replace(tzinfo=dt.UTC)
            )
            assert not PAUSE <= _at(message["at"]) < resumed, message
    applied = [(at, j) for at, j, _, status in steps if status == "done" and j in PAUSED]
    assert applied, "the journeys ran tag/emit steps before the pause"
    for at, journey_id in applied:
        resumed = RESUME if journey_id == "cart-abandonment" else dt.datetime.max.replace(tzinfo=dt.UTC)
        assert not PAUSE <= at < resumed, (at, journey_id)
    held = {key for _, j, key, status in steps if status == "held"}
    assert any(key.endswith(":coupon-click.on_event.tag-1") for key in held)  # the scripted click's
    assert len(held) >= 2  # steps reached during the pause were held, not run (clicks on earlier mail)


def test_held_sends_and_steps_go_on_after_resume_and_none_is_lost(
    paused: Ran, steps: list[tuple[dt.datetime, str, str, str]], figures: Figures
) -> None:
    held = {key: j for _, j, key, status in steps if status == "held"}
    done = {key for _, _, key, status in steps if status == "done"}
    resumed = [key for key, journey in held.items() if journey == "cart-abandonment"]
    assert resumed
    assert all(key in done for key in resumed)  # each held step of the resumed journey ran, once
    deferred = {
        (t["user_id"], t["detail"]["step_id"])
        for t in paused.report["trace"]
        if t["kind"] == "deferral"
        and t["detail"]["reason"] == "paused"
        and t["journey_id"] == "cart-abandonment"
    }
    assert deferred
    after = {
        (m["user_id"], m["step_id"])
        for m in paused.messages
        if m["journey_id"] == "cart-abandonment" and _at(m["at"]) >= RESUME
    }
    assert deferred <= after  # every held send went out (or was skipped with its reason) after resume
    figures.record(
        "pause mid-run, resume one journey, stop another",
        held_steps=len(held),
        held_sends=len(deferred),
        run_while_paused=0,
        lost=0,
        sent_after_stop=0,
    )


def test_nothing_after_stop(paused: Ran) -> None:
    late = [
        m
        for m in paused.messages
        if m["journey_id"] == "new-user-7day" and m["status"] == "sent" and _at(m["at"]) >= STOP
    ]
    assert late == []
    running = [
        e
        for e in paused.report["executions"]
        if e["journey_id"] == "new-user-7day" and e["status"] == "RUNNING"
    ]
    assert running == []
