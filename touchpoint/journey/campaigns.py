"""Campaign files: loaded, checked (a list of located violations) and applied to their stage
journeys, which then run as ordinary journeys with the window, schedule and KPIs the campaign gives.

Everything the campaign supplies is computed here from ``date``, so compiling the same files at
another date moves every stage, schedule and window (docs/campaigns.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from touchpoint import durations
from touchpoint.catalogue import Catalogue, unknown_event, unknown_properties
from touchpoint.journey.model import Campaign, Effective, Journey, ScheduleTrigger
from touchpoint.journey.model.campaign import CampaignFile, Stage, Window
from touchpoint.journey.model.triggers import DailySchedule, OnceSchedule
from touchpoint.journey.source import JsonPath, Source, SourceError, read_source
from touchpoint.journey.validate import kpi_findings
from touchpoint.journey.violations import Severity, Violation, at, from_validation_error
from touchpoint.schedules import Cron, parse_schedule
from touchpoint.suggest import did_you_mean

CAMPAIGN_DIR = "campaigns"


@dataclass(frozen=True)
class Span:
    """A stage's window as instants in the campaign's zone: entries from ``start``, none from ``end``."""

    start: dt.datetime
    end: dt.datetime

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def __str__(self) -> str:
        return f"{_moment(self.start)} to {_moment(self.end)} (end excluded)"


@dataclass
class LoadedCampaign:
    path: Path
    display: str
    source: Source | None
    campaign: CampaignFile | None
    violations: list[Violation] = field(default_factory=list)

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "error"]


def _moment(at_: dt.datetime) -> str:
    return at_.strftime("%Y-%m-%d %H:%M")


def campaign_files(directory: Path) -> list[Path]:
    folder = directory / CAMPAIGN_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))


def load_campaign(file: Path, display: str) -> LoadedCampaign:
    try:
        source = read_source(file, display)
    except SourceError as error:
        return LoadedCampaign(file, display, None, None, [Violation(display, error.line, "", error.message)])
    if not isinstance(source.data, dict):
        message = "a campaign is a mapping that starts with schema: touchpoint/campaign-v1"
        return LoadedCampaign(file, display, source, None, [at(source, (), message)])
    try:
        campaign = CampaignFile.model_validate(source.data)
    except ValidationError as error:
        return LoadedCampaign(file, display, source, None, from_validation_error(error, source, CampaignFile))
    found = []
    if campaign.id != file.stem:
        found.append(
            at(
                source,
                ("id",),
                f'"{campaign.id}" must match the file name ({file.name}); rename the file to '
                f"{campaign.id}.yaml or set id: {file.stem}",
            )
        )
    return LoadedCampaign(file, display, source, campaign, found)


def stage_journeys(campaigns: Sequence[LoadedCampaign]) -> frozenset[str]:
    """Journey ids some campaign names as a stage (read from the data, so a campaign with errors
    still marks its stages)."""
    ids: set[str] = set()
    for loaded in campaigns:
        data = loaded.source.data if loaded.source is not None else None
        stages = data.get("stages") if isinstance(data, dict) else None
        for stage in stages if isinstance(stages, list) else []:
            if isinstance(stage, dict) and isinstance(stage.get("journey"), str):
                ids.add(stage["journey"])
    return frozenset(ids)


# --------------------------------------------------------------------------- windows


def _shifted(day: dt.date, seconds: int, zone: ZoneInfo) -> dt.datetime:
    """``day``'s local midnight plus ``seconds`` of wall-clock time (so days stay days across DST)."""
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
    return naive.replace(tzinfo=zone)


def span_of(campaign: CampaignFile, window: Window) -> Span:
    zone = ZoneInfo(campaign.timezone)
    after_sale = campaign.last_day + dt.timedelta(days=1)
    if window.during:
        return Span(_shifted(campaign.date, 0, zone), _shifted(after_sale, 0, zone))
    if window.after is not None:
        return Span(_shifted(after_sale, 0, zone), _shifted(after_sale, window.after, zone))
    assert window.from_ is not None
    assert window.to is not None
    return Span(_shifted(campaign.date, window.from_, zone), _shifted(campaign.date, window.to, zone))


def once_at(campaign: CampaignFile, schedule: OnceSchedule, window: Window) -> dt.datetime:
    """A one-off stage schedule's local fire time: ``time`` on the date moved by ``at`` — in an
    ``after`` stage on the sale's last day (``until``), as the window itself counts from there."""
    hours, minutes = (int(x) for x in schedule.time.split(":"))
    base = campaign.last_day if window.after is not None else campaign.date
    return _shifted(base, schedule.at + hours * 3600 + minutes * 60, ZoneInfo(campaign.timezone))


