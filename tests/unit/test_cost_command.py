"""`touchpoint cost`: a journey's monthly AWS cost from its compiled paths and the price table,
checked against figures worked out by hand for a small journey (tests/golden/valid/wait-for-click:
a send, a wait_for of a click with a tag on the click and a second send on the timeout)."""

from __future__ import annotations

import json
import lzma
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from touchpoint.cli.main import main
from touchpoint.compiler.build import compile_journey
from touchpoint.journey.loader import load_project
from touchpoint.local.journey_cost import Run, measured, paths

JOURNEY = REPO / "tests" / "golden" / "valid" / "wait-for-click.yaml"

# Per user-journey, with the prices and per-invocation units of touchpoint/local/pricing.py:
# 3 states: 3 × $0.025/1000 = 75e-6. 4 Lambda invocations at 512 MB (entry, send, register_wait, and a
# tag step or a second send): 4 × ($0.20/1e6 + 0.12 s × 0.5 GB × $0.0000133334) = 4.000016e-6.
CLICKED = 75e-6 + 4.000016e-6 + 8.26 * 0.125e-6 + 17.18 * 0.625e-6 + 2.25e-6  # = 93.020016e-6
# entry (2, 4.24, 1.02) + send (5.26, 11.2, 0.91) + register_wait (0, 1, 0) + step (1, 0.74, 0.32)
TIMED_OUT = 75e-6 + 4.000016e-6 + 12.52 * 0.125e-6 + 27.64 * 0.625e-6 + 2.84e-6  # = 100.680016e-6
# entry + send + register_wait + send (5.26, 11.2, 0.91)


def test_each_path_bills_what_its_states_do() -> None:
    (_, journey), *_ = load_project([JOURNEY]).valid()
    clicked, timed_out = paths(compile_journey(journey).machine)
    assert clicked.steps == ["offer", "wait_for-2", "wait_for-2.on_event.tag-1"]
    assert timed_out.steps == ["offer", "wait_for-2", "nudge"]
    for usage in (clicked, timed_out):
        assert usage.transitions == 3
    assert dict(clicked.invocations) == {"trigger_eval": 3, "send_email": 1}
    assert dict(timed_out.invocations) == {"trigger_eval": 2, "send_email": 2}
    assert (clicked.reads, clicked.writes, clicked.events) == pytest.approx((8.26, 17.18, 2.25))
    assert (timed_out.reads, timed_out.writes, timed_out.events) == pytest.approx((12.52, 27.64, 2.84))
    assert clicked.cost()["total"] == pytest.approx(CLICKED, rel=1e-12)
    assert timed_out.cost()["total"] == pytest.approx(TIMED_OUT, rel=1e-12)
    assert clicked.cost()["step_functions"] == pytest.approx(75e-6)


def test_the_command_prints_the_monthly_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", str(JOURNEY), "--users", "1,000", "--months", "12"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("wait-for-click: 1,000 users entering a month, 2 paths (")
    assert "free tiers ignored" in out[0]
    assert out[2].split()[:5] == ["offer", "→", "wait_for-2", "→", "wait_for-2.on_event.tag-1"]
    assert out[2].split()[5:] == ["3", "4", "8.26/17.18", "2.25", "$0.00009302", "$0.0930"]
    assert out[3].split()[-6:] == ["3", "4", "12.52/27.64", "2.84", "$0.00010068", "$0.1007"]
    # 1,000 × 93.020016e-6 = $0.0930 and 1,000 × 100.680016e-6 = $0.1007; × 12 = $1.1162 and $1.2082
    assert (
        out[4]
        == "per month: $0.0930 to $0.1007 (every user on the cheapest path to every user on the dearest)"
    )
    assert out[5] == "over 12 months: $1.1162 to $1.2082"


def test_an_unknown_journey_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "no-such-journey", "--users", "1", "--journeys", str(JOURNEY.parent)]) == 2
    assert 'no journey "no-such-journey"' in capsys.readouterr().err


