"""A send that fails for one user must be seen: issue 11, item 12.

One journey (a greeting that needs ``nickname``, no default; then tips that need nothing) and two
scripted users, one without a nickname, on the memory backend for three days. The greeting fails
for her: the Task's Catch records it and the run goes on to the tips and ends SUCCEEDED
(docs/decisions.md D6). The terminal summary, the ``--json`` report, the HTML report and
``touchpoint why`` must all say so, with the reason."""

from __future__ import annotations

import contextlib
import io
import json
import re
from typing import Any

import pytest

from tests.local.test_report_html import El, parse
from touchpoint.cli import main

GREETING = """\
{% block subject %}Hello {{ nickname }}{% endblock %}
{% block html %}<p>Hello {{ nickname }}, welcome.</p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>{% endblock %}
{% block text %}Hello {{ nickname }}, welcome.
Unsubscribe: {{ unsubscribe_url }}{% endblock %}
"""
TIPS = """\
{% block subject %}Three tips{% endblock %}
{% block html %}<p>Three tips.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>{% endblock %}
{% block text %}Three tips.
Unsubscribe: {{ unsubscribe_url }}{% endblock %}
"""
JOURNEY = """\
schema: touchpoint/v1
id: greet
name: Greeting
owner: growth@example.com
timezone: UTC
trigger: {event: user.registered}
audience: {consent: email}
steps:
  - send: {channel: email, template: greeting}
    id: hello
  - wait: 1d
  - send: {channel: email, template: tips}
    id: tips
"""
PROFILE = """\
schema: touchpoint/profile-v1
attributes:
  nickname: {type: string, description: Display name used in greetings (no default).}
"""
SCENARIO = """\
start: 2026-12-01T00:00:00+00:00
duration: 3d
seed: 11
journeys: journeys/
backend: memory
users:
  - id: qa-named
    profile: {email: named@example.com, timezone: UTC, consent: {email: true},
              attributes: {nickname: Ada}}
    events:
      - {at: 1h, type: user.registered}
  - id: qa-nameless
    profile: {email: nameless@example.com, timezone: UTC, consent: {email: true}}
    events:
      - {at: 2h, type: user.registered}
"""
REASON = "TemplateError: greeting.email.j2: 'nickname' is undefined"
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Simulate once through the CLI: the summary it printed, the JSON and the HTML it wrote."""
    root = tmp_path_factory.mktemp("failed-sends")
    templates = root / "journeys" / "templates"
    templates.mkdir(parents=True)
    (templates / "greeting.email.j2").write_text(GREETING, encoding="utf-8")
    (templates / "tips.email.j2").write_text(TIPS, encoding="utf-8")
    (root / "journeys" / "greet.yaml").write_text(JOURNEY, encoding="utf-8")
    (root / "journeys" / "profile.yaml").write_text(PROFILE, encoding="utf-8")
    scenario = root / "scenario.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out, html = root / "out" / "report.json", root / "out" / "report.html"

    def printed(*argv: str) -> str:
        with contextlib.redirect_stdout(io.StringIO()) as stdout:
            assert main(list(argv)) == 0, stdout.getvalue()
        return stdout.getvalue()

    printed("validate", str(root / "journeys"))
    summary = printed("simulate", str(scenario), "--json", str(out), "--html", str(html))
    whys = {
        u: printed("why", u, "--scenario", str(scenario), "--json", str(out))
        for u in ("qa-nameless", "qa-named")
    }
    return {
        "summary": summary,
        "results": json.loads(out.read_text(encoding="utf-8")),
        "html": html.read_text(encoding="utf-8"),
        "why": whys,
    }


def test_the_json_records_the_failure_with_its_cause_and_counts_it(run: dict[str, Any]) -> None:
    results = run["results"]
    (failed,) = [t for t in results["trace"] if t["kind"] == "step_failed"]
    assert (failed["user_id"], failed["journey_id"]) == ("qa-nameless", "greet")
    assert (failed["detail"]["step_id"], failed["detail"]["error"]) == ("hello", "TemplateError")
    cause = json.loads(failed["detail"]["cause"])
    assert cause["errorType"] == "TemplateError"
    assert cause["errorMessage"].startswith("greeting.email.j2: 'nickname' is undefined")
    # the run went on past the failed step and succeeded: exactly why it was invisible
    execution = next(e for e in results["executions"] if e["user_id"] == "qa-nameless")
    assert (execution["status"], execution["path"]) == ("SUCCEEDED", ["hello", "wait-2", "tips"])
    kpis = results["journeys"]["greet"]["kpis"]
    assert (kpis["counts"]["sent"], kpis["counts"]["failed"]) == (3, 1)  # 2 tips + Ada's greeting
    assert kpis["counts"]["email:failed"] == 1
    assert kpis["rates"]["send_failure_rate"] == kpis["rates"]["email_send_failure_rate"] == 1 / 4
    assert [(m["user_id"], m["step_id"]) for m in results["messages"]] == [
        ("qa-named", "hello"),
        ("qa-named", "tips"),
        ("qa-nameless", "tips"),
    ]


def test_the_terminal_summary_shows_the_failure_and_its_reason(run: dict[str, Any]) -> None:
    lines = run["summary"].splitlines()
    at = lines.index("greet  Greeting")
    assert lines[at + 1].startswith("  triggered 2 → eligible 2 → entered 2 → sent 3 → ")
    assert lines[at + 2] == "  failed 1  (send_failure_rate 25.0%)"
    assert lines[at + 3] == f"    1× hello: {REASON} …"
    assert "unconfirmed" not in run["summary"]
    assert not ADDRESS.findall(run["summary"])


def test_why_says_the_step_failed_although_the_run_succeeded(run: dict[str, Any]) -> None:
    why = run["why"]["qa-nameless"].splitlines()
    assert (
        "  2026-12-01 02:00 UTC  hello: failed — "
        f"{REASON}; add it to the profile, declare a default in profile.yaml or use | default(...)"
    ) in why
    assert "  2026-12-02 02:00 UTC  tips: sent email tips.email.j2" in why
    assert why[-1] == (
        "  status: SUCCEEDED (completed) — but step hello failed: caught and recorded, the journey "
        "went on without it (docs/decisions.md D6)"
    )
    named = run["why"]["qa-named"]
    assert "failed" not in named
    assert named.splitlines()[-1] == "  status: SUCCEEDED (completed)"


def _section(root: El, element_id: str) -> El:
    return root.by_id(element_id)


def test_the_html_report_shows_who_failed_when_and_why(run: dict[str, Any]) -> None:
    root = parse(run["html"])
    journey = _section(root, "journey-greet")
    failures = _section(root, "failures-greet")
    assert failures.attrs["data-count"] == "1"
    (row,) = failures.find_all("tr", "failure")
    assert (row.attrs["data-user"], row.attrs["data-step"], row.attrs["data-error"]) == (
        "qa-nameless",
        "hello",
        "TemplateError",
    )
    assert row.attrs["data-at"] == "2026-12-01T02:00:00.000Z"
    assert "greeting.email.j2: 'nickname' is undefined" in row.one("td", "why").text()
    assert "greeting" in row.text()  # the template the step renders
    assert "Nothing skipped" not in journey.text()
    assert "1 failed" in journey.one("p", "fail-note").text()
    # the funnel and the map
    (bar,) = journey.one("svg", "funnel").find_all("rect", "obar")
    assert (bar.attrs["data-outcome"], bar.attrs["data-value"]) == ("failed", "1")
    assert "send failure 25%" in journey.one("svg", "funnel").text()
    node = journey.one("svg", "diagram").one("g", "node", data_step="hello")
    assert "failing" in node.classes
    assert node.attrs["data-failed"] == "1"
    assert "data-failed" not in journey.one("svg", "diagram").one("g", "node", data_step="tips").attrs
    # the overview and the test user's timeline
    tile = _section(root, "overview").one("div", "tile", data_metric="failed")
    assert tile.attrs["data-value"] == "1"
    assert "TemplateError" in tile.text()
    (entry,) = _section(root, "timeline-qa-nameless").find_all("li", "failure")
    assert (entry.attrs["data-step"], entry.attrs["data-error"]) == ("hello", "TemplateError")
    assert "'nickname' is undefined" in entry.text()
    assert not _section(root, "timeline-qa-named").find_all("li", "failure")
    assert not ADDRESS.findall(failures.text())
