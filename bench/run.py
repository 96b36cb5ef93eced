"""Benchmarks (never timed assertions in tests): `make bench` prints the numbers for the notes.

compile: validate + compile the example journeys, and a synthetic set of 500 journeys.
import: cold import time of each Lambda handler module, in this interpreter, and on a replica of the
deployed assets (bench/coldstart.py: source only vs bytecode, the import tree's top 10).
trigger: trigger evaluation of a non-matching and a matching event with 1, 200 and 1,000 active
journeys (bench/trigger.py), and the ratio to 1; and the DynamoDB requests of an entering event
and of one no journey concerns, counted (bench/entry_requests.py).
simulate: the demo scenario (every reference journey, 30 days) with N synthetic users, in a fresh
process, on the in-memory backend (`--backend moto` for the other): wall time, peak memory,
executions per second, AWS requests; `--profile` adds where the time goes, by layer.
`make bench BENCH_USERS=10000` runs the issue's full size (~4–5 minutes; hours with moto).
Each run writes bench/results/latest.json and latest.md: issue 18's figures against their goals
(bench/scorecard.py), those it did not measure marked so; the files are machine-dependent and not
committed (bench/results/README.md)."""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from bench.coldstart import bench_cold_start  # noqa: E402
from bench.entry_requests import bench_entry_requests  # noqa: E402
from bench.trigger import bench_trigger  # noqa: E402
from touchpoint.compiler import floor  # noqa: E402
from touchpoint.compiler.build import compile_journey, outputs  # noqa: E402
from touchpoint.journey.loader import load_project  # noqa: E402
from touchpoint.local.scenario import scenario_from  # noqa: E402
from touchpoint.local.simulator import Simulation  # noqa: E402
from touchpoint.local.terminal import ProgressBar  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from scorecard import Measured, machine, scorecard, write  # noqa: E402

RESULTS = REPO / "bench" / "results"


def bench_compile() -> dict[str, Measured]:
    """Compile times, and each example journey's worst run against its floor (the compile
    table's ``worst`` column, touchpoint/compiler/floor.py): a count, so the same on any machine."""
    started = time.perf_counter()
    project = load_project([REPO / "journeys"], cwd=REPO)
    loaded = time.perf_counter()
    compiled = [compile_journey(j) for _, j in project.valid()]
    files = outputs(compiled, project.valid_campaigns())
    done = time.perf_counter()
    print(
        f"compile/examples: {len(project.journeys)} journeys, validate {1000 * (loaded - started):.0f} ms, "
        f"compile {1000 * (done - loaded):.0f} ms, {len(files)} files"
    )
    worst = {c.journey.id: max(r.ratio for r in floor.runs(c.journey, c.machine)) for c in compiled}
    journey = max(sorted(worst), key=worst.__getitem__)
    measured = {
        "transitions_vs_floor": Measured(
            round(worst[journey], 2),
            f"the worst normal path of each of the {len(worst)} example journeys, from their compiled "
            f"machines (`touchpoint compile`'s worst column): {journey} {worst[journey]:.2f}×",
        )
    }

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "journeys"
        shutil.copytree(REPO / "journeys", target)
        source = (REPO / "journeys" / "cart-abandonment.yaml").read_text()
        for i in range(500):
            name = f"cart-copy-{i:03d}"
            (target / f"{name}.yaml").write_text(source.replace("id: cart-abandonment", f"id: {name}"))
        started = time.perf_counter()
        project = load_project([target])
        loaded = time.perf_counter()
        files = outputs((compile_journey(j) for _, j in project.valid()), project.valid_campaigns())
        done = time.perf_counter()
        print(
            f"compile/511 journeys: validate {loaded - started:.2f} s, compile {done - loaded:.2f} s "
            f"({1000 * (done - started) / len(project.journeys):.1f} ms per journey)"
        )
    return measured


def bench_import_time(runs: int = 5) -> dict[str, Measured]:
    """Cold import of each handler module, as a Lambda cold start pays it (python -X importtime)."""
    medians: dict[str, float] = {}
    for name in ("trigger_eval", "send_email", "send_sms", "kpi_rollup", "unsubscribe"):
        module = f"functions.{name}.app"
        totals = []
        for _ in range(runs):
            result = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", f"import {module}"],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            )
            line = next(line for line in result.stderr.splitlines() if line.rstrip().endswith(f"| {module}"))
            totals.append(int(line.split("|")[1]) / 1000)
        medians[name] = statistics.median(totals)
        print(
            f"import/{name}: median {statistics.median(totals):.0f} ms over {runs} runs "
            f"(min {min(totals):.0f}, max {max(totals):.0f})"
        )
    slowest = max(medians, key=medians.__getitem__)
    each = ", ".join(f"{name} {ms:.0f}" for name, ms in medians.items())
    return {
        "cold_import": Measured(
            round(medians[slowest]),
            f"{slowest}; median of {runs} `python -X importtime` runs, ms: {each}",
            caveat="from the source tree with its cached bytecode, not the asset as the stack builds it",
            bound="lower",
        )
    }


