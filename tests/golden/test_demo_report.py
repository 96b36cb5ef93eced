"""The demo scenario's reports, to the byte: what `make demo` writes must not change by accident.

A refactor must leave both files identical; a change that means to alter a report regenerates the
goldens with ``TOUCHPOINT_UPDATE_GOLDENS=1 pytest tests/golden/test_demo_report.py`` and says in
its commit what changed and why. The goldens are xz-compressed (the JSON is ~10 MB)."""

from __future__ import annotations

import json
import lzma

import pytest

from tests.conftest import GOLDEN, REPO, UPDATE_GOLDENS
from touchpoint import cli

REPORTS = GOLDEN / "reports"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("demo")
    argv = ["simulate", str(REPO / "scenarios" / "demo.yaml"), "--json", str(out / "report.json")]
    assert cli.main([*argv, "--html", str(out / "report.html")]) == 0
    return {name: (out / f"report.{name}").read_text(encoding="utf-8") for name in ("json", "html")}


def _first_difference(expected: str, actual: str) -> str:
    for n, (a, b) in enumerate(zip(expected.splitlines(), actual.splitlines(), strict=False), 1):
        if a != b:
            return f"line {n}:\n  golden {a[:300]!r}\n  now    {b[:300]!r}"
    return f"the lengths differ: golden {len(expected)} characters, now {len(actual)}"


@pytest.mark.parametrize("name", ["json", "html"])
def test_the_demo_report_is_byte_identical_to_its_golden(demo: dict[str, str], name: str) -> None:
    golden = REPORTS / f"demo.{name}.xz"
    if UPDATE_GOLDENS:
        golden.write_bytes(lzma.compress(demo[name].encode("utf-8"), preset=9))
    assert golden.exists(), f"{golden} is missing; run with TOUCHPOINT_UPDATE_GOLDENS=1"
    expected = lzma.decompress(golden.read_bytes()).decode("utf-8")
    if demo[name] != expected:
        pytest.fail(f"report.{name} differs from {golden.name}: {_first_difference(expected, demo[name])}")


def test_the_per_journey_costs_add_up_to_the_run(demo: dict[str, str]) -> None:
    """Every transition is some journey's execution's, and every execution some journey's (D27)."""
    document = json.loads(demo["json"])
    aws, by_journey = document["aws"], document["aws"]["by_journey"]
    assert sorted(by_journey) == document["scenario"]["journeys"]
    assert sum(j["state_transitions"] for j in by_journey.values()) == aws["state_transitions"]
    assert sum(j["user_journeys"] for j in by_journey.values()) == len(document["executions"])
    for journey in by_journey.values():
        parts = journey["cost_usd"]
        total = parts["step_functions"] + parts["lambda"] + parts["dynamodb"] + parts["eventbridge"]
        assert abs(parts["total"] - total) < 2e-6  # each part rounded to 6 places
