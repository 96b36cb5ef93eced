"""The simulator's HTML report and journey diagram, on a hand-built sample of the ``--json``
contract (``report_fixture.json``: four journeys incl. two Double-12 campaign stages, two scripted
users, a few hundred synthetic messages), and on the same sample with failed and unconfirmed
sends added (``with_failures``).

The same DOM assertions run twice: on the rendered string parsed with ``html.parser``, and on the
DOM headless Chromium builds from the file (``--dump-dom``), so what a browser shows is checked
too. The browser test also takes a 1280 px wide screenshot. It skips only when Chromium is not
installed (``apt-get install -y chromium``; ``make test`` installs it)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from pydantic import ValidationError

from tests.conftest import JOURNEYS
from touchpoint.engine.kpi.rates import FUNNEL
from touchpoint.journey.loader import load_project
from touchpoint.journey.model import Journey
from touchpoint.journey.steps import resolve, walk
from touchpoint.local import diagram, report
from touchpoint.local.report import MAX_FAILURE_ROWS
from touchpoint.local.results import SimulationResults
from touchpoint.local.terminal import RECONCILED, UNCONFIRMED

FIXTURE = Path(__file__).with_name("report_fixture.json")
EVIL = "<script>alert(1)</script>"


def render(results: dict[str, Any], journeys: dict[str, Journey], **options: Any) -> str:
    """The report of a results document, validated as ``touchpoint why`` reads one."""
    return report.render(SimulationResults.model_validate(results), journeys, **options)


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def journeys(results: dict[str, Any]) -> dict[str, Journey]:
    project = load_project([JOURNEYS / f"{jid}.yaml" for jid in results["journeys"]])
    assert not project.errors(), project.errors()
    return {j.id: j for _, j in project.valid()}


@pytest.fixture(scope="module")
def page(results: dict[str, Any], journeys: dict[str, Journey]) -> str:
    return render(results, journeys)


# --------------------------------------------------------------------------- failed sends

NICKNAME = json.dumps(
    {
        "errorType": "TemplateError",
        "errorMessage": "similar-products.email.j2: 'nickname' is undefined; add it to the profile, "
        "declare a default in profile.yaml or use | default(...)",
    },
    sort_keys=True,
)
REFUSED = json.dumps(
    {"errorType": "SendFailed", "errorMessage": "MessageRejected: Address blacklisted: ada@example.com"}
)


def _failed(user: str, journey: str, step: str, at: str, error: str, cause: str, channel: str | None) -> Any:
    detail: dict[str, Any] = {"step_id": step, "error": error, "cause": cause}
    if channel:
        detail["channel"] = channel
    return {"user_id": user, "journey_id": journey, "at": at, "kind": "step_failed", "detail": detail}


def _message(user: str, journey: str, step: str, template: str, status: str, reason: Any, at: str) -> Any:
    return {
        "user_id": user,
        "journey_id": journey,
        "step_id": step,
        "channel": "email",
        "template": template,
        "status": status,
        "reason": reason,
        "at": at,
    }


def with_failures(results: dict[str, Any]) -> dict[str, Any]:
    """The sample with what issue 11 item 12 was about: cart-abandonment skips nothing but its
    recommendation template is broken for three users (qa-1 among them), one coupon is refused
    by SES (the refusal names the address), one wait_for could not register (not a send); in the
    nurture the provider's answer to two offers was lost, one of them reconciled later."""
    data = copy.deepcopy(results)
    cart = "cart-abandonment"
    data["messages"] = [
        m for m in data["messages"] if not (m["journey_id"] == cart and m["status"] == "skipped")
    ]
    data["journeys"][cart]["kpis"]["counts"].update({"skipped": 0, "failed": 4, "email:failed": 4})
    data["journeys"][cart]["kpis"]["rates"]["send_failure_rate"] = round(4 / 49, 4)
    data["trace"] += [
        _failed("qa-1", cart, "recommend", "2026-12-09T00:00:00.000Z", "TemplateError", NICKNAME, "email"),
        _failed("u-0001", cart, "recommend", "2026-12-10T00:00:00.000Z", "TemplateError", NICKNAME, "email"),
        _failed("u-0002", cart, "recommend", "2026-12-11T00:00:00.000Z", "TemplateError", NICKNAME, "email"),
        _failed("u-0003", cart, "coupon", "2026-12-04T08:00:00.000Z", "SendFailed", REFUSED, "email"),
        _failed("u-0004", cart, "coupon-click", "2026-12-05T08:00:00.000Z", "States.Timeout", "", None),
    ]
    nurture = "new-user-7day"
    offer = next(m for m in data["messages"] if (m["user_id"], m["step_id"]) == ("qa-1", "offer"))
    offer.update(status="sent_unconfirmed", reason="ambiguous")
    data["messages"] += [
        _message(
            "qa-1", nurture, "offer", "first-order-offer", "sent", "reconciled", "2026-12-05T00:05:00.000Z"
        ),
        _message(
            "u-0107",
            nurture,
            "offer",
            "first-order-offer",
            "sent_unconfirmed",
            "ambiguous",
            "2026-12-06T03:00:00.000Z",
        ),
    ]
    data["messages"].sort(key=lambda m: (m["at"], m["user_id"], m["journey_id"], m["step_id"]))
    data["journeys"][nurture]["kpis"]["counts"].update({"unconfirmed": 2, "reconciled": 1})
    data["trace"].sort(key=lambda t: t["at"])
    return data


