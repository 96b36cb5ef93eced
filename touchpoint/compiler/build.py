"""Compile journeys into the files under ``statemachines/``: parse → validate → IR → render.

Output is a pure function of the journeys, so ``compile --check`` can regenerate in memory and
compare byte for byte with what is committed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from touchpoint import contract, registry
from touchpoint.compiler.ir import StateMachine, Task
from touchpoint.compiler.lower import lower
from touchpoint.compiler.render import dumps, render, to_json
from touchpoint.journey.model import Journey, ScheduleTrigger
from touchpoint.journey.model.campaign import CampaignFile

#: Bump when the generated ASL changes for the same journey, so versions (and execution names) change.
COMPILER_VERSION = "3"


@dataclass(frozen=True)
class Compiled:
    journey: Journey
    version: str
    machine: StateMachine
    asl: str
    manifest: dict[str, Any]


def version_of(journey: Journey) -> str:
    canonical = json.dumps(journey.model_dump(mode="json", by_alias=True), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{COMPILER_VERSION}\n{canonical}".encode()).hexdigest()[:12]


def compile_journey(journey: Journey) -> Compiled:
    version = version_of(journey)
    machine = lower(journey, version)
    asl = render(machine)
    return Compiled(journey, version, machine, asl, manifest(journey, version, machine))


def manifest(journey: Journey, version: str, machine: StateMachine) -> dict[str, Any]:
    """What deploying this journey needs: the placeholders to substitute and the integrations
    (resource + target) that the stack turns into least-privilege IAM statements."""
    integrations = sorted(
        {
            (s.resource, p)
            for s in machine.states
            if isinstance(s, Task)
            for p in contract.PLACEHOLDER.findall(json.dumps(s.parameters))
        }
    )
    trigger = journey.trigger
    schedule = (
        {"expression": trigger.expression, "timezone": journey.timezone}
        if isinstance(trigger, ScheduleTrigger)
        else None
    )
    return {
        "schema": "touchpoint/manifest-v1",
        "journey_id": journey.id,
        "version": version,
        "definition": f"{journey.id}.asl.json",
        "state_machine": contract.state_machine_name(journey.id),
        "placeholders": sorted(set(contract.PLACEHOLDER.findall(json.dumps(to_json(machine))))),
        "integrations": [{"resource": r, "target": p} for r, p in integrations],
        "trigger": trigger.kind,
        "schedule": schedule,
        "states": len(machine.states),
        "longest_path_states": len(machine.longest_path()),
        "longest_path_states_with_failures": len(machine.longest_path(failures=True)),
    }


def outputs(compiled: Iterable[Compiled], campaigns: Iterable[CampaignFile] = ()) -> dict[str, str]:
    """File name → content for the whole ``statemachines/`` directory."""
    items = sorted(compiled, key=lambda c: c.journey.id)
    files = {}
    for c in items:
        files[f"{c.journey.id}.asl.json"] = c.asl
        files[f"{c.journey.id}.manifest.json"] = dumps(c.manifest)
    files[registry.FILE_NAME] = dumps(registry.build(((c.journey, c.version) for c in items), campaigns))
    return files


def write(out: Path, files: dict[str, str]) -> list[str]:
    """Write ``files`` and remove stale generated files; returns the names that changed."""
    out.mkdir(parents=True, exist_ok=True)
    changed = []
    for name in sorted(files):
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != files[name]:
            path.write_text(files[name], encoding="utf-8")
            changed.append(name)
    for path in sorted(out.glob("*.json")):
        if path.name not in files:
            path.unlink()
            changed.append(path.name)
    return changed


def stale(out: Path, files: dict[str, str]) -> list[str]:
    """Problems that make the committed outputs differ from a fresh compile."""
    problems = []
    for name in sorted(files):
        path = out / name
        if not path.exists():
            problems.append(f"{out / name}: missing")
        elif path.read_text(encoding="utf-8") != files[name]:
            problems.append(f"{out / name}: out of date")
    problems += [
        f"{p}: no journey produces it any more" for p in sorted(out.glob("*.json")) if p.name not in files
    ]
    return problems