def bench_simulate(users: int, profile: bool = False, backend: str = "memory") -> dict[str, Measured]:
    """In a child process, so peak memory is the simulation's alone."""
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "figures.json"
        command = [sys.executable, __file__, "simulate-child", str(users), "--backend", backend]
        command += ["--profile"] if profile else []
        subprocess.run([*command, "--figures", str(figures)], cwd=REPO, check=True)
        child = json.loads(figures.read_text())
    how = f"{backend} backend, {users} users, wall {child['wall']:.1f} s, peak {child['peak_mb']:.0f} MB"
    out = {
        "orchestration_per_1000": Measured(
            child["orchestration_per_1000"],
            f"the demo scenario on {users} users, {child['entered']} user-journeys, "
            "prices of touchpoint/local/pricing.py, free tiers ignored",
        )
    }
    if profile:
        return {}  # a profiled run's time is not the figure
    for key, size in (("simulate_10000", 10_000), ("simulate_100000", 100_000)):
        if users == size and backend == "memory":
            out[key] = Measured(round(child["wall"], 1), how)
        elif key == "simulate_10000":
            out[key] = Measured(
                round(child["wall"], 1),
                how,
                caveat=f"the goal is for {size:,} users: `make bench BENCH_USERS={size}`",
                bound="lower" if users < size else "upper",
            )
    return out


#: Where time goes, by who owns the code (first match of the file path wins).
LAYERS = (
    ("moto (AWS emulation)", "/moto/"),
    ("botocore/boto3 (client side)", "/botocore/"),
    ("botocore/boto3 (client side)", "/boto3/"),
    ("Powertools", "/aws_lambda_powertools/"),
    ("pydantic", "/pydantic"),
    ("simulator + ASL executor", "/touchpoint/local/"),
    ("Touchpoint engine + handlers", "/touchpoint/"),
    ("Touchpoint engine + handlers", "/functions/"),
)


def _simulate_child(users: int, profile: bool, backend: str, figures: Path | None) -> None:
    data = yaml.safe_load((REPO / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    data["population"]["count"] = users
    data["backend"] = backend
    simulation = Simulation(scenario_from(data), REPO / "scenarios", ProgressBar())
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    results = simulation.run()
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    executions = len(results.executions)
    requests = sum(results.aws.requests.values())
    print(
        f"simulate/{backend}/{users} users × 30 days (+{len(data.get('users', []))} scripted): "
        f"wall {wall:.1f} s, "
        f"peak memory {peak_mb:.0f} MB, {executions} executions ({executions / wall:.1f}/s), "
        f"{len(results.messages)} send decisions, "
        f"{results.aws.state_transitions} state transitions, "
        f"{results.aws.lambda_invocations} Lambda invocations, {requests} AWS requests "
        f"({1000 * wall / max(requests, 1):.2f} ms of wall per request)"
    )
    if figures is not None:
        cost = results.aws.cost_usd
        engine = cost.total - cost.ses - cost.sms
        figures.write_text(
            json.dumps(
                {
                    "wall": wall,
                    "peak_mb": peak_mb,
                    "entered": executions,
                    "orchestration_per_1000": round(1000 * engine / executions, 4) if executions else 0.0,
                }
            )
        )
    if profiler:
        layers = _by_layer(pstats.Stats(profiler))
        total = sum(layers.values())
        print("  where the time goes (profiled, so ~2x slower; built-ins count for their caller):")
        for layer, seconds in sorted(layers.items(), key=lambda kv: -kv[1]):
            print(f"  {layer:36s} {seconds:7.1f} s  {100 * seconds / total:5.1f}%")


def _layer(path: str) -> str | None:
    """The owner of a function's file; None for the standard library and built-ins."""
    return next((name for name, marker in LAYERS if marker in path), None)


def _by_layer(stats: pstats.Stats) -> dict[str, float]:
    """Own time by layer. Built-ins and the standard library have no layer of their own: their
    time goes to their callers, in proportion to the time each caller spent in them (repeatedly,
    so json.loads called by moto is moto's time)."""
    table = stats.stats  # type: ignore[attr-defined]
    own = {func: entry[2] for func, entry in table.items()}
    by_layer: dict[str, float] = {}
    for _ in range(12):
        moved: dict[Any, float] = {}
        for func, seconds in own.items():
            layer = _layer(func[0])
            if layer is not None or seconds == 0:
                if layer is not None:
                    by_layer[layer] = by_layer.get(layer, 0.0) + seconds
                continue
            callers = table[func][4]
            total = sum(edge[2] for edge in callers.values())
            if not callers or total == 0:
                by_layer["standard library (top level)"] = (
                    by_layer.get("standard library (top level)", 0.0) + seconds
                )
                continue
            for caller, edge in callers.items():
                moved[caller] = moved.get(caller, 0.0) + seconds * edge[2] / total
        if not moved:
            break
        own = moved
    return by_layer


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    kinds = ["all", "compile", "import", "trigger", "simulate", "simulate-child"]
    parser.add_argument("what", nargs="?", default="all", choices=kinds)
    parser.add_argument("users", nargs="?", type=int, default=200, help="simulate: synthetic users")
    parser.add_argument("--profile", action="store_true", help="simulate: time by layer (slower)")
    parser.add_argument("--backend", choices=["memory", "moto"], default="memory", help="simulate: backend")
    parser.add_argument("--figures", type=Path, help=argparse.SUPPRESS)  # simulate-child: its figures
    args = parser.parse_args()
    if args.what == "simulate-child":
        _simulate_child(args.users, args.profile, args.backend, args.figures)
    else:
        measured: dict[str, Measured] = {}
        if args.what in ("all", "compile"):
            measured |= bench_compile()
        if args.what in ("all", "import"):
            measured |= bench_import_time()
            bench_cold_start()
        if args.what in ("all", "trigger"):
            measured |= bench_trigger()
            measured |= bench_entry_requests()
        if args.what in ("all", "simulate"):
            measured |= bench_simulate(args.users, args.profile, args.backend)
        if args.what == "all":
            bench_simulate(60, profile=True, backend=args.backend)  # where the time goes
        paths = write(scorecard(measured, machine(REPO)), RESULTS)
        print(f"wrote {', '.join(str(p.relative_to(REPO)) for p in paths)}")
