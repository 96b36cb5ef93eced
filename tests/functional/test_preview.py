"""A preview is the message the send function delivers: the same subject, text, HTML and
unsubscribe link for the same profile at the same moment (the real send on moto)."""

from __future__ import annotations

import email
import email.policy
import json
import re
from html import unescape
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.functional.conftest import World
from touchpoint.cli.main import main

JOURNEY = "new-user-7day"


def test_the_preview_is_what_the_send_function_delivers(
    env: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    env.register("u1", attributes={"nickname": "Lin"})
    assert main(["privacy", "export", "u1"]) == 0
    profile = tmp_path / "u1.json"
    profile.write_text(json.dumps(json.loads(capsys.readouterr().out)["profile"]))
    now = env.clock.now()

    env.send(env.send_request(JOURNEY, "welcome", "u1", token="t1"))
    [sent] = env.emails()
    real = email.message_from_string(sent.raw_data, policy=email.policy.default)
    assert isinstance(real, email.message.EmailMessage)

    page = tmp_path / "preview.html"
    argv = [
        "preview",
        JOURNEY,
        "welcome",
        "--profile",
        str(profile),
        "--at",
        now.isoformat(),
        "--html",
        str(page),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"subject: {real['Subject']}" in out
    assert "Lin" in str(real["Subject"])
    start = out.index("text:") + 1
    end = next(i for i, line in enumerate(out) if line.startswith("html: "))
    shown = [line.removeprefix("  ") for line in out[start:end]]
    text = real.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert shown == [line.rstrip() for line in text.strip().splitlines()]  # as displayed: no trailing blanks
    html = real.get_body(("html",)).get_content()  # type: ignore[union-attr]
    frames = re.findall(r'srcdoc="([^"]*)"', page.read_text(encoding="utf-8"))
    assert len(frames) == 2  # desktop and phone
    assert {unescape(f) for f in frames} == {html.replace("\r\n", "\n").strip()}
    [unsubscribe] = [line.removeprefix("unsubscribe: ") for line in out if line.startswith("unsubscribe: ")]
    assert f"<{unsubscribe}>" in str(real["List-Unsubscribe"])
    assert "would send" in out[1]
    assert "u1@example.com" not in "\n".join(out)
