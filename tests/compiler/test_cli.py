"""The touchpoint command as a user runs it: exit codes, messages, files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import GOLDEN, JOURNEYS, REPO, STATEMACHINES
from touchpoint.cli import main
from touchpoint.cli.schema import journey_schema
from touchpoint.local.results import results_schema


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(JOURNEYS, tmp_path / "journeys")
    shutil.copytree(STATEMACHINES, tmp_path / "statemachines")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validate_lists_every_error_and_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code = main(["validate", "tests/golden/invalid/bad-names.yaml", "tests/golden/invalid/bad-duration.yaml"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.count("tests/golden/invalid/bad-names.yaml:") == 6
    assert 'tests/golden/invalid/bad-duration.yaml:10 steps[1].wait: "3 days" is not a duration' in err
    assert "2 journeys: 0 valid, 7 errors, 0 warnings" in out


def test_validate_passes_the_examples_and_warnings_fail_only_in_strict_mode(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["validate"]) == 0
    assert main(["validate", str(GOLDEN / "invalid" / "consent-warning.yaml")]) == 0
    assert main(["validate", "--strict", str(GOLDEN / "invalid" / "consent-warning.yaml")]) == 1
    assert "warning:" in capsys.readouterr().err


def test_compile_check_detects_stale_missing_and_orphaned_outputs(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", "--check"]) == 0
    journey = project / "journeys" / "birthday.yaml"
    journey.write_text(journey.read_text().replace("wait: 3d", "wait: 4d"))
    assert main(["compile", "--check"]) == 1
    assert "statemachines/birthday.asl.json: out of date" in capsys.readouterr().err
    assert main(["compile"]) == 0
    assert main(["compile", "--check"]) == 0
    (project / "statemachines" / "gone.asl.json").write_text("{}")
    (project / "statemachines" / "birthday.manifest.json").unlink()
    assert main(["compile", "--check"]) == 1
    err = capsys.readouterr().err
    assert "gone.asl.json: no journey produces it any more" in err
    assert "birthday.manifest.json: missing" in err
    assert main(["compile"]) == 0
    assert not (project / "statemachines" / "gone.asl.json").exists()


def test_compile_refuses_invalid_journeys(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(GOLDEN / "invalid" / "bad-duration.yaml", project / "journeys" / "bad-duration.yaml")
    before = {p.name: p.read_text() for p in (project / "statemachines").iterdir()}
    assert main(["compile"]) == 1
    assert "not compiled: 2 errors;" in capsys.readouterr().err
    assert {p.name: p.read_text() for p in (project / "statemachines").iterdir()} == before


def test_graph_prints_mermaid(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert main(["graph", "cart-abandonment"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart TD\n")
    assert '(["on cart.updated where items #gt; 0"])' in out
    assert "-->|timeout|" in out
    assert "-->|did it|" in out
    assert main(["graph", "no-such-journey"]) == 2


def test_schema_check_detects_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "journey.schema.json"
    assert main(["schema", "--out", str(out), "--check"]) == 1
    assert main(["schema", "--out", str(out)]) == 0
    assert main(["schema", "--out", str(out), "--check"]) == 0
    assert out.read_text() == journey_schema()
    out.write_text(out.read_text().replace("touchpoint/v1", "touchpoint/v0"))
    assert main(["schema", "--out", str(out), "--check"]) == 1


def test_schema_check_detects_a_stale_results_schema(tmp_path: Path) -> None:
    out = tmp_path / "results.schema.json"
    assert main(["schema", "--results-out", str(out), "--check"]) == 1
    assert main(["schema", "--results-out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == results_schema()
    assert main(["schema", "--results-out", str(out), "--check"]) == 0


def test_why_refuses_a_results_file_that_is_not_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "results.json"
    stale.write_text('{"scenario": {}, "messages": []}', encoding="utf-8")
    scenario = str(REPO / "scenarios" / "demo.yaml")
    assert main(["why", "qa-1", "--scenario", scenario, "--json", str(stale)]) == 1
    assert f"{stale} is not a results file of this version" in capsys.readouterr().err
