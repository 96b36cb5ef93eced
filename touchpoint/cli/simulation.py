"""simulate and why: run a scenario on the local cloud and explain one user's path through it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from touchpoint.cli.output import UsageError, existing, print_violations
from touchpoint.clock import iso
from touchpoint.journey.loader import display_path, load_project
from touchpoint.journey.model import Journey
from touchpoint.local import report, terminal
from touchpoint.local.population import synthetic_id, synthetic_index, synthetic_zone
from touchpoint.local.results import SimulationResults
from touchpoint.local.scenario import Scenario, ScenarioError, load_scenario
from touchpoint.local.simulator import Simulation
from touchpoint.local.terminal import ProgressBar
from touchpoint.suggest import did_you_mean


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("simulate", help="run a scenario on the local cloud (moto, virtual clock)")
    p.add_argument("scenario", type=Path, help="a scenario file (docs/simulation.md)")
    p.add_argument("--json", type=Path, help="write the results (a stable contract) here")
    p.add_argument("--html", type=Path, help="write the report (one self-contained file) here")
    p.set_defaults(run=_simulate)

    p = sub.add_parser("why", help="explain what one user received in a simulation, and why")
    p.add_argument("user", help="a user id of the scenario (scripted, or synthetic u00000, u00001, …)")
    p.add_argument("--scenario", type=Path, required=True, help="the scenario file that was simulated")
    p.add_argument("--journey", help="only this journey")
    p.add_argument("--json", type=Path, help="results of an earlier `simulate --json` run of the scenario")
    p.set_defaults(run=_why)


def _load(path: Path) -> Scenario | None:
    existing(path, "scenario file")
    try:
        return load_scenario(path, display_path(path))
    except ScenarioError as error:
        print_violations(error.violations)
        return None


def _run_scenario(
    scenario: Scenario, path: Path, progress: bool
) -> tuple[SimulationResults, dict[str, Journey]] | None:
    bar = ProgressBar() if progress else None
    simulation = Simulation(scenario, path.parent, bar)  # paths in a scenario are relative to it
    try:
        results = simulation.run()
    except ScenarioError as error:
        print_violations(error.violations)
        return None
    return results, simulation.journeys


def _simulate(args: argparse.Namespace) -> int:
    existing(args.scenario, "scenario file")
    print(f"Simulating {args.scenario} …", file=sys.stderr)
    scenario = _load(args.scenario)
    ran = None if scenario is None else _run_scenario(scenario, args.scenario, progress=True)
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
    existing(args.scenario, "scenario file")
    if args.json:
        existing(args.json, "results file", "*.json")
        try:
            results = SimulationResults.from_json(args.json.read_text(encoding="utf-8"))
        except ValidationError as error:
            print(f"{args.json} is not a results file of this version: {error}", file=sys.stderr)
            return 1
    scenario = _load(args.scenario)
    if scenario is None:
        return 1
    if args.json:
        _same_scenario(results, scenario, args)
        project = load_project(scenario.journey_paths(args.scenario.parent))
        journeys = {j.id: j for _, j in project.valid()}
    else:
        ran = _run_scenario(scenario, args.scenario, progress=True)
        if ran is None:
            return 1
        results, journeys = ran
    info = results.scenario
    if args.journey is not None and args.journey not in info.journeys:
        hint = did_you_mean(args.journey, info.journeys) or f"; its journeys: {', '.join(info.journeys)}"
        raise UsageError(f'no journey "{args.journey}" in this simulation{hint}')
    index = synthetic_index(args.user)
    generated = info.users - len(info.scripted_users)
    if args.user not in info.scripted_users and (index is None or index >= generated):
        hint = did_you_mean(args.user, info.scripted_users) or (
            f"; its users are {', '.join(info.scripted_users)} and u00000 … {synthetic_id(generated - 1)}"
        )
        raise UsageError(f'no user "{args.user}" in this simulation{hint}')
    zone = _zone_of(args.user, scenario)
    print(terminal.why(results, journeys, args.user, args.journey, zone), end="")
    return 0


def _zone_of(user_id: str, scenario: Scenario) -> str | None:
    """The user's own time zone: scripted in the scenario, or the one its population gives them."""
    scripted = next((u for u in scenario.users if u.id == user_id), None)
    if scripted is not None:
        return scripted.profile.timezone
    return synthetic_zone(scenario.seed, user_id)


def _same_scenario(results: SimulationResults, scenario: Scenario, args: argparse.Namespace) -> None:
    """Explaining one run's users with another's results would be wrong without saying so."""
    info = results.scenario
    expected = (iso(scenario.start), iso(scenario.end), scenario.seed, sorted(u.id for u in scenario.users))
    found = (info.start, info.end, info.seed, sorted(info.scripted_users))
    if expected != found:
        raise UsageError(
            f"{args.json} came from another scenario (start {info.start}, seed {info.seed}) than "
            f"{args.scenario} (start {expected[0]}, seed {scenario.seed}); run "
            f"`touchpoint simulate {args.scenario} --json {args.json}` again"
        )
