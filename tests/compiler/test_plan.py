"""``touchpoint plan``: the Double-12 plan table from journeys/campaigns/d12.yaml as markdown and
CSV (exact goldens), the words of its cells, and the command's error paths."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import GOLDEN, REPO
from tests.golden.test_golden import _check
from touchpoint.cli import main
from touchpoint.cli.output import USAGE_EXIT
from touchpoint.journey.campaigns import Span
from touchpoint.journey.model import KpiTarget
from touchpoint.journey.model.campaign import CampaignFile
from touchpoint.journey.plan import HEADER, kpi_text, window_text
from touchpoint.journey.source import read_source

HOME = GOLDEN / "campaigns"
PLANS = HOME / "plan"
D12 = REPO / "journeys" / "campaigns" / "d12.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _plan(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["plan", *argv]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def test_the_d12_plan_as_markdown(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    table = _plan(capsys, "d12")
    _check(PLANS / "d12.md", table)
    assert _plan(capsys, "journeys/campaigns/d12.yaml") == table
    campaign = CampaignFile.model_validate(read_source(D12).data)
    rows = [line for line in table.splitlines() if line.startswith("| ")][2:]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == [s.name for s in campaign.stages]
    assert (
        "| Warm-up | consent email and not tag employee | email | d12-teaser | once, 2026-12-05 10:00 |"
        in table
    )
    assert (
        "| manager@example.com | 2026-12-05 – 2026-12-08 | open_rate ≥ 25% (floor 10%); clicked ≥ 500 |"
        in table
    )


def test_the_d12_plan_as_csv(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    text = _plan(capsys, "d12", "--format", "csv")
    _check(PLANS / "d12.csv", text)
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert tuple(header) == HEADER
    assert [len(row) for row in rows] == [len(HEADER)] * 4
    sustain = dict(zip(header, rows[2], strict=True))
    assert sustain["trigger"] == "daily 10:00"
    assert sustain["window"] == "2026-12-12"
    assert rows[3][1].startswith("participants of earlier stages")


def test_a_campaign_file_outside_the_journeys_directory_is_planned_with_journeys(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    case = HOME / "valid" / "singles-day.yaml"
    table = _plan(capsys, str(case.relative_to(REPO)), "--journeys", str(HOME / "journeys"))
    assert table == case.with_suffix(".plan.md").read_text(encoding="utf-8")


def test_cells_in_words() -> None:
    assert (
        kpi_text("unsubscribe_rate", KpiTarget(target=0.005, ceiling=0.01))
        == "unsubscribe_rate ≤ 0.5% (ceiling 1%)"
    )
    assert kpi_text("open_rate", KpiTarget(floor=0.125)) == "open_rate (floor 12.5%)"
    assert kpi_text("complaint_rate", KpiTarget(ceiling=0)) == "complaint_rate (ceiling 0%)"
    assert kpi_text("sent", KpiTarget(target=12000)) == "sent ≥ 12,000"
    midnight = dt.datetime(2026, 12, 5, tzinfo=SHANGHAI)
    assert window_text(Span(midnight, midnight + dt.timedelta(days=4))) == "2026-12-05 – 2026-12-08"
    assert window_text(Span(midnight, midnight + dt.timedelta(days=1))) == "2026-12-05"
    noon = midnight + dt.timedelta(hours=12)
    assert window_text(Span(noon, noon + dt.timedelta(days=1))) == "2026-12-05 12:00 – 2026-12-06 12:00"


# --------------------------------------------------------------------------- errors


def test_an_unknown_campaign_is_one_line_with_did_you_mean_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["plan", "d21"]) == USAGE_EXIT
    assert capsys.readouterr() == (
        "",
        'touchpoint: no campaign "d21" in journeys/campaigns/; did you mean "d12"?\n',
    )
    assert main(["plan", "journeys/campaigns/d21.yaml"]) == USAGE_EXIT
    err = capsys.readouterr().err
    assert err == (
        "touchpoint: no campaign file journeys/campaigns/d21.yaml; "
        'did you mean "journeys/campaigns/d12.yaml"?\n'
    )
    assert main(["plan", "d12", "--journeys", "jorneys"]) == USAGE_EXIT
    assert capsys.readouterr().err == "touchpoint: no journeys directory jorneys; pass --journeys DIR\n"


def test_an_unknown_campaign_never_shows_a_traceback() -> None:
    argv = [sys.executable, "-m", "touchpoint.cli", "plan", "dd12"]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (USAGE_EXIT, "")
    assert done.stderr == 'touchpoint: no campaign "dd12" in journeys/campaigns/; did you mean "d12"?\n'


def test_a_campaign_with_errors_prints_them_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    case = HOME / "invalid" / "overlapping-windows.yaml"
    assert main(["plan", str(case.relative_to(REPO)), "--journeys", str(HOME / "journeys")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == case.with_suffix(".expected").read_text(encoding="utf-8") + (
        "no plan: 1 error; fix them and run again\n"
    )
    # the same campaign inside a journeys directory, named by its id
    shutil.copytree(HOME / "journeys", tmp_path / "journeys")
    (tmp_path / "journeys" / "campaigns").mkdir()
    shutil.copy(case, tmp_path / "journeys" / "campaigns" / case.name)
    monkeypatch.chdir(tmp_path)
    assert main(["plan", case.stem]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("journeys/campaigns/overlapping-windows.yaml:11 stages[1].window: window ")
    assert err.endswith(
        "overlaps stage warmup's 2026-12-05 00:00 to 2026-12-09 00:00 (end excluded); a user must be "
        "in one stage at a time\nno plan: 1 error; fix them and run again\n"
    )
