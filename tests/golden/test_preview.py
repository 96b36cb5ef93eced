"""`touchpoint preview` of the example journeys: exact text (goldens), and the HTML page as headless
Chromium lays it out at desktop and phone width."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import GOLDEN, REPO
from tests.golden.test_golden import _check
from touchpoint.cli import main

PREVIEW = GOLDEN / "preview"
PROFILES = PREVIEW / "profiles"

#: (case, journey, profile, moment): every channel, both locales, each gate verdict.
CASES = [
    ("new-user-7day-en", "new-user-7day", "ann-en", "2026-12-03T10:00:00+01:00"),
    ("new-user-7day-zh-night", "new-user-7day", "lin-zh", "2026-12-03T06:30:00+08:00"),
    ("cart-abandonment-en", "cart-abandonment", "ann-en", "2026-12-03T12:00:00+01:00"),
    ("d12-sustain-zh", "d12-sustain", "lin-zh", "2026-12-12T10:30:00+08:00"),
    ("d12-sustain-no-sms-consent", "d12-sustain", "ann-en", "2026-12-12T10:30:00+01:00"),
    ("birthday-en", "birthday", "ann-en", "2026-12-03T10:00:00+01:00"),
    ("membership-expiry-zh", "membership-expiry", "lin-zh", "2026-12-03T09:00:00+08:00"),
]


@pytest.mark.parametrize(("case", "journey", "profile", "at"), CASES, ids=[c[0] for c in CASES])
def test_preview_text_is_the_golden(
    case: str,
    journey: str,
    profile: str,
    at: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["preview", journey, "--profile", str(PROFILES / f"{profile}.yaml"), "--at", at]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "@example.com" not in out, "contact points are masked"
    assert "+86138" not in out
    _check(PREVIEW / f"{case}.txt", out)


def test_the_goldens_cover_every_verdict_and_both_channels() -> None:
    texts = "".join((PREVIEW / f"{case}.txt").read_text(encoding="utf-8") for case, *_ in CASES)
    assert "would send" in texts
    assert re.search(r"deferred to 2026-12-03 08:00 Asia/Shanghai: send window", texts)
    assert "skipped: no consent for sms" in texts
    assert " · sms · " in texts
    assert " · email · " in texts
    assert ".zh.email.j2" in texts
    assert "segment · UCS-2" in texts


def test_a_step_and_a_locale_can_be_chosen(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    argv = ["preview", "new-user-7day", "welcome", "--profile", str(PROFILES / "ann-en.yaml")]
    assert main([*argv, "--locale", "zh-CN", "--at", "2026-12-03T10:00:00+01:00"]) == 0
    out = capsys.readouterr().out
    assert out.count("== ") == 1
    assert "welcome.zh.email.j2" in out


def _chromium() -> str | None:
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


#: Headless Chromium's window is at least 500 px wide, so the phone width is a 400 px frame around
#: the page in a desktop window (file pages may read each other: --allow-file-access-from-files).
_FRAME = """<!doctype html><html><body style="margin:0">
<iframe id="f" src="preview.html" style="width:{width}px;height:900px;border:0"></iframe>
<script>document.getElementById("f").addEventListener("load", () => {{
  const inner = document.getElementById("f").contentDocument.documentElement;
  document.body.dataset.width = inner.dataset.width;
  document.body.dataset.overflow = inner.dataset.overflow;
}});</script></body></html>
"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [1400, 400])
def test_the_preview_page_fits_desktop_and_phone_in_headless_chromium(
    width: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium is not installed: apt-get install -y chromium (make test installs it)")
    monkeypatch.chdir(REPO)
    page = tmp_path / "preview.html"
    profile = str(PROFILES / "lin-zh.yaml")
    assert main(["preview", "membership-expiry", "--profile", profile, "--html", str(page)]) == 0
    capsys.readouterr()
    frame = tmp_path / "frame.html"
    frame.write_text(_FRAME.format(width=width), encoding="utf-8")
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1400,1000",
        "--virtual-time-budget=3000",
        "--dump-dom",
    ]
    framed = subprocess.run(
        [*flags, frame.as_uri()], capture_output=True, text=True, timeout=90, check=True
    ).stdout
    assert f'data-width="{width}"' in framed, "the page was laid out at another width"
    assert 'data-overflow="false"' in framed, f"the page scrolls sideways at {width} px"
    dumped = subprocess.run(
        [*flags, page.as_uri()], capture_output=True, text=True, timeout=90, check=True
    ).stdout
    assert dumped.count("<section") == 2  # the email and the SMS of membership-expiry
    assert dumped.count('class="desktop"') == dumped.count('class="phone"') == 1
    assert 'sandbox=""' in dumped  # the email's own HTML cannot run scripts
    assert "小林，会员快到期啦！" in dumped


def test_a_scenario_user_is_previewed_with_the_profile_the_scenario_gives_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    at = ["--at", "2026-12-03T10:00:00+08:00"]
    assert (
        main(
            [
                "preview",
                "new-user-7day",
                "welcome",
                "--user",
                "qa-1",
                "--scenario",
                "scenarios/demo.yaml",
                *at,
            ]
        )
        == 0
    )
    scripted = capsys.readouterr().out
    assert "welcome.zh.email.j2" in scripted  # qa-1 is scripted with locale zh-CN
    assert "would send" in scripted
    for user in ("u00000", "u00001"):  # synthetic: imported at the start, or as they register
        assert (
            main(
                [
                    "preview",
                    "new-user-7day",
                    "welcome",
                    "--user",
                    user,
                    "--scenario",
                    "scenarios/demo.yaml",
                    *at,
                ]
            )
            == 0
        )
        out = capsys.readouterr().out
        assert "subject: " in out
        assert "gate at 2026-12-03 02:00 UTC: " in out
