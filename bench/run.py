"""Benchmarks (never timed assertions in tests): `make bench` prints the numbers for the notes.

compile: validate + compile the example journeys, and a synthetic set of 500 journeys."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from touchpoint.compiler.build import compile_journey, outputs  # noqa: E402
from touchpoint.journey.loader import load_project  # noqa: E402


def bench_compile() -> None:
    started = time.perf_counter()
    project = load_project([REPO / "journeys"], cwd=REPO)
    loaded = time.perf_counter()
    files = outputs(compile_journey(j) for _, j in project.valid())
    done = time.perf_counter()
    print(
        f"compile/examples: {len(project.journeys)} journeys, validate {1000 * (loaded - started):.0f} ms, "
        f"compile {1000 * (done - loaded):.0f} ms, {len(files)} files"
    )

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
        files = outputs(compile_journey(j) for _, j in project.valid())
        done = time.perf_counter()
        print(
            f"compile/511 journeys: validate {loaded - started:.2f} s, compile {done - loaded:.2f} s "
            f"({1000 * (done - started) / len(project.journeys):.1f} ms per journey)"
        )


def bench_import_time(runs: int = 5) -> None:
    """Cold import of each handler module, as a Lambda cold start pays it (python -X importtime)."""
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
        print(
            f"import/{name}: median {statistics.median(totals):.0f} ms over {runs} runs "
            f"(min {min(totals):.0f}, max {max(totals):.0f})"
        )


if __name__ == "__main__":
    bench_compile()
    bench_import_time()
