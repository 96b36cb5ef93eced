"""What the report shows, read from the typed results once: the messages, executions, deferrals
and failures, the time zone and days of the page, and per journey its campaign stage and verdicts.
Section modules write HTML and SVG from it."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from touchpoint.journey.model import Journey, SendStep
from touchpoint.journey.steps import resolve, walk
from touchpoint.local.report.fmt import _md, _parse
from touchpoint.local.results import DeferralTrace, SimulationResults, Target
from touchpoint.local.terminal import Failure, failures

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # only for results without a scenario or any message


@dataclass(frozen=True)
class _Message:
    index: int
    user: str
    journey: str
    step: str
    channel: str
    template: str
    status: str
    reason: str | None
    at: str
    when: dt.datetime | None


@dataclass(frozen=True)
class _Deferral:
    user: str
    journey: str
    step: str
    reason: str
    at: dt.datetime
    until: dt.datetime | None


@dataclass(frozen=True)
class StepSends:
    """One journey's send steps (file order, then any other that sent) and what each did."""

    order: list[str]
    channel: dict[str, str]
    sent: Counter[str]
    skipped: Counter[str]
    unconfirmed: Counter[str]
    failed: Counter[str]


class ReportView:
    def __init__(
        self,
        typed: SimulationResults,
        journeys: Mapping[str, Journey],
        scripted: Sequence[str] | None,
        title: str,
    ) -> None:
        self.results = typed
        self.models = journeys
        self.title = title
        self.scenario = typed.scenario
        self.data = typed.journeys
        self.messages = [
            _Message(
                i,
                m.user_id,
                m.journey_id,
                m.step_id,
                m.channel,
                m.template,
                m.status,
                m.reason,
                m.at,
                _parse(m.at),
            )
            for i, m in enumerate(typed.messages)
        ]
        self.executions = typed.executions
        zones = {j.timezone for j in journeys.values()}
        self.zone_name = zones.pop() if len(zones) == 1 else "UTC"
        self.zone = ZoneInfo(self.zone_name)
        times = [m.when for m in self.messages if m.when]
        self.start = _parse(self.scenario.start) or (min(times) if times else _EPOCH)
        self.end = _parse(self.scenario.end) or (max(times) if times else self.start)
        if self.end <= self.start:
            self.end = self.start + dt.timedelta(days=1)
        self.scripted = self._scripted(scripted)
        self.deferrals = [
            _Deferral(
                t.user_id,
                t.journey_id or "",
                t.detail.step_id,
                str(t.detail.reason),
                when,
                _parse(t.detail.until),
            )
            for t in typed.trace
            if isinstance(t, DeferralTrace) and (when := _parse(t.at))
        ]
        self.deferred = self._match_deferrals()
        self.failures: list[Failure] = failures(typed)

    def _scripted(self, given: Sequence[str] | None) -> list[str]:
        if given is not None:
            return list(given)
        return list(self.results.scenario.scripted_users)

    def _match_deferrals(self) -> dict[int, _Deferral]:
        decisions: dict[tuple[str, str, str], list[_Message]] = defaultdict(list)
        for m in self.messages:
            if m.when is not None:
                decisions[(m.user, m.journey, m.step)].append(m)
        matched: dict[int, _Deferral] = {}
        for d in sorted(self.deferrals, key=lambda d: d.at):
            later = [m for m in decisions.get((d.user, d.journey, d.step), ()) if m.when and m.when >= d.at]
            if later:
                first = min(later, key=lambda m: (m.when, m.index))
                matched.setdefault(first.index, d)
        return matched

    def local(self, when: dt.datetime) -> dt.datetime:
        return when.astimezone(self.zone)

    def days(self) -> list[dt.date]:
        first = self.local(self.start).date()
        last = self.local(self.end - dt.timedelta(microseconds=1)).date()
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    def stamp(self, when: dt.datetime | None) -> str:
        return f"{_md(self.local(when))} {self.local(when):%H:%M}" if when else "–"

    def campaign_of(self, jid: str) -> tuple[str, str, str] | None:
        """(campaign id, stage, date) from the results, else from the journey file."""
        data = self.data.get(jid)
        campaign = data.campaign if data else None
        if campaign and campaign.id:
            return campaign.id, campaign.stage, campaign.date
        model = self.models.get(jid)
        if model and model.campaign:
            c = model.campaign
            return c.id, c.stage, c.date.isoformat()
        return None

    def stage_rank(self, jid: str) -> tuple[int, dt.datetime]:
        """A stage journey's place in its campaign's plan (the campaign file's order); results
        without the plan order the stages by when they began."""
        campaign = self.campaign_of(jid)
        plan = self.results.campaigns.get(campaign[0]) if campaign else None
        order = [s.journey for s in plan.stages] if plan else []
        if jid in order:
            return order.index(jid), _EPOCH
        return len(order), self.stage_windows([jid])[0][2]

    def ordered_journeys(self) -> list[str]:
        """Standalone journeys by id, then each campaign's stages in plan order."""
        alone = sorted(j for j in self.data if self.campaign_of(j) is None)
        staged = sorted(
            (j for j in self.data if self.campaign_of(j) is not None),
            key=lambda j: (
                (self.campaign_of(j) or ("", "", ""))[0],
                self.stage_rank(j),
                j,
            ),
        )
        return alone + staged

    def failed_count(self, jid: str) -> int:
        """Failed steps of a journey: the trace's (sends and others), at least the KPI count."""
        data = self.data.get(jid)
        failed = data.kpis.counts.get("failed", 0) if data else 0
        return max(failed, sum(1 for f in self.failures if f.journey_id == jid))

    @staticmethod
    def verdict(target: Target) -> tuple[str, str, str]:
        """(css class, symbol, words) for a KPI target."""
        if target.value is None:
            return "none", "–", "no data"
        if target.breached:
            return "bad", "✘", "alarm"
        if target.met:
            return "ok", "✔", "met"
        if target.met is None and target.target is None:
            return "ok", "✔", "within limits"  # only a floor or ceiling, and not breached
        return "warn", "✘", "off target"

    def step_templates(self, model: Journey | None) -> dict[str, str]:
        """Send step id → its template name, to say which template a failed send rendered."""
        if model is None:
            return {}
        return {
            n.id: n.step.send.template for n in walk(resolve(model.steps)) if isinstance(n.step, SendStep)
        }

    def deferral_of(self, m: _Message) -> _Deferral | None:
        """The first deferral of this message (a message is deferred, maybe several times, then
        sent or skipped: deferrals belong to the next decision of the same user, journey and step)."""
        return self.deferred.get(m.index)

    def step_sends(self, jid: str, model: Journey | None) -> StepSends:
        sent: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        unconfirmed: Counter[str] = Counter()
        failed = Counter(f.step_id for f in self.failures if f.journey_id == jid and f.channel)
        channel: dict[str, str] = {}
        order: list[str] = []
        for m in self.messages:
            if m.journey != jid:
                continue
            if m.step not in channel:
                order.append(m.step)
            channel.setdefault(m.step, m.channel)
            if m.status == "sent":
                sent[m.step] += 1
            elif m.status == "sent_unconfirmed":
                unconfirmed[m.step] += 1
            else:
                skipped[m.step] += 1
        for f in self.failures:  # a step that only ever failed has no message
            if f.journey_id == jid and f.channel and f.step_id not in channel:
                order.append(f.step_id)
                channel[f.step_id] = f.channel
        if model:  # file order, with steps that never sent anything too
            file_order = [n.id for n in walk(resolve(model.steps)) if n.kind == "send"]
            for node in walk(resolve(model.steps)):
                if isinstance(node.step, SendStep):
                    channel.setdefault(node.id, node.step.send.channel)
            order = file_order + [s for s in order if s not in file_order]
        return StepSends(order, channel, sent, skipped, unconfirmed, failed)

    def daily_cells(self) -> Counter[tuple[int, str, str]]:
        """(day index, channel, sent|skipped) → messages, by the page's local day."""
        index = {d: i for i, d in enumerate(self.days())}
        cells: Counter[tuple[int, str, str]] = Counter()
        for m in self.messages:
            if m.when is None or m.status not in ("sent", "skipped"):
                continue
            slot_of = index.get(self.local(m.when).date())
            if slot_of is not None:
                cells[(slot_of, m.channel, m.status)] += 1
        return cells

    def stage_windows(self, members: list[str]) -> list[tuple[str, str, dt.datetime, dt.datetime]]:
        """(journey, stage, begin, end) of a campaign's stages: the journeys' effective windows,
        else their first entry and last exit."""
        windows: list[tuple[str, str, dt.datetime, dt.datetime]] = []
        for jid in members:
            model = self.models.get(jid)
            entries = [t for e in self.executions if e.journey_id == jid and (t := _parse(e.entered_at))]
            ends = [t for e in self.executions if e.journey_id == jid and (t := _parse(e.ended_at))]
            eff = model.effective if model else None
            begin = (eff.from_ if eff and eff.from_ else None) or (min(entries) if entries else self.start)
            finish = (eff.until if eff and eff.until else None) or (max(ends) if ends else begin)
            if finish <= begin:
                finish = begin + dt.timedelta(days=1)
            windows.append((jid, (self.campaign_of(jid) or ("", "", ""))[1], begin, finish))
        return windows
