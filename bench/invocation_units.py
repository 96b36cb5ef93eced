"""DynamoDB request units and custom events per Lambda invocation, by function and what it was asked
to do, measured on the demo scenario: the source of ``INVOCATION_UNITS`` in touchpoint/local/pricing.py
(`touchpoint cost` prices a journey's paths with it). Nested invocations (a StartExecution that runs
a send at once) count for themselves, not their caller.

    python bench/invocation_units.py [USERS]   # 100 by default, the memory backend
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from touchpoint.local.asl.executor import Executor  # noqa: E402
from touchpoint.local.cloud import LocalCloud  # noqa: E402
from touchpoint.local.meter import Meter  # noqa: E402
from touchpoint.local.scenario import scenario_from  # noqa: E402
from touchpoint.local.simulator import Simulation  # noqa: E402
from touchpoint.local.terminal import ProgressBar  # noqa: E402

UNITS = ("dynamodb_read", "dynamodb_read_half", "dynamodb_write", "events")


def measure(users: int) -> dict[tuple[str, str], Counter[str]]:
    totals: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    stack: list[Counter[str]] = []
    starts = [0]
    original_invoker, original_start = LocalCloud._invoker, Executor.start_execution

    def start_execution(self: Executor, *args: Any, **kwargs: Any) -> str:
        starts[0] += 1
        return original_start(self, *args, **kwargs)

    def invoker(self: LocalCloud, name: str, handler: Any) -> Any:
        inner = original_invoker(self, name, handler)

        def invoke(payload: Any, context: Any) -> Any:
            before, started = _snapshot(self.meter), starts[0]
            stack.append(Counter())
            try:
                return inner(payload, context)
            finally:
                children = stack.pop()
                delta = _snapshot(self.meter) - before
                totals[(name, _what(name, payload, starts[0] - started))].update(delta - children)
                totals[(name, _what(name, payload, starts[0] - started))]["invocations"] += 1
                if stack:
                    stack[-1].update(delta)

        return invoke

    LocalCloud._invoker = invoker  # type: ignore[method-assign]
    Executor.start_execution = start_execution  # type: ignore[method-assign]
    try:
        data = yaml.safe_load((REPO / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
        data["population"]["count"] = users
        Simulation(scenario_from(data), REPO / "scenarios", ProgressBar()).run()
    finally:
        LocalCloud._invoker = original_invoker  # type: ignore[method-assign]
        Executor.start_execution = original_start  # type: ignore[method-assign]
    return totals


def _snapshot(meter: Meter) -> Counter[str]:
    return Counter({unit: meter.units[unit] for unit in UNITS})


def _what(name: str, payload: Any, entered: int) -> str:
    if isinstance(payload, dict) and "Records" in payload:
        return f"{len(payload['Records'])} queued events, {entered} entered"
    if isinstance(payload, dict) and "action" in payload:
        return str(payload["action"])
    return "send" if name.startswith("send-") else "other"


if __name__ == "__main__":
    for (name, what), c in sorted(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 100).items()):
        n = c["invocations"]
        reads = (c["dynamodb_read"] + c["dynamodb_read_half"] / 2) / n
        print(
            f"{name:13s} {what:32s} {n:6d}  RRU {reads:6.2f}  WRU {c['dynamodb_write'] / n:6.2f}  "
            f"events {c['events'] / n:5.2f}"
        )
