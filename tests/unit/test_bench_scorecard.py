"""The bench's scorecard from given figures (no timing): every goal listed, statuses decided only
where the measurement answers the goal, and the files `make bench` writes (bench/results/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.scorecard import GOALS, Measured, markdown, scorecard, write

MACHINE = {"commit": "abc123", "cpus": 2}


def by_key(document: dict[str, object]) -> dict[str, dict[str, object]]:
    figures = document["figures"]
    assert isinstance(figures, list)
    return {f["key"]: f for f in figures}


def test_every_goal_is_listed_and_the_unmeasured_say_why() -> None:
    document = scorecard({}, MACHINE)
    assert [f["key"] for f in document["figures"]] == [g.key for g in GOALS]
    for figure in document["figures"]:
        assert figure["measured"] is None
        assert figure["status"] == "not measured"
        assert figure["detail"]
        assert set(figure) == {"key", "figure", "goal", "unit", "measured", "status", "detail"}
    assert document["machine"] == MACHINE


def test_statuses() -> None:
    document = scorecard(
        {
            "orchestration_per_1000": Measured(0.164, "demo"),
            "transitions_vs_floor": Measured(1.51, "dormant-winback"),
            # 200 users in 10 s says nothing of 10,000 users in 60 s ...
            "simulate_10000": Measured(10.0, "200 users", caveat="goal is for 10,000", bound="lower"),
            # ... but a lower bound already over the goal misses, and an upper bound within it passes
            "cold_import": Measured(800, "send_email", caveat="source tree", bound="lower"),
            "simulate_100000": Measured(590, "200,000 users", caveat="goal is for 100,000", bound="upper"),
        },
        MACHINE,
    )
    status = {key: f["status"] for key, f in by_key(document).items()}
    assert status["orchestration_per_1000"] == "pass"
    assert status["transitions_vs_floor"] == "miss"
    assert status["simulate_10000"] == "not judged"
    assert status["cold_import"] == "miss"
    assert status["simulate_100000"] == "pass"
    assert by_key(document)["simulate_10000"]["detail"] == "200 users; goal is for 10,000"


def test_a_figure_without_a_goal_is_refused() -> None:
    with pytest.raises(KeyError, match="no_such_figure"):
        scorecard({"no_such_figure": Measured(1.0)}, MACHINE)


def test_write_makes_the_directory_and_both_files(tmp_path: Path) -> None:
    document = scorecard({"orchestration_per_1000": Measured(0.1614, "demo | 200 users")}, MACHINE)
    as_json, as_md = write(document, tmp_path / "results")
    assert json.loads(as_json.read_text(encoding="utf-8")) == document
    table = as_md.read_text(encoding="utf-8")
    assert table == markdown(document)
    lines = table.splitlines()
    assert lines[0] == "| figure | goal | measured | status | how / why not |"
    rows = [line for line in lines[2:] if line.startswith("| ")]
    assert len(rows) == len(GOALS)
    assert (
        "| orchestration cost per 1,000 user-journeys, excluding SES/SMS (the demo's mix) | ≤ $0.20 "
        "| $0.1614 | pass | demo \\| 200 users |"
    ) in rows
    assert lines[-1] == "Measured on: commit abc123, cpus 2."