@pytest.fixture(scope="module")
def failing(results: dict[str, Any]) -> dict[str, Any]:
    return with_failures(results)


@pytest.fixture(scope="module")
def failing_page(failing: dict[str, Any], journeys: dict[str, Journey]) -> str:
    return render(failing, journeys)


# --------------------------------------------------------------------------- a tiny DOM


@dataclass(eq=False)
class El:
    tag: str
    attrs: dict[str, str]
    parent: El | None = None
    children: list[El | str] = field(default_factory=list)

    def iter(self) -> Iterator[El]:
        yield self
        for child in self.children:
            if isinstance(child, El):
                yield from child.iter()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[El]:
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            el
            for el in self.iter()
            if (tag is None or el.tag == tag)
            and (cls is None or cls in el.classes)
            and all(el.attrs.get(k) == v for k, v in wanted.items())
        ]

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> El:
        found = self.find_all(tag, cls, **attrs)
        assert len(found) == 1, f"expected one {tag}.{cls} {attrs}, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> El:
        return self.one(id=element_id)

    def ancestors(self) -> Iterator[El]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _Builder(HTMLParser):
    VOID = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = El("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = El(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(el)
        if tag not in self.VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(El(tag, {k: v or "" for k, v in attrs}, self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(markup: str) -> El:
    builder = _Builder()
    builder.feed(markup)
    builder.close()
    return builder.root


# --------------------------------------------------------------------------- what the report must show


def reached(results: dict[str, Any], journey_id: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for execution in results["executions"]:
        if execution["journey_id"] == journey_id:
            counts.update(set(execution["path"]))
    return counts


def assert_report_dom(root: El, results: dict[str, Any], journeys: dict[str, Journey]) -> None:
    """Everything the DOM must carry, whichever parser (or browser) built it."""
    for section in ("overview", "messages-per-day", "journeys", "timelines", "rejected"):
        root.by_id(section)
    for journey_id, data in results["journeys"].items():
        section = root.by_id(f"journey-{journey_id}")
        assert section.tag == "section"
        assert section.attrs["data-journey"] == journey_id
        counts = data["kpis"]["counts"]
        # the funnel: one bar per stage, carrying the input's number, and showing it
        funnel = section.one("svg", "funnel", data_journey=journey_id)
        bars = {bar.attrs["data-stage"]: bar for bar in funnel.find_all("rect", "bar")}
        assert list(bars) == list(FUNNEL)
        for stage, bar in bars.items():
            assert int(bar.attrs["data-value"]) == counts[stage], (journey_id, stage)
            row = bar.parent
            assert row is not None
            assert f"{counts[stage]:,}" in [t.text() for t in row.find_all("text", "val")]
        # KPIs: value bar, a marker line per target / floor / ceiling, and the verdict
        kpis = section.one("svg", "kpis", data_journey=journey_id)
        for name, target in data["kpis"]["targets"].items():
            row = kpis.one("g", "kpi", data_kpi=name)
            assert float(row.attrs["data-value"]) == target["value"]
            for kind in ("target", "floor", "ceiling"):
                markers = [m for m in row.find_all("line") if {"marker", kind} <= m.classes]
                if target[kind] is None:
                    assert not markers, (journey_id, name, kind)
                else:
                    assert [float(m.attrs["data-value"]) for m in markers] == [target[kind]]
            verdict = row.one("text", "verdict").text()
            good = not target["breached"] and (
                target["met"] or (target["met"] is None and not target["target"])
            )
            assert verdict.startswith("✔" if good else "✘"), (journey_id, name, verdict)
        # the goal
        goal = data["goal"]
        chart = section.one("svg", "goal", data_journey=journey_id)
        for attribute, key in (("data-actual", "actual"), ("data-target", "target"), ("data-lift", "lift")):
            expected = goal[key]
            assert (float(chart.attrs[attribute]) if expected is not None else None) == (
                expected if expected is None else float(expected)
            ), (journey_id, key)
        assert chart.attrs["data-met"] == ("true" if goal["met"] else "false")
        # the journey map: a node per step, with the number of runs that reached it
        svg = section.one("svg", "diagram", data_journey=journey_id)
        nodes = {n.attrs["data-step"]: n for n in svg.find_all("g", "node")}
        steps = [n.id for n in walk(resolve(journeys[journey_id].steps))]
        assert set(steps) <= set(nodes)
        assert {"trigger", "end"} <= set(nodes)
        runs = reached(results, journey_id)
        for step in steps:
            assert int(nodes[step].attrs["data-count"]) == runs[step], (journey_id, step)
        assert int(nodes["trigger"].attrs["data-count"]) == counts["entered"]
    # campaign stages grouped under their campaign, in plan order
    campaign = root.by_id("campaign-double-12")
    inside = [s.attrs["data-journey"] for s in campaign.find_all("section", "journey")]
    assert inside == ["d12-warmup", "d12-launch"]
    # the timeline of each scripted user: one .event per message, in order
    for user in results["scenario"]["scripted_users"]:
        section = root.by_id(f"timeline-{user}")
        assert section.attrs["data-user"] == user
        expected = [(m["step_id"], m["status"], m["at"]) for m in results["messages"] if m["user_id"] == user]
        events = section.find_all("li", "event")
        assert [
            (e.attrs["data-step"], e.attrs["data-status"], e.attrs["data-at"]) for e in events
        ] == expected
        marks = section.one("svg", "timeline-chart").find_all("g", "mark")
        assert [(m.attrs["data-step"], m.attrs["data-status"], m.attrs["data-at"]) for m in marks] == expected
    # rejected events
    rejected = root.by_id("rejected")
    assert int(rejected.attrs["data-count"]) == len(results["rejected_events"])
    bars = rejected.find_all("g", "reason-bar")
    assert sum(int(b.attrs["data-value"]) for b in bars) == len(results["rejected_events"])


def assert_failures_dom(root: El, results: dict[str, Any]) -> None:
    """What the DOM must show of failed and unconfirmed sends (``with_failures``)."""
    failed = [t for t in results["trace"] if t["kind"] == "step_failed"]
    for journey_id, data in results["journeys"].items():
        mine = [t for t in failed if t["journey_id"] == journey_id]
        section = root.by_id(f"journey-{journey_id}")
        block = root.by_id(f"failures-{journey_id}")
        assert block in list(section.iter())
        assert int(block.attrs["data-count"]) == len(mine), journey_id
        rows = block.find_all("tr", "failure")
        assert [
            (r.attrs["data-user"], r.attrs["data-step"], r.attrs["data-at"], r.attrs["data-error"])
            for r in rows
        ] == [(t["user_id"], t["detail"]["step_id"], t["at"], t["detail"]["error"]) for t in mine][
            :MAX_FAILURE_ROWS
        ]
        if not mine:
            assert "No step failed." in block.text()
            assert not section.find_all(cls="failing")
            continue
        assert "Nothing skipped" not in section.text(), journey_id
        counts = data["kpis"]["counts"]
        if counts.get("failed"):
            (bar,) = section.one("svg", "funnel").find_all("rect", "obar", data_outcome="failed")
            assert int(bar.attrs["data-value"]) == counts["failed"]
        steps = Counter(t["detail"]["step_id"] for t in mine)
        nodes = section.one("svg", "diagram")
        for step, n in steps.items():
            node = nodes.one("g", "node", data_step=step)
            assert "failing" in node.classes
            assert int(node.attrs["data-failed"]) == n
    cart = root.by_id("failures-cart-abandonment")
    reasons = {c.attrs["data-step"]: int(c.attrs["data-value"]) for c in cart.find_all("span", "failure")}
    assert reasons == {"recommend": 3, "coupon": 1, "coupon-click": 1}
    why = {r.attrs["data-user"]: r.one("td", "why").text() for r in cart.find_all("tr", "failure")}
    assert why["qa-1"].startswith("similar-products.email.j2: 'nickname' is undefined; add it")
    assert why["u-0003"].startswith("MessageRejected: Address blacklisted: <redacted:")
    assert why["u-0004"] == "no cause given"
    assert "No send was skipped, but 5 failed" in root.by_id("journey-cart-abandonment").text()
    # sends by step: the failed sends, not the wait_for that failed
    sends = root.by_id("journey-cart-abandonment").one("svg", "sends")
    assert {r.attrs["data-step"]: r.attrs.get("data-failed") for r in sends.find_all("g", "send-row")} == {
        "coupon": "1",
        "recommend": "3",
    }
    overview = root.by_id("overview").one("div", "tile", data_metric="failed")
    assert int(overview.attrs["data-value"]) == sum(
        d["kpis"]["counts"].get("failed", 0) for d in results["journeys"].values()
    )
    # the scripted user whose recommendation failed sees it in her timeline, in time order
    timeline = root.by_id("timeline-qa-1")
    (entry,) = timeline.find_all("li", "failure")
    assert (entry.attrs["data-step"], entry.attrs["data-error"]) == ("recommend", "TemplateError")
    assert "'nickname' is undefined" in entry.text()
    listed = [e.attrs["data-at"] for e in timeline.one("ol", "events").find_all("li")]
    assert listed == sorted(listed)
    (mark,) = timeline.one("svg", "timeline-chart").find_all("g", "fail-mark")
    assert mark.attrs["data-at"] == "2026-12-09T00:00:00.000Z"
    assert "1 failed" in timeline.one("div", "tl-head").text()
    # unconfirmed sends, told apart from sent, failed and skipped
    unconfirmed = root.by_id("unconfirmed-new-user-7day")
    assert unconfirmed.attrs["data-count"] == "2"
    rows = unconfirmed.find_all("tr", "unconfirmed-send")
    assert [(r.attrs["data-user"], r.attrs["data-reconciled"]) for r in rows] == [
        ("qa-1", "true"),
        ("u-0107", "false"),
    ]
    assert rows[0].text().endswith(f"{RECONCILED} (Dec 5 08:05)")
    assert rows[1].text().endswith(UNCONFIRMED)
    (bar,) = root.by_id("journey-new-user-7day").one("svg", "funnel").find_all("rect", "obar")
    assert (bar.attrs["data-outcome"], bar.attrs["data-value"]) == ("unconfirmed", "2")
    offer = timeline.one("li", "event", data_status="sent_unconfirmed")
    assert "unconfirmed · answer lost, not retried" in offer.text()
    assert not root.find_all(id="unconfirmed-cart-abandonment")


# --------------------------------------------------------------------------- the report


def test_report_dom_shows_the_input(page: str, results: dict[str, Any], journeys: dict[str, Journey]) -> None:
    assert_report_dom(parse(page), results, journeys)


def test_report_shows_failed_steps_with_their_reasons(
    failing_page: str, failing: dict[str, Any], journeys: dict[str, Journey]
) -> None:
    root = parse(failing_page)
    assert_report_dom(root, failing, journeys)  # everything else still holds
    assert_failures_dom(root, failing)
    assert "ada@example.com" not in failing_page  # the refusal echoed the address: masked


def test_a_report_without_failures_says_so_and_marks_nothing(page: str, results: dict[str, Any]) -> None:
    root = parse(page)
    blocks = [root.by_id(f"failures-{j}") for j in results["journeys"]]
    assert [b.attrs["data-count"] for b in blocks] == ["0"] * len(results["journeys"])
    assert all("No step failed." in b.text() for b in blocks)
    assert not root.find_all(cls="failing")
    assert not root.find_all("rect", "obar")
    assert not root.find_all("li", "failure")
    assert 'id="unconfirmed-' not in page
    assert root.by_id("overview").one("div", "tile", data_metric="failed").attrs["data-value"] == "0"


def test_many_failures_are_listed_up_to_a_limit_and_counted(
    failing: dict[str, Any], journeys: dict[str, Journey]
) -> None:
    """A template broken for everyone fails thousands of sends: one reason, a bounded table."""
    many = copy.deepcopy(failing)
    at = "2026-12-20T00:00:00.000Z"
    many["trace"] += [
        _failed(f"u-{i:05d}", "d12-launch", "coupon", at, "TemplateError", NICKNAME, "email")
        for i in range(120)
    ]
    block = parse(render(many, journeys)).by_id("failures-d12-launch")
    assert block.attrs["data-count"] == "120"
    assert len(block.find_all("tr", "failure")) == MAX_FAILURE_ROWS
    assert "… and 70 more" in block.one("tr", "more").text()
    (chip,) = block.find_all("span", "failure")
    assert chip.attrs["data-value"] == "120"
    assert "similar-products.email.j2: 'nickname' is undefined …" in chip.text()


def test_report_is_self_contained(page: str) -> None:
    root = parse(page)
    assert page.startswith("<!DOCTYPE html>")
    assert not root.find_all("script"), "the report needs no script"
    for tag in ("link", "img", "iframe", "object", "embed"):
        assert not root.find_all(tag), tag
    csp = root.one("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert "default-src 'none'" in csp
    urls = set(re.findall(r"https?://[^\s\"')]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert "@import" not in page
    assert "@font-face" not in page


def test_overview_scenario_and_aws(page: str, results: dict[str, Any]) -> None:
    root = parse(page)
    scenario = root.by_id("scenario")
    assert scenario.attrs["data-start"] == results["scenario"]["start"]
    assert int(scenario.attrs["data-seed"]) == results["scenario"]["seed"]
    assert int(scenario.attrs["data-users"]) == results["scenario"]["users"]
    overview = root.by_id("overview")
    aws = results["aws"]
    for metric in (
        "state_transitions",
        "lambda_invocations",
        "dynamodb_requests",
        "events_put",
        "ses_messages",
    ):
        bar = overview.one("g", "aws-bar", data_metric=metric)
        assert int(bar.attrs["data-value"]) == aws[metric]
        assert f"{aws[metric]:,}" in bar.text()
    for metric in ("estimated_cost_usd", "cost_per_1000_user_journeys_usd"):
        shown = overview.one("div", "cost", data_metric=metric)
        assert float(shown.attrs["data-value"]) == aws[metric]
        assert f"${aws[metric]:,.2f}" in shown.text()
    sent = sum(1 for m in results["messages"] if m["status"] == "sent")
    assert overview.one("div", "tile", data_metric="sent").one("b").text() == f"{sent:,}"
    rows = [r.attrs["data-journey"] for r in overview.find_all("tr") if "data-journey" in r.attrs]
    assert rows == ["cart-abandonment", "new-user-7day", "d12-warmup", "d12-launch"]


def test_the_aws_card_lists_each_journeys_measured_cost(page: str, results: dict[str, Any]) -> None:
    overview = parse(page).by_id("overview")
    by_journey = results["aws"]["by_journey"]
    rows = [r for r in overview.find_all("tr") if "data-cost-journey" in r.attrs]
    assert [r.attrs["data-cost-journey"] for r in rows] == sorted(by_journey)
    for row in rows:
        figures = by_journey[row.attrs["data-cost-journey"]]
        cells = [c.text() for c in row.find_all("td")]
        each = figures["state_transitions"] / figures["user_journeys"]
        per_1000 = figures["cost_per_1000_user_journeys_usd"]
        assert cells[1:] == [
            f"{figures['user_journeys']:,}",
            f"{each:,.2f}".removesuffix(".00"),
            f"${per_1000:.4f}",
        ]


def test_messages_per_day_adds_up(page: str, results: dict[str, Any]) -> None:
    chart = parse(page).by_id("messages-per-day").one("svg", "daily")
    shown: Counter[tuple[str, str, str]] = Counter()
    for seg in chart.find_all("rect", "seg"):
        key = (seg.attrs["data-day"], seg.attrs["data-channel"], seg.attrs["data-status"])
        assert key not in shown, key
        shown[key] = int(seg.attrs["data-value"])
    zone = ZoneInfo("Asia/Shanghai")  # the journeys' time zone: days are local days
    expected: Counter[tuple[str, str, str]] = Counter()
    for m in results["messages"]:
        day = dt.datetime.fromisoformat(m["at"].replace("Z", "+00:00")).astimezone(zone).date().isoformat()
        expected[(day, m["channel"], m["status"])] += 1
    assert shown == expected
    assert {status for _, _, status in shown} == {"sent", "skipped"}
    assert {channel for _, channel, _ in shown} == {"email", "sms"}


def test_timeline_lists_reasons_and_deferrals(page: str, results: dict[str, Any]) -> None:
    root = parse(page)
    qa1 = {e.attrs["data-at"]: e for e in root.by_id("timeline-qa-1").find_all("li", "event")}
    welcome = qa1["2026-12-01T00:00:00.000Z"]
    assert welcome.attrs["data-step"] == "welcome"
    assert welcome.attrs["data-deferred"] == "send_window"
    assert "deferred 8h" in welcome.text()
    coupon = qa1["2026-12-06T00:00:00.000Z"]
    assert (coupon.attrs["data-journey"], coupon.attrs["data-deferred"]) == (
        "cart-abandonment",
        "frequency_cap",
    )
    qa2 = root.by_id("timeline-qa-2").find_all("li", "event")
    skipped = [
        (e.attrs["data-step"], e.attrs["data-reason"]) for e in qa2 if e.attrs["data-status"] == "skipped"
    ]
    assert skipped == [
        ("welcome", "holdout"),
        ("tips-basic", "holdout"),
        ("offer", "holdout"),
        ("reminder-sms", "holdout"),
        ("recommend", "no_consent"),
    ]
    for event in qa2:
        if event.attrs["data-status"] == "skipped":
            assert f"skipped · {event.attrs['data-reason']}" in event.text()
    chart = root.by_id("timeline-qa-2").one("svg", "timeline-chart")
    assert [d.attrs["data-reason"] for d in chart.find_all("g", "deferral")] == ["send_window"]


def test_rejected_events_grouped_by_field(page: str) -> None:
    rejected = parse(page).by_id("rejected")
    bars = {b.attrs["data-reason"]: int(b.attrs["data-value"]) for b in rejected.find_all("g", "reason-bar")}
    assert bars == {"detail.occurred_at": 2, "detail.user_id": 1, "detail-type": 1, "detail.consent.push": 1}
    assert len(rejected.find_all("li", "rejected-event")) == 5


def test_render_is_deterministic(
    results: dict[str, Any], failing: dict[str, Any], journeys: dict[str, Journey]
) -> None:
    for given in (results, failing):
        first = render(given, journeys)
        assert render(copy.deepcopy(given), dict(reversed(list(journeys.items())))) == first


def test_everything_from_the_input_is_escaped(results: dict[str, Any], journeys: dict[str, Journey]) -> None:
    evil = copy.deepcopy(results)
    evil["scenario"]["scripted_users"] = ["qa-1", EVIL]
    evil["messages"].append(
        {
            "user_id": EVIL,
            "journey_id": "new-user-7day",
            "step_id": "welcome",
            "channel": "email",
            "template": '"><img src=x onerror=alert(2)>',
            "status": "skipped",
            "reason": "<b onmouseover=alert(3)>no</b>",
            "at": "2026-12-02T03:00:00.000Z",
        }
    )
    evil["journeys"]["new-user-7day"]["name"] = "</style><script>alert(4)</script>"
    evil["rejected_events"].append(
        {
            "event": {"detail-type": "<iframe src=javascript:alert(5)>", "detail": {"user_id": EVIL}},
            "reason": "</pre><svg onload=alert(6)>",
        }
    )
    evil["trace"].append(
        _failed(
            EVIL,
            "new-user-7day",
            "welcome",
            "2026-12-02T04:00:00.000Z",
            "<img src=x onerror=alert(7)>",
            json.dumps({"errorMessage": "<iframe onload=alert(8)>"}),
            "email",
        )
    )
    page = render(evil, journeys)
    assert "<script" not in page.lower()
    root = parse(page)
    tags = {el.tag for el in root.iter()}
    assert not tags & {"script", "img", "iframe"}, tags
    handlers = [(el.tag, k) for el in root.iter() for k in el.attrs if k.startswith("on")]
    assert not handlers
    section = root.by_id(f"timeline-{EVIL}")
    assert section.attrs["data-user"] == EVIL
    (event,) = section.find_all("li", "event")
    assert '"><img src=x onerror=alert(2)>' in event.text()
    assert event.attrs["data-reason"] == "<b onmouseover=alert(3)>no</b>"
    assert "</style><script>alert(4)</script>" in root.by_id("journey-new-user-7day").one("h3").text()
    assert "</pre><svg onload=alert(6)>" in root.by_id("rejected").text()
    (failure,) = root.by_id("failures-new-user-7day").find_all("tr", "failure")
    assert failure.attrs["data-error"] == "<img src=x onerror=alert(7)>"
    assert failure.one("td", "why").text() == "<iframe onload=alert(8)>"


def test_the_timelines_drawn_are_the_scenarios_scripted_users_or_those_given(
    results: dict[str, Any], journeys: dict[str, Journey]
) -> None:
    bare = copy.deepcopy(results)
    bare["scenario"]["scripted_users"] = []
    assert 'id="timeline-' not in render(bare, journeys)
    assert 'id="timeline-qa-1"' in render(results, journeys)
    page = render(bare, journeys, scripted_users=["qa-2"])
    assert 'id="timeline-qa-2"' in page
    assert 'id="timeline-qa-1"' not in page


def test_report_without_journey_files_still_renders(results: dict[str, Any]) -> None:
    root = parse(render(results, {}))
    section = root.by_id("journey-new-user-7day")
    assert not section.find_all("svg", "diagram")
    assert len(section.one("svg", "funnel").find_all("rect", "bar")) == len(FUNNEL)


def test_an_empty_run_renders(results: dict[str, Any]) -> None:
    empty = copy.deepcopy(results)
    for key in ("messages", "executions", "rejected_events", "alerts", "trace"):
        empty[key] = []
    empty["journeys"] = {}
    root = parse(render(empty, {}))
    assert root.by_id("rejected").attrs["data-count"] == "0"


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["scenario"].pop("seed"),  # a key missing
        lambda d: d["aws"].update(lambda_calls=d["aws"].pop("lambda_invocations")),  # renamed
        lambda d: d["messages"][0].update(step="welcome"),  # one too many
        lambda d: d["trace"].append({**d["trace"][0], "kind": "branch"}),  # a kind nobody writes
        lambda d: d["journeys"]["d12-launch"]["kpis"]["counts"].update(sent="many"),
    ],
)
def test_results_that_drifted_from_the_contract_are_refused(
    results: dict[str, Any], change: Callable[[dict[str, Any]], object]
) -> None:
    """A renamed or missing key fails loudly instead of showing "–" (docs/results.schema.json)."""
    drifted = copy.deepcopy(results)
    change(drifted)
    with pytest.raises(ValidationError):
        SimulationResults.model_validate(drifted)


def test_the_committed_results_schema_accepts_what_the_model_accepts(results: dict[str, Any]) -> None:
    schema = json.loads((Path(__file__).parents[2] / "docs" / "results.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(results)
    drifted = copy.deepcopy(results)
    drifted["scenario"].pop("seed")
    assert not jsonschema.Draft202012Validator(schema).is_valid(drifted)


def test_the_results_round_trip_to_the_same_bytes(results: dict[str, Any]) -> None:
    text = json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert SimulationResults.model_validate_json(text).to_json() == text
    assert SimulationResults.model_validate(results).to_jsonable() == results


# --------------------------------------------------------------------------- the diagram


def test_diagram_counts_and_determinism(results: dict[str, Any], journeys: dict[str, Journey]) -> None:
    journey = journeys["cart-abandonment"]
    counts = diagram.step_counts(SimulationResults.model_validate(results), "cart-abandonment")
    svg = diagram.journey_svg(journey, counts)
    assert svg == diagram.journey_svg(
        journey, diagram.step_counts(SimulationResults.model_validate(results), "cart-abandonment")
    )
    root = ET.fromstring(svg)  # well-formed XML: usable as a standalone .svg file too
    nodes = {g.get("data-step"): g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("data-step")}
    assert nodes["coupon"].get("data-count") == str(reached(results, "cart-abandonment")["coupon"])
    sent = sum(
        1
        for m in results["messages"]
        if (m["journey_id"], m["step_id"], m["status"]) == ("cart-abandonment", "coupon", "sent")
    )
    assert f"{sent:,} sent" in "".join(nodes["coupon"].itertext())
    assert nodes["still-in-cart.else.exit-1"].get("class") == "node n-exit"
    assert nodes["exit-rules"].get("data-count") == str(counts.exited_on_event)
    labels = {
        g.get("data-branch") for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("data-branch")
    }
    assert labels == {"then", "else", "on_event", "on_timeout"}
    plain = diagram.journey_svg(journey)
    assert "data-count" not in plain
    assert plain != svg


BRANCHY = {
    "schema": "touchpoint/v1",
    "id": "branchy",
    "name": "Branchy <b>&</b>",
    "owner": "qa@example.com",
    "timezone": "Asia/Shanghai",
    "trigger": {"event": "user.registered"},
    "steps": [
        {
            "split": [
                {
                    "name": "A",
                    "percent": 50,
                    "steps": [{"send": {"channel": "email", "template": "welcome"}, "id": "a"}],
                },
                {
                    "name": "B",
                    "percent": 50,
                    "steps": [
                        {"wait": "1d"},
                        {
                            "send": {"channel": "sms", "template": "welcome"},
                            "id": "b",
                            "fallback": [
                                {"send": {"channel": "email", "template": "welcome"}, "id": "b-email"}
                            ],
                        },
                    ],
                },
            ],
            "id": "ab",
        },
        {
            "wait_for": {"event": "order.placed", "timeout": "3d"},
            "id": "bought",
            "on_event": [{"exit": "converted"}],
            "on_timeout": [{"tag": {"add": ["cold"]}}],
        },
        {"send": {"channel": "email", "template": "last-call"}, "id": "last"},
    ],
}


def _positions(svg: str) -> dict[str, tuple[float, float]]:
    """Top-left corner of every node box, from the nested translate() transforms."""
    root = ET.fromstring(svg)
    found: dict[str, tuple[float, float]] = {}

    def visit(el: ET.Element, x: float, y: float) -> None:
        match = re.fullmatch(r"translate\(([-\d.]+) ([-\d.]+)\)", el.get("transform", ""))
        if match:
            x, y = x + float(match[1]), y + float(match[2])
        if el.get("data-step") and "node" in el.get("class", ""):
            found[el.get("data-step", "")] = (x, y)
        for child in el:
            visit(child, x, y)

    visit(root, 0, 0)
    return found


def test_diagram_lays_branches_side_by_side_and_rejoins() -> None:
    journey = Journey.model_validate(BRANCHY)
    svg = diagram.journey_svg(journey)
    at = _positions(svg)
    # split: A and B side by side under it, A left of B, both starting at the same height
    assert at["a"][1] == at["ab.B.wait-1"][1] > at["ab"][1]
    assert at["a"][0] < at["ab"][0] < at["ab.B.wait-1"][0]
    # the send with a fallback: "not sent" branch beside the straight "sent" path
    assert at["b-email"][1] > at["b"][1]
    # the branches rejoin below on the main axis
    assert at["bought"][0] == at["ab"][0] == at["last"][0] == at["trigger"][0]
    assert at["bought"][1] > at["b-email"][1] > at["a"][1]
    # the wait_for: the "did it" branch exits, the timeout branch goes on to the last send
    assert at["bought.on_event.exit-1"][1] == at["bought.on_timeout.tag-1"][1]
    assert at["last"][1] > at["bought.on_timeout.tag-1"][1]
    assert at["end"][1] > at["last"][1]
    labels = re.findall(r'data-branch="([^"]+)"', svg)
    assert sorted(labels) == ["A", "B", "fallback", "on_event", "on_timeout", "sent"]
    for text in (">A 50%<", ">B 50%<", ">not sent<", ">did it<", ">timeout<"):
        assert text in svg
    assert 'aria-label="Journey branchy"' in svg


# --------------------------------------------------------------------------- in a browser


def _chromium() -> str | None:
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.mark.slow
def test_report_in_headless_chromium(
    tmp_path: Path, page: str, results: dict[str, Any], journeys: dict[str, Journey]
) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium is not installed: apt-get install -y chromium (make test installs it)")
    report = tmp_path / "report.html"
    report.write_text(page, encoding="utf-8")
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dumped = subprocess.run(
        [*flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=90, check=True
    ).stdout
    root = parse(dumped)
    assert_report_dom(root, results, journeys)
    assert root.one("head").one("title").text() == "Touchpoint simulation report"
    with_failed = tmp_path / "failing.html"
    with_failed.write_text(render(with_failures(results), journeys), encoding="utf-8")
    dumped = subprocess.run(
        [*flags, "--dump-dom", with_failed.as_uri()], capture_output=True, text=True, timeout=90, check=True
    ).stdout
    assert_failures_dom(parse(dumped), with_failures(results))

    screenshot = tmp_path / "report.png"
    subprocess.run(
        [*flags, f"--screenshot={screenshot}", "--window-size=1280,2400", report.as_uri()],
        capture_output=True,
        timeout=90,
        check=True,
    )
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, 2400)
    assert len(png) > 100_000, "a blank page compresses to a few kB; the report's charts do not"


# --------------------------------------------------------------------------- campaigns


def test_a_campaign_section_shows_its_plan_with_actuals_and_the_goal(double12: SimulationResults) -> None:
    """docs/campaigns.md: each stage's window, owner and entrants, each KPI beside its target with
    its verdict, and the campaign goal's figures, from the results' ``campaigns``."""
    root = parse(report.render(double12, {}))
    section = root.by_id("campaign-d12")
    plan = double12.campaigns["d12"]
    assert plan.name in section.one("span", "camp-name").text()
    table = section.one("table", "plan", data_campaign="d12")
    rows = [r for r in table.find_all("tr") if "data-stage" in r.attrs]
    assert [r.attrs["data-stage"] for r in rows] == [s.id for s in plan.stages]
    for row, stage in zip(rows, plan.stages, strict=True):
        cells = [c.text() for c in row.find_all("td")]
        assert cells[:2] == [stage.name or stage.id, stage.journey]
        assert cells[3] == stage.owner
        assert cells[4] == f"{stage.funnel['entered']:,}"
        shown = {li.attrs["data-kpi"]: li.attrs["data-verdict"] for li in row.find_all("li", "kpi")}
        assert shown == {k.kpi: k.verdict for k in stage.kpis}
    assert [r.find_all("td")[2].text() for r in rows] == [
        "2026-12-05 – 2026-12-08",
        "2026-12-09 – 2026-12-10",
        "2026-12-12 – 2026-12-12",
        "2026-12-13 – 2026-12-15",
    ]
    goal = section.one("p", "campaign-goal")
    assert plan.goal is not None
    assert (goal.attrs["data-participants"], goal.attrs["data-converted"]) == ("2", "1")
    assert goal.attrs["data-verdict"] == "not_enough_data"
    assert "not enough data" in goal.text()
    assert "revenue 268.00" in goal.text()
