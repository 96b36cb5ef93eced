"""Every command, given a wrong name or a missing file: one line on stderr, exit code 2, no
traceback (issue: a CLI that never shows a traceback). And every argument says what it is for."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import JOURNEYS, REPO
from touchpoint.cli import main
from touchpoint.cli.main import INTERNAL_EXIT, parser
from touchpoint.cli.output import USAGE_EXIT

TYPO, FIXED = 'no journey "new-user-7dya" in journeys/', '"new-user-7day"'
NO_REGION = "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)"

SCENARIO = f"""start: 2026-12-01T00:00:00+08:00
duration: 1d
seed: 7
journeys: {JOURNEYS}
population: {{count: 3}}
users:
  - id: qa-1
    profile: {{email: qa1@example.com, timezone: Asia/Shanghai, consent: {{email: true}}}}
    events:
      - {{at: 1h, type: user.registered}}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny simulation and its results, for ``why``."""
    folder = tmp_path_factory.mktemp("why")
    scenario, results = folder / "s.yaml", folder / "results.json"
    scenario.write_text(SCENARIO, encoding="utf-8")
    other = folder / "other.yaml"
    other.write_text(SCENARIO.replace("seed: 7", "seed: 8"), encoding="utf-8")
    assert main(["simulate", str(scenario), "--json", str(results)]) == 0
    return scenario, results


def _cases(scenario: Path, results: Path) -> list[tuple[list[str], str]]:
    s, r, other = str(scenario), str(results), str(scenario.with_name("other.yaml"))
    return [
        (
            ["graph", "new-user-7dya"],
            'no journey "new-user-7dya" in journeys/; did you mean "new-user-7day"?',
        ),
        (["graph", "course-promoo"], 'no journey "course-promoo" in journeys/; the journeys there: b2b-'),
        (["graph", "journeys/nosuch.yaml"], "no journey file journeys/nosuch.yaml"),
        (["validate", "journeys/new-user-7dya.yaml"], 'did you mean "journeys/new-user-7day.yaml"?'),
        (["compile", "--journeys", "jorneys"], "no journeys directory jorneys; pass --journeys DIR"),
        (
            ["simulate", "scenarios/dmeo.yaml"],
            'no scenario file scenarios/dmeo.yaml; did you mean "scenarios/demo.yaml"?',
        ),
        (["why", "qa-1", "--scenario", "scenarios/nosuch.yaml"], "no scenario file scenarios/nosuch.yaml"),
        (
            ["why", "qa-11", "--scenario", s, "--json", r],
            'no user "qa-11" in this simulation; did you mean "qa-1"?',
        ),
        (["why", "nobody", "--scenario", s, "--json", r], "its users are qa-1 and u00000 … u00002"),
        (
            ["why", "qa-1", "--scenario", s, "--json", r, "--journey", "new-user-7dya"],
            'no journey "new-user-7dya" in this simulation; did you mean "new-user-7day"?',
        ),
        (["why", "qa-1", "--scenario", s, "--json", r + ".missing"], f"no results file {r}.missing"),
        (["why", "qa-1", "--scenario", other, "--json", r], "came from another scenario (start"),
        (
            ["pause", "new-user-7dya"],
            'no journey "new-user-7dya" in journeys/; did you mean "new-user-7day"?',
        ),
        (["resume", "cart-abandon"], 'did you mean "cart-abandonment"?'),
        (["stop", "no-such-journey"], 'no journey "no-such-journey" in journeys/'),
        (["status", "birthdy"], 'did you mean "birthday"?'),
        (
            ["preview", "birthdy", "--profile", "x.yaml"],
            'no journey "birthdy" in journeys/; did you mean "birthday"?',
        ),
        (
            ["preview", "birthday", "greting", "--profile", "x.yaml"],
            'birthday has no send step "greting"; did',
        ),
        (["preview", "birthday", "--profile", "nosuch.yaml"], "no profile file nosuch.yaml"),
        (["preview", "birthday", "--user", "qa-11", "--scenario", s], 'no user "qa-11" in'),
        (["preview", "birthday"], "give --profile FILE, or --user ID with --scenario FILE"),
        (
            ["send-test", "new-user-7day", "welcome", "--to", "qa@example.com", "--profile", "nosuch.yaml"],
            "no profile file nosuch.yaml",
        ),
    ]


def test_every_wrong_name_or_missing_file_is_one_line_and_exit_2(
    run: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    capsys.readouterr()
    commands = set()
    for argv, expected in _cases(*run):
        assert main(argv) == USAGE_EXIT, argv
        out, err = capsys.readouterr()
        assert out == "", argv
        lines = [line for line in err.splitlines() if not line.startswith("Simulating ")]
        assert len(lines) == 1, (argv, err)
        assert lines[0].startswith("touchpoint: "), (argv, err)
        assert expected in lines[0], (argv, lines[0])
        assert "Traceback" not in err
        commands.add(argv[0])
    assert commands == {"graph", "validate", "compile", "simulate", "why", "send-test", "preview"} | {
        "pause",
        "resume",
        "stop",
        "status",
    }


def test_aws_commands_without_a_region_say_what_to_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    for argv in (["status", "birthday"], ["privacy", "export", "qa-1"]):
        assert main(argv) == USAGE_EXIT
        assert (
            capsys.readouterr().err == "touchpoint: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)\n"
        )


def test_an_internal_error_is_one_line_with_exit_70_and_the_traceback_on_request(tmp_path: Path) -> None:
    results = tmp_path / "r.json"
    results.write_text("{}", encoding="utf-8")
    # a bug stand-in: a results file that is a directory makes read_text raise IsADirectoryError
    argv = [sys.executable, "-m", "touchpoint.cli", "why", "qa-1", "--scenario", "scenarios/demo.yaml"]
    argv += ["--json", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "TOUCHPOINT_DEBUG"}
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == INTERNAL_EXIT
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("touchpoint: internal error: IsADirectoryError")
    debug = subprocess.run(
        argv, cwd=REPO, env={**env, "TOUCHPOINT_DEBUG": "1"}, capture_output=True, text=True, check=False
    )
    assert "Traceback (most recent call last)" in debug.stderr


def test_every_argument_of_every_command_has_help_text() -> None:
    missing = []
    for action in parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                assert sub.description or sub.format_help()
                missing += [
                    f"{name} {a.dest}"
                    for a in sub._actions
                    if not a.help and not isinstance(a, argparse._HelpAction)
                ]
    assert missing == []


def test_why_shows_the_users_own_time_beside_utc(
    run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, results = run
    assert main(["why", "qa-1", "--scenario", str(scenario), "--json", str(results)]) == 0
    out = capsys.readouterr().out
    assert "2026-11-30 17:00 UTC (2026-12-01 01:00 Asia/Shanghai)  entered (user.registered)" in out