def expression_of(campaign: CampaignFile, schedule: DailySchedule | OnceSchedule, window: Window) -> str:
    """The Scheduler expression a relative schedule stands for. A daily one covers the window's
    days when they lie in one month, else its months or years; trigger_eval ignores a fire
    outside the window (docs/decisions.md D18)."""
    span = span_of(campaign, window)
    match schedule:
        case DailySchedule():
            hours, minutes = (int(x) for x in schedule.daily.split(":"))
            first, last = span.start.date(), (span.end - dt.timedelta(minutes=1)).date()
            if (first.year, first.month) == (last.year, last.month):
                days = f"{first.day}" if first == last else f"{first.day}-{last.day}"
                return f"cron({minutes} {hours} {days} {first.month} ? {first.year})"
            if first.year == last.year:
                return f"cron({minutes} {hours} * {first.month}-{last.month} ? {first.year})"
            return f"cron({minutes} {hours} * * ? {first.year}-{last.year})"
        case OnceSchedule():
            t = once_at(campaign, schedule, window)
            return f"cron({t.minute} {t.hour} {t.day} {t.month} ? {t.year})"


def fires_within(expression: str, span: Span) -> dt.datetime | None:
    """The first fire time of a schedule inside the window, or None (it would never start anyone)."""
    schedule = parse_schedule(expression)
    if not isinstance(schedule, Cron):
        return span.start  # a rate starts when the schedule does: the window's start
    first = schedule.next_after(span.start - dt.timedelta(minutes=1))
    return first if first is not None and first < span.end else None


# --------------------------------------------------------------------------- applying


def apply(journey: Journey, campaign: CampaignFile, index: int) -> Journey:
    """The stage journey as it runs: the campaign's window, id and stage, its resolved schedule
    and the stage KPIs added."""
    stage = campaign.stages[index]
    span = span_of(campaign, stage.window)
    participants_of = (
        [s.journey for s in campaign.stages[:index]] if stage.audience == "participants" else None
    )
    update: dict[str, object] = {
        "effective": Effective.model_validate({"from": span.start, "until": span.end}),
        "campaign": Campaign(
            id=campaign.id, stage=stage.id, date=campaign.date, participants_of=participants_of
        ),
    }
    if stage.kpis:
        update["kpis"] = {**journey.kpis, **stage.kpis}
    trigger = journey.trigger
    if isinstance(trigger, ScheduleTrigger) and not isinstance(trigger.schedule, str):
        update["trigger"] = ScheduleTrigger(schedule=expression_of(campaign, trigger.schedule, stage.window))
    return Journey.model_validate({**journey.model_dump(by_alias=True, exclude_unset=True), **update})


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class StageJourney:
    """What the checks need of a stage's journey: its model and where it was written."""

    journey: Journey
    source: Source


Findings = Iterator[tuple[JsonPath, str, Severity]]


def check_campaigns(
    campaigns: Sequence[LoadedCampaign],
    journeys: Mapping[str, StageJourney],
    events: Catalogue | None,
    known: Sequence[str],
) -> list[Violation]:
    """Every campaign's problems, located in the campaign file or (for what a stage journey must
    not carry) in the journey file. ``known``: every journey id of the directory, for did-you-mean."""
    found: list[Violation] = []
    claimed: dict[str, tuple[str, str, str]] = {}  # journey id → (campaign display, campaign id, stage id)
    for loaded in campaigns:
        campaign, source = loaded.campaign, loaded.source
        if campaign is None or source is None:
            continue
        found += [at(source, p, m, s) for p, m, s in _campaign_only(campaign, events)]
        dated = campaign.last_day >= campaign.date  # else every window is off: until says why, once
        spans: list[tuple[int, Span]] = []
        seen_stage: dict[str, int] = {}
        other_zones: list[str] = []
        for i, stage in enumerate(campaign.stages):
            path: JsonPath = ("stages", i)
            if stage.id in seen_stage:
                found.append(
                    at(
                        source,
                        (*path, "id"),
                        f'stage id "{stage.id}" is used twice; stage ids must be unique',
                    )
                )
            seen_stage.setdefault(stage.id, i)
            span = span_of(campaign, stage.window)
            window_problem = _window_problem(campaign, stage, span) if dated else "until"
            if window_problem not in (None, "until"):
                found.append(at(source, (*path, "window"), window_problem))
            elif window_problem is None:
                for j, other in spans:
                    if span.overlaps(other):
                        found.append(
                            at(
                                source,
                                (*path, "window"),
                                f"window {span} overlaps stage {campaign.stages[j].id}'s {other}; "
                                "a user must be in one stage at a time",
                            )
                        )
                        break
                spans.append((i, span))
            if stage.audience == "participants" and i == 0:
                found.append(
                    at(
                        source,
                        (*path, "audience"),
                        "participants are users who entered an earlier stage, and this is the first stage; "
                        "move the stage after another or remove audience",
                    )
                )
            first = claimed.setdefault(stage.journey, (loaded.display, campaign.id, stage.id))
            if first != (loaded.display, campaign.id, stage.id):
                owner = (
                    "this campaign"
                    if first[:2] == (loaded.display, campaign.id)
                    else f"campaign {first[1]} ({first[0]})"
                )
                found.append(
                    at(
                        source,
                        (*path, "journey"),
                        f"journey {stage.journey} is already stage {first[2]} of {owner}; "
                        "a journey belongs to one stage of one campaign",
                    )
                )
                continue
            target = journeys.get(stage.journey)
            if target is None:
                if stage.journey not in known:
                    hint = did_you_mean(stage.journey, known)
                    found.append(
                        at(
                            source,
                            (*path, "journey"),
                            f'no journey "{stage.journey}" in this directory{hint}',
                        )
                    )
                continue
            if target.journey.timezone != campaign.timezone:
                other_zones.append(f"{stage.journey} ({target.journey.timezone})")
            elif window_problem is None:
                found += _stage_journey(campaign, i, span, target, source, loaded.display)
        if other_zones:
            found.append(
                at(
                    source,
                    ("timezone",),
                    f"{campaign.timezone} is not the time zone of {', '.join(other_zones)}; a stage "
                    "journey runs in its campaign's time zone, so use the same one in both",
                )
            )
    return sorted(set(found))