def test_a_guarded_send_with_an_else_prices_both_sides() -> None:
    """if-else-exit: wait, then the offer guarded by the if (D27); false is caught into the exit."""
    (_, journey), *_ = load_project([REPO / "tests" / "golden" / "valid" / "if-else-exit.yaml"]).valid()
    found = list(paths(compile_journey(journey).machine))
    assert [(u.steps, u.transitions, dict(u.invocations)) for u in found] == [
        (["wait-1", "if-2"], 2, {"trigger_eval": 1, "send_email": 1}),
        (["wait-1", "if-2", "if-2.else.exit-1"], 3, {"trigger_eval": 1, "send_email": 1}),
    ]


def test_executions_are_priced_as_the_paths_they_took() -> None:
    """The simulator's per-journey figure and ``cost`` share one pricing: an execution that took
    a path (no retries) costs what that path costs; a retried Task attempt costs one more run."""
    (_, journey), *_ = load_project([JOURNEY]).valid()
    machine = compile_journey(journey).machine
    clicked, timed_out = paths(machine)
    runs = [
        Run(3, ("offer", "wait_for-2", "wait_for-2.on_event.tag-1")),
        Run(3, ("offer", "wait_for-2", "nudge")),
    ]
    both = measured(machine, runs)
    assert both.transitions == 6
    assert both.cost()["total"] == pytest.approx(
        clicked.cost()["total"] + timed_out.cost()["total"], rel=1e-12
    )
    retried = measured(machine, [Run(3, ("offer", "offer", "wait_for-2", "nudge"))])
    assert retried.invocations == {"trigger_eval": 2, "send_email": 3}
    assert retried.cost()["lambda"] == pytest.approx(timed_out.cost()["lambda"] * 5 / 4, rel=1e-12)


def _report(tmp_path: Path, by_journey: dict[str, Any], name: str = "report.json") -> Path:
    document = {
        "scenario": {"start": "2026-12-01T00:00:00Z", "end": "2026-12-31T00:00:00Z", "seed": 7, "users": 300},
        "aws": {"by_journey": by_journey},
    }
    raw = json.dumps(document).encode()
    path = tmp_path / name
    path.write_bytes(lzma.compress(raw) if name.endswith(".xz") else raw)
    return path


@pytest.mark.parametrize("name", ["report.json", "demo.json.xz"])
def test_measured_adds_the_simulated_figure_beside_the_range(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {
        "user_journeys": 200,
        "running": 12,
        "state_transitions": 700,
        "lambda_invocations": 900,
        "cost_usd": {
            "step_functions": 0.0175,
            "lambda": 0.0002,
            "dynamodb": 0.001,
            "eventbridge": 0.0004,
            "total": 0.0191,
        },
        "cost_per_1000_user_journeys_usd": 0.0955,
    }
    report = _report(tmp_path, {"wait-for-click": entry}, name)
    assert main(["cost", str(JOURNEY), "--users", "1,000", "--measured", str(report)]) == 0
    out = capsys.readouterr().out.splitlines()
    # $0.0191 / 200 = $0.0000955 a user-journey: $0.0955 for 1,000, within $0.0930 to $0.1007
    assert out[5] == (
        "measured in the simulation (2026-12-01T00:00:00Z to 2026-12-31T00:00:00Z, seed 7, 300 users): "
        "200 user-journeys (12 still running at its end, counted as far as they got), "
        "3.50 transitions and 4.50 Lambda invocations each, $0.0955 per 1,000 "
        "user-journeys: $0.0955 a month for 1,000 users (within the range; the simulation's paths "
        "include retries and failures, and the mix of paths its users took)"
    )


def test_a_report_without_the_journey_or_its_figures_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = _report(tmp_path, {"birthday": {}})
    assert main(["cost", str(JOURNEY), "--users", "1", "--measured", str(other)]) == 1
    assert capsys.readouterr().err == f"{other}: the run had no journey 'wait-for-click'\n"
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"scenario": {}, "aws": {}}))
    assert main(["cost", str(JOURNEY), "--users", "1", "--measured", str(old)]) == 1
    assert "no per-journey figures (aws.by_journey)" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["cost", str(JOURNEY), "--users", "1", "--measured", str(broken)]) == 1
    assert "not a readable simulation report" in capsys.readouterr().err
