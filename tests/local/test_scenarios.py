"""Scripted test users through every reference journey, on the local cloud: the exact messages
(step, template, status, time) each one gets, and why.

Times are UTC as in the ``--json`` contract; the comments give the users' local times (Shanghai is
UTC+8). The scenarios live in ``tests/local/scenarios/`` and read like the users' stories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from touchpoint.cli import main
from touchpoint.engine.kpi.rates import FUNNEL
from touchpoint.local.results import SimulationResults
from touchpoint.local.scenario import load_scenario
from touchpoint.local.simulator import Simulation, world

SCENARIOS = Path(__file__).parent / "scenarios"
REPO = Path(__file__).resolve().parents[2]

Message = tuple[str, str, str, str, str | None, str]  # journey, step, template, status, reason, at


def messages(results: SimulationResults, user_id: str) -> list[Message]:
    return [
        (m.journey_id, m.step_id, m.template, m.status, m.reason, m.at)
        for m in results.messages
        if m.user_id == user_id
    ]


def executions(results: SimulationResults, user_id: str) -> list[tuple[str, str, str | None, list[str]]]:
    return [
        (e.journey_id, e.status, e.exit_reason, e.path) for e in results.executions if e.user_id == user_id
    ]


def trace(results: SimulationResults, user_id: str, kind: str) -> list[dict[str, Any]]:
    return [
        {"journey_id": t.journey_id, "at": t.at, **t.detail.model_dump()}
        for t in results.trace
        if t.user_id == user_id and t.kind == kind
    ]


def entries(results: SimulationResults, user_id: str) -> list[tuple[str, str, bool, str | None]]:
    return [(t["journey_id"], t["at"], t["entered"], t["reason"]) for t in trace(results, user_id, "entry")]


SENT = "sent"


# --------------------------------------------------------------------------- new-user nurture


def test_quiet_hours_defer_the_welcome_and_a_click_picks_the_advanced_tips(
    reference: SimulationResults,
) -> None:
    assert messages(reference, "qa-nurture") == [
        # registered 23:00, after the 08:00–21:00 window: the welcome waits for 08:00
        ("new-user-7day", "welcome", "welcome", SENT, None, "2026-12-02T00:00:00.000Z"),
        # clicked the welcome at 10:00 → the `engaged` branch two days later
        ("new-user-7day", "tips-advanced", "tips-advanced", SENT, None, "2026-12-04T00:00:00.000Z"),
        ("new-user-7day", "offer", "first-order-offer", SENT, None, "2026-12-06T00:00:00.000Z"),
        # SMS consent → the reminder is a text
        ("new-user-7day", "reminder-sms", "offer-reminder", SENT, None, "2026-12-08T00:00:00.000Z"),
    ]
    assert trace(reference, "qa-nurture", "deferral") == [
        {
            "journey_id": "new-user-7day",
            "at": "2026-12-01T15:00:00.000Z",
            "step_id": "welcome",
            "reason": "send_window",
            "until": "2026-12-02T00:00:00.000Z",
        }
    ]
    assert executions(reference, "qa-nurture") == [
        (
            "new-user-7day",
            "SUCCEEDED",
            "completed",
            [
                "welcome",
                "wait-2",
                "engaged",
                "tips-advanced",
                "wait-4",
                "offer",
                "wait-6",
                "sms-ok",
                "reminder-sms",
            ],
        )
    ]


def test_the_holdout_runs_the_same_path_and_every_send_is_skipped(reference: SimulationResults) -> None:
    assert messages(reference, "qa-holdout") == [
        ("new-user-7day", "welcome", "welcome", "skipped", "holdout", "2026-12-01T02:00:00.000Z"),
        ("new-user-7day", "tips-basic", "tips-basic", "skipped", "holdout", "2026-12-03T02:00:00.000Z"),
        ("new-user-7day", "offer", "first-order-offer", "skipped", "holdout", "2026-12-05T02:00:00.000Z"),
        (
            "new-user-7day",
            "reminder-email",
            "offer-reminder",
            "skipped",
            "holdout",
            "2026-12-07T02:00:00.000Z",
        ),
    ]
    [execution] = [e for e in reference.executions if e.user_id == "qa-holdout"]
    assert execution.holdout is True
    counts = reference.journeys["new-user-7day"].kpis.counts
    assert (counts["entered"], counts["held_out"]) == (4, 1)


def test_the_first_order_ends_the_nurture(reference: SimulationResults) -> None:
    assert messages(reference, "qa-exit") == [
        ("new-user-7day", "welcome", "welcome", SENT, None, "2026-12-01T02:00:00.000Z"),
    ]
    assert executions(reference, "qa-exit") == [
        ("new-user-7day", "ABORTED", "exit:order.placed", ["welcome", "wait-2"])
    ]
    [exited] = trace(reference, "qa-exit", "exited")
    assert exited["at"] == "2026-12-01T22:00:00.000Z"  # the order, 06:00 on 2 December
    goal = reference.journeys["new-user-7day"].goal
    assert goal is not None
    assert (goal.entered, goal.converted) == (3, 1)


# --------------------------------------------------------------------------- cart abandonment


def test_a_coupon_click_in_time_hands_the_lead_to_sales_and_reentry_waits_a_week(
    reference: SimulationResults,
) -> None:
    assert messages(reference, "qa-cart-click") == [
        # cart at 12:00 → 24 h later the coupon; the click at 16:00 resumes the wait at once
        ("cart-abandonment", "coupon", "cart-coupon", SENT, None, "2026-12-02T04:00:00.000Z"),
        # the cart of 9 December is more than 7 days after the first entry: a new run, no click
        ("cart-abandonment", "coupon", "cart-coupon", SENT, None, "2026-12-10T04:00:00.000Z"),
        ("cart-abandonment", "recommend", "similar-products", SENT, None, "2026-12-13T04:00:00.000Z"),
    ]
    assert executions(reference, "qa-cart-click") == [
        (
            "cart-abandonment",
            "SUCCEEDED",
            "completed",
            [
                "wait-1",
                "still-in-cart",
                "coupon",
                "coupon-click",
                "coupon-click.on_event.tag-1",
                "coupon-click.on_event.set-2",
                "hand-to-sales",
            ],
        ),
        (
            "cart-abandonment",
            "SUCCEEDED",
            "completed",
            ["wait-1", "still-in-cart", "coupon", "coupon-click", "recommend"],
        ),
    ]
    assert entries(reference, "qa-cart-click") == [
        ("cart-abandonment", "2026-12-01T04:00:00.000Z", True, None),
        ("cart-abandonment", "2026-12-03T04:00:00.000Z", False, "reentry_wait"),
        ("cart-abandonment", "2026-12-09T04:00:00.000Z", True, None),
    ]


def test_a_click_after_the_timeout_is_too_late(reference: SimulationResults) -> None:
    assert messages(reference, "qa-cart-slow") == [
        ("cart-abandonment", "coupon", "cart-coupon", SENT, None, "2026-12-02T04:00:00.000Z"),
        # 3 days after the coupon, an hour before the click
        ("cart-abandonment", "recommend", "similar-products", SENT, None, "2026-12-05T04:00:00.000Z"),
    ]
    assert executions(reference, "qa-cart-slow")[0][3] == [
        "wait-1",
        "still-in-cart",
        "coupon",
        "coupon-click",
        "recommend",
    ]


# --------------------------------------------------------------------------- caps, canary, groups


def test_the_global_cap_holds_a_third_email_across_journeys(reference: SimulationResults) -> None:
    assert messages(reference, "qa-caps") == [
        ("new-user-7day", "welcome", "welcome", SENT, None, "2026-12-01T04:00:00.000Z"),
        ("birthday", "greeting", "birthday", SENT, None, "2026-12-02T01:00:00.000Z"),
        # due at 11:00 with two marketing emails in the last 24 h: sent when the welcome leaves it
        ("cart-abandonment", "coupon", "cart-coupon", SENT, None, "2026-12-02T04:00:00.000Z"),
        ("new-user-7day", "tips-basic", "tips-basic", SENT, None, "2026-12-03T04:00:00.000Z"),
        ("cart-abandonment", "recommend", "similar-products", SENT, None, "2026-12-05T04:00:00.000Z"),
        ("new-user-7day", "offer", "first-order-offer", SENT, None, "2026-12-05T04:00:00.000Z"),
        ("new-user-7day", "reminder-email", "offer-reminder", SENT, None, "2026-12-07T04:00:00.000Z"),
    ]
    assert trace(reference, "qa-caps", "deferral") == [
        {
            "journey_id": "cart-abandonment",
            "at": "2026-12-02T03:00:00.000Z",
            "step_id": "coupon",
            "reason": "frequency_cap",
            "until": "2026-12-02T04:00:00.000Z",
        }
    ]


def test_canary_test_user_enters_and_a_higher_priority_journey_preempts_it(
    reference: SimulationResults,
) -> None:
    assert messages(reference, "qa-dormant") == [
        ("dormant-winback", "comeback", "winback-offer", SENT, None, "2026-12-01T02:00:00.000Z"),
        ("cart-abandonment", "coupon", "cart-coupon", SENT, None, "2026-12-03T03:00:00.000Z"),
        ("cart-abandonment", "recommend", "similar-products", SENT, None, "2026-12-06T03:00:00.000Z"),
    ]
    assert executions(reference, "qa-dormant") == [
        ("dormant-winback", "ABORTED", "preempted:cart-abandonment", ["comeback", "wait-2"]),
        (
            "cart-abandonment",
            "SUCCEEDED",
            "completed",
            ["wait-1", "still-in-cart", "coupon", "coupon-click", "recommend"],
        ),
    ]
    # the same dormant profile outside the 5% canary: eligible at every daily run, never entered
    skipped = entries(reference, "qa-dormant-2")
    assert len(skipped) == 16
    assert {(journey, entered, reason) for journey, _, entered, reason in skipped} == {
        ("dormant-winback", False, "not_in_rollout")
    }
    assert messages(reference, "qa-dormant-2") == []


# --------------------------------------------------------------------------- the other journeys


def test_post_purchase_guide_and_upgrade(reference: SimulationResults) -> None:
    assert messages(reference, "qa-buyer") == [
        ("post-purchase-cross-sell", "guide", "usage-guide", SENT, None, "2026-12-02T12:00:00.000Z"),
        ("post-purchase-cross-sell", "upgrade", "upgrade-offer", SENT, None, "2026-12-09T12:00:00.000Z"),
    ]


def test_b2b_weekend_waits_for_monday_and_a_click_qualifies_the_lead(reference: SimulationResults) -> None:
    assert messages(reference, "qa-lead") == [
        ("b2b-whitepaper", "followup", "whitepaper-followup", SENT, None, "2026-12-04T09:30:00.000Z"),
        # due Saturday 18:00; the window is Monday to Friday, 09:00–18:00
        ("b2b-whitepaper", "case-study", "case-study", SENT, None, "2026-12-07T01:00:00.000Z"),
    ]
    assert [d["until"] for d in trace(reference, "qa-lead", "deferral")] == ["2026-12-07T01:00:00.000Z"]
    assert executions(reference, "qa-lead")[0][3][-3:] == [
        "case-study-click.on_event.tag-1",
        "case-study-click.on_event.set-2",
        "hand-to-sales",
    ]
    goal = reference.journeys["b2b-whitepaper"].goal
    assert goal is not None
    assert (goal.event, goal.entered, goal.converted) == ("lead.qualified", 1, 1)


def test_birthday_and_membership_expiry_at_nine_local_time(reference: SimulationResults) -> None:
    assert messages(reference, "qa-birthday") == [
        ("birthday", "greeting", "birthday", SENT, None, "2026-12-03T08:00:00.000Z"),  # 09:00 Berlin
        ("birthday", "nudge", "birthday-reminder", SENT, None, "2026-12-06T08:00:00.000Z"),
    ]
    assert messages(reference, "qa-member") == [
        # transactional: sent without email marketing consent, 7 days before 10 December
        ("membership-expiry", "notice", "membership-expiry", SENT, None, "2026-12-03T01:00:00.000Z"),
        ("membership-expiry", "offer", "renewal-offer", SENT, None, "2026-12-05T01:00:00.000Z"),
    ]


def test_scripted_users_get_delivered_feedback_only(reference: SimulationResults) -> None:
    counts = reference.journeys["post-purchase-cross-sell"].kpis.counts
    assert (counts["sent"], counts["delivered"], counts.get("opened", 0)) == (2, 2, 0)
    assert reference.rejected_events == []


# --------------------------------------------------------------------------- the campaign plan


def test_double_12_stages(double12: SimulationResults) -> None:
    assert messages(double12, "qa-shopper") == [
        ("d12-warmup", "teaser", "d12-teaser", SENT, None, "2026-12-05T02:00:00.000Z"),
        ("d12-launch", "coupon", "d12-coupon", SENT, None, "2026-12-09T02:00:00.000Z"),
        ("d12-launch", "reminder", "d12-coupon-reminder", SENT, None, "2026-12-11T02:00:00.000Z"),
        ("d12-sustain", "live", "d12-live", SENT, None, "2026-12-12T02:00:00.000Z"),
        # took part → in the review's audience (participants)
        ("d12-review", "survey", "d12-survey", SENT, None, "2026-12-14T02:00:00.000Z"),
    ]
    assert messages(double12, "qa-claimer") == [
        ("d12-warmup", "teaser", "d12-teaser", SENT, None, "2026-12-05T02:00:00.000Z"),
        ("d12-launch", "coupon", "d12-coupon", SENT, None, "2026-12-09T02:00:00.000Z"),
        ("d12-review", "survey", "d12-survey", SENT, None, "2026-12-14T02:00:00.000Z"),
    ]
    assert ("d12-launch", "ABORTED", "exit:coupon.claimed", ["coupon", "wait-2"]) in executions(
        double12, "qa-claimer"
    )
    assert messages(double12, "qa-employee") == []
    assert executions(double12, "qa-employee") == []
    # staff took part in no stage, so the review (audience: participants) skips them too
    assert ("d12-review", "2026-12-14T02:00:00.000Z", False, "not_a_participant") in entries(
        double12, "qa-employee"
    )


def test_the_campaign_goal_counts_participants_once_and_sums_their_orders(
    double12: SimulationResults,
) -> None:
    plan = double12.campaigns["d12"]
    assert [(s.id, s.journey, s.participants) for s in plan.stages] == [
        ("warmup", "d12-warmup", 2),  # the shopper and the claimer; both enter later stages too
        ("launch", "d12-launch", 0),
        ("sustain", "d12-sustain", 0),
        ("review", "d12-review", 0),
    ]
    goal = plan.goal
    assert goal is not None
    assert (goal.participants, goal.converted, goal.revenue, goal.verdict) == (2, 1, 268.0, "not_enough_data")
    assert [(s.from_, s.until) for s in plan.stages] == [
        ("2026-12-05T00:00:00+08:00", "2026-12-09T00:00:00+08:00"),
        ("2026-12-09T00:00:00+08:00", "2026-12-11T00:00:00+08:00"),
        ("2026-12-12T00:00:00+08:00", "2026-12-13T00:00:00+08:00"),
        ("2026-12-13T00:00:00+08:00", "2026-12-16T00:00:00+08:00"),
    ]


def test_feedback_on_a_message_never_sent_is_rejected_with_its_reason(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"""
start: 2026-12-01T00:00:00+08:00
duration: 2d
journeys: {REPO / "journeys" / "new-user-7day.yaml"}
users:
  - id: qa-1
    profile: {{email: qa1@example.com, timezone: Asia/Shanghai, consent: {{email: true}}}}
    events:
      - {{at: 10h, type: user.registered}}
      - {{at: 11h, type: email.clicked, properties: {{journey_id: new-user-7day, step_id: offer}}}}