def _campaign_only(campaign: CampaignFile, events: Catalogue | None) -> Findings:
    if campaign.until is not None and campaign.until < campaign.date:
        yield (
            ("until",),
            f"until {campaign.until} is before date {campaign.date}; until is the sale's last day",
            "error",
        )
    goal = campaign.goal
    if goal is not None:
        problem = unknown_event(events, goal.event)
        if problem is not None:
            yield ("goal", "event"), problem, "error"
        else:
            for name, message in unknown_properties(events, goal.event, goal.where):
                yield ("goal", "where", name), message, "error"
            if goal.value is not None:
                for _, message in unknown_properties(events, goal.event, {goal.value: None}):
                    yield ("goal", "value"), message, "error"


def _window_problem(campaign: CampaignFile, stage: Stage, span: Span) -> str | None:
    window = stage.window
    if window.after is not None and window.after <= 0:
        return (
            f"after: {durations.format_offset(window.after)} is not a length; an after window starts when "
            f"the sale is over ({span.start:%Y-%m-%d}) and lasts as long as after says, e.g. after: 3d"
        )
    if span.end <= span.start:
        return (
            f"the window ends ({_moment(span.end)}) before it starts ({_moment(span.start)}); "
            "swap from and to"
        )
    return None


def _stage_journey(
    campaign: CampaignFile,
    index: int,
    span: Span,
    target: StageJourney,
    campaign_source: Source,
    display: str,
) -> list[Violation]:
    stage, journey, source = campaign.stages[index], target.journey, target.source
    where = f"stage {stage.id} of campaign {campaign.id} ({display})"
    found = []
    if journey.effective is not None:
        found.append(
            at(
                source,
                ("effective",),
                f"this journey is {where}, which sets its window ({span}); remove effective",
            )
        )
    trigger = journey.trigger
    if isinstance(trigger, ScheduleTrigger):
        expression = (
            trigger.schedule
            if isinstance(trigger.schedule, str)
            else expression_of(campaign, trigger.schedule, stage.window)
        )
        if fires_within(expression, span) is None:
            match trigger.schedule:
                case OnceSchedule():
                    at_ = once_at(campaign, trigger.schedule, stage.window)
                    shown = f"it fires at {_moment(at_)}, outside the window of {where}"
                case DailySchedule():
                    shown = f"daily {trigger.schedule.daily} never fires inside the window of {where}"
                case str():
                    shown = f"{expression} never fires inside the window of {where}"
            found.append(at(source, ("trigger", "schedule"), f"{shown}: {span}; nobody would enter"))
    twice = [name for name in stage.kpis if name in journey.kpis]
    for name in twice:
        found.append(
            at(
                campaign_source,
                ("stages", index, "kpis", name),
                f"{name} is also set in {source.path}; keep it in one place",
            )
        )
    merged = apply(journey, campaign, index)  # the stage KPIs beside the journey's, as they run
    for path, message, severity in kpi_findings(merged, [n for n in stage.kpis if n not in twice]):
        found.append(at(campaign_source, ("stages", index, *path), message, severity))
    return found
