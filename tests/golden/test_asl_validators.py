"""Every compiled definition (committed examples and goldens) passes asl-validator and statelint.

Both are real Node tools pinned in package-lock.json; a control definition proves they still
reject what they should, so a broken install cannot make this test pass vacuously."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import GOLDEN, NODE_BIN, STATEMACHINES

DEFINITIONS = sorted(STATEMACHINES.glob("*.asl.json")) + sorted(
    (GOLDEN / "valid" / "expected").glob("*.asl.json")
)


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    executable = NODE_BIN / tool
    if not executable.exists():
        pytest.fail(f"{executable} is missing: run `make deps` (npm ci)")
    return subprocess.run([str(executable), *args], capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("asl") / "broken.asl.json"
    definition = {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 5, "Nxt": "B"}}}
    path.write_text(json.dumps(definition))
    return path


def test_there_are_definitions_to_check() -> None:
    assert len([p for p in DEFINITIONS if p.parent == STATEMACHINES]) >= 7
    assert len(DEFINITIONS) >= 32


def test_asl_validator_accepts_every_definition() -> None:
    args = [a for path in DEFINITIONS for a in ("--json-path", str(path))]
    result = _run("asl-validator", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("is valid") == len(DEFINITIONS)


def test_statelint_accepts_every_definition() -> None:
    result = _run("statelint", *map(str, DEFINITIONS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not valid" not in result.stdout + result.stderr


def test_both_tools_reject_a_broken_definition(broken: Path) -> None:
    assert _run("asl-validator", "--json-path", str(broken)).returncode != 0
    lint = _run("statelint", str(broken))
    assert lint.returncode != 0 or "not valid" in lint.stdout + lint.stderr
