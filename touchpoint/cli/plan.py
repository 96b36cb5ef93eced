"""plan: a campaign's plan table (touchpoint.journey.plan), generated from the campaign file and
its stage journeys, as GitHub markdown or CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from touchpoint.cli.journeys import DEFAULT_JOURNEYS
from touchpoint.cli.output import UsageError, existing, print_violations
from touchpoint.compiler.graph import trigger_text
from touchpoint.journey.campaigns import CAMPAIGN_DIR, campaign_files
from touchpoint.journey.loader import load_project
from touchpoint.journey.plan import csv_text, markdown, plan_for
from touchpoint.suggest import did_you_mean
from touchpoint.words import plural


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plan", help="print a campaign's plan table, generated from its files")
    p.add_argument("campaign", help="a campaign file, or a campaign id in the journeys directory")
    p.add_argument("--journeys", type=Path, default=DEFAULT_JOURNEYS, help="the journeys directory")
    p.add_argument("--format", choices=("md", "csv"), default="md", help="markdown (default) or csv")
    p.set_defaults(run=_plan)


def _plan(args: argparse.Namespace) -> int:
    file, journeys = _campaign_file(args.campaign, args.journeys)
    # a campaign of the directory is loaded with the others (they stage the rest of its journeys)
    mine = file.parent.name == CAMPAIGN_DIR
    project = load_project([journeys], campaigns=None if mine else [file])
    if project.errors():
        print_violations(project.all_violations())
        print(f"no plan: {plural(len(project.errors()), 'error')}; fix them and run again", file=sys.stderr)
        return 1
    campaign = next(c.campaign for c in project.campaigns if c.path.resolve() == file.resolve())
    assert campaign is not None  # no errors, so it parsed
    plan = plan_for(project, campaign, trigger_text)
    print(markdown(plan) if args.format == "md" else csv_text(plan), end="")
    return 0


def _campaign_file(name: str, journeys: Path) -> tuple[Path, Path]:
    """The campaign file and its journeys directory: a file's own (``<dir>/campaigns/<id>.yaml``)
    or ``--journeys``."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        file = existing(Path(name), "campaign file")
        return file, file.parent.parent if file.parent.name == CAMPAIGN_DIR else journeys
    if not journeys.is_dir():
        raise UsageError(f"no journeys directory {journeys}; pass --journeys DIR")
    file = journeys / CAMPAIGN_DIR / f"{name}.yaml"
    if file.exists():
        return file, journeys
    known = [p.stem for p in campaign_files(journeys)]
    hint = did_you_mean(name, known) or f"; the campaigns there: {', '.join(known) or 'none'}"
    raise UsageError(f'no campaign "{name}" in {journeys / CAMPAIGN_DIR}/{hint}')
