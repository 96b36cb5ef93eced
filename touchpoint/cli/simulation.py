"""simulate and why: run a scenario on the local cloud and explain one user's path through it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from touchpoint.cli.output import print_violations
from touchpoint.journey.loader import display_path, load_project
from touchpoint.journey.model import Journey
from touchpoint.local import report, terminal
from touchpoint.local.results import SimulationResults
from touchpoint.local.scenario import ScenarioError, load_scenario
from touchpoint.local.simulator import Simulation
from touchpoint.local.terminal import ProgressBar


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("simulate", help="run a scenario on the local cloud (moto, virtual clock)")
    p.add_argument("scenario", type=Path, help="a scenario file (docs/simulation.md)")
    p.add_argument("--json", type=Path, help="write the results (a stable contract) here")
    p.add_argument("--html", type=Path, help="write the report (one self-contained file) here")
    p.set_defaults(run=_simulate)

    p = sub.add_parser("why", help="explain what one user received in a simulation, and why")
    p.add_argument("user")
    p.add_argument("--scenario", type=Path, required=True)
    p.add_argument("--journey", help="only this journey")
    p.add_argument("--json", type=Path, help="results of an earlier `simulate --json` run of the scenario")
    p.set_defaults(run=_why)


def _run_scenario(path: Path, progress: bool) -> tuple[SimulationResults, dict[str, Journey]] | None:
    try:
        scenario = load_scenario(path, display_path(path))
    except ScenarioError as error:
        print_violations(error.violations)
        return None
    bar = ProgressBar() if progress else None
    simulation = Simulation(scenario, path.parent, bar)  # paths in a scenario are relative to it
    try:
        results = simulation.run()
    except ScenarioError as error:
        print_violations(error.violations)
        return None
    return results, simulation.journeys


def _simulate(args: argparse.Namespace) -> int:
    print(f"Simulating {args.scenario} …", file=sys.stderr)
    ran = _run_scenario(args.scenario, progress=True)
    if ran is None:
        return 1
    results, journeys = ran
    print(terminal.summary(results, journeys), end="")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(results.to_json(), encoding="utf-8")
        print(f"wrote {args.json}")
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(report.render(results, journeys), encoding="utf-8")
        print(f"wrote {args.html}")
    return 0


def _why(args: argparse.Namespace) -> int:
    if args.json and args.json.exists():
        try:
            results = SimulationResults.from_json(args.json.read_text(encoding="utf-8"))
        except ValidationError as error:
            print(f"{args.json} is not a results file of this version: {error}", file=sys.stderr)
            return 1
        scenario = load_scenario(args.scenario, display_path(args.scenario))
        project = load_project(scenario.journey_paths(args.scenario.parent))
        journeys = {j.id: j for _, j in project.valid()}
    else:
        ran = _run_scenario(args.scenario, progress=True)
        if ran is None:
            return 1
        results, journeys = ran
    print(terminal.why(results, journeys, args.user, args.journey), end="")
    return 0