""",
        encoding="utf-8",
    )
    results = Simulation(load_scenario(scenario), tmp_path).run()
    [rejected] = results.rejected_events
    assert rejected.reason == "qa-1 was sent no message by new-user-7day/offer before this"
    assert isinstance(rejected.event, dict)
    assert rejected.event["type"] == "email.clicked"
    assert [m[1] for m in messages(results, "qa-1")] == ["welcome"]


# --------------------------------------------------------------------------- CLI: simulate, why


def test_why_explains_the_deferral_and_the_branch(
    reference: SimulationResults, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.json"
    results.write_text(reference.to_json(), encoding="utf-8")
    code = main(["why", "qa-caps", "--scenario", str(SCENARIOS / "reference.yaml"), "--json", str(results)])
    out = capsys.readouterr().out
    assert code == 0
    assert "coupon: deferred — frequency cap reached" in out
    assert ", until 2026-12-02 04:00 UTC" in out
    assert "branch engaged: no" in out
    code = main(
        [
            "why",
            "qa-dormant-2",
            "--journey",
            "dormant-winback",
            "--scenario",
            str(SCENARIOS / "reference.yaml"),
            "--json",
            str(results),
        ]
    )
    out = capsys.readouterr().out
    assert "did not enter (schedule): outside the canary's rollout percentage" in out


def test_a_broken_scenario_names_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "broken.yaml"
    scenario.write_text(
        "start: 2026-12-01T00:00:00+08:00\nduration: 2d\nusers:\n  - id: qa-1\n    events:\n"
        "      - {at: soon, type: user.registered}\n",
        encoding="utf-8",
    )
    assert main(["simulate", str(scenario)]) == 1
    err = capsys.readouterr()
    assert f"{scenario}:6 users[0].events[0].at: " in err.out + err.err
    assert '"soon" is not an offset' in err.out + err.err


def test_same_scenario_and_seed_give_byte_identical_json(tmp_path: Path) -> None:
    """Two separate processes (fresh interpreters, hash seeds apart), a synthetic population."""
    scenario = tmp_path / "small.yaml"
    scenario.write_text(
        f"""
