"""Golden tests: journeys in, exact ASL (and exact error messages) out.

Regenerate after an intended change with ``TOUCHPOINT_UPDATE_GOLDENS=1 pytest tests/golden`` and
review the diff like any other code change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.conftest import GOLDEN, REPO, UPDATE_GOLDENS
from touchpoint.cli import main
from touchpoint.compiler.build import compile_journey, outputs
from touchpoint.journey.loader import Project, load_project
from touchpoint.journey.model import STEP_KINDS, TRIGGER_KINDS, Journey, WaitStep
from touchpoint.journey.source import read_source
from touchpoint.journey.steps import resolve, walk
from touchpoint.journey.violations import from_validation_error
from touchpoint.words import plural

VALID_DIR = GOLDEN / "valid"
INVALID_DIR = GOLDEN / "invalid"
NOT_JOURNEYS = ("profile.yaml", "events.yaml")
VALID = sorted(p for p in VALID_DIR.glob("*.yaml") if p.name not in NOT_JOURNEYS)
INVALID = sorted(p for p in INVALID_DIR.glob("*.yaml") if p.name not in NOT_JOURNEYS)


@pytest.fixture(scope="module")
def valid_project() -> Project:
    return load_project([VALID_DIR], cwd=REPO)


def _check(expected: Path, actual: str) -> None:
    if UPDATE_GOLDENS:
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(actual, encoding="utf-8")
    assert expected.exists(), f"{expected} is missing; run with TOUCHPOINT_UPDATE_GOLDENS=1"
    assert actual == expected.read_text(encoding="utf-8")


def test_the_golden_set_is_big_enough_and_covers_every_kind(valid_project: Project) -> None:
    assert len(VALID) >= 25
    assert len(INVALID) >= 15
    journeys = [j for _, j in valid_project.valid()]
    assert len(journeys) == len(VALID)
    assert {j.trigger.kind for j in journeys} == set(TRIGGER_KINDS)
    nodes = [n for j in journeys for n in walk(resolve(j.steps))]
    assert {n.kind for n in nodes} == set(STEP_KINDS)
    waits = [n.step.wait for n in nodes if isinstance(n.step, WaitStep)]
    assert any(isinstance(w, int) for w in waits)
    assert any(not isinstance(w, int) and w.until.weekday for w in waits)
    assert any(not isinstance(w, int) and not w.until.weekday for w in waits)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_journey_compiles_to_the_expected_asl(path: Path, valid_project: Project) -> None:
    loaded = next(j for j in valid_project.journeys if j.path == path)
    assert loaded.violations == []
    assert loaded.journey is not None
    _check(VALID_DIR / "expected" / f"{path.stem}.asl.json", compile_journey(loaded.journey).asl)


def test_registry_of_the_golden_set(valid_project: Project) -> None:
    files = outputs(compile_journey(j) for _, j in valid_project.valid())
    _check(VALID_DIR / "expected" / "registry.json", files["registry.json"])


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_journey_gets_its_exact_messages(path: Path) -> None:
    project = load_project([path], cwd=REPO)
    actual = "".join(f"{v}\n" for v in project.all_violations())
    _check(path.with_suffix(".expected"), actual)
    assert actual, "an invalid journey must produce at least one message"
    if not path.stem.endswith("-warning"):
        assert project.errors(), "every other invalid journey has at least one error"


MULTI = [p for p in INVALID if p.stem.startswith("multi-")]


def test_there_are_enough_files_with_several_independent_errors() -> None:
    assert len(MULTI) >= 5


@pytest.mark.parametrize("path", MULTI, ids=lambda p: p.stem)
def test_an_error_the_model_refuses_does_not_hide_the_others(path: Path) -> None:
    """One pass: beside what the model refuses, the semantic checks still report (docs/journeys.md)."""
    source = read_source(path, str(path.relative_to(REPO)))
    with pytest.raises(ValidationError) as refused:
        Journey.model_validate(source.data)
    model_only = set(from_validation_error(refused.value, source, Journey))
    found = load_project([path], cwd=REPO).all_violations()
    beyond = [v for v in found if v not in model_only]
    assert model_only <= set(found)
    assert len(beyond) >= 2, f"only the model's errors were reported: {found}"
    assert [(v.file, v.line) for v in found] == sorted((v.file, v.line) for v in found)


def test_validate_lists_every_file_in_line_order_with_the_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *(str(p.relative_to(REPO)) for p in MULTI)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    expected = "".join(p.with_suffix(".expected").read_text(encoding="utf-8") for p in sorted(MULTI))
    assert captured.err == expected
    keys = [(f, int(n)) for f, n in (re.match(r"([^:]+):(\d+)", line).groups() for line in lines)]  # type: ignore[union-attr]
    assert keys == sorted(keys)
    errors = sum(": warning: " not in line for line in lines)
    warnings = len(lines) - errors
    assert captured.out == (
        f"{len(MULTI)} journeys: 0 valid, {errors} errors, {plural(warnings, 'warning')}\n"
    )


EVENT_TYPOS = [p for p in INVALID if p.stem.startswith("event-")]


@pytest.mark.parametrize("path", EVENT_TYPOS, ids=lambda p: p.stem)
def test_a_misspelt_event_or_property_is_an_error(path: Path) -> None:
    assert len(EVENT_TYPOS) >= 10
    (error,) = load_project([path], cwd=REPO).errors()
    assert error.message.startswith("unknown event ") or " has no property " in error.message


def test_a_directory_without_a_catalogue_gets_one_warning(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        text = (INVALID_DIR / "missing-template.yaml").read_text(encoding="utf-8")
        (tmp_path / f"{name}.yaml").write_text(text.replace("id: missing-template", f"id: {name}"))
    found = load_project([tmp_path], cwd=tmp_path).all_violations()
    warnings = [v for v in found if "no event catalogue" in v.message]
    assert len(warnings) == 1
    assert str(warnings[0]).startswith("events.yaml:1: warning: no event catalogue, so misspelt event names")


def test_a_malformed_catalogue_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "events.yaml").write_text(
        "schema: touchpoint/events-v1\nevents:\n  form.submitted:\n    properties: {course: strin}\n"
    )
    (tmp_path / "a.yaml").write_text(
        (INVALID_DIR / "missing-template.yaml")
        .read_text(encoding="utf-8")
        .replace("id: missing-template", "id: a")
    )
    found = [str(v) for v in load_project([tmp_path], cwd=tmp_path).all_violations()]
    assert any(
        line.startswith("events.yaml:4 events.form.submitted.properties.course:")
        and 'did you mean "string"' in line
        for line in found
    ), found
