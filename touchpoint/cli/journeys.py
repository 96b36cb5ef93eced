"""validate, compile and graph: the commands that read journey files and nothing else."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from touchpoint.cli.output import UsageError, existing, journey_file, print_violations
from touchpoint.compiler import build, floor
from touchpoint.compiler.graph import mermaid, trigger_text
from touchpoint.journey.loader import Project, load_project
from touchpoint.journey.steps import resolve, walk
from touchpoint.journey.violations import Violation
from touchpoint.words import clip, plural

DEFAULT_JOURNEYS = Path("journeys")
DEFAULT_OUT = Path("statemachines")
SUMMARY_WIDTH = 60  # widest cell of the compile table (longer ones end in … at a word)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="check journeys; exit 1 on any error")
    p.add_argument(
        "paths", nargs="*", type=Path, default=[DEFAULT_JOURNEYS], help="journey files or directories"
    )
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.set_defaults(run=_validate)

    p = sub.add_parser("compile", help="compile journeys into statemachines/")
    p.add_argument("--journeys", type=Path, default=DEFAULT_JOURNEYS, help="the journeys directory")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the state machines go")
    p.add_argument("--check", action="store_true", help="fail when the committed outputs are stale")
    p.set_defaults(run=_compile)

    p = sub.add_parser("graph", help="print a journey as a Mermaid flowchart")
    p.add_argument("journey", help="a journey file, or an id in the journeys directory")
    p.add_argument("--journeys", type=Path, default=DEFAULT_JOURNEYS, help="the journeys directory")
    p.set_defaults(run=_graph)


def _validate(args: argparse.Namespace) -> int:
    for path in args.paths:
        existing(path, "journey file or directory")
    project = load_project(args.paths)
    violations = project.all_violations()
    print_violations(violations)
    errors = sum(v.severity == "error" for v in violations)
    warnings = len(violations) - errors
    valid = len(project.valid())
    counts = f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
    campaigns = f" and {plural(len(project.campaigns), 'campaign')}" if project.campaigns else ""
    print(f"{plural(len(project.journeys), 'journey')}{campaigns}: {valid} valid, {counts}")
    return 1 if errors or (args.strict and warnings) else 0


def _load_valid(journeys: Path) -> Project | None:
    if not journeys.is_dir():
        raise UsageError(f"no journeys directory {journeys}; pass --journeys DIR")
    project = load_project([journeys])
    if project.errors():
        print_violations(project.all_violations())
        errors = plural(len(project.errors()), "error")
        print(f"not compiled: {errors}; fix them and run again", file=sys.stderr)
        return None
    return project


def _compile(args: argparse.Namespace) -> int:
    project = _load_valid(args.journeys)
    if project is None:
        return 1
    compiled = [build.compile_journey(journey) for _, journey in project.valid()]
    files = build.outputs(compiled, project.valid_campaigns())
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
        print(f"{args.out}/ is up to date ({plural(len(compiled), 'journey')})")
        return 0
    changed = build.write(args.out, files)
    _summary(compiled)
    print(f"wrote {args.out}/: {plural(len(files), 'file')}, {len(changed)} changed")
    return 0


def _summary(compiled: list[build.Compiled]) -> None:
    # × floor: state transitions over the floor, averaged over the normal paths (worst path after)
    header = ("journey", "trigger", "steps", "sends", "states", "longest path", "× floor", "worst", "version")
    rows: list[tuple[str, ...]] = [header]
    for c in compiled:
        nodes = list(walk(resolve(c.journey.steps)))
        sends = sum(n.kind == "send" for n in nodes)
        runs = floor.runs(c.journey, c.machine)
        rows.append(
            (
                c.journey.id,
                trigger_text(c.journey.trigger),
                str(len(nodes)),
                str(sends),
                str(len(c.machine.states)),
                str(len(c.machine.longest_path())),
                f"{sum(r.ratio for r in runs) / len(runs):.2f}",
                f"{max(r.ratio for r in runs):.2f}",
                c.version,
            )
        )
    rows = [tuple(clip(cell, SUMMARY_WIDTH) for cell in row) for row in rows]  # never mid-word
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _graph(args: argparse.Namespace) -> int:
    path = journey_file(args.journey, args.journeys)
    project = load_project([path])
    loaded = project.journeys[0] if project.journeys else None
    if loaded is None or loaded.journey is None or project.errors():
        print_violations(project.all_violations() or [Violation(str(path), 1, "", "no such journey")])
        return 1
    print(mermaid(loaded.journey), end="")
    return 0