start: 2026-12-03T00:00:00+08:00
duration: 4d
seed: 11
journeys: {REPO / "journeys"}
settings: {{date_sweep_minutes: 60}}
users:
  - id: qa-1
    profile: {{email: qa1@example.com, timezone: Asia/Shanghai, consent: {{email: true}}}}
    events:
      - {{at: 1h, type: user.registered}}
population: {{count: 6}}
""",
        encoding="utf-8",
    )
    runs = []
    for n, hash_seed in enumerate(("1", "2")):
        out = tmp_path / f"run{n}.json"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        runs.append(
            (
                out,
                subprocess.Popen(
                    [sys.executable, "-m", "touchpoint.cli", "simulate", str(scenario), "--json", str(out)],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                ),
            )
        )
    for _, process in runs:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
    first, second = (out.read_bytes() for out, _ in runs)
    assert first == second
    results = SimulationResults.model_validate_json(first)
    assert results.scenario.users == 7
    assert len(results.messages) > 0


def test_the_report_of_a_real_run_shows_what_each_test_user_got(reference: SimulationResults) -> None:
    from tests.local.test_report_html import parse
    from touchpoint.journey.loader import load_project
    from touchpoint.local import report

    scenario = load_scenario(SCENARIOS / "reference.yaml")
    journeys = {j.id: j for _, j in load_project(scenario.journey_paths(SCENARIOS)).valid()}
    root = parse(report.render(reference, journeys))
    for user in reference.scenario.scripted_users:
        shown = [
            (e.attrs["data-journey"], e.attrs["data-step"], e.attrs["data-status"], e.attrs["data-at"])
            for e in root.by_id(f"timeline-{user}").find_all("li", "event")
        ]
        assert shown == [(m[0], m[1], m[3], m[5]) for m in messages(reference, user)], user
    coupon = next(
        e for e in root.by_id("timeline-qa-caps").find_all("li", "event") if e.attrs["data-step"] == "coupon"
    )
    assert coupon.attrs["data-deferred"] == "frequency_cap"
    for journey_id, data in reference.journeys.items():
        funnel = root.by_id(f"journey-{journey_id}").one("svg", "funnel", data_journey=journey_id)
        bars = {b.attrs["data-stage"]: int(b.attrs["data-value"]) for b in funnel.find_all("rect", "bar")}
        assert bars == {stage: data.kpis.counts.get(stage, 0) for stage in FUNNEL}, journey_id


def test_a_kpi_below_its_floor_raises_an_alert_at_the_rollup(tmp_path: Path) -> None:
    import shutil

    journeys = tmp_path / "journeys"
    shutil.copytree(REPO / "journeys", journeys)
    nurture = journeys / "new-user-7day.yaml"
    text = nurture.read_text(encoding="utf-8")
    assert "open_rate: {target: 0.35, floor: 0.15}" in text
    nurture.write_text(
        text.replace(
            "open_rate: {target: 0.35, floor: 0.15}", "open_rate: {target: 0.35, floor: 0.15, min_sample: 3}"
        ),
        encoding="utf-8",
    )
    users = "".join(
        f"""
  - id: {user}
    profile: {{email: {user}@example.com, timezone: Asia/Shanghai, consent: {{email: true}}}}
    events: [{{at: 10h, type: user.registered}}]"""
        for user in ("qa-a", "qa-b", "qa-c", "qa-d")
    )
    scenario = tmp_path / "alerts.yaml"
    scenario.write_text(
        "start: 2026-12-01T00:00:00+08:00\nduration: 3d\n"
        f"journeys: journeys/new-user-7day.yaml\nusers:{users}\n",
        encoding="utf-8",
    )
    results = Simulation(load_scenario(scenario), tmp_path).run()
    assert [(a.journey_id, a.kpi, a.status, a.condition, a.value) for a in results.alerts] == [
        ("new-user-7day", "open_rate", "breached", "below_floor", 0.0)
    ]
    sample = results.alerts[0].sample
    assert sample is not None
    assert sample >= 3


def test_the_bundle_ships_the_journeys_kpi_rollup_reads_channels_from(tmp_path: Path) -> None:
    """Without the journey sources in the bundle every failed send is ignored by the rollup."""
    from touchpoint.aws.kpis import load_send_steps

    path = SCENARIOS / "reference.yaml"
    bundle = world.bundle(load_scenario(path), path.parent, tmp_path).root
    steps = load_send_steps(bundle / "journeys", ["new-user-7day", "birthday"])
    assert steps["new-user-7day"]["welcome"] == "email"
    assert steps["birthday"] == {"greeting": "email", "nudge": "sms"}
