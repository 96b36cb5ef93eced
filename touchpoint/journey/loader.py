"""Load journeys from files and directories, with every problem as a located violation.

A directory is a journey set: ``*.yaml`` journeys, ``profile.yaml`` (the declared profile
attributes) and ``templates/``. Loading never stops at the first problem: all of them are listed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from touchpoint import templates
from touchpoint.attributes import EMPTY, PROFILE_FILE, ProfileFile, ProfileSchema, profile_from_data
from touchpoint.catalogue import CATALOGUE_FILE, Catalogue, CatalogueFile
from touchpoint.journey.campaigns import (
    CAMPAIGN_DIR,
    LoadedCampaign,
    StageJourney,
    apply,
    campaign_files,
    check_campaigns,
    load_campaign,
    stage_journeys,
)
from touchpoint.journey.model import Journey
from touchpoint.journey.model.campaign import CampaignFile
from touchpoint.journey.repair import stand_in
from touchpoint.journey.source import Source, SourceError, read_source
from touchpoint.journey.validate import Context, check_journey
from touchpoint.journey.violations import Violation, at, from_validation_error

T = TypeVar("T")


@dataclass
class Loaded:
    path: Path
    display: str
    source: Source | None
    journey: Journey | None  # as it runs: a campaign stage with what its campaign gives it
    violations: list[Violation] = field(default_factory=list)
    written: Journey | None = None  # a campaign stage as its file says (the plan words it)

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "error"]


@dataclass
class Project:
    journeys: list[Loaded]
    contexts: dict[Path, Context]
    violations: list[Violation] = field(default_factory=list)  # not tied to one journey
    campaigns: list[LoadedCampaign] = field(default_factory=list)

    def all_violations(self) -> list[Violation]:
        return sorted(
            {
                *self.violations,
                *(v for j in self.journeys for v in j.violations),
                *(v for c in self.campaigns for v in c.violations),
            }
        )

    def valid_campaigns(self) -> list[CampaignFile]:
        return [c.campaign for c in self.campaigns if c.campaign is not None and not c.errors]

    def errors(self) -> list[Violation]:
        return [v for v in self.all_violations() if v.severity == "error"]

    def valid(self) -> list[tuple[Loaded, Journey]]:
        return [(j, j.journey) for j in self.journeys if j.journey is not None and not j.errors]

    def context_of(self, loaded: Loaded) -> Context:
        return self.contexts[loaded.path.parent.resolve()]


def journey_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p
                for p in path.iterdir()
                if p.suffix in (".yaml", ".yml") and p.name not in (PROFILE_FILE, CATALOGUE_FILE)
            )
        else:
            files.append(path)
    return files


def display_path(path: Path, cwd: Path | None = None) -> str:
    base = (cwd or Path.cwd()).resolve()
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:
        return str(path)


def load_project(
    paths: Sequence[Path], cwd: Path | None = None, campaigns: Sequence[Path] | None = None
) -> Project:
    """Journeys and the campaigns that stage them. ``campaigns``: the campaign files to use (default:
    ``campaigns/*.yaml`` of every directory given; a file under ``campaigns/`` loads its directory's
    journeys)."""
    paths, chosen = _split_campaign_paths(paths, campaigns)
    staged = {d: [load_campaign(f, display_path(f, cwd)) for f in files] for d, files in chosen.items()}
    project = Project([], {})
    for file in journey_files(paths):
        display = display_path(file, cwd)
        directory = file.parent.resolve()
        if directory not in project.contexts:
            ctx, problems = _context(file.parent, cwd, staged.get(directory, []))
            project.contexts[directory] = ctx
            project.violations += problems
        if not file.exists():
            project.violations.append(Violation(display, 1, "", "no such file"))
            continue
        project.journeys.append(load_journey(file, display, project.contexts[directory]))
    _unique_ids(project)
    for directory in project.contexts:
        _stage(project, directory, staged.get(directory, []))
    return project


def _split_campaign_paths(
    paths: Sequence[Path], campaigns: Sequence[Path] | None
) -> tuple[list[Path], dict[Path, list[Path]]]:
    """Journey paths, and the campaign files of each journeys directory: those given (a path under
    ``campaigns/`` stands for its campaign and its directory's journeys) and, unless ``campaigns``
    names them, every ``campaigns/*.yaml`` of the directories loaded."""
    journeys: list[Path] = []
    given = list(campaigns or [])
    for path in paths:
        if path.is_file() and path.parent.name == CAMPAIGN_DIR:
            journeys.append(path.parent.parent)
            given.append(path)
        else:
            journeys.append(path)
    chosen: dict[Path, list[Path]] = {}
    if campaigns is None:
        for path in journeys:
            directory = path if path.is_dir() else path.parent
            chosen.setdefault(directory.resolve(), campaign_files(directory))
    for file in given:
        home = file.parent.parent if file.parent.name == CAMPAIGN_DIR else journeys[0] if journeys else file
        directory = home if home.is_dir() else home.parent
        files = chosen.setdefault(directory.resolve(), [])
        if file.resolve() not in {f.resolve() for f in files}:
            files.append(file)
    return list(dict.fromkeys(journeys)), chosen


def _stage(project: Project, directory: Path, campaigns: list[LoadedCampaign]) -> None:
    """Check the directory's campaigns and replace each stage journey by the journey as it runs."""
    project.campaigns += campaigns
    mine = [j for j in project.journeys if j.path.parent.resolve() == directory]
    ready = {
        j.journey.id: StageJourney(j.journey, j.source)
        for j in mine
        if j.journey is not None and j.source is not None and not j.errors
    }
    on_disk = {p.stem for p in journey_files([directory])}
    known = sorted(on_disk | {j.path.stem for j in mine} | set(ready))
    found = check_campaigns(campaigns, ready, project.contexts[directory].events, known)
    by_file = {c.display: c for c in campaigns}
    by_journey = {j.display: j for j in mine}
    for violation in found:
        owner = by_file.get(violation.file) or by_journey.get(violation.file)
        (owner.violations if owner is not None else project.violations).append(violation)
    for loaded in campaigns:
        campaign = loaded.campaign
        if campaign is None or loaded.errors:
            continue
        for i, stage in enumerate(campaign.stages):
            target = next((j for j in mine if j.journey is not None and j.journey.id == stage.journey), None)
            if target is not None and target.journey is not None and not target.errors:
                target.written = target.journey
                target.journey = apply(target.journey, campaign, i)


def load_journey(file: Path, display: str, ctx: Context) -> Loaded:
    try:
        source = read_source(file, display)
    except SourceError as error:
        return Loaded(file, display, None, None, [Violation(display, error.line, "", error.message)])
    if not isinstance(source.data, dict):
        return Loaded(
            file,
            display,
            source,
            None,
            [at(source, (), "a journey is a mapping that starts with schema: touchpoint/v1")],
        )
    try:
        journey = Journey.model_validate(source.data)
    except ValidationError as error:
        found = from_validation_error(error, source, Journey)
        partial = stand_in(source.data, error, file.stem)
        if partial is not None:  # one pass: what the model refused must not hide the rest
            semantic = check_journey(partial.journey, source, ctx, file.stem)
            found += [v for v in semantic if not partial.covers(v)]
        return Loaded(file, display, source, None, sorted(set(found)))
    return Loaded(file, display, source, journey, check_journey(journey, source, ctx, file.stem))


def _context(
    directory: Path, cwd: Path | None, campaigns: Sequence[LoadedCampaign]
) -> tuple[Context, list[Violation]]:
    display_dir = display_path(directory, cwd)
    profile, problems = _profile(directory, cwd)
    events, more = load_catalogue(directory, cwd)
    tdir = directory / templates.TEMPLATE_DIR
    envs = templates.Environments(tdir)
    ctx = Context(
        directory, profile, templates.scan(tdir), envs, display_dir, events, stage_journeys(campaigns)
    )
    return ctx, problems + more


def load_catalogue(directory: Path, cwd: Path | None = None) -> tuple[Catalogue | None, list[Violation]]:
    path = directory / CATALOGUE_FILE
    display = display_path(path, cwd)
    if not path.exists():
        message = (
            f"no event catalogue, so misspelt event names are not caught; add {display} listing your app "
            "events and their properties (docs/events.md#the-event-catalogue)"
        )
        return None, [Violation(display, 1, "", message, "warning")]
    return _side_file(path, display, Catalogue.from_data, CatalogueFile)


def _profile(directory: Path, cwd: Path | None) -> tuple[ProfileSchema, list[Violation]]:
    path = directory / PROFILE_FILE
    if not path.exists():
        return EMPTY, []
    profile, problems = _side_file(path, display_path(path, cwd), profile_from_data, ProfileFile)
    return EMPTY if profile is None else profile, problems


def _side_file(
    path: Path, display: str, parse: Callable[[Any], T], model: type[BaseModel]
) -> tuple[T | None, list[Violation]]:
    """A file beside the journeys (profile.yaml, events.yaml): parsed, or its located problems."""
    try:
        source = read_source(path, display)
    except SourceError as error:
        return None, [Violation(display, error.line, "", error.message)]
    try:
        return parse(source.data), []
    except ValidationError as error:
        return None, from_validation_error(error, source, model)


def _unique_ids(project: Project) -> None:
    seen: dict[str, str] = {}
    for loaded in project.journeys:
        if loaded.journey is None or loaded.source is None:
            continue
        first = seen.setdefault(loaded.journey.id, loaded.display)
        if first != loaded.display:
            loaded.violations.append(
                at(
                    loaded.source,
                    ("id",),
                    f'journey id "{loaded.journey.id}" is also used by {first}; ids must be unique',
                )
            )
