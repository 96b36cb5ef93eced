"""Issue 18's figures against their goals: what `make bench` writes to bench/results/latest.{json,md}.

Every goal is listed, measured or not: a figure no bench measures yet says why instead of a number,
and a figure measured under other conditions than its goal's (fewer users, the source tree instead
of the built asset) is shown but not judged, unless it misses even so. Pure functions of the
measured figures, so a test can check the shape without timing anything."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal


@dataclass(frozen=True)
class Goal:
    key: str
    figure: str  # as issue 18's table names it
    goal: str
    unit: str
    limit: float  # the figure passes at or under it
    unmeasured: str  # why no bench measures it yet ("" when one does)


@dataclass(frozen=True)
class Measured:
    value: float
    detail: str = ""  # what was measured, and how
    #: Why the value does not answer the goal as stated (other conditions), or "" when it does. Such
    #: a value is judged only when its bound decides: a lower bound over the limit misses, an upper
    #: bound within it passes.
    caveat: str = ""
    bound: Literal["lower", "upper", "none"] = "none"


GOALS: Final[tuple[Goal, ...]] = (
    Goal("simulate_10000", "`bench/run.py simulate 10000` (30 days, memory backend)", "≤ 60 s", "s", 60, ""),
    Goal(
        "simulate_100000",
        "`bench/run.py simulate 100000` (30 days, memory backend)",
        "≤ 600 s",
        "s",
        600,
        "`make bench` runs BENCH_USERS users (200 by default); `make bench BENCH_USERS=100000` measures it",
    ),
    Goal("cold_import", "handler cold import, each function (the slowest)", "≤ 300 ms", "ms", 300, ""),
    Goal(
        "dynamodb_per_entry",
        "DynamoDB requests per app event that enters one journey",
        "≤ 3",
        "requests",
        3,
        "",
    ),
    Goal(
        "trigger_eval_200_vs_1",
        "trigger_eval time per event that matches no journey, 200 active journeys vs 1",
        "≤ 1.2×",
        "×",
        1.2,
        "",
    ),
    Goal(
        "transitions_vs_floor",
        "state transitions per user-journey vs the floor, every journey (the worst)",
        "≤ 1.3×",
        "×",
        1.3,
        "",
    ),
    Goal(
        "orchestration_per_1000",
        "orchestration cost per 1,000 user-journeys, excluding SES/SMS (the demo's mix)",
        "≤ $0.20",
        "USD",
        0.20,
        "",
    ),
    Goal(
        "schedule_1m",
        "a schedule trigger over 1M profiles: start rate",
        "bound only by quotas",
        "entries/s",
        float("inf"),
        "no bench runs a schedule trigger over 1M profiles yet (issue 18 item 6)",
    ),
    Goal(
        "date_1m",
        "a date trigger (birthday) at 1M / 10M profiles",
        "every due user entered on time",
        "users skipped",
        0,
        "no bench runs a date sweep at 1M profiles yet (issue 18 item 6)",
    ),
)


def scorecard(measured: Mapping[str, Measured], machine: Mapping[str, Any]) -> dict[str, Any]:
    """The document latest.json holds: the machine and commit, then one entry per goal, in order."""
    unknown = set(measured) - {g.key for g in GOALS}
    if unknown:
        raise KeyError(f"no goal for {sorted(unknown)}")
    return {"machine": dict(machine), "figures": [_entry(goal, measured.get(goal.key)) for goal in GOALS]}


def _entry(goal: Goal, m: Measured | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": goal.key, "figure": goal.figure, "goal": goal.goal, "unit": goal.unit}
    if m is None:
        reason = goal.unmeasured or "the bench that measures it did not run"
        return {**entry, "measured": None, "status": "not measured", "detail": reason}
    within = m.value <= goal.limit
    decided = not m.caveat or (m.bound == "lower" and not within) or (m.bound == "upper" and within)
    status = ("pass" if within else "miss") if decided else "not judged"
    detail = "; ".join(part for part in (m.detail, m.caveat) if part)
    return {**entry, "measured": m.value, "status": status, "detail": detail}


def markdown(document: Mapping[str, Any]) -> str:
    """The table for the notes: every figure against its goal, then where it was measured."""
    machine = document["machine"]
    lines = [
        "| figure | goal | measured | status | how / why not |",
        "|---|---|---|---|---|",
    ]
    for f in document["figures"]:
        value = "—" if f["measured"] is None else _number(f["measured"], f["unit"])
        detail = str(f["detail"]).replace("|", "\\|")
        lines.append(f"| {f['figure']} | {f['goal']} | {value} | {f['status']} | {detail} |")
    where = ", ".join(f"{k} {v}" for k, v in machine.items())
    return "\n".join([*lines, "", f"Measured on: {where}.", ""])


def _number(value: float, unit: str) -> str:
    if unit == "USD":
        return f"${value:.4f}"
    if unit == "×":
        return f"{value:.2f}×"
    return f"{value:g} {unit}"


def machine(repo: Path) -> dict[str, Any]:
    """Where and on what the figures were measured: they mean nothing apart from it."""

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            return "unknown"
        return out.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": git("status", "--porcelain", "--untracked-files=no") not in ("", "unknown"),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def write(document: Mapping[str, Any], directory: Path) -> tuple[Path, Path]:
    """latest.json and latest.md in ``directory`` (made if missing, as on a fresh clone)."""
    directory.mkdir(parents=True, exist_ok=True)
    as_json, as_md = directory / "latest.json", directory / "latest.md"
    as_json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    as_md.write_text(markdown(document), encoding="utf-8")
    return as_json, as_md
