"""cost: a journey's monthly AWS cost from its compiled paths, an entry rate and the price table
(touchpoint.local.journey_cost); no simulation, so each path is priced as if every user took it.
``--measured REPORT`` adds the figure a simulation measured for the same journey (the report's
``aws.by_journey``, priced the same way), with the run it comes from (docs/decisions.md D27)."""

from __future__ import annotations

import argparse
import json
import lzma
import sys
from pathlib import Path
from typing import Any

from touchpoint.cli.journeys import DEFAULT_JOURNEYS
from touchpoint.cli.output import journey_file, print_violations
from touchpoint.compiler.build import compile_journey
from touchpoint.journey.loader import load_project
from touchpoint.local.journey_cost import PathUsage, describe, paths
from touchpoint.local.pricing import FREE_TIERS
from touchpoint.words import plural


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cost", help="a journey's monthly AWS cost from its compiled paths (no simulation)")
    p.add_argument("journey", help="a journey file, or a journey id in the journeys directory")
    p.add_argument("--users", type=_count, required=True, metavar="N", help="users entering per month")
    p.add_argument("--months", type=_count, default=1, metavar="M", help="months to total (default 1)")
    p.add_argument("--journeys", type=Path, default=DEFAULT_JOURNEYS, help="the journeys directory")
    p.add_argument(
        "--measured",
        type=Path,
        metavar="REPORT",
        help="a `touchpoint simulate --json` report (or the committed tests/golden/reports/demo.json.xz): "
        "add the per-journey figure it measured",
    )
    p.set_defaults(run=_cost)


def _count(text: str) -> int:
    value = int(text.replace(",", "").replace("_", ""))
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _cost(args: argparse.Namespace) -> int:
    project = load_project([journey_file(args.journey, args.journeys)])
    loaded = project.journeys[0] if project.journeys else None
    if loaded is None or loaded.journey is None or project.errors():
        print_violations(project.all_violations())
        print(f"no cost: {plural(len(project.errors()), 'error')}; fix them and run again", file=sys.stderr)
        return 1
    journey = loaded.journey
    found = list(paths(compile_journey(journey).machine))
    simulated = None
    if args.measured is not None:
        try:
            simulated = measured_in(args.measured, journey.id)
        except MeasuredError as error:
            print(f"{args.measured}: {error}", file=sys.stderr)
            return 1
    print(report(journey.id, found, args.users, args.months, simulated), end="")
    return 0


class MeasuredError(Exception):
    """A report that cannot give the journey's measured figure: one line, said as is."""


def measured_in(path: Path, journey_id: str) -> dict[str, Any]:
    """The journey's ``aws.by_journey`` entry of a simulation report, with the run's scenario."""
    try:
        raw = lzma.decompress(path.read_bytes()) if path.suffix == ".xz" else path.read_bytes()
        document = json.loads(raw)
    except (OSError, lzma.LZMAError, ValueError) as error:
        raise MeasuredError(f"not a readable simulation report ({error})") from None
    aws = document.get("aws") if isinstance(document, dict) else None
    if not isinstance(aws, dict) or "by_journey" not in aws or "scenario" not in document:
        raise MeasuredError("no per-journey figures (aws.by_journey): simulate again with this version")
    entry = aws["by_journey"].get(journey_id)
    if entry is None:
        raise MeasuredError(f"the run had no journey {journey_id!r}")
    return {**entry, "scenario": document["scenario"]}


def _measured_lines(simulated: dict[str, Any], users: int, low: float, high: float) -> list[str]:
    runs = simulated["user_journeys"]
    scenario = simulated["scenario"]
    run = f"{scenario['start']} to {scenario['end']}, seed {scenario['seed']}, {scenario['users']:,} users"
    if not runs:
        return [f"measured in the simulation ({run}): the journey started no execution"]
    each = simulated["cost_usd"]["total"] / runs
    where = "below the cheapest path" if each < low else "above the dearest path" if each > high else "within"
    running = simulated["running"]
    unfinished = f" ({running:,} still running at its end, counted as far as they got)" if running else ""
    return [
        f"measured in the simulation ({run}): {runs:,} user-journeys{unfinished}, "
        f"{simulated['state_transitions'] / runs:.2f} transitions and "
        f"{simulated['lambda_invocations'] / runs:.2f} Lambda invocations each, "
        f"${simulated['cost_per_1000_user_journeys_usd']:.4f} per 1,000 user-journeys: "
        f"${each * users:.4f} a month for {users:,} users ({where} the range; the simulation's paths "
        "include retries and failures, and the mix of paths its users took)"
    ]


def report(
    journey_id: str, found: list[PathUsage], users: int, months: int, simulated: dict[str, Any] | None = None
) -> str:
    """The table: per path what one user-journey bills for and costs, then the monthly range."""
    header = ("path", "transitions", "Lambda", "DynamoDB RRU/WRU", "events", "per user", "per month")
    rows = [header]
    for usage in found:
        each = usage.cost()["total"]
        rows.append(
            (
                describe(usage),
                str(usage.transitions),
                str(sum(usage.invocations.values())),
                f"{usage.reads:g}/{usage.writes:g}",
                f"{usage.events:g}",
                f"${each:.8f}",
                f"${each * users:.4f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        f"{journey_id}: {users:,} users entering a month, {plural(len(found), 'path')} "
        f"(on-demand list prices, us-east-1, touchpoint/local/pricing.py; {FREE_TIERS}; "
        "SES and SMS not included)",
        *("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows),
    ]
    totals = sorted(u.cost()["total"] for u in found)
    low, high = totals[0] * users, totals[-1] * users
    span = f"${low:.4f}" if low == high else f"${low:.4f} to ${high:.4f}"
    lines.append(f"per month: {span} (every user on the cheapest path to every user on the dearest)")
    if months != 1:
        whole = f"${low * months:.4f}" if low == high else f"${low * months:.4f} to ${high * months:.4f}"
        lines.append(f"over {plural(months, 'month')}: {whole}")
    if simulated is not None:
        lines += _measured_lines(simulated, users, totals[0], totals[-1])
    lines.append(
        "not included: the messages themselves (SES, SMS), kpi_rollup's counting of the journey's events "
        "and its SQS queue, and provider feedback (opens, clicks), which depend on how users behave: "
        "`touchpoint simulate` measures them"
    )
    return "\n".join(lines) + "\n"
