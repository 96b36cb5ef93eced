"""Golden tests of campaign files: a small journey set (the Double-12 stage journeys), valid
campaigns with their exact registry part and plan table, and invalid ones with their exact messages.

Every case loads the whole journey set, so every campaign lists the four stage journeys (their
schedules are relative to a campaign date) and a helper journey only one case lists has an absolute
schedule. Regenerate with ``TOUCHPOINT_UPDATE_GOLDENS=1 pytest tests/golden/test_campaigns.py``."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import GOLDEN, REPO
from tests.golden.test_golden import _check
from touchpoint.cli import main
from touchpoint.cli.schema import campaign_schema
from touchpoint.compiler.build import compile_journey, outputs
from touchpoint.compiler.graph import trigger_text
from touchpoint.journey.loader import Project, load_project
from touchpoint.journey.plan import markdown, plan_for
from touchpoint.journey.source import read_source
from touchpoint.schedules import Cron, parse_schedule

HOME = GOLDEN / "campaigns"
JOURNEYS = HOME / "journeys"
VALID = sorted((HOME / "valid").glob("*.yaml"))
INVALID = sorted((HOME / "invalid").glob("*.yaml"))
SHIFT = dt.timedelta(days=14)


def _load(campaign: Path) -> Project:
    return load_project([JOURNEYS], cwd=REPO, campaigns=[campaign])


def _registry(project: Project) -> dict[str, Any]:
    files = outputs((compile_journey(j) for _, j in project.valid()), project.valid_campaigns())
    registry: dict[str, Any] = json.loads(files["registry.json"])
    return registry


def test_the_golden_set_is_big_enough() -> None:
    assert len(VALID) >= 2
    assert len(INVALID) >= 12
    assert any("until" in read_source(p).data for p in VALID)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_campaign_registry_and_plan(path: Path) -> None:
    project = _load(path)
    assert project.all_violations() == []
    (campaign,) = project.valid_campaigns()
    registry = _registry(project)
    _check(
        path.with_suffix(".registry.json"),
        json.dumps(registry["campaigns"], indent=2, ensure_ascii=False) + "\n",
    )
    _check(path.with_suffix(".plan.md"), markdown(plan_for(project, campaign, trigger_text)))


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_campaign_gets_its_exact_messages(path: Path) -> None:
    project = _load(path)
    actual = "".join(f"{v}\n" for v in project.all_violations())
    _check(path.with_suffix(".expected"), actual)
    assert project.errors(), "every invalid campaign has at least one error"


# --------------------------------------------------------------------------- moving the date


def _moved_instant(text: str) -> str:
    return (dt.datetime.fromisoformat(text) + SHIFT).isoformat()


def _fires(entry: dict[str, Any]) -> list[dt.datetime]:
    """Every fire time of a stage journey's schedule inside its window."""
    cron = parse_schedule(entry["trigger"]["schedule"])
    assert isinstance(cron, Cron)
    start, end = (dt.datetime.fromisoformat(entry["effective"][k]) for k in ("from", "until"))
    fires, t = [], cron.next_after(start - dt.timedelta(minutes=1))
    while t is not None and t < end:
        fires.append(t)
        t = cron.next_after(t)
    return fires


def _moved_journey(entry: dict[str, Any]) -> dict[str, Any]:
    moved = copy.deepcopy(entry)
    moved["effective"] = {k: _moved_instant(v) for k, v in entry["effective"].items()}
    moved["trigger"] = "moved"  # compared by its fire times
    moved["campaign"]["date"] = str(dt.date.fromisoformat(entry["campaign"]["date"]) + SHIFT)
    moved["version"] = "moved"
    return moved


def _moved_campaign(entry: dict[str, Any]) -> dict[str, Any]:
    moved = copy.deepcopy(entry)
    for key in ("date", "until"):
        moved[key] = str(dt.date.fromisoformat(entry[key]) + SHIFT)
    for stage in moved["stages"]:
        stage["window"] = {k: _moved_instant(v) for k, v in stage["window"].items()}
    return moved


def test_moving_the_date_moves_every_window_and_schedule_and_nothing_else(tmp_path: Path) -> None:
    original = HOME / "valid" / "d12.yaml"
    text = original.read_text(encoding="utf-8")
    assert text.count("date: 2026-12-12\n") == 1
    later = tmp_path / "d12.yaml"
    later.write_text(
        text.replace("date: 2026-12-12\n", "date: 2026-12-26\n").replace(
            "until: 2026-12-12", "until: 2026-12-26"
        )
    )
    before, after = _registry(_load(original)), _registry(_load(later))
    stages = {s["journey"] for s in before["campaigns"]["d12"]["stages"]}
    assert stages == {"d12-warmup", "d12-launch", "d12-sustain", "d12-review"}
    assert before["journeys"].keys() == after["journeys"].keys()
    for jid, entry in before["journeys"].items():
        if jid not in stages:
            assert after["journeys"][jid] == entry, jid
            continue
        assert after["journeys"][jid]["version"] != entry["version"], (
            f"{jid}: a moved journey is a new version"
        )
        assert {**after["journeys"][jid], "version": "moved", "trigger": "moved"} == _moved_journey(entry), (
            jid
        )
        assert _fires(entry), f"{jid} never fires in its window"
        assert _fires(after["journeys"][jid]) == [t + SHIFT for t in _fires(entry)], jid
    assert after["campaigns"]["d12"] == _moved_campaign(before["campaigns"]["d12"])
    assert after["index"] == before["index"]
    assert after["journeys"]["d12-warmup"]["trigger"] == {"schedule": "cron(0 10 19 12 ? 2026)"}  # D-7 10:00


# --------------------------------------------------------------------------- the CLI and the schema


def test_validate_of_a_directory_with_a_campaign_error_exits_1_with_the_located_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(JOURNEYS, tmp_path / "journeys")
    case = HOME / "invalid" / "overlapping-windows.yaml"
    (tmp_path / "journeys" / "campaigns").mkdir()
    shutil.copy(case, tmp_path / "journeys" / "campaigns" / case.name)
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "journeys"]) == 1
    captured = capsys.readouterr()
    expected = case.with_suffix(".expected").read_text(encoding="utf-8")
    assert captured.err == expected.replace("tests/golden/campaigns/invalid/", "journeys/campaigns/")
    assert captured.err.startswith("journeys/campaigns/overlapping-windows.yaml:11 stages[1].window: window ")
    assert captured.out == "5 journeys and 1 campaign: 5 valid, 1 error, 0 warnings\n"


def test_the_committed_campaign_schema_matches_the_model_and_takes_the_valid_campaigns() -> None:
    assert (REPO / "docs" / "campaign.schema.json").read_text(encoding="utf-8") == campaign_schema()
    validator = jsonschema.Draft202012Validator(json.loads(campaign_schema()))
    for path in [*VALID, REPO / "journeys" / "campaigns" / "d12.yaml"]:
        validator.validate(read_source(path).data)
    for refused in ("unknown-key", "bad-offset"):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(read_source(HOME / "invalid" / f"{refused}.yaml").data)
