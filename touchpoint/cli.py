"""The ``touchpoint`` command: validate, compile, graph and schema for journeys."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from touchpoint.aws.wiring import Clients, operations, privacy
from touchpoint.clock import SystemClock
from touchpoint.compiler import build
from touchpoint.compiler.graph import mermaid, trigger_text
from touchpoint.events import app_event_schema
from touchpoint.journey.loader import Project, display_path, load_project
from touchpoint.journey.model import Journey
from touchpoint.journey.steps import resolve, walk
from touchpoint.journey.violations import Violation
from touchpoint.local import report, terminal
from touchpoint.local.results import SimulationResults, results_schema
from touchpoint.local.scenario import ScenarioError, load_scenario
from touchpoint.local.simulator import Simulation
from touchpoint.local.terminal import ProgressBar
from touchpoint.settings import Settings

DEFAULT_JOURNEYS = Path("journeys")
DEFAULT_OUT = Path("statemachines")
DEFAULT_SCHEMA = Path("docs/journey.schema.json")
DEFAULT_EVENT_SCHEMA = Path("docs/events.schema.json")
DEFAULT_RESULTS_SCHEMA = Path("docs/results.schema.json")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="touchpoint", description="Journeys as code on AWS Step Functions.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check journeys; exit 1 on any error")
    p.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_JOURNEYS])
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")

    p = sub.add_parser("compile", help="compile journeys into statemachines/")
    p.add_argument("--journeys", type=Path, default=DEFAULT_JOURNEYS)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--check", action="store_true", help="fail when the committed outputs are stale")

    p = sub.add_parser("graph", help="print a journey as a Mermaid flowchart")
    p.add_argument("journey", help="a journey file, or an id in journeys/")

    p = sub.add_parser("schema", help="write the JSON Schemas of journeys, app events and simulation results")
    p.add_argument("--out", type=Path, default=DEFAULT_SCHEMA)
    p.add_argument("--events-out", type=Path, default=DEFAULT_EVENT_SCHEMA)
    p.add_argument("--results-out", type=Path, default=DEFAULT_RESULTS_SCHEMA)
    p.add_argument("--check", action="store_true", help="fail when the committed schemas are stale")

    for name, text in (
        ("pause", "hold every send of a journey at once (users stay inside)"),
        ("resume", "release a paused journey's held sends"),
        ("stop", "stop a journey: skip its sends and stop every running execution"),
        ("status", "show whether a journey is active, paused or stopped"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("journey")
        if name != "status":
            p.add_argument("--reason", default="", help="recorded with the change")

    p = sub.add_parser("simulate", help="run a scenario on the local cloud (moto, virtual clock)")
    p.add_argument("scenario", type=Path, help="a scenario file (docs/simulation.md)")
    p.add_argument("--json", type=Path, help="write the results (a stable contract) here")
    p.add_argument("--html", type=Path, help="write the report (one self-contained file) here")

    p = sub.add_parser("why", help="explain what one user received in a simulation, and why")
    p.add_argument("user")
    p.add_argument("--scenario", type=Path, required=True)
    p.add_argument("--journey", help="only this journey")
    p.add_argument("--json", type=Path, help="results of an earlier `simulate --json` run of the scenario")

    p = sub.add_parser("privacy", help="export or erase one user's data (R17)")
    p.add_argument("operation", choices=["export", "erase"])
    p.add_argument("user_id")

    args = parser.parse_args(argv)
    handlers = {
        "validate": _validate,
        "compile": _compile,
        "graph": _graph,
        "schema": _schema,
        "pause": _operation,
        "resume": _operation,
        "stop": _operation,
        "status": _operation,
        "privacy": _privacy,
        "simulate": _simulate,
        "why": _why,
    }
    return handlers[args.command](args)


def _print_violations(violations: list[Violation]) -> None:
    for violation in violations:
        print(violation, file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    project = load_project(args.paths)
    violations = project.all_violations()
    _print_violations(violations)
    errors = sum(v.severity == "error" for v in violations)
    warnings = len(violations) - errors
    valid = len(project.valid())
    print(f"{len(project.journeys)} journeys: {valid} valid, {errors} errors, {warnings} warnings")
    return 1 if errors or (args.strict and warnings) else 0


def _load_valid(journeys: Path) -> Project | None:
    project = load_project([journeys])
    if project.errors():
        _print_violations(project.all_violations())
        print(f"not compiled: {len(project.errors())} errors; fix them and run again", file=sys.stderr)
        return None
    return project


def _compile(args: argparse.Namespace) -> int:
    project = _load_valid(args.journeys)
    if project is None:
        return 1
    compiled = [build.compile_journey(journey) for _, journey in project.valid()]
    files = build.outputs(compiled)
    if args.check:
        problems = build.stale(args.out, files)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(
                "compiled state machines are stale: run `touchpoint compile` and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out}/ is up to date ({len(compiled)} journeys)")
        return 0
    changed = build.write(args.out, files)
    _summary(compiled)
    print(f"wrote {args.out}/: {len(files)} files, {len(changed)} changed")
    return 0


def _summary(compiled: list[build.Compiled]) -> None:
    rows = [("journey", "trigger", "steps", "sends", "states", "longest path", "version")]
    for c in compiled:
        nodes = list(walk(resolve(c.journey.steps)))
        sends = sum(n.kind == "send" for n in nodes)
        rows.append(
            (
                c.journey.id,
                trigger_text(c.journey.trigger),
                str(len(nodes)),
                str(sends),
                str(len(c.machine.states)),
                str(len(c.machine.longest_path())),
                c.version,
            )
        )
    widths = [min(max(len(r[i]) for r in rows), 44) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell[:44].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _graph(args: argparse.Namespace) -> int:
    path = Path(args.journey)
    if not path.exists():
        path = DEFAULT_JOURNEYS / f"{args.journey}.yaml"
    project = load_project([path])
    loaded = project.journeys[0] if project.journeys else None
    if loaded is None or loaded.journey is None or project.errors():
        _print_violations(project.all_violations() or [Violation(str(path), 1, "", "no such journey")])
        return 1
    print(mermaid(loaded.journey), end="")
    return 0


def journey_schema() -> str:
    schema = Journey.model_json_schema(by_alias=True)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://touchpoint.dev/schemas/journey-v1.json",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _run_scenario(path: Path, progress: bool) -> tuple[SimulationResults, dict[str, Journey]] | None:
    try:
        scenario = load_scenario(path, display_path(path))
    except ScenarioError as error:
        _print_violations(error.violations)
        return None
    bar = ProgressBar() if progress else None
    simulation = Simulation(scenario, path.parent, bar)  # paths in a scenario are relative to it
    try:
        results = simulation.run()
    except ScenarioError as error:
        _print_violations(error.violations)
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


def event_schema() -> str:
    return json.dumps(app_event_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _schema(args: argparse.Namespace) -> int:
    outputs = (
        (args.out, journey_schema()),
        (args.events_out, event_schema()),
        (args.results_out, results_schema()),
    )
    if args.check:
        stale = [
            path for path, text in outputs if not path.exists() or path.read_text(encoding="utf-8") != text
        ]
        for path in stale:
            print(f"{path} is stale: run `touchpoint schema` and commit the result", file=sys.stderr)
        if not stale:
            print(" and ".join(str(path) for path, _ in outputs) + " are up to date")
        return 1 if stale else 0
    for path, text in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


def _aws() -> tuple[Settings, Clients]:
    """Settings from TOUCHPOINT_* variables and boto3's default credentials (AWS_ENDPOINT_URL for
    LocalStack or moto server)."""
    return Settings.from_env(), Clients()


def _operator() -> str:
    return os.environ.get("TOUCHPOINT_OPERATOR") or getpass.getuser()


def _operation(args: argparse.Namespace) -> int:
    settings, clients = _aws()
    ops = operations(settings, clients, SystemClock())
    if args.command == "status":
        print(f"{args.journey}: {ops.status(args.journey)}")
        return 0
    action = {"pause": ops.pause, "resume": ops.resume, "stop": ops.stop}[args.command]
    print(json.dumps(action(args.journey, _operator(), args.reason), ensure_ascii=False))
    return 0


def _privacy(args: argparse.Namespace) -> int:
    settings, clients = _aws()
    service = privacy(settings, clients, SystemClock())
    result = service.export(args.user_id) if args.operation == "export" else service.erase(args.user_id)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
