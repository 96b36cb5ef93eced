"""`touchpoint cost`: a journey's monthly AWS cost from its compiled paths and the price table,
checked against figures worked out by hand for a small journey (tests/golden/valid/wait-for-click:
a send, a wait_for of a click with a tag on the click and a second send on the timeout)."""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from touchpoint.cli.main import main
from touchpoint.compiler.build import compile_journey
from touchpoint.journey.loader import load_project
from touchpoint.local.journey_cost import paths

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
